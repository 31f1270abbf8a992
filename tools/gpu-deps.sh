#!/usr/bin/env bash
# Prepares .gpu-deps/ (git-ignored): the build dependencies that the GPU machine of this workplace
# lacks, for tools/gpu-check.sh to carry there. That machine has CUDA, CMake, ninja and a Python with
# torch, but no package registry and no Debian -dev packages, so the small ones januskit needs are
# downloaded here (apt-get download, Debian 12 amd64) and unpacked with dpkg -x into .gpu-deps/root:
#   CLI11, nlohmann-json, stb (headers), PCRE2 and utf8proc (headers + shared libraries; the binaries
#   find them through their build-tree RUNPATH), googletest + googlemock (static libraries + CMake
#   package, which refers to both).
# OpenCV is not carried (its Debian packages pull in GDAL and hundreds of MB): the GPU build uses
# -DJANUSKIT_OPENCV=OFF, which leaves out `describe`, `train-demo` and `generate --grid`.
#
#   tools/gpu-deps.sh        # idempotent; ~2.5 MB of downloads, ~8 MB unpacked
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
deps="$root/.gpu-deps"
packages=(libcli11-dev nlohmann-json3-dev libstb-dev libpcre2-dev libpcre2-8-0 libutf8proc-dev libutf8proc2
          libgtest-dev libgmock-dev)

if [[ -f "$deps/.complete" ]] && [[ "$(cat "$deps/.complete")" == "${packages[*]}" ]]; then
  echo "gpu-deps: $deps is ready"
  exit 0
fi
rm -rf "$deps"
mkdir -p "$deps/debs" "$deps/root"
# apt downloads as the _apt user when it can; a private folder it can write keeps apt quiet.
chmod 777 "$deps/debs"
(cd "$deps/debs" && apt-get download "${packages[@]}")
for deb in "$deps"/debs/*.deb; do dpkg -x "$deb" "$deps/root"; done
# Only headers, shared libraries, the static test libraries and CMake packages are needed.
rm -rf "$deps/root/usr/share/doc" "$deps/root/usr/share/man" "$deps/root/usr/share/lintian"
find "$deps/root/usr/lib" \( -name 'libpcre2-*.a' -o -name 'libutf8proc.a' -o -name 'libstb.a' \) -delete
echo "${packages[*]}" > "$deps/.complete"
du -sh "$deps"
echo "gpu-deps: ready in $deps (carry it with tools/gpu-check.sh)"
