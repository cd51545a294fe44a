#!/usr/bin/env bash
# Builds the pinned tools the end-to-end suite and the rule and chart tests
# run, into .tools/bin, when they are missing or of another version:
# Prometheus 3 (prometheus, promtool; pinned in tools/prometheus/go.mod) and
# Alertmanager (tools/alertmanager/go.mod). Each is a module of its own, so
# the exporter's go.mod does not carry their dependency trees. The chart
# test runs helm's lint and render packages as a library
# (tools/prometheus/chart).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bin="$root/.tools/bin"
GO=${GO:-go}
mkdir -p "$bin"

# build NAME MODULE_DIR MODULE_PATH RELEASE_VERSION_FUNC TAGS PACKAGE...
# With $overlay_func set, a build calls it and gives go build the -overlay
# file whose path it prints.
build() {
  local name=$1 dir=$2 module=$3 release=$4 tags=$5; shift 5
  local want
  want=$(awk -v m="$module" '$1 == m { print $2 }' "$root/$dir/go.mod")
  if [ -z "$want" ]; then
    echo "$dir/go.mod does not pin $module" >&2
    exit 1
  fi
  local ok=1 pkg b have
  for pkg in "$@"; do
    b="$bin/$(basename "$pkg")"
    have=$([ -x "$b" ] && "$GO" version -m "$b" 2>/dev/null |
      awk -v m="$module" '($1 == "mod" || $1 == "dep") && $2 == m { print $3; exit }' || true)
    [ "$have" = "$want" ] || ok=0
    # A binary of the pinned version built with other tags is rebuilt.
    if [ -n "$tags" ] && ! "$GO" version -m "$b" 2>/dev/null | grep -q -- "-tags=$tags\b"; then ok=0; fi
  done
  local rel
  rel=$($release "$want")
  if [ $ok = 1 ]; then
    echo "tools: $name $rel ($want) is in .tools/bin"
    return
  fi
  echo "tools: building $name $rel ($want) into .tools/bin from $dir."
  echo "tools: $name's first build compiles it, unoptimised: from an empty Go build cache on two cores about 2.5 minutes for Prometheus (without its cloud discovery plugins), then half a minute for Alertmanager, which shares most of its packages; longer beside other work."
  local start v=github.com/prometheus/common/version overlay=""
  start=$(date +%s)
  if [ -n "${overlay_func:-}" ]; then overlay=$($overlay_func); fi
  # No -trimpath, the gcflags the chart test is compiled with, and the
  # standard library compiled as a plain go build compiles it (std=): the
  # compiled packages then serve the chart test's build (the same k8s.io
  # packages) and the tests' builds of the exporter.
  (cd "$root/$dir" && "$GO" build -tags "$tags" ${overlay:+-overlay "$overlay"} -gcflags "${TOOLS_GCFLAGS:-}" -gcflags std= -o "$bin/" \
    -ldflags "-s -w -X $v.Version=$rel -X $v.Revision=$want -X $v.Branch=release-$rel -X $v.BuildUser=tencentchat_exporter-tools" \
    "$@")
  echo "tools: built $name in $(( $(date +%s) - start )) s"
}

# promtool_overlay writes an -overlay file for go build that leaves out the
# one Kubernetes discovery import remove_all_sd does not: promtool's
# cmd/promtool/main.go imports discovery/kubernetes unconditionally, for a
# TLS check of kubernetes_sd_configs in `promtool check config`. That import
# alone is client-go's whole clientset, about 300 packages of which nothing
# else here compiles 146 (about 45 CPU-seconds from a cold cache). Without it
# promtool knows the discovery mechanisms the remove_all_sd Prometheus beside
# it knows; the checks the tests run (check rules, test rules, check
# metrics) are promtool's own code, unchanged.
#
# go build may not overlay files of the module cache, so the overlay lays
# cmd/promtool's files out as a package of the tools module that exists
# only in the overlay, tools/prometheus/promtool: the release's files, and
# its main.go without those lines. Prints the overlay file's path.
promtool_overlay() {
  local dir files dst n f json sep=""
  read -r dir files < <(cd "$root/tools/prometheus" &&
    "$GO" list -tags remove_all_sd -f '{{.Dir}} {{join .GoFiles " "}}' github.com/prometheus/prometheus/cmd/promtool)
  if [ -z "$files" ]; then
    echo "tools: go list found no files of promtool in tools/prometheus" >&2
    exit 1
  fi
  dst="$root/.tools/overlay/promtool_main.go"
  mkdir -p "$(dirname "$dst")"
  # Drops the import line, and the case clause from its `case` line to the
  # next line at its indentation.
  awk '
    /^\t"github.com\/prometheus\/prometheus\/discovery\/kubernetes"$/ { next }
    skip != "" {
      if (index($0, skip) == 1 && substr($0, length(skip) + 1, 1) != "\t") { skip = "" } else { next }
    }
    /^\t+case \*kubernetes\.SDConfig:$/ { match($0, /^\t+/); skip = substr($0, 1, RLENGTH); next }
    { print }
  ' "$dir/main.go" > "$dst"
  n=$(( $(wc -l < "$dir/main.go") - $(wc -l < "$dst") ))
  if grep -q kubernetes "$dst" || [ "$n" -lt 2 ] || [ "$n" -gt 8 ]; then
    echo "tools: $dir/main.go is not as tools/build.sh expects (removing promtool's Kubernetes discovery took $n lines and left $(grep -c kubernetes "$dst") mentions); update promtool_overlay for the pinned Prometheus" >&2
    exit 1
  fi
  json='{"Replace": {'
  for f in $files; do
    local from="$dir/$f"
    [ "$f" = main.go ] && from=$dst
    case "$root $from" in *'"'*|*'\'*) echo "tools: cannot write $from into an overlay file" >&2; exit 1 ;; esac
    json+="$sep\"$root/tools/prometheus/promtool/$f\": \"$from\""
    sep=", "
  done
  echo "$json}}" > "$root/.tools/overlay/overlay.json"
  echo "$root/.tools/overlay/overlay.json"
}

# Module v0.316.0 is Prometheus 3.16.0.
prometheus_release() {
  local minor=${1#v0.}; minor=${minor%%.*}
  echo "$((minor / 100)).$((minor % 100)).${1##*.}"
}
# Alertmanager's module versions are its releases.
alertmanager_release() { echo "${1#v}"; }

# remove_all_sd leaves out the service-discovery plugins (AWS, Azure, GCE,
# Kubernetes and twenty more SDKs): the tests use static, file and HTTP
# discovery, which Prometheus always builds in (plugins/minimum.go). It
# roughly halves the build from a cold cache.
# PROMETHEUS_BIN and PROMTOOL_BIN, or ALERTMANAGER_BIN, name binaries a
# user already has; the end-to-end suite checks that they are the pinned
# version.
echo "tools: Prometheus and Alertmanager of the pinned versions into .tools/bin (built when missing: about 3 minutes on two cores from an empty Go build cache, 40 s with a warm one)"
# One after the other: built at once they took longer.
if [ -n "${PROMETHEUS_BIN:-}" ] && [ -n "${PROMTOOL_BIN:-}" ]; then
  echo "tools: using PROMETHEUS_BIN=$PROMETHEUS_BIN and PROMTOOL_BIN=$PROMTOOL_BIN"
else
  overlay_func=promtool_overlay
  build Prometheus tools/prometheus github.com/prometheus/prometheus prometheus_release remove_all_sd \
    github.com/prometheus/prometheus/cmd/prometheus ./promtool
  overlay_func=
fi
if [ -n "${ALERTMANAGER_BIN:-}" ]; then
  echo "tools: using ALERTMANAGER_BIN=$ALERTMANAGER_BIN"
else
  build Alertmanager tools/alertmanager github.com/prometheus/alertmanager alertmanager_release "" \
    github.com/prometheus/alertmanager/cmd/alertmanager
fi
