#!/usr/bin/env bash
# Builds the pinned Prometheus 3 (prometheus, promtool; tools/prometheus/go.mod)
# and Alertmanager (alertmanager, amtool; tools/alertmanager/go.mod) into .tools/bin with a plain
# go build, when a binary is missing or reports another version. The
# end-to-end suite and the rule tests run them. PROMETHEUS_BIN and
# PROMTOOL_BIN, or ALERTMANAGER_BIN and AMTOOL_BIN, name binaries you already have instead.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=$PWD/.tools/bin
GO=${GO:-go}
mkdir -p "$bin"

# pin DIR MODULE prints the version tools/DIR/go.mod requires of MODULE.
pin() { awk -v m="$2" '$1 == m { print $2 }' "tools/$1/go.mod"; }

# build DIR RELEASE TAGS PACKAGE...: the binaries of PACKAGE... from the
# module in tools/DIR, stamped with RELEASE as their --version says it.
build() {
  local dir=$1 release=$2 tags=$3 pkg ok=1; shift 3
  for pkg in "$@"; do
    "$bin/${pkg##*/}" --version 2>&1 | grep -q "version $release " || ok=0
  done
  if [ $ok = 1 ]; then
    echo "tools: $* $release already in .tools/bin"
    return
  fi
  echo "tools: building $* $release into .tools/bin (a few minutes from an empty build cache)"
  local v=github.com/prometheus/common/version
  (cd "tools/$dir" && "$GO" build -tags "$tags" -o "$bin/" \
    -ldflags "-X $v.Version=$release -X $v.Branch=release -X $v.BuildUser=tencentchat_exporter-tools" "$@")
}

if [ -n "${PROMETHEUS_BIN:-}" ] && [ -n "${PROMTOOL_BIN:-}" ]; then
  echo "tools: using PROMETHEUS_BIN=$PROMETHEUS_BIN and PROMTOOL_BIN=$PROMTOOL_BIN"
else
  # Module v0.316.0 is Prometheus 3.16.0. remove_all_sd leaves out the
  # cloud service-discovery plugins; static, file and HTTP discovery, which
  # the tests use, are always built in.
  v=$(pin prometheus github.com/prometheus/prometheus)
  minor=${v#v0.}; minor=${minor%%.*}
  build prometheus "$((minor / 100)).$((minor % 100)).${v##*.}" remove_all_sd \
    github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
fi
if [ -n "${ALERTMANAGER_BIN:-}" ] && [ -n "${AMTOOL_BIN:-}" ]; then
  echo "tools: using ALERTMANAGER_BIN=$ALERTMANAGER_BIN and AMTOOL_BIN=$AMTOOL_BIN"
else
  v=$(pin alertmanager github.com/prometheus/alertmanager)
  build alertmanager "${v#v}" "" github.com/prometheus/alertmanager/cmd/alertmanager \
    github.com/prometheus/alertmanager/cmd/amtool
fi
