#!/usr/bin/env bash
# make image-test: builds the real Dockerfile with podman and runs its image
# as the README does. No registry is reachable here, so the base images the
# Dockerfile names are first made locally: quay.io/prometheus/busybox from
# Debian's busybox-static with a passwd holding nobody, and golang:<version>
# from the local Go toolchain, building offline from the module cache
# (GOPROXY=off). Installs podman, buildah and runc with apt when missing.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
root=$(pwd)
work=$(mktemp -d)
containers=()
cleanup() {
  for c in "${containers[@]}"; do podman rm -f "$c" >/dev/null 2>&1 || true; done
  [ -n "${sim_pid:-}" ] && kill "$sim_pid" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
say() { echo "image-test: $*"; }
fail() { echo "image-test: FAIL: $*" >&2; exit 1; }

if ! command -v podman >/dev/null || ! command -v runc >/dev/null || [ ! -x /bin/busybox ]; then
  say "installing podman, buildah, runc and busybox-static with apt (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends podman buildah runc busybox-static uidmap fuse-overlayfs >/dev/null
fi
# crun fails on this kind of machine's cgroups, and podman's default
# rlimits are refused by the sandbox.
run=(podman run --runtime runc --ulimit nofile=4096:4096 --ulimit nproc=4096:4096 --network=host)

go_version=$(sed -n 's/^ARG GO_VERSION=//p' Dockerfile)
say "base images: quay.io/prometheus/busybox:latest and golang:$go_version, made locally"
bb="$work/busybox"
mkdir -p "$bb/bin" "$bb/etc" "$bb/tmp"
cp /bin/busybox "$bb/bin/busybox"
for c in sh ls cat id env; do ln -sf busybox "$bb/bin/$c"; done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' >"$bb/etc/passwd"
printf 'root:x:0:\nnobody:x:65534:\n' >"$bb/etc/group"
chmod 1777 "$bb/tmp"
tar -C "$bb" -c . | podman import - quay.io/prometheus/busybox:latest >/dev/null
goroot=$("$GO" env GOROOT)
gi="$work/golang"
mkdir -p "$gi/usr/local" "$gi/root"
cp -a "$bb/." "$gi/"
cp -a "$goroot" "$gi/usr/local/go"
tar -C "$gi" -c . | podman import --change 'ENV PATH=/usr/local/go/bin:/bin' --change 'ENV GOPATH=/go' \
  --change 'ENV GOMODCACHE=/go/pkg/mod' --change 'ENV GOPROXY=off' --change 'ENV GOFLAGS=-mod=mod' \
  --change 'ENV HOME=/root' - "docker.io/library/golang:$go_version" >/dev/null

"$GO" mod download
version=$(cat VERSION)
revision=$(git rev-parse HEAD 2>/dev/null || echo unknown)
say "building the Dockerfile (--pull=never --network=none)"
podman build --pull=never --network=none -v "$("$GO" env GOMODCACHE)":/go/pkg/mod:ro \
  --build-arg VERSION="$version" --build-arg REVISION="$revision" --build-arg BRANCH=image-test \
  --build-arg BUILD_DATE="$(date -u +%Y%m%d-%H:%M:%S)" -t localhost/tencentchat_exporter:image-test . >"$work/build.log" 2>&1 ||
  { tail -20 "$work/build.log"; fail "podman build"; }
image=localhost/tencentchat_exporter:image-test

[ "$(podman image inspect "$image" --format '{{.Config.User}}')" = 65534 ] || fail "the image's user is not 65534"
[ "$(podman image inspect "$image" --format '{{json .Config.Entrypoint}}')" = '["/bin/tencentchat_exporter"]' ] ||
  fail "the entrypoint is not the binary alone"
"${run[@]}" --rm "$image" --version | grep -q "version $version (branch: image-test, revision: $revision)" ||
  fail "--version does not show the stamped version"
say "user 65534, entrypoint the binary alone, --version $version ($revision)"

free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
wait_for() { # url, what
  for _ in $(seq 300); do curl -fsS "$1" >/dev/null 2>&1 && return 0; sleep 0.1; done
  fail "$2 did not come up"
}

# --demo serves /metrics.
port=$(free_port)
containers+=(tce-demo)
"${run[@]}" -d --name tce-demo "$image" --demo --web.listen-address="127.0.0.1:$port" >/dev/null
# The demo refreshes in the background: /-/ready says its first refresh ended.
wait_for "http://127.0.0.1:$port/-/ready" "the demo"
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
grep -q 'tencentchat_up{app_name="demo",sdkappid="1400000000"} 1' <<<"$metrics" || {
  grep '^tencentchat_up\|^tencentchat_last_refresh' <<<"$metrics" >&2 || true
  podman logs tce-demo >&2 || true
  fail "--demo: tencentchat_up is not 1"
}
say "--demo serves /metrics with tencentchat_up 1"

# A configuration against the simulator, with the README's mounts.
"$GO" build -o "$work/simulator" ./cmd/tencentchat-simulator
echo image-test-key-0123456789 >"$work/key"
chmod 0444 "$work/key"
sim_port=$(free_port)
"$work/simulator" --listen-address "127.0.0.1:$sim_port" --secret-key-file "$work/key" --accounts 10 >"$work/sim.log" 2>&1 &
sim_pid=$!
cat >"$work/config.yml" <<EOF
apps:
  - name: prod
    sdkappid: 1400000000
    identifier: administrator
    secret_key_file: /run/secrets/prod_key
    endpoint: http://127.0.0.1:$sim_port
    accounts: ["@TOA#_sim00000", "@TOA#_sim00001", "@TOA#_sim00002"]
EOF
chmod 0444 "$work/config.yml"
port=$(free_port)
containers+=(tce-config)
"${run[@]}" -d --name tce-config -v "$work/config.yml:/etc/tencentchat_exporter/config.yml:ro" \
  -v "$work/key:/run/secrets/prod_key:ro" "$image" --config.file=/etc/tencentchat_exporter/config.yml \
  --web.listen-address="127.0.0.1:$port" >/dev/null
wait_for "http://127.0.0.1:$port/-/ready" "the configured exporter"
metrics=$(curl -fsS "http://127.0.0.1:$port/metrics")
grep -q 'tencentchat_up{app_name="prod",sdkappid="1400000000"} 1' <<<"$metrics" || {
  grep '^tencentchat_up' <<<"$metrics" >&2 || true
  podman logs tce-config >&2 || true
  fail "the configured exporter: tencentchat_up is not 1"
}
say "a configuration against the simulator: tencentchat_up 1 (--config.file given after the image name)"

podman kill -s HUP tce-config >/dev/null
for _ in $(seq 50); do [ "$(podman logs tce-config 2>&1 | grep -c 'configuration loaded')" -ge 1 ] && break; sleep 0.1; done
podman logs tce-config 2>&1 | grep -q 'configuration loaded' || fail "SIGHUP did not reload"
say "podman kill -s HUP reloads"

podman stop -t 10 tce-config >/dev/null
[ "$(podman inspect tce-config --format '{{.State.ExitCode}}')" = 0 ] || fail "podman stop: exit code not 0"
say "podman stop exits 0"

# A key file the image's user may not read: a clear message, exit 1.
cp "$work/key" "$work/key-private"
chmod 0600 "$work/key-private"
if out=$("${run[@]}" --rm -v "$work/config.yml:/etc/tencentchat_exporter/config.yml:ro" \
  -v "$work/key-private:/run/secrets/prod_key:ro" "$image" 2>&1); then
  fail "started with an unreadable key"
fi
echo "$out" | grep -q "make the file readable" || fail "unreadable key: the message does not say what to do: $out"
say "a key file mode 0600: exit 1 with a message saying how to make it readable"
say "passed"
