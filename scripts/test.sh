#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install what is missing, build with warnings as
# errors, run the whole test suite (unit, integration on every backend, fuzz-corpus replay).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
build=${BUILD_DIR:-$root/build}
BUILD_DIR=$build "$root/scripts/build.sh" -DREACTORD_WERROR=ON "$@"
cd "$build"
ctest --output-on-failure -j"${CTEST_JOBS:-2}" --timeout 600
