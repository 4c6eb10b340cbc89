#!/usr/bin/env bash
# One command from a fresh Debian 12 machine: install what is missing, build, run reactord
# with its defaults (echo on 127.0.0.1:7000, upper on 127.0.0.1:7001). Extra args go to reactord.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
BUILD_DIR=${BUILD_DIR:-$root/build} "$root/scripts/build.sh"
exec "${BUILD_DIR:-$root/build}/server/reactord" "$@"
