#!/usr/bin/env python3
"""The fleet test: three reactord hosts behind a real HAProxy, in network namespaces.

Topology (RFC 5737 documentation addresses only, no route out of any namespace):
  client  198.51.100.2 (+ .3) --veth-- 198.51.100.1  balancer (HAProxy, deploy/haproxy/)
  balancer 192.0.2.1 on a bridge --veth-- 192.0.2.11/.12/.13  hosts b1 b2 b3 (reactord)

It asserts, printing each figure:
  1. reactord-bench through HAProxy (send-proxy-v2): 0 errors, every host served a share,
     and the hosts saw the client's address (--access-log lines), not the balancer's
  2. --deny 198.51.100.3/32 on the hosts refuses the client .3 carried by PROXY v2; .2 passes
  3. a rolling restart (SIGTERM with --drain-grace, a new reactord on the same host) under
     load: 0 failed requests, 0 resets, 0 failed connects
  4. kill -9 of one host under load: HAProxy marks it DOWN; the failed requests are counted

  tests/fleet/fleet_test.py --reactord PATH --bench PATH [--haproxy-cfg FILE]
Exit 0 pass, 1 fail, 77 skip (not root, or no network namespaces).
"""

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time

HOSTS = {"b1": "192.0.2.11", "b2": "192.0.2.12", "b3": "192.0.2.13"}
BALANCER_BACK = "192.0.2.1"
BALANCER_FRONT = "198.51.100.1"
CLIENT = "198.51.100.2"
CLIENT_DENIED = "198.51.100.3"
GRACE_S = 2
RATE = 2000  # requests/s the client offers: steady, and light on a shared 2-core machine
CONNS = 24


def sh(*args, check=True, capture=False, timeout=30, input_text=None):
    r = subprocess.run(args, check=False, timeout=timeout, input=input_text,
                       stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                       stderr=subprocess.PIPE, text=True)
    if check and r.returncode != 0:
        raise RuntimeError(f"{' '.join(args)}: exit {r.returncode}: {r.stderr.strip()}")
    return r


class Fleet:
    """Namespaces, links and processes; close() removes all of it, also after a failure."""

    def __init__(self, args, workdir):
        self.args = args
        self.dir = workdir
        tag = f"{os.getpid() % 100000}"
        self.ns = {n: f"rfl{tag}-{n}" for n in ["lb", "c", *HOSTS]}
        self.tag = tag
        self.procs = {}  # name -> Popen
        self.made_ns = []

    # ---- network
    def netns(self, name, *cmd, **kw):
        return sh("ip", "netns", "exec", self.ns[name], *cmd, **kw)

    def build(self):
        for name, ns in self.ns.items():
            sh("ip", "netns", "add", ns)
            self.made_ns.append(ns)
            self.netns(name, "ip", "link", "set", "lo", "up")
        self.netns("lb", "ip", "link", "add", "br0", "type", "bridge")
        self.netns("lb", "ip", "addr", "add", f"{BALANCER_BACK}/24", "dev", "br0")
        self.netns("lb", "ip", "link", "set", "br0", "up")
        self.veth("c", "eth0", [f"{CLIENT}/24", f"{CLIENT_DENIED}/24"], "lb", "front",
                  [f"{BALANCER_FRONT}/24"])
        for host, addr in HOSTS.items():
            self.veth(host, "eth0", [f"{addr}/24"], "lb", f"to{host}", [], bridge="br0")

    def veth(self, a, a_if, a_addrs, b, b_if, b_addrs, bridge=None):
        # Made in the root namespace under unique names, then moved and renamed.
        ta, tb = f"rf{self.tag}{a}", f"rf{self.tag}{b_if}"[:15]
        sh("ip", "link", "add", ta, "type", "veth", "peer", "name", tb)
        sh("ip", "link", "set", ta, "netns", self.ns[a], "name", a_if)
        sh("ip", "link", "set", tb, "netns", self.ns[b], "name", b_if)
        for addr in a_addrs:
            self.netns(a, "ip", "addr", "add", addr, "dev", a_if)
        for addr in b_addrs:
            self.netns(b, "ip", "addr", "add", addr, "dev", b_if)
        if bridge:
            self.netns(b, "ip", "link", "set", b_if, "master", bridge)
        self.netns(a, "ip", "link", "set", a_if, "up")
        self.netns(b, "ip", "link", "set", b_if, "up")

    # ---- processes
    def spawn(self, key, ns_name, argv, log):
        out = open(os.path.join(self.dir, log), "ab")
        p = subprocess.Popen(["ip", "netns", "exec", self.ns[ns_name], *argv], stdout=out,
                             stderr=subprocess.STDOUT, start_new_session=True)
        self.procs[key] = p
        return p

    def start_reactord(self, host):
        argv = [self.args.reactord, "--no-config", "--threads", "1",
                "--listen", "http=0.0.0.0:8080", "--listen", "echo=0.0.0.0:7000",
                "--proxy-from", f"{BALANCER_BACK}/32", "--deny", f"{CLIENT_DENIED}/32",
                "--drain-grace", str(GRACE_S), "--drain-timeout", "5",
                "--access-log", os.path.join(self.dir, f"{host}.access.log")]
        log = f"{host}.log"
        start = os.path.getsize(os.path.join(self.dir, log)) if os.path.exists(
            os.path.join(self.dir, log)) else 0
        p = self.spawn(host, host, argv, log)
        deadline = time.time() + 20
        while time.time() < deadline:
            with open(os.path.join(self.dir, log), "rb") as f:
                f.seek(start)
                if b"] ready" in f.read() or self.ready_line(host, start):
                    return p
            if p.poll() is not None:
                raise RuntimeError(f"reactord on {host} exited: {self.tail(log)}")
            time.sleep(0.05)
        raise RuntimeError(f"reactord on {host} not ready: {self.tail(log)}")

    def ready_line(self, host, start):
        with open(os.path.join(self.dir, f"{host}.log"), "rb") as f:
            f.seek(start)
            return any(line.rstrip().endswith(b"ready") for line in f)

    def tail(self, log):
        with open(os.path.join(self.dir, log), "rb") as f:
            return f.read()[-2000:].decode(errors="replace")

    def start_haproxy(self):
        extra = os.path.join(self.dir, "test.cfg")
        with open(extra, "w") as f:
            f.write(f"global\n    stats socket {self.stats_path()} level admin\n")
        sh("haproxy", "-c", "-f", self.args.haproxy_cfg, "-f", extra)
        # -n: the machine caps open files at 20,000 per process, below what the deploy
        # file's maxconn needs; -n takes precedence over it.
        self.spawn("haproxy", "lb", ["haproxy", "-db", "-n", "4000", "-f", self.args.haproxy_cfg,
                                     "-f", extra], "haproxy.log")
        haproxy = self.procs["haproxy"]
        if not wait(lambda: haproxy.poll() is not None or
                    all(self.server_status(h) == "UP" for h in HOSTS), 20) or haproxy.poll() is not None:
            raise RuntimeError(f"HAProxy did not mark every host UP: {self.tail('haproxy.log')}")

    def stats_path(self):
        return os.path.join(self.dir, "haproxy.sock")

    def server_status(self, host, backend="reactord_http"):
        try:
            s = socket.socket(socket.AF_UNIX)
            s.settimeout(2)
            s.connect(self.stats_path())
            s.sendall(b"show stat\n")
            data = b""
            while chunk := s.recv(65536):
                data += chunk
            s.close()
        except OSError:
            return None
        lines = data.decode().splitlines()
        head = lines[0].lstrip("# ").split(",")
        for line in lines[1:]:
            row = dict(zip(head, line.split(",")))
            if row.get("pxname") == backend and row.get("svname") == host:
                return row.get("status", "").split(" ")[0]
        return None

    def metrics(self, host):
        r = self.netns(host, "curl", "-s", "--max-time", "5", "http://127.0.0.1:8080/metrics",
                       capture=True)
        out = {}
        for line in r.stdout.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def bench(self, seconds, name):
        report = os.path.join(self.dir, f"{name}.json")
        p = self.spawn(name, "c", [self.args.bench, "--target", f"{BALANCER_FRONT}:80",
                                   "--proto", "http", "--path", "/plaintext", "--conns",
                                   str(CONNS), "--rate", str(RATE), "--duration", str(seconds),
                                   "--json", report], f"{name}.log")
        return p, report

    def stop(self, key, sig=signal.SIGTERM, timeout=20):
        p = self.procs.get(key)
        if p and p.poll() is None:
            p.send_signal(sig)
            try:
                p.wait(timeout)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        return p.returncode if p else None

    def close(self):
        for key in list(self.procs):
            self.stop(key, signal.SIGKILL, 5)
        for ns in self.made_ns:
            subprocess.run(["ip", "netns", "del", ns], stderr=subprocess.DEVNULL)


def wait_exit(proc, seconds):
    try:
        return proc.wait(seconds)
    except subprocess.TimeoutExpired:
        return None


def wait(pred, seconds, step=0.05):
    deadline = time.time() + seconds
    while time.time() < deadline:
        if pred():
            return True
        time.sleep(step)
    return pred()


def step_figures(report):
    with open(report) as f:
        j = json.load(f)
    s = j["steps"][0] if "steps" in j else j
    failed_connects = sum(s["connect_failures"].values())
    return s, failed_connects


def outcome(s, connfail):
    kinds = s["error_kinds"]
    return (f"{s['requests']} requests, failed {s['errors']} (reset {kinds['reset']}, "
            f"closed {kinds['closed']}), failed connects {connfail}")


def responses(m):
    return sum(v for k, v in m.items() if k.startswith("reactord_http_responses_total"))


class Checks:
    def __init__(self):
        self.failures = []

    def expect(self, ok, what):
        print(("  ok    " if ok else "  FAIL  ") + what, flush=True)
        if not ok:
            self.failures.append(what)


def run(fleet, checks):
    fleet.build()
    for host in HOSTS:
        fleet.start_reactord(host)
    fleet.start_haproxy()
    print("fleet: 3 reactord hosts behind HAProxy, all UP", flush=True)

    # 1. Load through HAProxy: no errors, each host a share, the client's address at the hosts.
    before = {h: responses(fleet.metrics(h)) for h in HOSTS}
    p, report = fleet.bench(10, "bench1")
    p.wait(60)
    s, connfail = step_figures(report)
    shares = {h: responses(fleet.metrics(h)) - before[h] for h in HOSTS}
    print(f"figure 1: {s['requests']} requests in {s['duration_s']:.1f}s through HAProxy, "
          f"errors {s['errors']}, failed connects {connfail}, per host {shares}", flush=True)
    checks.expect(s["requests"] > 0 and s["errors"] == 0 and connfail == 0,
                  "1: 0 errors and 0 failed connects through HAProxy")
    checks.expect(all(v > 0 for v in shares.values()), "1: every host served a share")
    for host in HOSTS:
        # The load's lines (GET /plaintext) must all name the client; the balancer's address
        # appears only on its own health checks (PROXY v2 LOCAL: the peer is the client).
        with open(os.path.join(fleet.dir, f"{host}.access.log")) as f:
            clients = {line.split()[1].rsplit(":", 1)[0] for line in f if " /plaintext " in line}
        checks.expect(clients == {CLIENT}, f"1: {host}'s access log names the client: {clients}")

    # echo through the same balancer: the PROXY v2 header is consumed, the bytes come back.
    client_bin = os.path.join(os.path.dirname(fleet.args.reactord), "reactord-client")
    echoed = fleet.netns("c", client_bin, f"{BALANCER_FRONT}:7000", capture=True, check=False,
                         input_text="through the balancer\n")
    checks.expect(echoed.stdout == "through the balancer\n",
                  f"1: echo through HAProxy answers byte for byte: {echoed.stdout!r}")

    # 2. --deny acts on the address PROXY v2 carries.
    def denied_total():
        return sum(sum(v for k, v in fleet.metrics(h).items()
                       if k.startswith("reactord_denied_connections_total")) for h in HOSTS)

    def get_live_from(source):
        return fleet.netns("c", "curl", "-s", "-o", "/dev/null", "-w", "%{http_code}",
                           "--max-time", "5", "--interface", source,
                           f"http://{BALANCER_FRONT}/live", capture=True, check=False)

    denied_before = denied_total()
    ok = get_live_from(CLIENT)
    bad = get_live_from(CLIENT_DENIED)
    denied_after = denied_total()
    print(f"figure 2: from {CLIENT}: HTTP {ok.stdout}; from {CLIENT_DENIED} (--deny): "
          f"HTTP {bad.stdout or '-'} (curl exit {bad.returncode}); hosts' denied count "
          f"+{denied_after - denied_before:.0f}", flush=True)
    checks.expect(ok.stdout == "200", f"2: {CLIENT} is served")
    # HAProxy may try the request on another host (retries, redispatch): each one denies it.
    checks.expect(bad.stdout in ("", "000") and bad.returncode != 0 and
                  denied_after - denied_before >= 1,
                  f"2: {CLIENT_DENIED} is refused by --deny on the PROXY v2 address, and counted")

    # 3. Rolling restart under load.
    p, report = fleet.bench(25, "roll")
    time.sleep(2)
    roll_start = time.time()
    for host in HOSTS:
        proc = fleet.procs[host]
        proc.send_signal(signal.SIGTERM)
        out = wait(lambda: fleet.server_status(host) != "UP", 10, step=0.01)
        serving = proc.poll() is None
        rc = wait_exit(proc, 30)
        checks.expect(out and serving, f"3: HAProxy took {host} out while it still served "
                      "(/ready 503 in the drain grace)")
        checks.expect(rc == 0, f"3: {host} drained and exited 0 (exit {rc})")
        fleet.start_reactord(host)
        checks.expect(wait(lambda: fleet.server_status(host) == "UP", 15),
                      f"3: {host} restarted and UP again")
    roll_s = time.time() - roll_start
    checks.expect(p.poll() is None, "3: the roll ended while the load was still running")
    p.wait(90)
    s, connfail = step_figures(report)
    print(f"figure 3: rolling restart of 3 hosts in {roll_s:.1f}s under {RATE} req/s: "
          f"{outcome(s, connfail)}, non-2xx {s['requests'] - s['status_classes']['2xx']}",
          flush=True)
    checks.expect(s["errors"] == 0 and s["error_kinds"]["reset"] == 0 and connfail == 0 and
                  s["status_classes"]["2xx"] == s["requests"] and s["requests"] > 0,
                  "3: 0 failed requests, 0 resets, 0 failed connects across the roll")

    # 4. kill -9 of one host under load.
    p, report = fleet.bench(8, "kill")
    time.sleep(3)
    killed_at = time.time()
    fleet.stop("b2", signal.SIGKILL, 5)
    down = wait(lambda: fleet.server_status("b2") not in ("UP", None), 10, step=0.01)
    down_s = time.time() - killed_at
    p.wait(60)
    s, connfail = step_figures(report)
    print(f"figure 4: kill -9 of b2 under {RATE} req/s over {CONNS} connections: HAProxy "
          f"marked it DOWN after {down_s:.2f}s; {outcome(s, connfail)}", flush=True)
    checks.expect(down, "4: HAProxy marked the killed host DOWN")
    checks.expect(s["errors"] <= CONNS, f"4: failed requests ({s['errors']}) at most the "
                  f"connections the host held (of {CONNS} in all)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reactord", required=True)
    ap.add_argument("--bench", required=True)
    ap.add_argument("--haproxy-cfg", default=os.path.join(
        os.path.dirname(os.path.abspath(__file__)), "..", "..", "deploy", "haproxy",
        "haproxy.cfg"))
    ap.add_argument("--keep", action="store_true", help="keep the work directory")
    args = ap.parse_args()
    if os.geteuid() != 0:
        print("skip: needs root for network namespaces")
        return 77
    if subprocess.run(["ip", "netns", "list"], capture_output=True).returncode != 0:
        print("skip: ip netns unavailable")
        return 77
    if not shutil.which("haproxy") or not shutil.which("curl"):
        print("FAIL: haproxy/curl missing: run scripts/deps.sh")
        return 1
    workdir = tempfile.mkdtemp(prefix="reactord-fleet-")
    fleet = Fleet(args, workdir)
    checks = Checks()
    interrupted = []

    def on_signal(sig, frame):
        interrupted.append(sig)
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, on_signal)
    try:
        run(fleet, checks)
    except Exception as e:  # a broken setup is a failure, with the logs to show why
        checks.expect(False, f"fleet setup/run: {e!r}")
    except KeyboardInterrupt:
        checks.expect(False, "interrupted")
    finally:
        fleet.close()
        if checks.failures:
            for name in sorted(os.listdir(workdir)):
                if name.endswith(".log") and not name.endswith("access.log"):
                    print(f"--- {name}\n{fleet.tail(name)}")
        if not args.keep:
            shutil.rmtree(workdir, ignore_errors=True)
    print(f"fleet: {len(checks.failures)} failure(s)")
    return 1 if checks.failures else 0


if __name__ == "__main__":
    sys.exit(main())
