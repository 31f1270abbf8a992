#!/usr/bin/env bash
# Runs the whole januskit test suite: setup (idempotent, seconds when already done), build, then
# every CTest label (unit, reference, e2e, gpu). Exits non-zero on any failure.
#
#   tools/test.sh                 # everything
#   tools/test.sh -L unit         # extra arguments go to ctest
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
tools/setup.sh
build_dir="${JANUSKIT_BUILD_DIR:-build}"
echo
echo "==> Tests"
ctest --test-dir "$build_dir" --output-on-failure -j "${JANUSKIT_TEST_JOBS:-2}" "$@"
