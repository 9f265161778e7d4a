#!/usr/bin/env python3
"""MLA request transfers: `liaison request send` of one file until the recipient signed
"delivered", beside a plain copy of the same bytes over a local TCP socket measured in the same
run, and the peak own memory (RssAnon, sampled every 20 ms) of every process on the way.

    scripts/bench_requests.py [--bin build-release/bin] [--mb 50] [--runs 3] [--federated]

A broker and three site daemons (Bishkek sends, Bangkok receives, a secretariat publishes the
instruments) run on 127.0.0.1 in a temporary folder; every process it starts is stopped by PID.

--federated: two networks peered through liaison-bridge instead (CASC: Bishkek, Almaty, a
secretariat; SEAJust: Bangkok, a secretariat; both peerings let requests pass), and in each run
the same file goes, one after the other, from Bishkek to Almaty (within CASC, one broker) and
from Bishkek to Bangkok (across: CASC's broker, the bridge, SEAJust's broker). Medians and
ranges of both, the ratio across/within, and the peak RssAnon of both brokers, the bridge and
the site daemons during each kind of transfer.
"""
import argparse
import hashlib
import json
import os
import shutil
import signal
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
        log = open(f"{self.tmp}/{name.replace(' ', '-')}.log", "w")
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
        return json.loads(r.stdout)["request"]["state"]


def one_run(net, path, n, to="th-bangkok", case="KG-BENCH"):
    sampler = Sampler({name: p.pid for name, p in net.procs.items()})
    sampler.start()
    start = time.monotonic()
    out = net.run("request", "send", "--site", f"{net.tmp}/kg-bishkek", "--to", to, "--legal-basis",
                  "UNTOC", "--measure", "bank-records", "--case", f"{case}-{n}", "--summary", "benchmark",
                  "--attach", path, "--wait", "600")
    handed = time.monotonic() - start
    rid = out.split()[1].rstrip(":")
    polls = 0
    while net.state(to, rid) != "delivered":
        if time.monotonic() - start > 900:
            sampler.stop.set()
            raise RuntimeError(f"request {rid} to {to} not delivered in 15 minutes"
                               f" (at the sender: {net.state('kg-bishkek', rid)!r})")
        polls += 1
        if polls % 20 == 0 and net.state("kg-bishkek", rid).startswith("refused"):
            sampler.stop.set()
            raise RuntimeError(f"request {rid} to {to} refused: {net.state('kg-bishkek', rid)}")
        time.sleep(0.05)
    delivered = time.monotonic() - start
    sampler.stop.set()
    sampler.join()
    return handed, delivered, sampler.peak, rid


KINDS = "kinds=contact,instrument,notice,alert,request"


class Federation(Network):
    """CASC (Bishkek, Almaty, a secretariat) and SEAJust (Bangkok, a secretariat), each with its
    own root and broker, peered both ways with requests let through, and liaison-bridge between
    them; set up as tests/federation_fixture.h does."""

    SITES = [("CASC", "kg-bishkek", "KG", "authority"), ("CASC", "kz-almaty", "KZ", "authority"),
             ("CASC", "casc-secretariat", "", "secretariat"), ("SEAJust", "th-bangkok", "TH", "authority"),
             ("SEAJust", "seajust-secretariat", "", "secretariat")]
    BRIDGE = [("CASC", "casc-bridge"), ("SEAJust", "seajust-bridge")]

    def enroll(self, net, site, country, role, key):
        argv = ["enroll", "--root", f"{self.tmp}/{net}-root.key", "--site", site, "--public",
                f"{self.tmp}/{key}.pub", "--network", net, "--role", role]
        if country:
            argv += ["--country", country]
        with open(f"{self.tmp}/{site}.member", "w") as f:
            f.write(self.run(*argv))

    def found(self, site, *flags):
        r = subprocess.run([f"{self.bin}/liaison", "find", "--site", f"{self.tmp}/{site}", "--format", "json",
                            *flags], capture_output=True, text=True, timeout=60)
        return json.loads(r.stdout) if r.returncode == 0 else []

    def wait(self, what, ok, seconds=60):
        deadline = time.monotonic() + seconds
        while not ok():
            if time.monotonic() > deadline:
                raise RuntimeError(f"{what} within {seconds} s (--keep keeps the logs)")
            time.sleep(0.2)

    def up(self):
        t = self.tmp
        nets = ["CASC", "SEAJust"]
        for net in nets:
            self.run("keygen", "--out", f"{t}/{net}-root")
            self.run("keygen", "--out", f"{t}/{net}-broker")
        self.run("keygen", "--out", f"{t}/bridge")
        for net, site, country, role in self.SITES:
            self.run("keygen", "--out", f"{t}/{site}")
            self.enroll(net, site, country, role, site)
        for net, site in self.BRIDGE:
            self.enroll(net, site, "", "bridge", "bridge")
        members = {net: [s for n, s, _, _ in self.SITES if n == net] + [s for n, s in self.BRIDGE if n == net]
                   for net in nets}
        listen = {}
        for net in nets:
            argv = [f"{self.bin}/liaison-broker", "--data", f"{t}/{net}-broker-data", "--root", f"{t}/{net}-root.pub",
                    "--key", f"{t}/{net}-broker.key", "--network", net, "--listen", "tcp://127.0.0.1:*",
                    "--fanout", "tcp://127.0.0.1:*"]
            for site in members[net]:
                argv += ["--member", f"{t}/{site}.member"]
            self.start(f"{net} broker", argv, f"{t}/{net}-broker-data/endpoints")
            with open(f"{t}/{net}-broker-data/endpoints") as f:
                listen[net] = f.read().split()[1]

        def init(net, site, key):
            self.run("init", "--site", f"{t}/{site}", "--id", site, "--root", f"{t}/{net}-root.pub", "--key",
                     f"{t}/{key}.key", "--member", f"{t}/{site}.member", "--broker", listen[net], "--broker-key",
                     f"{t}/{net}-broker.pub", "--api", "127.0.0.1:0")

        for net, site, _, _ in self.SITES:
            init(net, site, site)
            self.start(site, [f"{self.bin}/liaison-site", "--site", f"{t}/{site}"], f"{t}/{site}/api.endpoint")
        for net, site in self.BRIDGE:
            init(net, site, "bridge")
        self.start("bridge", [f"{self.bin}/liaison-bridge", "--site", f"{t}/casc-bridge", "--site",
                              f"{t}/seajust-bridge"], f"{t}/casc-bridge/api.endpoint")
        self.wait("the bridge's SEAJust side did not start", lambda: os.path.exists(f"{t}/seajust-bridge/api.endpoint"))
        for net, peer, secretariat in [("CASC", "SEAJust", "casc-secretariat"),
                                       ("SEAJust", "CASC", "seajust-secretariat")]:
            with open(f"{t}/{net}~{peer}.peering", "w") as f:
                f.write(self.run("peer", "--root", f"{t}/{net}-root.key", "--network", net, "--peer", peer,
                                 "--peer-root", f"{t}/{peer}-root.pub", "--offer", KINDS, "--accept", KINDS))
            self.run("publish", "--site", f"{t}/{secretariat}", f"{t}/{net}~{peer}.peering")
        # The instruments first, in CASC's log; then a contact from each end, with which its
        # site's certificate crosses (Bangkok's to CASC, Bishkek's to SEAJust).
        self.run("publish", "--site", f"{t}/casc-secretariat", f"{SOURCE}/config/sample/instruments.json")
        self.wait("the instruments did not reach Bishkek", lambda: "UNTOC" in self.run("export", "--site", f"{t}/kg-bishkek"))
        for site, cid, country, net, city in [("th-bangkok", "th-oag-ca-01", "TH", "SEAJust", "Bangkok"),
                                              ("kg-bishkek", "kg-gpo-intl-01", "KG", "CASC", "Bishkek")]:
            contact = {"kind": "contact", "id": cid, "revision": 1, "status": "active", "contactKind": "person",
                       "name": {"latin": "Bench Contact"}, "title": "Prosecutor", "role": "central-authority",
                       "organization": "Central Authority", "country": country, "locality": city,
                       "networks": [net], "competences": ["mla"], "legalBases": ["UNTOC"], "languages": ["en"],
                       "channels": [{"kind": "email", "value": f"{cid}@example.org", "preferred": True}]}
            with open(f"{t}/{cid}.json", "w") as f:
                json.dump(contact, f)
            self.run("publish", "--site", f"{t}/{site}", f"{t}/{cid}.json")
        self.wait("Bangkok's contact did not reach Bishkek across the bridge",
                  lambda: len(self.found("kg-bishkek", "--network", "SEAJust")) == 1)
        self.wait("Bishkek's contact did not reach Bangkok across the bridge",
                  lambda: len(self.found("th-bangkok", "--country", "KG")) == 1)


def spread(values):
    return f"{statistics.median(values):.2f} s [{min(values):.2f}–{max(values):.2f}]"


def federated(a, tmp):
    net = Federation(os.path.abspath(a.bin), tmp)
    try:
        net.up()
        path = f"{tmp}/annex.bin"
        with open(path, "wb") as f:
            f.write(os.urandom(a.mb << 20))
        size = os.path.getsize(path)
        tcp, within, across = [], [], []
        for n in range(a.runs):
            tcp.append(tcp_copy_seconds(path))
            for rows, to, case in [(within, "kz-almaty", "KG-WITHIN"), (across, "th-bangkok", "KG-ACROSS")]:
                rows.append(one_run(net, path, n, to=to, case=case))
                # Not timed: "delivered" comes back to the sender (across: over the bridge)
                # before the next transfer starts, so that one does not overlap the other.
                rid = rows[-1][3]
                net.wait(f"\"delivered\" of {rid} ({to}) did not come back to Bishkek",
                         lambda: net.state("kg-bishkek", rid) == "delivered", 120)
        mib = size / (1 << 20)
        print(f"requests within one network and across a peering: one {mib:.0f} MiB file, {a.runs} runs "
              f"(each run: within, then across), medians [min–max]")
        for label, rows in [("within CASC, kg-bishkek → kz-almaty (CASC broker)", within),
                            ("across, kg-bishkek (CASC) → th-bangkok (SEAJust) (CASC broker, liaison-bridge, "
                             "SEAJust broker)", across)]:
            delivered = [r[1] for r in rows]
            print(f"  {label}:")
            print(f"    request send → accepted by CASC's broker (the command returns): {spread([r[0] for r in rows])}")
            print(f"    request send → \"delivered\" signed at the recipient: {spread(delivered)} "
                  f"({mib / statistics.median(delivered):.1f} MiB/s end to end)")
        w = statistics.median(r[1] for r in within)
        x = statistics.median(r[1] for r in across)
        per_run = ", ".join(f"{b[1] / a_[1]:.2f}" for a_, b in zip(within, across))
        print(f"  ratio across/within (send → delivered, medians): {x / w:.2f}x (per run: {per_run})")
        t = statistics.median(tcp)
        print(f"  the same bytes over a local TCP socket: {t:.3f} s ({mib / t:.0f} MiB/s); "
              f"within {w / t:.0f}x, across {x / t:.0f}x slower")
        print("  peak own memory (RssAnon, MiB) during a transfer, the largest of the runs: within / across")
        order = ["CASC broker", "SEAJust broker", "bridge", "kg-bishkek", "kz-almaty", "th-bangkok",
                 "liaison (command)"]
        roles = {"kg-bishkek": " (sender)", "kz-almaty": " (recipient within)", "th-bangkok": " (recipient across)"}
        for name in order:
            print(f"    {name}{roles.get(name, '')}: {max(r[2][name] for r in within) / 1024:.1f} / "
                  f"{max(r[2][name] for r in across) / 1024:.1f}")
    except Exception:
        if not a.keep:
            for log in sorted(os.listdir(tmp)):
                if log.endswith(".log"):
                    with open(f"{tmp}/{log}", errors="replace") as f:
                        tail = f.readlines()[-15:]
                    print(f"---- {log} (last {len(tail)} lines)", "".join(tail), sep="\n", file=sys.stderr)
        raise
    finally:
        net.down()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", default=f"{SOURCE}/build-release/bin")
    ap.add_argument("--mb", type=int, default=50)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--federated", action="store_true",
                    help="within one network and across a peering (two networks, liaison-bridge), same run")
    ap.add_argument("--keep", action="store_true", help="with --federated: keep the temporary folder (logs, data) and say where")
    a = ap.parse_args()
    # A SIGTERM or SIGHUP unwinds like Ctrl-C: every process started is stopped, the folder removed.
    for sig in (signal.SIGTERM, signal.SIGHUP):
        signal.signal(sig, lambda signum, frame: sys.exit(128 + signum))
    tmp = tempfile.mkdtemp(prefix="liaison-bench-requests-")
    if a.federated:
        try:
            federated(a, tmp)
        finally:
            if a.keep:
                print(f"kept {tmp}", file=sys.stderr)
            else:
                shutil.rmtree(tmp, ignore_errors=True)
        return
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
            handed, delivered, peak, _ = one_run(net, path, n)
            rows.append((tcp, handed, delivered, peak))
        tcp = statistics.median(r[0] for r in rows)
        handed = statistics.median(r[1] for r in rows)
        delivered = statistics.median(r[2] for r in rows)
        mib = size / (1 << 20)
        print(f"requests: one {mib:.0f} MiB file, {a.runs} runs, medians")
        print(f"  request send → \"accepted\" by the broker (hashed, uploaded, encrypted, stored, sent): {handed:.2f} s")
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
