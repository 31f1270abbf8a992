#!/usr/bin/env bash
# Sets up everything januskit needs on a fresh Debian 12 machine, then configures and builds it.
#
#   tools/setup.sh            # as root (or with sudo available); idempotent, seconds when already done
#
# Steps: Debian packages -> Python venv with the torch wheel (LibTorch inside) and the test-only
# reference packages -> CMake configure (Ninja, Release) -> build into build/.
#
# Heavy downloads live outside the checkout so that a fresh clone on the same machine sets up in
# seconds: the venv and pip's cache under $JANUSKIT_CACHE (default ~/.cache/januskit), ccache's
# objects under $JANUSKIT_CACHE/ccache. `.venv` in the checkout is a symlink to the cached venv.
#
# Environment knobs:
#   JANUSKIT_CACHE=DIR        cache folder (default ~/.cache/januskit)
#   JANUSKIT_SKIP_APT=1       do not touch Debian packages (for machines without a registry)
#   JANUSKIT_SKIP_BUILD=1     stop after the venv
#   JANUSKIT_CUDA=AUTO|ON|OFF passed to CMake (default AUTO)
#   JANUSKIT_BUILD_DIR=DIR    build folder (default build)
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

step() { printf '\n==> %s\n' "$*"; }
fail() { printf 'setup: error: %s\n' "$*" >&2; exit 1; }
trap 'fail "step failed at line $LINENO (command: $BASH_COMMAND); fix the problem above and rerun tools/setup.sh"' ERR

cache="${JANUSKIT_CACHE:-$HOME/.cache/januskit}"
build_dir="${JANUSKIT_BUILD_DIR:-build}"
mkdir -p "$cache"

# --- 1. Debian packages -------------------------------------------------------------------------
debian_packages=(
  build-essential cmake ninja-build ccache git pkg-config
  libopencv-dev libcli11-dev libstb-dev nlohmann-json3-dev libpcre2-dev libutf8proc-dev
  libgtest-dev libgmock-dev
  libcpp-httplib-dev         # `januskit serve` (header-only HTTP server)
  python3-venv python3-dev
  clang libclang-rt-14-dev   # libFuzzer targets (JANUSKIT_FUZZ=ON)
  chromium                   # headless check of gallery index.html pages in the e2e tests
)

missing_packages() {
  local p
  for p in "${debian_packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || echo "$p"
  done
}

step "Debian packages"
if [[ "${JANUSKIT_SKIP_APT:-0}" == 1 ]]; then
  echo "skipped (JANUSKIT_SKIP_APT=1)"
else
  mapfile -t missing < <(missing_packages)
  if ((${#missing[@]} == 0)); then
    echo "all ${#debian_packages[@]} packages present"
  else
    echo "installing: ${missing[*]}"
    sudo_cmd=()
    if [[ $(id -u) -ne 0 ]]; then
      command -v sudo >/dev/null || fail "need root (or sudo) to install: ${missing[*]}"
      sudo_cmd=(sudo)
    fi
    export DEBIAN_FRONTEND=noninteractive
    "${sudo_cmd[@]}" apt-get update -q
    "${sudo_cmd[@]}" apt-get install -y -q --no-install-recommends "${missing[@]}"
  fi
fi

# --- 2. Python venv (LibTorch + test-only reference packages) -----------------------------------
step "Python venv with torch (LibTorch) and reference packages"
py=/usr/bin/python3
[[ -x $py ]] || py="$(command -v python3)" || fail "python3 not found; install python3-venv"
# A venv from a requirements file, cached as $cache/PREFIX-<hash of the file and the Python version>
# and linked into the checkout as LINK; older venvs of the same prefix (several GB each) are dropped.
cached_venv() {  # PREFIX REQUIREMENTS LINK
  local prefix=$1 req=$2 link=$3 hash dir old
  hash="$( (cat "$req"; "$py" --version) | sha256sum | cut -c1-12)"
  dir="$cache/$prefix-$hash"
  if [[ -f "$dir/.complete" ]]; then
    echo "cached venv: $dir"
  else
    rm -rf "$dir"
    "$py" -m venv "$dir"
    PIP_CACHE_DIR="$cache/pip" "$dir/bin/pip" install -q --upgrade pip
    PIP_CACHE_DIR="$cache/pip" "$dir/bin/pip" install --progress-bar off -r "$req"
    touch "$dir/.complete"
    for old in "$cache/$prefix"-*; do
      [[ "$old" != "$dir" && -d "$old" && "$(basename "$old")" =~ ^$prefix-[0-9a-f]{12}$ ]] \
        && { echo "removing stale $old"; rm -rf "$old"; }
    done
  fi
  ln -sfn "$dir" "$link"
}
cached_venv venv tools/requirements.txt .venv
# A small second venv for one reference: what a model's processor encodes under transformers 4.x,
# the version DeepSeek's official code pins (tests/reference/processor_reference.py).
cached_venv venv-hf4 tools/requirements-transformers4.txt .venv-hf4
torch_prefix="$(.venv/bin/python -c 'import torch; print(torch.utils.cmake_prefix_path)')"
echo "LibTorch: $torch_prefix"

[[ "${JANUSKIT_SKIP_BUILD:-0}" == 1 ]] && { echo "build skipped (JANUSKIT_SKIP_BUILD=1)"; exit 0; }

# --- 3. Configure and build ---------------------------------------------------------------------
step "Configure ($build_dir, Ninja, Release)"
export CCACHE_DIR="${CCACHE_DIR:-$cache/ccache}"
export CCACHE_MAXSIZE="${CCACHE_MAXSIZE:-10G}"
# Precompiled headers hash differently per checkout path; let ccache compare by content instead.
export CCACHE_SLOPPINESS="${CCACHE_SLOPPINESS:-pch_defines,time_macros,include_file_mtime,include_file_ctime}"
export CCACHE_BASEDIR="$root"
[[ -x /usr/local/cuda/bin/nvcc && ":$PATH:" != *":/usr/local/cuda/bin:"* ]] && export PATH="/usr/local/cuda/bin:$PATH"
cmake -S . -B "$build_dir" -G Ninja \
  -DCMAKE_BUILD_TYPE=Release \
  -DCMAKE_PREFIX_PATH="$torch_prefix" \
  -DJANUSKIT_PYTHON="$root/.venv/bin/python" \
  -DJANUSKIT_CUDA="${JANUSKIT_CUDA:-AUTO}" \
  -DCMAKE_EXPORT_COMPILE_COMMANDS=ON >"$cache/cmake-configure.log" 2>&1 \
  || { cat "$cache/cmake-configure.log" >&2; fail "CMake configure failed (log above)"; }
grep -E '^-- januskit' "$cache/cmake-configure.log" || true

step "Build"
jobs="${JANUSKIT_JOBS:-$(nproc)}"
cmake --build "$build_dir" -j "$jobs"
echo
echo "januskit is built: $build_dir/januskit"
