# shellcheck shell=bash
# Building Kubernetes binaries from Debian's `kubernetes` source package (v1.20.2 on bookworm): the one recipe
# scripts/kube-apiserver.sh and scripts/kube-binaries.sh share. Sourced; the caller sets VERSION (1.20.2) and
# defines `say` and `fail`. apt runs as root, or through sudo for a caller that is not root.

KUBE_SOURCE_LIB=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# kube_source_as_root CMD...: CMD as root (directly when already root, else through sudo).
kube_source_as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }

# kube_source_ensure_deb_src: when apt has no deb-src entry, adds one derived from the system's configured deb
# entries (no mirror host is named here) and refreshes the package lists. L2LB_APT_DIR (default /etc/apt) as in
# debian-sources.sh: tests point it at a fixture.
kube_source_ensure_deb_src() {
  local apt=${L2LB_APT_DIR:-/etc/apt}
  grep -Rqs '^[^#]*deb-src\|^Types:.*deb-src' "$apt/sources.list" "$apt/sources.list.d/" && return 0
  local entries; entries=$(. "$KUBE_SOURCE_LIB/debian-sources.sh" && debian_sources deb-src)
  [ -n "$entries" ] || fail "no configured deb entry for $(. "$KUBE_SOURCE_LIB/debian-sources.sh" && debian_codename) to derive a deb-src entry from"
  say "adding deb-src entries derived from the configured deb entries"
  printf '%s\n' "$entries" | kube_source_as_root tee "$apt/sources.list.d/l2lb-src.sources" >/dev/null
  kube_source_as_root apt-get update -qq >&2
}

# kube_source_fetch WORK [MEMBER...]: downloads the source package into WORK and unpacks it (only the MEMBERs
# when given, e.g. the pause source alone); prints the kubernetes-$VERSION tree.
kube_source_fetch() {
  local work=$1; shift
  kube_source_ensure_deb_src
  (cd "$work" && apt-get source --download-only kubernetes >&2) ||
    { kube_source_as_root apt-get update -qq >&2; (cd "$work" && apt-get source --download-only kubernetes >&2); }
  tar -C "$work" -xzf "$(ls "$work"/kubernetes_*.orig.tar.gz | head -1)" "$@"
  [ -d "$work/kubernetes-$VERSION" ] || fail "the source package has no kubernetes-$VERSION/"
  echo "$work/kubernetes-$VERSION"
}

# kube_source_build SRC NAME...: builds cmd/NAME... in the tree SRC (from kube_source_fetch) in GOPATH mode with no
# module download; the binaries land in SRC/_output/bin. The vendored modern-go/reflect2 and json-iterator are
# replaced by Debian's newer copies: with Go >= 1.18 the old ones crash kube-apiserver on the first custom resource.
kube_source_build() {
  local src=$1; shift
  local deps=(golang-go rsync golang-github-modern-go-reflect2-dev golang-github-json-iterator-go-dev)
  kube_source_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${deps[@]}" >&2 ||
    { kube_source_as_root apt-get update -qq >&2
      kube_source_as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${deps[@]}" >&2; }
  local lib
  for lib in modern-go/reflect2 json-iterator/go; do
    rm -rf "$src/vendor/github.com/$lib"; mkdir -p "$src/vendor/github.com/$lib"
    cp -r "/usr/share/gocode/src/github.com/$lib/." "$src/vendor/github.com/$lib/"
    find "$src/vendor/github.com/$lib" -name '*_test.go' -delete
  done
  sed -i -e 's#modern-go/reflect2 v1.0.1#modern-go/reflect2 v1.0.2#g' -e 's#json-iterator/go v1.1.10#json-iterator/go v1.1.12#g' \
    "$src/go.mod" "$src/vendor/modules.txt" "$src/staging/src/k8s.io/apimachinery/go.mod"
  mkdir -p "$src/.go/src/k8s.io" "$src/../home"
  ln -sfn ../../.. "$src/.go/src/k8s.io/kubernetes"
  local what=() name; for name in "$@"; do what+=("cmd/$name"); done
  say "building ${what[*]} from Debian's source (5-10 minutes on 2 cores)"
  (cd "$src" && env GOPATH="$src/.go" GOPROXY=off GOFLAGS=-mod=vendor CGO_ENABLED=0 HOME="$src/../home" make WHAT="${what[*]}" >&2)
}
