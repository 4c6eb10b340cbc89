#!/usr/bin/env python3
"""chat_server over real sockets: fan-out across loops, per-sender order, the queue rule.

usage: test_chat.py PATH/TO/chat_server

Checks, with exact counts:
  1. lines from a member on each loop reach every member on every loop (the sender too),
     in the order sent, each exactly once;
  2. a member that stops reading loses lines only by the stated rule: what it receives plus
     what the '* dropped N lines' notices count equals what was published, and it did drop;
     the members that read meanwhile receive every line;
  3. a line longer than --max-line is refused and the connection closed;
  4. SIGTERM: every member is told '* server shutting down', gets EOF, and the server exits 0.
"""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import testlib  # noqa: E402

MAX_QUEUE = 16 << 10
MAX_LINE = 1024
WELCOME = re.compile(r"\* welcome (\d+\.\d+), loop (\d+) of (\d+)$")


class Member:
    def __init__(self, server, rcvbuf=None):
        self.sock = server.connect(rcvbuf)
        self.reader = testlib.LineReader(self.sock)
        m = WELCOME.match(self.reader.line() or "")
        testlib.check(m is not None, "no welcome line")
        self.id, self.loop, self.loops = m.group(1), int(m.group(2)), int(m.group(3))

    def send_lines(self, lines):
        self.sock.sendall("".join(line + "\n" for line in lines).encode())

    def read_lines(self, n):
        out = []
        for _ in range(n):
            line = self.reader.line()
            testlib.check(line is not None, f"member {self.id}: EOF after {len(out)} of {n} lines")
            out.append(line)
        return out


def members_on_every_loop(server, per_loop):
    """Connects until each loop has `per_loop` members (the kernel picks the loop)."""
    by_loop, extra = {}, []
    for _ in range(200):
        m = Member(server)
        if len(by_loop.get(m.loop, [])) < per_loop:
            by_loop.setdefault(m.loop, []).append(m)
        else:
            extra.append(m)
        if len(by_loop) == m.loops and all(len(v) == per_loop for v in by_loop.values()):
            break
    testlib.check(len(by_loop) == 2, f"members landed on loops {sorted(by_loop)}, not both")
    return [m for v in by_loop.values() for m in v] + extra


def fan_out(members):
    """Every member publishes 50 lines; everyone reads 50 * len(members) lines."""
    n = 50
    for m in members:
        m.send_lines([f"hello {i} from {m.id}" for i in range(n)])
    for reader in members:
        got = reader.read_lines(n * len(members))
        for sender in members:
            mine = [line for line in got if line.startswith(sender.id + ": ")]
            want = [f"{sender.id}: hello {i} from {sender.id}" for i in range(n)]
            testlib.check(mine == want,
                          f"{reader.id} got {len(mine)} lines from {sender.id}, not {n} in order")


def slow_member(server, members):
    """One member with a 4 KiB receive buffer reads nothing while 40,000 lines go out."""
    slow = Member(server, rcvbuf=4096)
    fast = members[:4]
    publisher = fast[0]
    # A batch (8.8 KB) fits under MAX_QUEUE even when the kernel takes none of it at once, so a
    # member that reads each batch before the next never drops a line.
    total, batch = 40000, 100
    for start in range(0, total, batch):
        publisher.send_lines([f"line {i:06d} " + "x" * 80 for i in range(start, start + batch)])
        for m in fast:  # the fast members keep up: each batch is read before the next is sent
            got = m.read_lines(batch)
            testlib.check(got[0] == f"{publisher.id}: line {start:06d} " + "x" * 80,
                          f"{m.id}: batch {start} starts with {got[0][:40]!r}")
    # Now the slow member reads. Until its queue has drained, a sync line may be dropped for
    # it too (the rule applies to every line), so sync lines go out until one arrives; they
    # are counted like the others.
    received, dropped, last, syncs = 0, 0, -1, 0
    slow.sock.settimeout(0.2)
    while syncs < 1000:
        syncs += 1
        publisher.send_lines([f"sync {syncs}"])
        for m in fast:
            testlib.check(m.read_lines(1) == [f"{publisher.id}: sync {syncs}"],
                          f"{m.id}: no sync line {syncs}")
        try:
            line = slow.reader.line()
            while line is not None and not line.startswith(f"{publisher.id}: sync "):
                d = re.match(r"\* dropped (\d+) lines$", line)
                if d:
                    dropped += int(d.group(1))
                else:
                    num = int(line.split()[2])
                    testlib.check(num > last, f"slow member: line {num} after line {last}")
                    last, received = num, received + 1
                line = slow.reader.line()
            testlib.check(line is not None, "slow member: EOF")
            break  # a sync line arrived: the queue had drained
        except TimeoutError:
            continue  # quiet for 200 ms without a sync line: send another
    slow.sock.settimeout(testlib.TIMEOUT)
    sync_got = int(line.split()[2])
    dropped_syncs = sync_got - 1  # syncs before the one received were all dropped...
    # ...since the reader saw no sync line before this one; a later sync is still unsent.
    total += dropped_syncs
    testlib.check(dropped > 0, "slow member dropped nothing: the queue rule was not exercised")
    testlib.check(received + dropped == total,
                  f"slow member: {received} received + {dropped} dropped != {total} published")
    print(f"slow member: {received} lines received, {dropped} dropped by the rule")
    return slow


def long_line(server):
    m = Member(server)
    m.sock.sendall(b"y" * (MAX_LINE + 1))
    testlib.check(m.reader.line() == "* line too long", "no refusal of a long line")
    testlib.check(m.reader.line() is None, "connection not closed after a long line")


def run(backend):
    with testlib.Server([sys.argv[1], "127.0.0.1:0", "--threads", "2", "--backend", backend,
                         "--max-queue", str(MAX_QUEUE), "--max-line", str(MAX_LINE)]) as server:
        testlib.check(server.backend == backend, f"asked for {backend}, runs {server.backend}")
        members = members_on_every_loop(server, per_loop=2)
        fan_out(members)
        slow = slow_member(server, members)
        long_line(server)
        # Drain: every member, the ones that stopped reading too, gets the notice and EOF
        # (read here while the server drains: it waits for them), then the server exits 0.
        server.proc.send_signal(signal.SIGTERM)
        for m in members + [slow]:
            rest = testlib.recv_until_eof(m.sock).decode()
            testlib.check(rest.endswith("* server shutting down\n"),
                          f"{m.id}: before EOF got {rest[-80:]!r}")
        code, err = server.stop()
        testlib.check(code == 0, f"chat_server exit {code} on SIGTERM: {err}")


def main():
    testlib.on_each_backend("chat", run)


if __name__ == "__main__":
    main()
