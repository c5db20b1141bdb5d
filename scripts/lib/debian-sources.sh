# shellcheck shell=bash
# Apt source entries derived from this system's own configuration (L2LB_APT_DIR, default /etc/apt; tests use fixtures), so that no mirror host is ever
# written in the repository. Sourced by scripts/lib/kube-source.sh (for
# scripts/kube-binaries.sh and scripts/kube-apiserver.sh) and scripts/build-images.sh.

# The distribution codename (bookworm on Debian 12).
debian_codename() {
  local c=''
  [ -r /etc/os-release ] && c=$(. /etc/os-release && echo "${VERSION_CODENAME:-}")
  echo "${c:-bookworm}"
}

# debian_sources TYPE [all-suites]: deb822 stanzas of TYPE (deb or deb-src), one per configured `deb` entry whose suites
# include CODENAME exactly (so third-party repositories with other suite names are left out), each
# reduced to that one suite (with all-suites: every entry with a CODENAME* suite, suites kept, e.g. -updates
# and -security for an image's apt sources). Both deb822 (*.sources) and one-line (*.list) entries are read; comments dropped.
debian_sources() {
  local type=$1 all=${2:-} codename; codename=$(debian_codename)
  {
    shopt -s nullglob
    local f
    for f in "${L2LB_APT_DIR:-/etc/apt}"/sources.list.d/*.sources; do cat "$f"; printf '\n\n'; done
    for f in "${L2LB_APT_DIR:-/etc/apt}"/sources.list "${L2LB_APT_DIR:-/etc/apt}"/sources.list.d/*.list; do
      [ -r "$f" ] || continue
      # one-line form: deb [opts] URI SUITE COMPONENT... -> a deb822 stanza
      awk '$1 == "deb" { i = 2; signed = ""
             if ($2 ~ /^\[/) { while (i <= NF) { if ($i ~ /signed-by=/) { s = $i; sub(/.*signed-by=/, "", s); sub(/\]$/, "", s); signed = s }
                                                 if ($i ~ /\]$/) { i++; break } i++ } }
             printf "Types: deb\nURIs: %s\nSuites: %s\nComponents:", $i, $(i + 1)
             for (j = i + 2; j <= NF; j++) printf " %s", $j
             printf "\n"; if (signed != "") printf "Signed-By: %s\n", signed; printf "\n" }' "$f"
    done
  } | awk -v want="$type" -v codename="$codename" -v all="$all" 'BEGIN { RS = ""; ORS = "" }
      { n = split($0, L, "\n"); isdeb = 0; hassuite = 0; out = ""
        for (i = 1; i <= n; i++) {
          line = L[i]
          if (line ~ /^[ \t]*#/) continue
          if (line ~ /^Types:/) { m = split(line, T, /[ \t]+/); for (j = 2; j <= m; j++) if (T[j] == "deb") isdeb = 1; line = "Types: " want }
          else if (line ~ /^Suites:/) { m = split(line, S, /[ \t]+/); for (j = 2; j <= m; j++) if (S[j] == codename || (all != "" && index(S[j], codename) == 1)) hassuite = 1
                                    if (all == "") line = "Suites: " codename }
          else if (line ~ /^Enabled:[ \t]*no/) { isdeb = 0 }
          out = out line "\n"
        }
        if (isdeb && hassuite) print out "\n" }'
}
