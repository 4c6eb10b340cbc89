#!/usr/bin/env bash
# The access log's cost: reactord (one loop) under GET /plaintext from reactord-bench (one
# thread, 50 connections x pipeline 16, 10 s after 2 s of warm-up); prints the server's CPU
# microseconds per request. Compare a run without and with --access-log:
#   bench/access_log_cost.sh;  bench/access_log_cost.sh --access-log /tmp/a.log
# REACTORD and BENCH name the binaries (default build/server/reactord, build/bench/reactord-bench).
set -euo pipefail
srv=${REACTORD:-build/server/reactord}
load=${BENCH:-build/bench/reactord-bench}
port=${PORT:-18181}
"$srv" --no-config --threads 1 --listen "http=127.0.0.1:$port" "$@" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
sleep 0.5
cpu_ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
run() {
  "$load" --target "127.0.0.1:$port" --proto http --path /plaintext --threads 1 --conns 50 \
    --pipeline 16 --duration "$1"
}
run 2 >/dev/null
c0=$(cpu_ticks)
out=$(run 10)
c1=$(cpu_ticks)
n=$(awk '/requests/ {print $2; exit}' <<<"$out")
awk -v t=$((c1 - c0)) -v hz="$(getconf CLK_TCK)" -v n="$n" -v a="$*" \
  'BEGIN { printf "[%s] %d requests, server CPU %.3f us/request\n", a, n, t / hz * 1e6 / n }'
