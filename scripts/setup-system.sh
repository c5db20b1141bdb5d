#!/usr/bin/env bash
# Installs the Debian packages l2lb's build and test suite need (idempotent; root).
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive
packages=(
  # native addon build
  python3 make g++
  # network namespace integration tests (ARP/NDP clients, packet loss, frame decoding)
  iproute2 nftables arping ndisc6 iputils-ping tcpdump tshark procps
  # the soak test's bounded CPU pressure on lab nodes (lab/src/lab/chaos.ts)
  stress-ng
  # memberlist interop: the Go test peer (test/tools/mlpeer) is built from these, offline
  golang-go golang-github-hashicorp-memberlist-dev
  # real kube-apiserver test tier (scripts/kube-apiserver.sh runs it with Debian's etcd)
  etcd-server xz-utils openssl curl
  # real-cluster lab (scripts/build-images.sh, l2lb lab up --kubernetes): image builds, container runtime, CNI
  podman mmdebstrap containerd runc containernetworking-plugins iptables conntrack uidmap catatonit gcc libc6-dev
)
# kubectl, which the tests drive API servers with: Debian's kubernetes-client (1.20), unless a kubectl
# is already on PATH (another package's /usr/bin/kubectl would make dpkg refuse the install).
if command -v kubectl >/dev/null; then
  echo "kubectl: using $(command -v kubectl)" >&2
else
  packages+=(kubernetes-client)
fi
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  echo "installing: ${missing[*]}" >&2
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if ! command -v node >/dev/null || ! node -e 'process.exit(+process.versions.node.split(".")[0] >= 20 ? 0 : 1)'; then
  echo "Node.js 20 or newer is required (found: $(node --version 2>/dev/null || echo none))" >&2
  exit 1
fi
