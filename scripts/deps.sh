#!/usr/bin/env bash
# Installs the Debian 12 packages reactord needs to build, test and benchmark, if missing.
set -euo pipefail
pkgs=(cmake g++ make pkg-config libgtest-dev libgmock-dev libbenchmark-dev liburing-dev
      libsystemd-dev libtomlplusplus-dev valgrind python3 curl procps iproute2 util-linux
      clang libclang-rt-14-dev
      systemd dpkg-dev file lintian  # systemd-analyze, systemd-socket-activate; cpack -G DEB
      systemd-container debootstrap  # tests/deploy/systemd: Debian 12 booted under systemd-nspawn
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

# promtool, to lint /metrics in the tests: Debian's prometheus package, downloaded and unpacked
# (not installed: no Prometheus server is started), cached outside the source tree.
promtool_dir=/var/cache/reactord/prometheus
if [ ! -x "$promtool_dir/usr/bin/promtool" ]; then
  echo "deps: unpacking promtool from Debian's prometheus package into $promtool_dir" >&2
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO=sudo
  tmp=$(mktemp -d)
  chmod 755 "$tmp"  # apt's _apt user writes the download here
  (cd "$tmp" && apt-get download prometheus >/dev/null 2>&1) ||
    { $SUDO apt-get update -qq && (cd "$tmp" && apt-get download prometheus >/dev/null); }
  $SUDO mkdir -p "$promtool_dir"
  $SUDO dpkg -x "$tmp"/prometheus_*.deb "$promtool_dir"
  rm -rf "$tmp"
fi
