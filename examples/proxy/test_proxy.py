#!/usr/bin/env python3
"""tcp_proxy over real sockets, on each backend: byte-exact both ways with a slow reader on
either side and the proxy's peak RSS bounded; half-close passed through; connect failure and
reset passed on.

usage: test_proxy.py PATH/TO/tcp_proxy [--bytes N] [--rss-limit-mib M]

  download: the upstream sends N bytes (default 1 GiB) and FIN; the client reads slowly
            (stalls 50 ms every 32 MiB), checks every byte, sees EOF, then still talks back
            through its half of the connection;
  upload:   the client sends N/4 bytes and FIN; the upstream reads slowly, checks every byte,
            then answers with the count and closes; the client gets the answer, then EOF;
  request:  the client sends a request and FIN at once; the upstream answers with N/4 bytes
            and closes while the client reads slowly (a half-closed side whose queue backs up);
  the proxy's VmHWM stays under the limit (default 64 MiB): without backpressure a stalled
  reader would make it buffer hundreds of MiB.
"""
import argparse
import os
import socket
import sys
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

BLOCK = os.urandom((1 << 20) + 7)  # an odd length: a misplaced chunk does not line up
BLOCK2 = BLOCK + BLOCK
CHUNK = 256 << 10


def send_pattern(sock, total):
    sent = 0
    view = memoryview(BLOCK2)
    while sent < total:
        off = sent % len(BLOCK)
        n = min(CHUNK, total - sent)
        sock.sendall(view[off:off + n])
        sent += n


def recv_pattern(sock, total, stall_every=32 << 20, stall_s=0.05):
    """Reads until EOF, checking each byte against the pattern; stalls now and then."""
    got, next_stall = 0, stall_every
    buf = bytearray(CHUNK)
    while True:
        n = sock.recv_into(buf)
        if n == 0:
            return got
        off = got % len(BLOCK)
        testlib.check(got + n <= total, f"more than {total} bytes arrived")
        testlib.check(buf[:n] == BLOCK2[off:off + n], f"bytes differ in [{got}, {got + n})")
        got += n
        if got >= next_stall:
            time.sleep(stall_s)
            next_stall += stall_every


class Upstream:
    """A listening socket; each accepted connection runs `serve(sock)` in a thread."""

    def __init__(self):
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.serve = None
        self.errors = []
        self.thread = None

    def expect(self, serve):
        def run():
            conn, _ = self.sock.accept()
            conn.settimeout(testlib.TIMEOUT)
            try:
                serve(conn)
            except Exception as e:  # reported by the main thread
                self.errors.append(repr(e))
            finally:
                conn.close()
        self.thread = threading.Thread(target=run)
        self.thread.start()

    def wait(self, what):
        self.thread.join(timeout=600)
        testlib.check(not self.thread.is_alive(), f"{what}: upstream still running")
        testlib.check(not self.errors, f"{what}: upstream: {self.errors}")


def download(server, upstream, total):
    def serve(conn):
        send_pattern(conn, total)
        conn.shutdown(socket.SHUT_WR)
        # Our FIN reached the client; its other half is still open: it talks back.
        testlib.check(testlib.recv_until_eof(conn) == b"thanks\n", "no reply after our FIN")
    upstream.expect(serve)
    client = server.connect()
    got = recv_pattern(client, total)
    testlib.check(got == total, f"download: {got} of {total} bytes before EOF")
    client.sendall(b"thanks\n")
    client.shutdown(socket.SHUT_WR)
    testlib.check(testlib.recv_until_eof(client) == b"", "download: bytes after both FINs")
    client.close()
    upstream.wait("download")


def upload(server, upstream, total):
    def serve(conn):
        got = recv_pattern(conn, total)
        conn.sendall(f"{got}\n".encode())
    upstream.expect(serve)
    client = server.connect()
    send_pattern(client, total)
    client.shutdown(socket.SHUT_WR)
    answer = testlib.recv_until_eof(client)
    testlib.check(answer == f"{total}\n".encode(), f"upload: upstream counted {answer!r}")
    client.close()
    upstream.wait("upload")


def request_then_response(server, upstream, total):
    """The client sends a request and its FIN at once (as `nc -N` or an HTTP/1.0 client
    may); the upstream reads to EOF, then streams a response of `total` bytes and closes. The
    client's side is half-closed while the response backs up behind its slow reads, and the
    upstream's FIN arrives while the proxy is not reading from it."""
    def serve(conn):
        testlib.check(testlib.recv_until_eof(conn) == b"GET everything\n", "request differs")
        send_pattern(conn, total)
    upstream.expect(serve)
    client = server.connect()
    client.sendall(b"GET everything\n")
    client.shutdown(socket.SHUT_WR)
    got = recv_pattern(client, total)
    testlib.check(got == total, f"response after the request's FIN: {got} of {total} bytes")
    client.close()
    upstream.wait("request-response")


def reset_passed_on(server, upstream):
    def serve(conn):
        conn.recv(16)
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    upstream.expect(serve)  # close() with SO_LINGER 0: a reset
    client = server.connect()
    client.sendall(b"hi")
    try:
        rest = testlib.recv_until_eof(client)
        testlib.fail(f"upstream reset: client got EOF after {rest!r}, not a reset")
    except ConnectionResetError:
        pass
    client.close()
    upstream.wait("reset")


def connect_refused(binary, backend):
    dead = socket.create_server(("127.0.0.1", 0))
    port = dead.getsockname()[1]
    dead.close()  # nobody listens there now
    with testlib.Server([binary, "127.0.0.1:0", f"127.0.0.1:{port}", "--backend", backend]) as s:
        client = s.connect()
        testlib.check(testlib.recv_until_eof(client) == b"", "refused upstream: bytes arrived")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("binary")
    ap.add_argument("--bytes", type=int, default=1 << 30)
    ap.add_argument("--rss-limit-mib", type=int, default=64)
    args = ap.parse_args()

    def run(backend):
        upstream = Upstream()
        with testlib.Server([args.binary, "127.0.0.1:0", f"127.0.0.1:{upstream.port}",
                             "--threads", "1", "--backend", backend]) as server:
            testlib.check(server.backend == backend, f"asked for {backend}, got {server.backend}")
            start = time.monotonic()
            download(server, upstream, args.bytes)
            upload(server, upstream, args.bytes // 4)
            request_then_response(server, upstream, args.bytes // 4)
            reset_passed_on(server, upstream)
            hwm = testlib.proc_status_kib(server.pid, "VmHWM")
            print(f"{backend}: {args.bytes + args.bytes // 2} bytes byte-exact in "
                  f"{time.monotonic() - start:.1f}s, proxy VmHWM {hwm / 1024:.1f} MiB")
            testlib.check(hwm < args.rss_limit_mib << 10,
                          f"proxy peak RSS {hwm} KiB over {args.rss_limit_mib} MiB")
            code, err = server.stop()
            testlib.check(code == 0, f"tcp_proxy exit {code} on SIGTERM: {err}")
        connect_refused(args.binary, backend)

    testlib.on_each_backend("proxy", run)


if __name__ == "__main__":
    main()
