#!/usr/bin/env python3
"""Throughput and CPU per byte of tcp_proxy against a direct loopback connection.

usage: bench_proxy.py PATH/TO/tcp_proxy [--bytes N] [--repeat R] [--proxy-cpu 1] [--ends-cpu 0]

One source sends N bytes (default 4 GiB) to one sink, either directly or through the proxy
(one loop). Source and sink are pinned to --ends-cpu, the proxy to --proxy-cpu (taskset), so
the proxy's CPU time is its own. Reports, per backend and for the direct path, the median of
--repeat runs: MB/s end to end, the proxy's CPU seconds per GiB (user+system from
/proc/PID/stat) and the ends' CPU seconds per GiB. Timings vary with the machine's load; the
figures are for comparison on one machine, not assertions.
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

GIB = 1 << 30


def sink(port_file):
    s = socket.create_server(("127.0.0.1", 0))
    with open(port_file + ".tmp", "w") as f:
        f.write(str(s.getsockname()[1]))
    os.rename(port_file + ".tmp", port_file)
    conn, _ = s.accept()
    buf = bytearray(1 << 20)
    got = 0
    while True:
        n = conn.recv_into(buf)
        if n == 0:
            break
        got += n
    print(got)


def source(port, total):
    s = socket.create_connection(("127.0.0.1", port))
    block = memoryview(os.urandom(1 << 20))
    sent = 0
    while sent < total:
        n = min(len(block), total - sent)
        s.sendall(block[:n])
        sent += n
    s.shutdown(socket.SHUT_WR)
    s.recv(1)  # wait for the far side's close: every byte has arrived


def pinned(cpu, args):
    return ["taskset", "-c", str(cpu), sys.executable, os.path.abspath(__file__)] + args


def one_run(args, proxy_argv):
    port_file = f"/tmp/bench_proxy_sink.{os.getpid()}"
    if os.path.exists(port_file):
        os.unlink(port_file)
    sink_p = subprocess.Popen(pinned(args.ends_cpu, ["--role-sink", port_file]),
                              stdout=subprocess.PIPE, text=True)
    while not os.path.exists(port_file):
        time.sleep(0.01)
    sink_port = int(open(port_file).read())
    os.unlink(port_file)
    proxy = None
    target = sink_port
    if proxy_argv is not None:
        proxy = testlib.Server(proxy_argv + ["127.0.0.1:0", f"127.0.0.1:{sink_port}"],
                               taskset=args.proxy_cpu)
        target = proxy.address[1]
        proxy_cpu0 = testlib.cpu_seconds(proxy.pid)
    start = time.monotonic()
    src = subprocess.Popen(pinned(args.ends_cpu, ["--role-source", str(target), str(args.bytes)]))
    got = int(sink_p.stdout.read())
    ends_cpu = cpu_at_exit(sink_p) + cpu_at_exit(src)
    elapsed = time.monotonic() - start
    proxy_cpu = None
    if proxy is not None:
        proxy_cpu = testlib.cpu_seconds(proxy.pid) - proxy_cpu0
        proxy.stop()
    testlib.check(got == args.bytes, f"sink got {got} of {args.bytes} bytes")
    return args.bytes / elapsed / 1e6, proxy_cpu, ends_cpu


def cpu_at_exit(proc):
    """Waits for `proc` and returns its user+system CPU seconds."""
    _, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    testlib.check(proc.returncode == 0, f"{proc.args[-3:]} exited {proc.returncode}")
    return usage.ru_utime + usage.ru_stime


def main():
    if len(sys.argv) > 1 and sys.argv[1] == "--role-sink":
        return sink(sys.argv[2])
    if len(sys.argv) > 1 and sys.argv[1] == "--role-source":
        return source(int(sys.argv[2]), int(sys.argv[3]))
    ap = argparse.ArgumentParser()
    ap.add_argument("proxy")
    ap.add_argument("--bytes", type=int, default=4 * GIB)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--proxy-cpu", type=int, default=1)
    ap.add_argument("--ends-cpu", type=int, default=0)
    args = ap.parse_args()
    print(f"{args.bytes / GIB:.1f} GiB per run, median of {args.repeat}; source+sink on CPU "
          f"{args.ends_cpu}, proxy (1 loop) on CPU {args.proxy_cpu}")
    print(f"{'path':<18} {'MB/s':>8} {'proxy CPU s/GiB':>16} {'ends CPU s/GiB':>15}")
    paths = [("direct", None)] + [
        (f"proxy {b}", [args.proxy, "--threads", "1", "--backend", b]) for b in testlib.BACKENDS]
    for name, argv in paths:
        runs = []
        try:
            for _ in range(args.repeat):
                runs.append(one_run(args, argv))
        except testlib.Unavailable:
            print(f"{name:<18} skipped: backend unavailable")
            continue
        mbps = statistics.median(r[0] for r in runs)
        gib = args.bytes / GIB
        proxy = "-" if argv is None else f"{statistics.median(r[1] for r in runs) / gib:.3f}"
        ends = statistics.median(r[2] for r in runs) / gib
        print(f"{name:<18} {mbps:>8.0f} {proxy:>16} {ends:>15.3f}")


if __name__ == "__main__":
    main()
