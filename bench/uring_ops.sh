#!/usr/bin/env bash
# io_uring operations per request: which SQEs (by opcode) a one-loop reactord submits, and how
# many plain file look-ups (io_uring_file_get) it needs, per echo request of echo_client.
# Exact counts from kernel tracepoints (perf, root), not timings. REACTOR_URING_DISABLE /
# REACTOR_URING_ENABLE in the environment reach the server (echo_client does not use them).
#   flock /tmp/bench.lock bench/uring_ops.sh [BUILD_DIR] [SIZE] [CONNS] [DEPTH] [SECONDS]
set -euo pipefail
build=${1:-build} size=${2:-64} conns=${3:-100} depth=${4:-1} secs=${5:-3}
tmp=$(mktemp -d)
taskset -c 0 "$build/server/reactord" --no-config --backend io_uring --threads 1 \
  --idle-timeout 0 --log-level debug --listen echo=127.0.0.1:0 2>"$tmp/log" &
pid=$!
trap 'kill $pid 2>/dev/null; wait $pid 2>/dev/null || true; rm -rf "$tmp"' EXIT
for _ in $(seq 50); do grep -q "listening echo" "$tmp/log" && break; sleep 0.1; done
port=$(grep -o "listening echo on 127.0.0.1:[0-9]*" "$tmp/log" | cut -d: -f2)
perf record -q -e io_uring:io_uring_submit_req -e io_uring:io_uring_file_get -p "$pid" \
  -o "$tmp/perf.data" 2>/dev/null &
perf_pid=$!
sleep 0.5
out=$(taskset -c 1 "$build/bench/floor/echo_client" "$port" "$conns" "$size" "$depth" "$secs")
kill -INT $perf_pid
wait $perf_pid || true
kill -TERM $pid
wait $pid || true
reqs=$(echo "$out" | sed 's/.*"requests": \([0-9]*\).*/\1/')
echo "size=$size conns=$conns depth=$depth requests=$reqs"
perf script -i "$tmp/perf.data" 2>/dev/null | grep -oE "io_uring_file_get|opcode [A-Z_]+" |
  sort | uniq -c | awk -v r="$reqs" '{ n = $1; $1 = ""; printf "  %-22s %10d %8.3f per request\n", $0, n, n / r }'
grep -E "io_uring: " "$tmp/log" | sed 's/^.*debug: /  /'
