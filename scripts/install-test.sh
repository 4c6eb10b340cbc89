#!/usr/bin/env bash
# The library as a user gets it: configure reactord with only the library, install it to a
# temporary prefix, build every example against the installed copy twice (CMake
# find_package(reactor) through CMAKE_PREFIX_PATH, and the example's Makefile through
# pkg-config and PKG_CONFIG_PATH), and run each example's test on both builds. Nothing from
# the source tree's reactor/ is on the examples' include path, so a public header that
# includes a private one, or a missing install rule, fails here.
#
# usage: scripts/install-test.sh [extra cmake -D options for the library, e.g. -DREACTORD_IO_URING=OFF]
# env:   REACTOR_SOURCE  tree to install from (default: this one); EXAMPLES (default: all);
#        INSTALL_TEST_KEEP=1 keeps the work directory; JOBS (default 2)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
source_dir=${REACTOR_SOURCE:-$root}
examples=${EXAMPLES:-minimal chat proxy}
jobs=${JOBS:-2}
work=$(mktemp -d "${TMPDIR:-/tmp}/reactor-install-test.XXXXXX")
if [ "${INSTALL_TEST_KEEP:-0}" != 1 ]; then trap 'rm -rf "$work"' EXIT; fi
prefix=$work/prefix
log=$work/step.log
# Runs a build step quietly; its output is shown only when it fails.
quiet() { "$@" >"$log" 2>&1 || { cat "$log" >&2; echo "FAIL: $*" >&2; exit 1; }; }

echo "== library only: configure, build, install to $prefix"
quiet cmake -S "$source_dir" -B "$work/lib" -DCMAKE_BUILD_TYPE=Release -DREACTORD_BUILD_SERVER=OFF \
  -DREACTORD_BUILD_TESTS=OFF -DREACTORD_BUILD_BENCH=OFF -DREACTORD_BUILD_EXAMPLES=OFF "$@"
quiet cmake --build "$work/lib" -j"$jobs"
quiet cmake --install "$work/lib" --prefix "$prefix"
pc=$(find "$prefix" -name reactor.pc -print -quit)
[ -n "$pc" ] || { echo "FAIL: no reactor.pc under $prefix" >&2; exit 1; }
[ -z "$(find "$prefix" -path '*include*' -name '*backend.h' ! -name backend_kind.h)" ] ||
  { echo "FAIL: a private backend header was installed" >&2; exit 1; }

declare -A binary=([minimal]=minimal_echo [chat]=chat_server [proxy]=tcp_proxy)
runs=0
for ex in $examples; do
  src=$root/examples/$ex
  echo "== $ex: find_package(reactor) with CMAKE_PREFIX_PATH"
  quiet cmake -S "$src" -B "$work/cmake-$ex" -DCMAKE_PREFIX_PATH="$prefix" -DCMAKE_BUILD_TYPE=Release
  quiet cmake --build "$work/cmake-$ex" -j"$jobs"
  echo "== $ex: pkg-config with PKG_CONFIG_PATH"
  mkdir -p "$work/pc-$ex"
  (cd "$work/pc-$ex" && export PKG_CONFIG_PATH=$(dirname "$pc") && quiet make -f "$src/Makefile")
  for build in cmake pc; do
    echo "== $ex: test on the $build build"
    python3 "$src/test_$ex.py" "$work/$build-$ex/${binary[$ex]}"
    runs=$((runs + 1))
  done
done
echo "install-test: $runs passed, 0 failed"
