#!/usr/bin/env python3
"""minimal_echo over real sockets: bytes come back equal, per connection, then EOF after ours.

usage: test_minimal.py PATH/TO/minimal_echo
"""
import os
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402


def echo_roundtrip(server, payload, results, i):
    s = server.connect()
    sender = threading.Thread(target=lambda: (s.sendall(payload), s.shutdown(1)))
    sender.start()
    got = testlib.recv_until_eof(s)  # the default on_peer_closed closes after the queue drains
    sender.join()
    s.close()
    results[i] = got


def main():
    with testlib.Server([sys.argv[1], "127.0.0.1:0"]) as server:
        # One connection, 8 MiB: far above the 1 MiB high-water mark, so reading pauses and
        # resumes while this client's own reads lag; every byte still comes back in order.
        big = os.urandom(8 << 20)
        results = [None]
        echo_roundtrip(server, big, results, 0)
        testlib.check(results[0] == big, f"8 MiB echo: got {len(results[0])} bytes, not equal")

        # 32 connections at once, each with its own bytes: nothing crosses between them.
        n = 32
        payloads = [os.urandom(64 << 10) + bytes([i]) for i in range(n)]
        results = [None] * n
        threads = [threading.Thread(target=echo_roundtrip, args=(server, payloads[i], results, i))
                   for i in range(n)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        for i in range(n):
            testlib.check(results[i] == payloads[i], f"connection {i}: echo differs")

        code, err = server.stop()
        testlib.check(code == -15, f"minimal_echo exit {code} on SIGTERM (expected killed): {err}")
    testlib.passed("minimal", 3)


if __name__ == "__main__":
    main()
