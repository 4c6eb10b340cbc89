"""Helpers shared by the example tests: start an example, connect, read exactly, RSS.

Every test takes the example binary as its first argument, so the same test runs against the
in-tree build (ctest) and against binaries built from an installed reactor
(scripts/install-test.sh). Tests assert exact outcomes and stop themselves: every socket read
has a timeout, and the server is killed when the test ends.
"""
import os
import signal
import socket
import subprocess
import sys
import time

TIMEOUT = 30.0  # seconds for any single wait on a socket or a process


BACKENDS = ["epoll", "io_uring"]


class Unavailable(Exception):
    """The requested backend cannot run here (not built in, or refused by the kernel)."""


class Server:
    """Runs `argv`, reads 'listening on HOST:PORT' from its stdout, kills it on exit."""

    def __init__(self, argv, taskset=None):
        if taskset is not None:
            argv = ["taskset", "-c", str(taskset)] + list(argv)
        self.proc = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     text=True)
        line = self.proc.stdout.readline()
        if not line.startswith("listening on "):
            self.proc.kill()
            _, err = self.proc.communicate(timeout=TIMEOUT)
            if "io_uring" in err and "io_uring" in argv:
                raise Unavailable(err.strip())
            fail(f"{argv[0]} did not start: stdout {line!r}, stderr {err!r}")
        # "listening on HOST:PORT (BACKEND)"
        host, port = line.split()[2].rsplit(":", 1)
        self.address = (host, int(port))
        self.backend = line.split()[3].strip("()")

    @property
    def pid(self):
        return self.proc.pid

    def connect(self, rcvbuf=None):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        if rcvbuf is not None:  # before connect, so the window is negotiated small
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.settimeout(TIMEOUT)
        s.connect(self.address)
        return s

    def stop(self, sig=signal.SIGTERM):
        """Sends `sig`, waits for the exit, returns (exit code, stderr)."""
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
        try:
            _, err = self.proc.communicate(timeout=TIMEOUT)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            _, err = self.proc.communicate()
            fail(f"server did not exit within {TIMEOUT}s of signal {sig}")
        return self.proc.returncode, err

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.communicate()


def fail(message):
    print(f"FAIL: {message}", file=sys.stderr)
    sys.exit(1)


def check(cond, message):
    if not cond:
        fail(message)


def recv_exactly(sock, n):
    chunks, got = [], 0
    while got < n:
        b = sock.recv(min(n - got, 1 << 20))
        if not b:
            fail(f"connection closed after {got} of {n} bytes")
        chunks.append(b)
        got += len(b)
    return b"".join(chunks)


def recv_until_eof(sock):
    chunks = []
    while True:
        b = sock.recv(1 << 16)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


class LineReader:
    """Reads '\n'-terminated lines from a socket."""

    def __init__(self, sock):
        self.sock, self.buf = sock, b""

    def line(self):
        """The next line without its '\n', or None at EOF."""
        while b"\n" not in self.buf:
            b = self.sock.recv(1 << 16)
            if not b:
                return None
            self.buf += b
        line, self.buf = self.buf.split(b"\n", 1)
        return line.decode()


def proc_status_kib(pid, field):
    """A field of /proc/PID/status in KiB (VmRSS, VmHWM)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    fail(f"no {field} in /proc/{pid}/status")


def cpu_seconds(pid):
    """User + system CPU time of a process so far, from /proc/PID/stat."""
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks  # utime, stime


def on_each_backend(name, run):
    """Calls run(backend) for each backend; one the machine lacks is skipped, not failed."""
    done, skipped = 0, 0
    for backend in BACKENDS:
        try:
            run(backend)
            done += 1
        except Unavailable as e:
            print(f"{name}: {backend} skipped: {e}")
            skipped += 1
    check(done > 0, "no backend could run")
    print(f"{name}: {done} passed, 0 failed, {skipped} skipped")


def deadline(seconds):
    end = time.monotonic() + seconds
    return lambda: time.monotonic() < end


def passed(name, count):
    print(f"{name}: {count} passed, 0 failed")
