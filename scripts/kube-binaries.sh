#!/usr/bin/env bash
# The Kubernetes v1.20.2 binaries the real-cluster lab runs (kube-apiserver, kube-controller-manager,
# kube-scheduler, kubelet, kube-proxy) and the pause binary of its sandbox image, all from Debian's
# `kubernetes` source package (the version Debian bookworm carries).
#
#   scripts/kube-binaries.sh [install]   # make sure every binary is in the cache; print the cache directory
#   scripts/kube-binaries.sh check       # exit 0 when the cache is complete (never builds)
#
# Cache: ${L2LB_KUBE_BIN_DIR:-/var/cache/l2lb/kube}/{kube-apiserver,kube-controller-manager,kube-scheduler,
#   kubelet,kube-proxy,pause}. A binary counts when `--version` says v1.20.2 (pause: when it runs `-v`).
# Where missing binaries come from (first match wins):
#   1. prebuilt copies, only when $L2LB_KUBE_PREBUILT_DIR names a directory (kube-apiserver may instead be
#      in its sibling directory ../kube-apiserver) holding NAME-v1.20.2.xz and SHA256SUMS (or
#      NAME-v1.20.2.sha256); each is checked before use. Optional: a cache only, never needed.
#   2. a build from Debian's `kubernetes` source package (scripts/lib/kube-source.sh, shared with
#      scripts/kube-apiserver.sh): apt-get source (a deb-src entry is derived from the system's configured deb
#      entries when there is none), golang-go, `make WHAT=...` in GOPATH mode with Debian's fixed
#      reflect2/json-iterator swapped in. About 5-10 minutes on 2 cores, ~3 GB of temporary disk under $TMPDIR.
# pause is always compiled from the same source package (build/pause/linux/pause.c, static, < 1 s).
# L2LB_KUBE_NO_BUILD=1 fails instead of building. Concurrent callers wait on a lock in the cache directory.
set -euo pipefail

VERSION=1.20.2
HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${L2LB_KUBE_BIN_DIR:-/var/cache/l2lb/kube}
# Nothing outside the checkout is looked at unless the environment names it.
PREBUILT_DIR=${L2LB_KUBE_PREBUILT_DIR:-}
# kube-apiserver may be kept in a sibling directory of the prebuilt node binaries (../kube-apiserver).
APISERVER_PREBUILT_DIR=${PREBUILT_DIR:+$PREBUILT_DIR/../kube-apiserver}
KUBE_BINS=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy)

say() { printf '[l2lb kube-binaries] %s\n' "$*" >&2; }
fail() { say "ERROR: $*"; exit 1; }

version_ok() { [ -x "$CACHE/$1" ] && "$CACHE/$1" --version 2>/dev/null | grep -qx "Kubernetes v$VERSION"; }
pause_ok() { [ -x "$CACHE/pause" ] && "$CACHE/pause" -v 2>/dev/null | grep -q "pause"; }
missing_bins() { local b; for b in "${KUBE_BINS[@]}"; do version_ok "$b" || echo "$b"; done; }

# expected_sum NAME: the checksum recorded for NAME in the prebuilt directory, if any.
expected_sum() {
  local dir=$1 name=$2
  if [ -f "$dir/SHA256SUMS" ]; then awk -v n="$name" '$2 == n { print $1 }' "$dir/SHA256SUMS"; fi
  if [ -f "$dir/$name-v$VERSION.sha256" ]; then cut -d' ' -f1 <"$dir/$name-v$VERSION.sha256"; fi
}

unpack_prebuilt() {
  local name=$1 dir=$PREBUILT_DIR sum got
  [ -n "$dir" ] || return 0
  [ "$name" = kube-apiserver ] && [ ! -f "$dir/$name-v$VERSION.xz" ] && dir=$APISERVER_PREBUILT_DIR
  [ -f "$dir/$name-v$VERSION.xz" ] || return 0
  sum=$(expected_sum "$dir" "$name" | head -1)
  [ -n "$sum" ] || { say "skipping $dir/$name-v$VERSION.xz: no checksum beside it"; return 0; }
  xz -dc "$dir/$name-v$VERSION.xz" >"$CACHE/.$name.tmp"
  got=$(sha256sum <"$CACHE/.$name.tmp" | cut -d' ' -f1)
  if [ "$got" != "$sum" ]; then rm -f "$CACHE/.$name.tmp"; fail "checksum mismatch for $dir/$name-v$VERSION.xz"; fi
  chmod 755 "$CACHE/.$name.tmp"; mv -f "$CACHE/.$name.tmp" "$CACHE/$name"
  say "unpacked $name from $dir"
}

. "$HERE/lib/kube-source.sh"

# fetch_source WORK [PATH...]: the unpacked kubernetes-$VERSION source tree under WORK (printed); with PATHs,
# only those members are unpacked (the pause source alone, when every Go binary is there already).
fetch_source() {
  [ "$(id -u)" = 0 ] || fail "fetching Debian's kubernetes source needs root (apt)"
  kube_source_fetch "$@"
}

# build_kube SRC NAME...: builds the Go binaries NAME... from SRC into the cache.
build_kube() {
  local src=$1 b; shift
  kube_source_build "$src" "$@"
  for b in "$@"; do install -m 0755 "$src/_output/bin/$b" "$CACHE/.$b.tmp"; mv -f "$CACHE/.$b.tmp" "$CACHE/$b"; done
}

build_pause() {
  local src=$1
  command -v gcc >/dev/null || fail "gcc is needed to compile the pause binary (apt-get install gcc libc6-dev)"
  gcc -Os -Wall -Werror -static -DVERSION="v3.4-l2lb" -o "$CACHE/.pause.tmp" "$src/build/pause/linux/pause.c"
  strip "$CACHE/.pause.tmp" 2>/dev/null || true
  mv -f "$CACHE/.pause.tmp" "$CACHE/pause"
  say "compiled pause from $src/build/pause/linux/pause.c"
}

cmd_install() {
  mkdir -p "$CACHE" || fail "cannot create $CACHE (set L2LB_KUBE_BIN_DIR)"
  exec 9>"$CACHE/.lock"; flock 9
  local b missing
  for b in $(missing_bins); do unpack_prebuilt "$b"; done
  missing=$(missing_bins | tr '\n' ' ')
  if [ -n "${missing// /}" ] || ! pause_ok; then
    if [ -n "${missing// /}" ] && [ "${L2LB_KUBE_NO_BUILD:-0}" = 1 ]; then
      fail "missing in $CACHE: $missing(no prebuilt copy in ${PREBUILT_DIR:-L2LB_KUBE_PREBUILT_DIR, unset}); run '$0 install' to build them from Debian source"
    fi
    local work; work=$(mktemp -d "${TMPDIR:-/tmp}/l2lb-kube-src.XXXXXX"); chmod 755 "$work"
    # shellcheck disable=SC2064
    trap "chmod -R u+w '$work' 2>/dev/null; rm -rf '$work'" EXIT
    local src
    if [ -n "${missing// /}" ]; then src=$(fetch_source "$work")
    else src=$(fetch_source "$work" "kubernetes-$VERSION/build/pause/linux/pause.c"); fi
    # shellcheck disable=SC2086
    [ -z "${missing// /}" ] || build_kube "$src" $missing
    pause_ok || build_pause "$src"
  fi
  [ -z "$(missing_bins)" ] || fail "still missing in $CACHE: $(missing_bins | tr '\n' ' ')"
  pause_ok || fail "no working pause binary in $CACHE"
  echo "$CACHE"
}

case ${1:-install} in
  install) cmd_install ;;
  check) [ -z "$(missing_bins)" ] && pause_ok ;;
  -h|--help|help) awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0" ;;
  *) echo "usage: $0 [install|check]" >&2; exit 2 ;;
esac
