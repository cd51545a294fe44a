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
  echo "tools: $name's first build compiles it, unoptimised: from an empty Go build cache on two cores about 3.5 minutes for Prometheus (without its cloud discovery plugins), then half a minute for Alertmanager, which shares most of its packages; longer beside other work."
  local start v=github.com/prometheus/common/version
  start=$(date +%s)
  # No -trimpath, the gcflags the chart test is compiled with, and the
  # standard library compiled as a plain go build compiles it (std=): the
  # compiled packages then serve the chart test's build (the same k8s.io
  # packages) and the tests' builds of the exporter.
  (cd "$root/$dir" && "$GO" build -tags "$tags" -gcflags "${TOOLS_GCFLAGS:-}" -gcflags std= -o "$bin/" \
    -ldflags "-s -w -X $v.Version=$rel -X $v.Revision=$want -X $v.Branch=release-$rel -X $v.BuildUser=tencentchat_exporter-tools" \
    "$@")
  echo "tools: built $name in $(( $(date +%s) - start )) s"
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
echo "tools: Prometheus and Alertmanager of the pinned versions into .tools/bin (built when missing: about 4 minutes on two cores from an empty Go build cache, 40 s with a warm one)"
# One after the other: built at once they took longer.
if [ -n "${PROMETHEUS_BIN:-}" ] && [ -n "${PROMTOOL_BIN:-}" ]; then
  echo "tools: using PROMETHEUS_BIN=$PROMETHEUS_BIN and PROMTOOL_BIN=$PROMTOOL_BIN"
else
  build Prometheus tools/prometheus github.com/prometheus/prometheus prometheus_release remove_all_sd \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
fi
if [ -n "${ALERTMANAGER_BIN:-}" ]; then
  echo "tools: using ALERTMANAGER_BIN=$ALERTMANAGER_BIN"
else
  build Alertmanager tools/alertmanager github.com/prometheus/alertmanager alertmanager_release "" \
    github.com/prometheus/alertmanager/cmd/alertmanager
fi
