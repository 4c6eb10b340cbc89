#!/usr/bin/env bash
# Runs the README's two commands as a newcomer would: in a fresh Debian 12 root file system
# (debootstrap'd once from the machine's Debian archive, cached outside the tree), under
# systemd-nspawn, on a copy of the committed tree. As root. Not part of .ci/run (it installs
# the build dependencies from the archive each time: minutes).
#
#   scripts/container-check.sh            # test.sh, then run.sh answering /health and upper
#   ROOTFS_CACHE=/var/cache/reactord/rootfs scripts/container-check.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
cache=${ROOTFS_CACHE:-/var/cache/reactord/rootfs}
work=${CONTAINER_DIR:-/var/tmp/reactord-container}
mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
mirror=${mirror:-http://deb.debian.org/debian}

for tool in debootstrap systemd-nspawn; do
  command -v "$tool" >/dev/null || {
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap systemd-container >/dev/null
    break
  }
done
if [ ! -x "$cache/bin/bash" ]; then
  echo "container-check: debootstrap bookworm into $cache (once)" >&2
  mkdir -p "$(dirname "$cache")"
  debootstrap --variant=minbase bookworm "$cache" "$mirror" >/dev/null
fi

rm -rf "$work"
cp -a "$cache" "$work"
mkdir -p "$work/root/reactord"
git -C "$root" archive HEAD | tar -x -C "$work/root/reactord"

# --register=no --keep-unit: no machined or system bus is needed (and none runs here when
# systemd is not PID 1); without them nspawn refuses to clean up its propagation directory.
systemd-nspawn -q --register=no --keep-unit -D "$work" --pipe -- /bin/bash -c '
  set -u
  cd /root/reactord
  ./scripts/test.sh > /root/test.log 2>&1; rc=$?
  grep -E "tests passed|tests failed" /root/test.log | tail -1
  echo "test.sh exit $rc"
  (timeout 600 ./scripts/run.sh > /root/run.log 2>&1 &)
  for i in $(seq 1 300); do curl -s http://127.0.0.1:8080/health > /root/health.txt && break; sleep 1; done
  echo "health: $(cat /root/health.txt 2>/dev/null)"
  echo "upper: $(printf "hello\n" | timeout 5 build/server/reactord-client 127.0.0.1:7001)"
  pkill -TERM -x reactord || true
  exit $rc
'
