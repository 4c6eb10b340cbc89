#!/usr/bin/env python3
"""Measures reactord's user-space memory per idle connection: RSS growth / connections.

Starts reactord (one loop, echo), opens N connections from this process, has each exchange one
message (a 64-byte echo: the shape of a real idle keep-alive connection, which has received and
sent at least once; --no-traffic keeps them silent), then reads the server's VmRSS. Kernel
socket memory is not in RSS, so this is the server's own per-connection state (slots, epoll or
io_uring bookkeeping, and whatever receive buffers the traffic left resident).

Two figures: `now`, right after the last exchange, and `settled`, after --settle seconds idle
(the loop's trim timer gives idle buffer pages back after a quiet second: with io_uring, the
pages of receive-ring buffers the messages passed through).
usage: bench/idle_memory.py [--build-dir build] [--conns 10000] [--backend epoll|io_uring]
                            [--size 64] [--no-traffic] [--settle 3]
"""
import argparse, re, resource, socket, subprocess, sys, time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def exchange(s, payload):
    s.sendall(payload)
    got = b""
    while len(got) < len(payload):
        chunk = s.recv(len(payload) - len(got))
        if not chunk:
            raise RuntimeError("connection closed during the exchange")
        got += chunk
    if got != payload:
        raise RuntimeError("echo differs")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--backend", default="epoll")
    ap.add_argument("--size", type=int, default=64, help="bytes each connection echoes once")
    ap.add_argument("--no-traffic", action="store_true", help="connections never send a byte")
    ap.add_argument("--settle", type=float, default=3.0, help="idle seconds before `settled`")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.conns + 100 > hard:
        sys.exit(f"need {a.conns + 100} fds, hard limit is {hard}")
    srv = subprocess.Popen([f"{a.build_dir}/server/reactord", "--threads", "1", "--backend", a.backend,
                            "--listen", "echo=127.0.0.1:0", "--idle-timeout", "0",
                            "--max-conns", str(a.conns + 100)],
                           stderr=subprocess.PIPE, text=True)
    port = None
    for line in srv.stderr:
        m = re.search(r"listening echo on 127\.0\.0\.1:(\d+)", line)
        if m:
            port = int(m.group(1))
        if "ready" in line:
            break
    if port is None:
        sys.exit("reactord did not start")
    # Warm up: one connection with traffic, so lazily created structures exist before the baseline.
    s = socket.create_connection(("127.0.0.1", port))
    exchange(s, b"x" * a.size)
    s.close()
    time.sleep(a.settle)
    before = rss_kib(srv.pid)
    socks = []
    payload = bytes(i % 251 for i in range(a.size))
    for _ in range(a.conns):
        s = socket.create_connection(("127.0.0.1", port))
        if not a.no_traffic:
            exchange(s, payload)
        socks.append(s)
    # Round-trip on the last one: every earlier accept has been processed by then (one loop).
    exchange(socks[-1], b"y")
    time.sleep(0.2)
    now = rss_kib(srv.pid)
    time.sleep(a.settle)
    settled = rss_kib(srv.pid)
    shape = "silent" if a.no_traffic else f"after_{a.size}B_echo"
    print(f"backend={a.backend} conns={a.conns} shape={shape} rss_before={before}KiB "
          f"rss_now={now}KiB rss_settled={settled}KiB "
          f"bytes_per_idle_conn_now={(now - before) * 1024 / a.conns:.0f} "
          f"bytes_per_idle_conn_settled={(settled - before) * 1024 / a.conns:.0f}")
    for s in socks:
        s.close()
    srv.terminate()
    srv.wait(timeout=30)


if __name__ == "__main__":
    main()
