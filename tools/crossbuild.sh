#!/usr/bin/env bash
# Builds release archives tencentchat_exporter-<version>.<os>-<arch>.tar.gz
# (binary, LICENSE, config.example.yml, README.md) for the platforms below
# into dist/, and dist/sha256sums.txt. Plain GOOS/GOARCH builds: no Docker,
# no network beyond the Go module proxy. LDFLAGS and VERSION come from the
# Makefile.
set -euo pipefail
cd "$(dirname "$0")/.."
GO=${GO:-go}
VERSION=${VERSION:-$(cat VERSION)}
LDFLAGS=${LDFLAGS:-}
rm -rf dist && mkdir -p dist
# No 32-bit platforms: Tencent's tls-sig-api-v2-golang v1.4.0, which signs
# the UserSigs, does not compile where int has 32 bits (a constant
# 0xFF000000 overflows int in TLSSigAPI.go).
for platform in linux/amd64 linux/arm64 darwin/amd64 darwin/arm64 windows/amd64; do
  os=${platform%/*} arch=${platform#*/}
  goarch=$arch goarm=
  if [ "$arch" = armv7 ]; then goarch=arm goarm=7; fi
  name="tencentchat_exporter-$VERSION.$os-$arch"
  exe=tencentchat_exporter
  [ "$os" = windows ] && exe=tencentchat_exporter.exe
  mkdir -p "dist/$name"
  echo "crossbuild: $name"
  CGO_ENABLED=0 GOOS=$os GOARCH=$goarch GOARM=$goarm "$GO" build -trimpath -ldflags "-s -w $LDFLAGS" -o "dist/$name/$exe" .
  cp LICENSE config.example.yml README.md "dist/$name/"
  tar -C dist -czf "dist/$name.tar.gz" "$name"
  rm -rf "dist/${name:?}"
done
(cd dist && sha256sum ./*.tar.gz | sed 's| \./| |' > sha256sums.txt)
echo "crossbuild: $(ls dist/*.tar.gz | wc -l) archives and dist/sha256sums.txt"
