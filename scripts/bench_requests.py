#!/usr/bin/env python3
"""MLA request transfers: `liaison request send` of one file until the recipient signed
"delivered", beside a plain copy of the same bytes over a local TCP socket measured in the same
run, and the peak own memory (RssAnon, sampled every 20 ms) of every process on the way.

    scripts/bench_requests.py [--bin build-release/bin] [--mb 50] [--runs 3]

A broker and three site daemons (Bishkek sends, Bangkok receives, a secretariat publishes the
instruments) run on 127.0.0.1 in a temporary folder; every process it starts is stopped by PID.
"""
import argparse
import hashlib
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

SOURCE = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def rss_anon_kib(pid):
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith("RssAnon:"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


class Sampler(threading.Thread):
    """Peak RssAnon of each watched PID (and of children named `liaison`, the command)."""

    def __init__(self, pids):
        super().__init__(daemon=True)
        self.pids = dict(pids)
        self.peak = {name: 0 for name in self.pids}
        self.peak["liaison (command)"] = 0
        self.stop = threading.Event()

    def run(self):
        while not self.stop.is_set():
            for name, pid in self.pids.items():
                self.peak[name] = max(self.peak[name], rss_anon_kib(pid))
            for entry in os.listdir("/proc"):
                if not entry.isdigit():
                    continue
                try:
                    with open(f"/proc/{entry}/cmdline", "rb") as f:
                        argv = f.read().split(b"\0")
                except OSError:
                    continue
                if argv and argv[0].endswith(b"/liaison") and b"request" in argv:
                    self.peak["liaison (command)"] = max(self.peak["liaison (command)"], rss_anon_kib(int(entry)))
            time.sleep(0.02)


def tcp_copy_seconds(path):
    """The same bytes through a local TCP socket: sendfile on one side, read and dropped on the other."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(1)
    port = server.getsockname()[1]
    got = [0]

    def receive():
        conn, _ = server.accept()
        while True:
            data = conn.recv(1 << 20)
            if not data:
                break
            got[0] += len(data)
        conn.close()

    t = threading.Thread(target=receive)
    t.start()
    start = time.monotonic()
    with socket.create_connection(("127.0.0.1", port)) as c, open(path, "rb") as f:
        c.sendfile(f)
    t.join()
    elapsed = time.monotonic() - start
    server.close()
    assert got[0] == os.path.getsize(path)
    return elapsed


class Network:
    def __init__(self, bin_dir, tmp):
        self.bin, self.tmp, self.procs, self.logs = bin_dir, tmp, {}, []

    def run(self, *args):
        r = subprocess.run([f"{self.bin}/liaison", *args], capture_output=True, text=True, timeout=900)
        if r.returncode != 0:
            raise RuntimeError(f"liaison {' '.join(args[:2])}: {r.stderr.strip()}")
        return r.stdout

    def start(self, name, argv, ready):
        log = open(f"{self.tmp}/{name}.log", "w")
        self.logs.append(log)
        self.procs[name] = subprocess.Popen(argv, stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 15
        while not os.path.exists(ready):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{name} did not start (see {self.tmp}/{name}.log)")
            time.sleep(0.05)

    def up(self):
        t = self.tmp
        self.run("keygen", "--out", f"{t}/root")
        self.run("keygen", "--out", f"{t}/broker")
        sites = [("kg-bishkek", "KG", "authority"), ("th-bangkok", "TH", "authority"),
                 ("casc-secretariat", "KZ", "secretariat")]
        for site, country, role in sites:
            self.run("keygen", "--out", f"{t}/{site}")
            cert = self.run("enroll", "--root", f"{t}/root.key", "--site", site, "--public", f"{t}/{site}.pub",
                            "--country", country, "--network", "CASC", "--role", role)
            with open(f"{t}/{site}.member", "w") as f:
                f.write(cert)
        argv = [f"{self.bin}/liaison-broker", "--data", f"{t}/broker-data", "--root", f"{t}/root.pub", "--key",
                f"{t}/broker.key", "--listen", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*"]
        for site, _, _ in sites:
            argv += ["--member", f"{t}/{site}.member"]
        self.start("broker", argv, f"{t}/broker-data/endpoints")
        with open(f"{t}/broker-data/endpoints") as f:
            listen = f.read().split()[1]
        for site, _, _ in sites:
            self.run("init", "--site", f"{t}/{site}", "--id", site, "--root", f"{t}/root.pub", "--key",
                     f"{t}/{site}.key", "--member", f"{t}/{site}.member", "--broker", listen, "--broker-key",
                     f"{t}/broker.pub", "--api", "127.0.0.1:0")
            self.start(site, [f"{self.bin}/liaison-site", "--site", f"{t}/{site}"], f"{t}/{site}/api.endpoint")
        self.run("publish", "--site", f"{t}/casc-secretariat", f"{SOURCE}/config/sample/instruments.json")
        deadline = time.monotonic() + 30
        while "UNTOC" not in self.run("export", "--site", f"{t}/kg-bishkek"):
            if time.monotonic() > deadline:
                raise RuntimeError("the instruments did not reach Bishkek")
            time.sleep(0.2)

    def down(self):
        for p in self.procs.values():
            p.terminate()
        for p in self.procs.values():
            try:
                p.wait(timeout=10)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self.logs:
            log.close()

    def state(self, site, rid):
        r = subprocess.run([f"{self.bin}/liaison", "request", "show", "--site", f"{self.tmp}/{site}", rid,
                            "--format", "json"], capture_output=True, text=True)
        if r.returncode != 0:
            return ""
        import json
        return json.loads(r.stdout)["request"]["state"]


def one_run(net, path, n):
    sampler = Sampler({name: p.pid for name, p in net.procs.items()})
    sampler.start()
    start = time.monotonic()
    out = net.run("request", "send", "--site", f"{net.tmp}/kg-bishkek", "--to", "th-bangkok", "--legal-basis",
                  "UNTOC", "--measure", "bank-records", "--case", f"KG-BENCH-{n}", "--summary", "benchmark",
                  "--attach", path, "--wait", "600")
    handed = time.monotonic() - start
    rid = out.split()[1].rstrip(":")
    while net.state("th-bangkok", rid) != "delivered":
        if time.monotonic() - start > 900:
            raise RuntimeError("not delivered in 15 minutes")
        time.sleep(0.05)
    delivered = time.monotonic() - start
    sampler.stop.set()
    sampler.join()
    return handed, delivered, sampler.peak


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=f"{SOURCE}/build-release/bin")
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    a = ap.parse_args()
    tmp = tempfile.mkdtemp(prefix="liaison-bench-requests-")
    net = Network(os.path.abspath(a.bin), tmp)
    try:
        net.up()
        path = f"{tmp}/annex.bin"
        with open(path, "wb") as f:
            f.write(os.urandom(a.mb << 20))
        size = os.path.getsize(path)
        rows = []
        for n in range(a.runs):
            tcp = tcp_copy_seconds(path)
            handed, delivered, peak = one_run(net, path, n)
            rows.append((tcp, handed, delivered, peak))
        tcp = statistics.median(r[0] for r in rows)
        handed = statistics.median(r[1] for r in rows)
        delivered = statistics.median(r[2] for r in rows)
        mib = size / (1 << 20)
        print(f"requests: one {mib:.0f} MiB file, {a.runs} runs, medians")
        print(f"  request send → the site daemon holds it (hashed, uploaded, encrypted): {handed:.2f} s")
        print(f"  request send → \"delivered\" signed at the recipient: {delivered:.2f} s "
              f"({mib / delivered:.1f} MiB/s end to end)")
        print(f"  the same bytes over a local TCP socket: {tcp:.3f} s ({mib / tcp:.0f} MiB/s); "
              f"ratio {delivered / tcp:.0f}x")
        names = sorted(rows[0][3])
        print("  peak own memory (RssAnon) during a transfer, the largest of the runs:")
        for name in names:
            print(f"    {name}: {max(r[3][name] for r in rows) / 1024:.1f} MiB")
    finally:
        net.down()
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
