#!/usr/bin/env python3
"""Measures reactord's user-space memory per idle connection: RSS growth / connections.

Starts reactord (one loop, echo), opens N idle connections from this process, reads the
server's VmRSS before and after, and prints bytes per connection. Kernel socket memory is
not in RSS, so this is the server's own per-connection state (slots, epoll/uring bookkeeping).
usage: bench/idle_memory.py [--build-dir build] [--conns 10000] [--backend epoll|io_uring]
"""
import argparse, os, re, resource, socket, subprocess, sys, time


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise RuntimeError("no VmRSS")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build-dir", default="build")
    ap.add_argument("--conns", type=int, default=10000)
    ap.add_argument("--backend", default="epoll")
    a = ap.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if a.conns + 100 > hard:
        sys.exit(f"need {a.conns + 100} fds, hard limit is {hard}")
    srv = subprocess.Popen([f"{a.build_dir}/server/reactord", "--threads", "1", "--backend", a.backend,
                            "--listen", "echo=127.0.0.1:0", "--idle-timeout", "0"],
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
    s = socket.create_connection(("127.0.0.1", port)); s.sendall(b"x"); s.recv(1); s.close()
    time.sleep(0.3)
    before = rss_kib(srv.pid)
    socks = []
    for _ in range(a.conns):
        socks.append(socket.create_connection(("127.0.0.1", port)))
    # Round-trip on the last one: every earlier accept has been processed by then (one loop).
    socks[-1].sendall(b"y"); socks[-1].recv(1)
    time.sleep(0.5)
    after = rss_kib(srv.pid)
    per = (after - before) * 1024 / a.conns
    print(f"backend={a.backend} conns={a.conns} rss_before={before}KiB rss_after={after}KiB "
          f"bytes_per_idle_conn={per:.0f}")
    for s in socks:
        s.close()
    srv.terminate()
    srv.wait(timeout=30)


if __name__ == "__main__":
    main()
