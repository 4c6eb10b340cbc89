#!/usr/bin/env bash
# The systemd-in-container test (ctest label systemd): boots Debian 12 with systemd as PID 1
# under systemd-nspawn -b (own network namespace: loopback only), installs the .deb this build
# makes, and runs checks.sh inside. Exit 0 when every check passes, 1 when one fails, 77 (skip)
# when this machine cannot boot a container.
#   run_in_container.sh CPACK CPACK_CONFIG [RESULTS_COPY]
# The root file systems are cached outside the tree and reused: /var/cache/reactord/rootfs
# (debootstrap minbase, as scripts/container-check.sh makes it) and, on top of it,
# /var/cache/reactord/rootfs-systemd (systemd, dbus and the package's dependencies).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cpack=$1
config=$2
copy=${3:-}
base=${ROOTFS_CACHE:-/var/cache/reactord/rootfs}
cache=${SYSTEMD_ROOTFS_CACHE:-/var/cache/reactord/rootfs-systemd}
skip() {
  echo "SKIP: $*"
  exit 77
}
[ "$(id -u)" -eq 0 ] || skip "needs root (systemd-nspawn)"
command -v systemd-nspawn >/dev/null || skip "systemd-nspawn missing (apt-get install systemd-container)"
work=$(mktemp -d /var/tmp/reactord-systemd.XXXXXX)
trap 'rm -rf "$work"' EXIT

if [ ! -x "$base/bin/bash" ]; then
  command -v debootstrap >/dev/null || skip "no cached rootfs and no debootstrap"
  mirror=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list 2>/dev/null || true)
  mkdir -p "$(dirname "$base")"
  debootstrap --variant=minbase bookworm "$base" "${mirror:-http://deb.debian.org/debian}" >/dev/null
fi
if [ ! -x "$cache/lib/systemd/systemd" ]; then
  echo "systemd rootfs: installing systemd into a copy of $base (once)"
  rm -rf "$cache.new"
  cp -a "$base" "$cache.new"
  systemd-nspawn -q --register=no --keep-unit -D "$cache.new" --pipe -- /bin/bash -c '
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
      --no-install-recommends systemd systemd-sysv dbus liburing2 libsystemd0 \
      init-system-helpers curl procps >/dev/null' || skip "cannot prepare the systemd rootfs"
  rm -rf "$cache"
  mv "$cache.new" "$cache"
fi

"$cpack" -G DEB --config "$config" -B "$work/deb" >"$work/cpack.log" 2>&1 ||
  { cat "$work/cpack.log"; exit 1; }
cp -a "$cache" "$work/root"
cp "$work"/deb/reactord_*.deb "$here/checks.sh" "$work/root/root/"
cat >"$work/root/etc/systemd/system/reactord-checks.service" <<'UNIT'
[Unit]
Description=reactord checks under systemd
After=multi-user.target
[Service]
Type=oneshot
ExecStart=/bin/bash /root/checks.sh
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
mkdir -p "$work/root/etc/systemd/system/multi-user.target.wants" "$work/results"
ln -s ../reactord-checks.service "$work/root/etc/systemd/system/multi-user.target.wants/"

# --register=no --keep-unit: no machined or system bus on the host (scripts/container-check.sh).
start=$(date +%s)
timeout 900 systemd-nspawn -q --register=no --keep-unit --private-network --console=pipe \
  -D "$work/root" --bind="$work/results:/results" -b </dev/null >"$work/boot.log" 2>&1 || true
echo "container ran $(($(date +%s) - start)) s"
if [ ! -f "$work/results/results.txt" ]; then
  tail -30 "$work/boot.log"
  skip "the container did not boot far enough to run the checks"
fi
cat "$work/results/results.txt"
if [ -n "$copy" ]; then
  cp "$work/results/results.txt" "$copy"
  cp "$work/results/journal.txt" "$copy.journal" 2>/dev/null || true
fi
[ -f "$work/results/done" ] || { echo "checks did not finish"; tail -30 "$work/boot.log"; exit 1; }
! grep -q '^FAIL' "$work/results/results.txt"
