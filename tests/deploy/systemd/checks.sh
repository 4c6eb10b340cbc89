#!/bin/bash
# Runs inside the booted container (reactord-checks.service, after multi-user.target) against
# the .deb in /root; one PASS/FAIL line per check and FIGURE lines go to /results/results.txt,
# then the container powers off. The six checks of tests/deploy/systemd/README.md.
set -u
out=/results/results.txt
: >"$out"
pass() { echo "PASS $*" >>"$out"; }
fail() { echo "FAIL $*" >>"$out"; }
figure() { echo "FIGURE $*" >>"$out"; }
check() {
  local what=$1
  shift
  if "$@"; then pass "$what"; else fail "$what"; fi
}
prop() { systemctl show -p "$2" --value "$1"; }
now_ms() { echo $(($(date +%s%N) / 1000000)); }
# Waits up to $1 seconds for the command to succeed.
wait_for() {
  local limit=$1
  shift
  for _ in $(seq 1 $((limit * 10))); do
    "$@" && return 0
    sleep 0.1
  done
  return 1
}
reply() { printf '%s\n' "$2" | timeout 5 reactord-client "127.0.0.1:$1" 2>/dev/null; }
export DEBIAN_FRONTEND=noninteractive
cd /root || exit 1

# 1. Install: enabled and started the Debian way, active only once READY=1, endpoints answer.
apt-get install -y -q ./reactord_*.deb >/results/apt-install.log 2>&1
check "1 apt install ./reactord_*.deb" [ $? -eq 0 ]
check "1 enabled by the package" [ "$(systemctl is-enabled reactord.service)" = enabled ]
check "1 started by the package" [ "$(systemctl is-active reactord.service)" = active ]
# Type=notify: systemd moves the unit to active when reactord sends READY=1 (with its STATUS=).
check "1 Type=notify" [ "$(prop reactord Type)" = notify ]
check "1 STATUS= from reactord" [ -n "$(prop reactord StatusText)" ]
started=$(prop reactord ExecMainStartTimestampMonotonic)
active=$(prop reactord ActiveEnterTimestampMonotonic)
figure "time_to_ready_ms $(((active - started) / 1000))"
check "1 http /health" [ "$(curl -s http://127.0.0.1:8080/health)" = ok ]
check "1 upper 127.0.0.1:7001" [ "$(reply 7001 hello)" = HELLO ]
check "1 echo 127.0.0.1:7000" [ "$(reply 7000 hi)" = hi ]
# The <N> prefix reached journald: "ready" is an info line, so -p info shows it, -p warning not.
check "1 journal priorities: ready is info" journalctl -u reactord -p info -q --no-pager -g ': ready$'
check "1 journal priorities: ready is not a warning" \
  test -z "$(journalctl -u reactord -p warning -q --no-pager -g ': ready$')"

# 2. Reload: a live change takes effect; an invalid file keeps the old settings and logs an error.
conf=/etc/reactord/reactord.toml
cp "$conf" /root/reactord.toml.orig
sed -i 's/^max-conns = 0$/max-conns = 1/' "$conf"
systemctl reload reactord
check "2 reload logged" wait_for 10 journalctl -u reactord -q --no-pager -g 'reload: max-conns 0 -> 1'
exec 3<>/dev/tcp/127.0.0.1/7000 # holds the one connection allowed
printf 'held\n' >&3
read -r -t 5 held <&3
check "2 max-conns 1 takes effect: a second connection is refused" [ -z "$(reply 7000 second)" ]
exec 3>&-
echo 'no-such-key = 1' >>"$conf"
systemctl reload reactord
check "2 invalid file: error in journalctl -p err" \
  wait_for 10 journalctl -u reactord -p err -q --no-pager -g "$conf:[0-9]+: no-such-key: unknown key"
check "2 invalid file: still active" [ "$(systemctl is-active reactord)" = active ]
check "2 invalid file: old settings kept (max-conns 1 still in force)" \
  wait_for 5 [ "$(reply 7000 after)" = after ]
cp /root/reactord.toml.orig "$conf"
systemctl reload reactord
wait_for 10 journalctl -u reactord -q --no-pager -g 'reload: max-conns 1 -> 0'

# 3. Watchdog: a stopped process stops the pings; systemd restarts it.
pid=$(prop reactord MainPID)
t0=$(now_ms)
kill -STOP "$pid"
restarted() {
  local p
  p=$(prop reactord MainPID)
  [ "$p" != 0 ] && [ "$p" != "$pid" ] && [ "$(systemctl is-active reactord)" = active ]
}
check "3 restarted after the hang" wait_for 60 restarted
t1=$(now_ms)
figure "restart_after_hang_ms $((t1 - t0)) (WatchdogSec=$(prop reactord WatchdogUSec) TimeoutAbortSec=5s RestartSec=1s)"
check "3 within WatchdogSec + TimeoutAbortSec + RestartSec + 5 s" [ $((t1 - t0)) -le 21000 ]
check "3 journal says why" journalctl -u reactord -q --no-pager -g 'Watchdog timeout'
check "3 answers again" wait_for 10 [ "$(reply 7000 back)" = back ]

# 4. Socket activation: listening before the service runs, started by the first connection,
# and a restart under a connect loop refuses nothing.
systemctl disable --now reactord.service >/dev/null 2>&1
systemctl start reactord.socket reactord-upper.socket
listening_not_running() {
  [ "$(systemctl is-active reactord.socket)" = active ] &&
    [ "$(systemctl is-active reactord-activated.service)" = inactive ] &&
    grep -q ':1B58 00000000:0000 0A' /proc/net/tcp # 127.0.0.1:7000 in LISTEN
}
check "4 sockets listening, service not running" listening_not_running
check "4 first connection answered" [ "$(reply 7000 first)" = first ]
check "4 first connection started the service" \
  wait_for 10 [ "$(systemctl is-active reactord-activated.service)" = active ]
fails=0
loop() {
  local n=0 f=0
  for i in $(seq 1 300); do
    [ "$(reply 7000 "n$i")" = "n$i" ] || f=$((f + 1))
    n=$((n + 1))
  done
  echo "$n $f" >/root/loop.txt
}
loop &
sleep 0.5
systemctl restart reactord-activated.service
wait
read -r tried fails </root/loop.txt
figure "restart_under_connect_loop connections=$tried failed=$fails"
check "4 restart under a connect loop: no connection refused or failed" [ "$fails" = 0 ]
systemctl stop reactord-activated.service reactord.socket reactord-upper.socket

# 5. systemd-analyze security, inside the container.
for unit in reactord.service reactord-activated.service; do
  level=$(systemd-analyze security "$unit" 2>/dev/null | sed -n "s/.*Overall exposure level for $unit: \([0-9.]*\).*/\1/p")
  figure "exposure $unit $level"
  limit=1.5
  [ "$unit" = reactord-activated.service ] && limit=0.5
  check "5 exposure $unit $level <= $limit" awk -v l="$level" -v m="$limit" 'BEGIN { exit !(l != "" && l <= m) }'
done

# 6. apt remove stops the service and keeps the config; apt purge removes it.
systemctl enable --now reactord.service >/dev/null 2>&1
check "6 running before remove" [ "$(systemctl is-active reactord)" = active ]
apt-get remove -y -q reactord >/results/apt-remove.log 2>&1
check "6 remove stops the service" [ "$(systemctl is-active reactord)" != active ]
check "6 remove keeps the config" [ -f "$conf" ]
check "6 nothing listens after remove" [ -z "$(reply 7000 gone)" ]
apt-get purge -y -q reactord >/results/apt-purge.log 2>&1
check "6 purge removes the config" [ ! -e "$conf" ]

journalctl --no-pager -o short-monotonic >/results/journal.txt 2>&1
echo done >/results/done
systemctl poweroff --no-block
