#!/usr/bin/env bash
# Builds the pinned Prometheus 3 (prometheus and promtool) that the
# end-to-end suite and the rule tests run, into .tools/bin, when they are
# missing or of another version. The pin is tools/prometheus/go.mod.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
bin="$root/.tools/bin"
mod="$root/tools/prometheus"
GO=${GO:-go}

want=$(awk '$1 == "github.com/prometheus/prometheus" { print $2 }' "$mod/go.mod")
if [ -z "$want" ]; then
  echo "tools/prometheus/go.mod does not pin github.com/prometheus/prometheus" >&2
  exit 1
fi
# Module v0.316.0 is Prometheus 3.16.0.
minor=${want#v0.}; minor=${minor%%.*}; patch=${want##*.}
release="$((minor / 100)).$((minor % 100)).$patch"

have() { # the module version a binary was built from, or nothing
  [ -x "$bin/$1" ] && "$GO" version -m "$bin/$1" 2>/dev/null |
    awk '($1 == "mod" || $1 == "dep") && $2 == "github.com/prometheus/prometheus" { print $3; exit }'
}
if [ "$(have prometheus)" = "$want" ] && [ "$(have promtool)" = "$want" ]; then
  echo "tools: Prometheus $release ($want) is in .tools/bin"
  exit 0
fi

echo "tools: building Prometheus $release ($want) and promtool into .tools/bin from tools/prometheus."
echo "tools: the first build downloads and compiles Prometheus: 10 to 25 minutes on two cores; about 40 s once Go's build cache is warm."
mkdir -p "$bin"
start=$(date +%s)
cd "$mod"
pkg=github.com/prometheus/common/version
"$GO" build -trimpath -o "$bin/" \
  -ldflags "-X $pkg.Version=$release -X $pkg.Revision=$want -X $pkg.Branch=release-$release -X $pkg.BuildUser=tencentchat_exporter-tools" \
  github.com/prometheus/prometheus/cmd/prometheus github.com/prometheus/prometheus/cmd/promtool
echo "tools: built in $(( $(date +%s) - start )) s: $("$bin/prometheus" --version | head -1)"
