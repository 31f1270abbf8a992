#!/usr/bin/env bash
# Runs the whole januskit test suite: setup (idempotent, seconds when already done), build, then
# every CTest label (unit, reference, e2e, gpu). Exits non-zero on any failure.
#
#   tools/test.sh                 # everything, then each libFuzzer target for 20 s (clang tree build-fuzz/)
#   tools/test.sh -L unit         # extra arguments go to ctest (and skip the fuzzing step)
#   JANUSKIT_SKIP_FUZZ=1 tools/test.sh   # no fuzzing step
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
build_dir="${JANUSKIT_BUILD_DIR:-build}"
echo
echo "==> Tests"
ctest --test-dir "$build_dir" --output-on-failure -j "${JANUSKIT_TEST_JOBS:-2}" "$@"

# libFuzzer targets of the checkpoint parsers (tests/fuzz): a tree of their own built with clang,
# LibTorch-free, ~15 s to build; each target fuzzes for JANUSKIT_FUZZ_SECONDS (20).
if [[ $# -eq 0 && "${JANUSKIT_SKIP_FUZZ:-0}" != 1 ]] && command -v clang++ >/dev/null; then
  echo
  echo "==> Fuzzing (build-fuzz, clang)"
  cmake -S . -B build-fuzz -G Ninja -DJANUSKIT_FUZZ=ON -DCMAKE_C_COMPILER=clang -DCMAKE_CXX_COMPILER=clang++ \
    -DJANUSKIT_FUZZ_SECONDS="${JANUSKIT_FUZZ_SECONDS:-20}" >/dev/null
  cmake --build build-fuzz -j "${JANUSKIT_JOBS:-$(nproc)}"
  ctest --test-dir build-fuzz --output-on-failure
fi
