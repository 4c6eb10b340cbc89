#!/usr/bin/env bash
# The library as a user gets it: configure reactord with only the library, install it to a
# temporary prefix, build every example against the installed copy twice (CMake
# find_package(reactor) through CMAKE_PREFIX_PATH, and the example's Makefile through
# pkg-config and PKG_CONFIG_PATH), and run each example's test on both builds. Nothing from
# the source tree's reactor/ is on the examples' include path, so a public header that
# includes a private one, or a missing install rule, fails here. Then the library's own
# project (cmake -S reactor) built shared: its .pc must work where liburing's is out of sight,
# and minimal must build and run against it both ways. Last, find_package(reactor QUIET) on
# the static install with liburing out of sight must say "not found", not stop the configure.
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
fail() { echo "FAIL: $*" >&2; exit 1; }

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

shared=$work/prefix-shared
echo "== reactor/ alone, BUILD_SHARED_LIBS=ON: configure, build, install to $shared"
quiet cmake -S "$source_dir/reactor" -B "$work/lib-shared" -DCMAKE_BUILD_TYPE=Release \
  -DBUILD_SHARED_LIBS=ON "$@"
quiet cmake --build "$work/lib-shared" -j"$jobs"
quiet cmake --install "$work/lib-shared" --prefix "$shared"
shared_pc=$(find "$shared" -name reactor.pc -print -quit)
[ -n "$shared_pc" ] || fail "no reactor.pc under $shared"
# PKG_CONFIG_LIBDIR: our .pc and nothing else, as on a machine without liburing-dev.
PKG_CONFIG_LIBDIR=$(dirname "$shared_pc") pkg-config --cflags --libs reactor >/dev/null ||
  fail "pkg-config reactor (shared) needs more than reactor.pc: $(grep -i requires "$shared_pc")"
src=$root/examples/minimal
quiet cmake -S "$src" -B "$work/shared-cmake" -DCMAKE_PREFIX_PATH="$shared" -DCMAKE_BUILD_TYPE=Release
quiet cmake --build "$work/shared-cmake" -j"$jobs"
mkdir -p "$work/shared-pc"
(cd "$work/shared-pc" && export PKG_CONFIG_PATH=$(dirname "$shared_pc") && quiet make -f "$src/Makefile")
for build in cmake pc; do
  echo "== minimal: test on the shared $build build"
  [[ $(ldd "$work/shared-$build/minimal_echo") == *libreactor.so* ]] || fail "not linked to libreactor.so"
  LD_LIBRARY_PATH=$(dirname "$(find "$shared" -name 'libreactor.so*' -print -quit)") \
    python3 "$src/test_minimal.py" "$work/shared-$build/minimal_echo"
  runs=$((runs + 1))
done

if grep -q -- -luring "$pc"; then
  echo "== find_package(reactor QUIET) on the static install, liburing out of sight"
  mkdir -p "$work/probe" "$work/no-pc"
  printf '%s\n' 'cmake_minimum_required(VERSION 3.25)' 'project(probe LANGUAGES CXX)' \
    'find_package(reactor ${MODE})' 'message(STATUS "reactor_FOUND=${reactor_FOUND}")' \
    >"$work/probe/CMakeLists.txt"
  PKG_CONFIG_LIBDIR=$work/no-pc cmake -S "$work/probe" -B "$work/probe-quiet" -DMODE=QUIET \
    -DCMAKE_PREFIX_PATH="$prefix" >"$log" 2>&1 || { cat "$log" >&2; fail "QUIET stopped the configure"; }
  grep -q "reactor_FOUND=0" "$log" || { cat "$log" >&2; fail "QUIET: expected reactor_FOUND=0"; }
  if PKG_CONFIG_LIBDIR=$work/no-pc cmake -S "$work/probe" -B "$work/probe-required" -DMODE=REQUIRED \
    -DCMAKE_PREFIX_PATH="$prefix" >"$log" 2>&1; then fail "REQUIRED configured without liburing"; fi
  grep -q "liburing-dev" "$log" || { cat "$log" >&2; fail "REQUIRED: the reason does not name liburing"; }
  runs=$((runs + 1))
fi
echo "install-test: $runs passed, 0 failed"
