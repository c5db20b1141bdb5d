#!/usr/bin/env bash
# l2lb's way to get and run a real kube-apiserver (v1.20.2, the version Debian bookworm carries as source)
# with Debian's etcd on loopback, for the real-API test tier and for trying l2lb against a real API.
#
#   scripts/kube-apiserver.sh install                 # make sure the binary is cached; print its path
#   scripts/kube-apiserver.sh start DIR [--port 26443] [--etcd-port 22379]
#                                                     # start etcd + apiserver; print one line of JSON:
#                                                     # {"kubeconfig":..,"server":..,"token":..,"dir":..}
#                                                     # (arguments after `--` go to kube-apiserver)
#   scripts/kube-apiserver.sh stop DIR                # stop exactly what `start DIR` started
#
# Getting the binary (first match wins):
#   1. the cache: ${L2LB_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l2lb/kube}/kube-apiserver-v1.20.2
#   2. a prebuilt copy, only when $L2LB_KUBE_PREBUILT names one (kube-apiserver-v1.20.2.xz; unpacked in ~2 s,
#      checked against its .sha256 when present). Optional: a cache only, never needed; without it, 3.
#   3. a build from Debian's `kubernetes` source package (scripts/lib/kube-source.sh, shared with
#      scripts/kube-binaries.sh: apt + a deb-src entry, golang-go, rsync; ~5 min on 2 cores, ~2.5 GB of
#      temporary disk).
# L2LB_KUBE_NO_BUILD=1 makes `start` fail at once instead of building (the test suite sets it).
# `start` exits 75 (EX_TEMPFAIL) when one of its ports is taken, before or while binding: another process
# (often an outgoing connection's ephemeral port) got there first; pick other ports and start again.
# Running needs etcd (apt-get install etcd-server), openssl and curl. Everything binds 127.0.0.1 only; the
# apiserver is HTTPS with a self-signed certificate, a random static admin token and RBAC.
set -euo pipefail

VERSION=1.20.2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${L2LB_KUBE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/l2lb/kube}
BIN=$CACHE/kube-apiserver-v$VERSION
# Nothing outside the checkout is looked at unless the environment names it.
PREBUILT=${L2LB_KUBE_PREBUILT:-}

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
say() { printf '[l2lb kube-apiserver] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
port_clash() { say "ERROR: $*"; exit 75; }

binary_ok() { [ -x "$BIN" ] && "$BIN" --version 2>/dev/null | grep -qx "Kubernetes v$VERSION"; }

# A build from Debian's source package (scripts/lib/kube-source.sh, the recipe kube-binaries.sh uses too).
build_from_debian_source() {
  local work src
  work=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-kube-src.XXXXXX")
  chmod 755 "$work"
  # Expanded now: `work` is local, and unset (an error under set -u) by the time the EXIT trap runs.
  # shellcheck disable=SC2064
  trap "chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT
  . "$HERE/lib/kube-source.sh"
  src=$(kube_source_fetch "$work")
  kube_source_build "$src" kube-apiserver
  install -m 0755 "$src/_output/bin/kube-apiserver" "$BIN.tmp"
  mv "$BIN.tmp" "$BIN"
}

cmd_install() {
  if binary_ok; then echo "$BIN"; return; fi
  mkdir -p "$CACHE" || fail "cannot create $CACHE (set L2LB_KUBE_CACHE)"
  if [ -n "$PREBUILT" ] && [ -f "$PREBUILT" ]; then
    say "unpacking $PREBUILT"
    xz -dc "$PREBUILT" >"$BIN.tmp"
    chmod 755 "$BIN.tmp"
    local sum=${PREBUILT%.xz}.sha256
    if [ -f "$sum" ] && [ "$(sha256sum <"$BIN.tmp" | cut -d' ' -f1)" != "$(cut -d' ' -f1 <"$sum")" ]; then
      rm -f "$BIN.tmp"; fail "checksum mismatch for $PREBUILT"
    fi
    mv "$BIN.tmp" "$BIN"
  fi
  if ! binary_ok && [ "${L2LB_KUBE_NO_BUILD:-0}" = 1 ]; then
    fail "no kube-apiserver v$VERSION in $CACHE and no prebuilt copy at ${PREBUILT:-(L2LB_KUBE_PREBUILT unset)}; run '$0 install' first (builds from Debian source, ~5 min)"
  fi
  binary_ok || build_from_debian_source
  binary_ok || fail "no working kube-apiserver v$VERSION at $BIN"
  echo "$BIN"
}

# live_pid DIR NAME: the recorded pid if that process is alive and still belongs to DIR.
live_pid() {
  local f=$1/$2.pid pid
  [ -f "$f" ] || return 0
  pid=$(cat "$f")
  [[ $pid =~ ^[0-9]+$ ]] || return 0
  if [ -r "/proc/$pid/cmdline" ] && tr '\0' ' ' <"/proc/$pid/cmdline" 2>/dev/null | grep -qF -- "$1/"; then echo "$pid"; fi
}

stop_one() {
  local pid i
  pid=$(live_pid "$1" "$2")
  if [ -n "$pid" ]; then
    kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    say "stopped $2 (pid $pid)"
  fi
  rm -f "$1/$2.pid"
}

cmd_stop() {
  [ -d "${1:-}" ] || { say "no such directory: ${1:-} (nothing to stop)"; return 0; }
  local d; d=$(cd "$1" && pwd)
  stop_one "$d" apiserver
  stop_one "$d" etcd
}

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# exited NAME LOG: a daemon died while starting; a bind race is told apart (exit 75) from other failures.
exited() {
  if grep -q 'address already in use' "$2" 2>/dev/null; then port_clash "$1 could not bind: a port was taken after the check (see $2)"; fi
  fail "$1 exited (see $2)"
}

cmd_start() {
  [ $# -ge 1 ] || fail "usage: $0 start DIR [--port P] [--etcd-port E]"
  mkdir -p "$1"
  local d port=26443 etcd_port=22379 extra=()
  d=$(cd "$1" && pwd); shift
  while [ $# -gt 0 ]; do
    case $1 in
      --port) port=$2; shift 2 ;;
      --etcd-port) etcd_port=$2; shift 2 ;;
      --) shift; extra=("$@"); break ;;
      *) fail "unknown option $1" ;;
    esac
  done
  command -v etcd >/dev/null || fail "etcd not found: apt-get install etcd-server"
  for tool in openssl curl xz; do command -v $tool >/dev/null || fail "$tool not found"; done
  local bin; bin=$(cmd_install)
  # A running etcd of this DIR is kept (restarting only the apiserver keeps the data and the watch history
  # in etcd); a running apiserver of this DIR is restarted.
  stop_one "$d" apiserver 2>/dev/null
  local etcd_running; etcd_running=$(live_pid "$d" etcd)
  port_in_use "$port" && port_clash "127.0.0.1:$port is in use"
  if [ -z "$etcd_running" ]; then
    for p in "$etcd_port" $((etcd_port + 1)); do port_in_use "$p" && port_clash "127.0.0.1:$p is in use"; done
  fi
  START_DIR=$d
  # The trap keeps the failure's exit code (75 for a port clash): under `set -e` a failing tail would
  # otherwise replace it.
  trap 'rc=$?; tail -n 15 "$START_DIR"/etcd.log "$START_DIR"/apiserver.log >&2 2>/dev/null || true; cmd_stop "$START_DIR" || true; exit $rc' EXIT
  [ -s "$d/token" ] || (umask 077; openssl rand -hex 24 >"$d/token")
  local token; token=$(cat "$d/token")
  (umask 077; echo "$token,l2lb-admin,l2lb-admin,\"system:masters\"" >"$d/tokens.csv")
  [ -s "$d/sa.key" ] || { (umask 077; openssl genrsa -out "$d/sa.key" 2048 2>/dev/null); openssl rsa -in "$d/sa.key" -pubout -out "$d/sa.pub" 2>/dev/null; }
  mkdir -p "$d/etcd" "$d/certs"; chmod 700 "$d/etcd"
  if [ -z "$etcd_running" ]; then
    etcd --name l2lb --data-dir "$d/etcd" \
      --listen-client-urls "http://127.0.0.1:$etcd_port" --advertise-client-urls "http://127.0.0.1:$etcd_port" \
      --listen-peer-urls "http://127.0.0.1:$((etcd_port + 1))" --initial-advertise-peer-urls "http://127.0.0.1:$((etcd_port + 1))" \
      --initial-cluster "l2lb=http://127.0.0.1:$((etcd_port + 1))" </dev/null >>"$d/etcd.log" 2>&1 &
    echo $! >"$d/etcd.pid"
  fi
  local deadline=$(( $(date +%s) + ${READY_TIMEOUT:-60} ))
  until curl -fs "http://127.0.0.1:$etcd_port/health" | grep -q '"health":"true"'; do
    [ -n "$(live_pid "$d" etcd)" ] || exited etcd "$d/etcd.log"
    [ "$(date +%s)" -lt "$deadline" ] || fail "etcd not healthy in time"
    sleep 0.2
  done
  "$bin" --etcd-servers="http://127.0.0.1:$etcd_port" --bind-address=127.0.0.1 --advertise-address=127.0.0.1 \
    --secure-port="$port" --cert-dir="$d/certs" --token-auth-file="$d/tokens.csv" --authorization-mode=RBAC \
    --service-account-issuer=https://kubernetes.default.svc --service-account-key-file="$d/sa.pub" \
    --service-account-signing-key-file="$d/sa.key" --service-cluster-ip-range=10.96.0.0/16 \
    --disable-admission-plugins=ServiceAccount "${extra[@]}" </dev/null >>"$d/apiserver.log" 2>&1 &
  echo $! >"$d/apiserver.pid"
  until curl -fsk -H "Authorization: Bearer $token" "https://127.0.0.1:$port/readyz" 2>/dev/null | grep -q '^ok'; do
    [ -n "$(live_pid "$d" apiserver)" ] || exited kube-apiserver "$d/apiserver.log"
    [ "$(date +%s)" -lt "$deadline" ] || fail "kube-apiserver not ready in time (see $d/apiserver.log)"
    sleep 0.2
  done
  (umask 077; cat >"$d/kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: l2lb-real
  cluster:
    server: https://127.0.0.1:$port
    certificate-authority-data: $(base64 -w0 <"$d/certs/apiserver.crt")
users:
- name: l2lb-admin
  user:
    token: $token
contexts:
- name: l2lb-real
  context: {cluster: l2lb-real, user: l2lb-admin, namespace: default}
current-context: l2lb-real
KC
)
  trap - EXIT
  say "ready: https://127.0.0.1:$port (kubeconfig $d/kubeconfig; stop: $0 stop $d)"
  printf '{"kubeconfig":"%s","server":"https://127.0.0.1:%s","token":"%s","dir":"%s"}\n' "$d/kubeconfig" "$port" "$token" "$d"
}

case ${1:-} in
  install|path) cmd_install ;;
  start) shift; cmd_start "$@" ;;
  stop) shift; cmd_stop "$@" ;;
  -h|--help|help) usage ;;
  *) usage >&2; exit 2 ;;
esac
