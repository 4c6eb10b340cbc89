#!/usr/bin/env python3
"""Kernel memory per idle TCP connection: /proc/meminfo Slab growth while N loopback
connections to reactord are open, divided by 2N (both ends are on this machine). The machine
is shared, so the figure is noisy: run it twice. For capacity budgets (docs/SCALING.md).

  bench/kernel_socket_memory.py REACTORD [N=8000]
"""
import random
import resource
import socket
import subprocess
import sys
import time


def slab_kib():
    with open("/proc/meminfo") as f:
        for line in f:
            if line.startswith("Slab:"):
                return int(line.split()[1])
    raise RuntimeError("no Slab in /proc/meminfo")


def main():
    n = int(sys.argv[2]) if len(sys.argv) > 2 else 8000
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    port = random.randint(20000, 40000)
    srv = subprocess.Popen([sys.argv[1], "--no-config", "--threads", "1", "--listen",
                            f"echo=127.0.0.1:{port}"], stderr=subprocess.DEVNULL)
    try:
        time.sleep(0.5)
        before = slab_kib()
        socks = [socket.create_connection(("127.0.0.1", port)) for _ in range(n)]
        time.sleep(1)
        after = slab_kib()
        print(f"conns={n} slab_before={before}KiB slab_after={after}KiB "
              f"kernel_bytes_per_socket={(after - before) * 1024 / (2 * n):.0f}")
        for s in socks:
            s.close()
    finally:
        srv.terminate()
        srv.wait()


if __name__ == "__main__":
    main()
