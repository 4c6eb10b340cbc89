#!/usr/bin/env bash
# Installs the Debian 12 packages reactord needs to build, test and benchmark, if missing.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev liburing-dev
      libsystemd-dev libtomlplusplus-dev valgrind python3 curl procps iproute2 util-linux
      clang libclang-rt-14-dev
      systemd dpkg-dev file  # systemd-analyze, systemd-socket-activate; cpack -G DEB
      haproxy)               # tests/fleet: the balancer in front of the reactord hosts
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "deps: installing ${missing[*]}" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
