#!/usr/bin/env bash
# reactord's CPU time per HTTP request at a fixed offered rate (one loop, loopback):
# utime+stime of the server over the run / requests served. For capacity budgets
# (docs/SCALING.md), not for comparisons between commits (bench/ci does that).
#   bench/cpu_per_request.sh [BUILD_DIR] [RATE] [SECONDS]
set -euo pipefail
build=${1:-build} rate=${2:-5000} secs=${3:-10}
port=$((20000 + RANDOM % 20000))
"$build/server/reactord" --no-config --threads 1 --listen "http=127.0.0.1:$port" 2>/dev/null &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true' EXIT
for _ in $(seq 50); do (exec 3<>/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done
ticks() { awk '{print $14 + $15}' "/proc/$pid/stat"; }
t0=$(ticks)
out=$("$build/bench/reactord-bench" --target "127.0.0.1:$port" --proto http --path /plaintext \
  --conns 50 --rate "$rate" --duration "$secs")
t1=$(ticks)
reqs=$(echo "$out" | awk '/^  requests/ {print $2}')
hz=$(getconf CLK_TCK)
awk -v t=$((t1 - t0)) -v hz="$hz" -v r="$reqs" -v rate="$rate" 'BEGIN {
  printf "rate=%d requests=%d server_cpu_s=%.2f cpu_us_per_request=%.1f\n", rate, r, t / hz, t / hz * 1e6 / r }'
