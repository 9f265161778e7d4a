#!/usr/bin/python3
"""Liaison beside its peers, in the same run: OpenLDAP (slapd, syncrepl) and NATS JetStream (a
key-value bucket, mirrored), loaded with the same synthetic contacts as Liaison's benchmarks.

usage: bench_peers.py --bin DIR [--quick] [--runs N] [--pids FILE] [--json FILE] [--tmp DIR]
  --bin     Liaison's binaries (liaison-gendir, liaison-bench-bus, liaison-bench-directory)
  --quick   5,000 records and 1 run (a smoke run); otherwise 100,000 records, medians of 3 runs
  --pids    a file to which every process started is written (PID, or "group PGID"), so that
            scripts/bench.sh can stop them if this script itself is killed
  --json    also write every run's figures to FILE
  --tmp     where to make the temporary directory (default: the system's)

Run by `scripts/bench.sh --peers`, which installs slapd, ldap-utils, nats-server and
python3-ldap from Debian first. Everything runs on 127.0.0.1 in temporary directories, and every
process started is stopped by its PID at the end, on an error too.
"""
import argparse
import json
import os
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ in the work tree
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "peers"))

import common  # noqa: E402
import contacts  # noqa: E402
import jetstream  # noqa: E402
import openldap  # noqa: E402


class Processes:
    """Every process this run starts, to be stopped by PID (or process group) at the end."""

    def __init__(self, pid_file):
        self.procs, self.groups = [], []
        self.pid_file = pid_file

    def _note(self, line):
        if self.pid_file:
            with open(self.pid_file, "a", encoding="utf-8") as f:
                f.write(line + "\n")

    def track(self, proc):
        self.procs.append(proc)
        self._note(str(proc.pid))

    def group(self, proc):
        # A Liaison benchmark and the broker and daemons it starts share its process group.
        self.groups.append(proc)
        self._note(f"group {proc.pid}")

    def stop_all(self):
        for proc in reversed(self.procs):
            common.stop_process(proc)
        for proc in self.groups:
            if proc.poll() is None:
                try:
                    os.killpg(proc.pid, signal.SIGTERM)
                    proc.wait(timeout=20)
                except (ProcessLookupError, subprocess.TimeoutExpired):
                    try:
                        os.killpg(proc.pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
        if self.pid_file:  # all stopped: nothing left for scripts/bench.sh to stop
            open(self.pid_file, "w", encoding="utf-8").close()


def liaison_bench(processes, argv, log):
    """Runs one of Liaison's benchmarks with --json; returns {figure name: value}."""
    print(f"  {os.path.basename(argv[0])} {' '.join(argv[1:])}", file=sys.stderr)
    with open(log, "ab") as err:
        proc = subprocess.Popen(argv + ["--json"], stdout=subprocess.PIPE, stderr=err, start_new_session=True)
        processes.group(proc)
        out, _ = proc.communicate()
    if proc.returncode != 0:
        raise RuntimeError(f"{argv[0]} failed ({proc.returncode}); see {log}")
    return {row["name"]: float(row["value"]) for row in json.loads(out)}


def find(figures, *prefixes):
    """The first figure whose name starts with one of `prefixes` (names of older builds too)."""
    for prefix in prefixes:
        for name, value in figures.items():
            if name.startswith(prefix):
                return value
    return None


def envelope_bytes(figures):
    for name in figures:
        if name.startswith("lmdb batched put ("):
            return float(name.split("(")[1].split()[0])
    return None


# The table: label, unit, Liaison's figure (a function of its benchmarks' figures, or None when
# no benchmark of Liaison measures it), the peers' keys, and whether a higher value is better.
ROWS = [
    ("writes one at a time, each acknowledged", "ops/s", None, "one at a time ops", "one at a time ops", True),
    ("write latency one at a time, p50", "ms",
     lambda b, d: find(b, "publish of 1 record answered, p50"), "one at a time p50", "one at a time p50", False),
    ("bulk writes, acknowledged by the writer", "records/s", None, "bulk acked", "bulk acked", True),
    ("bulk writes, applied at the replica(s)", "records/s",
     lambda b, d: find(b, "updates applied at all 4 sites, sustained"), "bulk applied", "bulk applied", True),
    ("bulk load into one store, offline / in-process", "records/s",
     lambda b, d: find(d, "publish: signatures on all cores, then store"), "offline load", None, True),
    ("fresh replica catches up on all records", "s",
     lambda b, d: find(b, "fresh site catches up on"), "catch-up", "catch-up", False),
    # Liaison's publish answers once the publishing site holds the change, so its figure is timed
    # from the write's start, as the peers' second one is.
    ("live change reaches the replica, p50", "ms", None, "live p50", "live p50", False),
    ("live change reaches the replica, p99", "ms", None, "live p99", "live p99", False),
    ("live change, from the write's start, p50", "ms",
     lambda b, d: find(b, "published -> applied at 4 of 4 sites, p50"), "live whole p50", "live whole p50", False),
    ("live change, from the write's start, p99", "ms",
     lambda b, d: find(b, "published -> applied at 4 of 4 sites, p99"), "live whole p99", "live whole p99", False),
    ("structured search p50, the server's own time", "us",
     lambda b, d: find(d, "find country+role+topic p50"), "search server p50", None, False),
    ("structured search p99, the server's own time", "us",
     lambda b, d: find(d, "find country+role+topic p99"), "search server p99", None, False),
    ("structured search p50, a client over loopback", "us", None, "search client p50", None, False),
    ("structured search, a whole command process", "ms",
     lambda b, d: find(d, "`liaison find` process, structured"), "search process", None, False),
    ("replica memory, own, largest during catch-up", "MiB",
     lambda b, d: find(b, "catching-up site memory: own, largest"), "replica own max", "replica own max", False),
    ("replica memory, own (RssAnon), at the end", "MiB",
     lambda b, d: find(b, "site daemon memory: own at the end", "site daemon memory: own (RssAnon"),
     "replica own", "replica own", False),
    ("replica memory, peak resident", "MiB",
     lambda b, d: find(b, "site daemon memory: peak resident (largest)"), "replica peak", "replica peak", False),
    ("provider / broker memory, own (RssAnon)", "MiB",
     lambda b, d: find(b, "broker memory: own at the end", "broker memory: own (RssAnon)"), "provider own", "provider own", False),
    ("replica on disk per record", "bytes",
     lambda b, d: find(d, "replica on disk per record"), "replica disk", "replica disk", False),
    ("stored value per record (what it carries)", "bytes",
     lambda b, d: envelope_bytes(d), "value bytes", "value bytes", None),
]


def fmt(v):
    if v is None:
        return "—"
    if v >= 1000:
        return f"{v:,.0f}"
    if v >= 100:
        return f"{v:.0f}"
    if v >= 10:
        return f"{v:.1f}"
    return f"{v:.2f}"


def ratio(liaison, peer):
    if liaison is None or peer is None or peer == 0:
        return ""
    return f"x{liaison / peer:.2f}"


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--bin", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--runs", type=int)
    ap.add_argument("--pids")
    ap.add_argument("--json")
    ap.add_argument("--tmp", help="make the temporary directory in TMP")
    args = ap.parse_args()
    if args.quick:
        n, one, bulk, probes, queries, procs_n, runs = 5000, 200, 1000, 20, 200, 5, 1
        bus_args = ["--updates", "1000", "--catchup", "5000", "--probes", "20"]
        dir_args = ["--records", "5000", "--queries", "200"]
    else:
        n, one, bulk, probes, queries, procs_n, runs = 100000, 2000, 10000, 200, 5000, 21, 3
        bus_args = ["--updates", "10000", "--catchup", "100000", "--probes", "200"]
        dir_args = ["--records", "100000", "--queries", "5000"]
    if args.runs:
        runs = args.runs
    b = os.path.abspath(args.bin)

    def stop(signum, _frame):
        raise SystemExit(128 + signum)

    for s in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
        signal.signal(s, stop)

    processes = Processes(args.pids)
    tmp = tempfile.mkdtemp(prefix="liaison-peers-", dir=args.tmp)
    log = os.path.join(tmp, "liaison-bench.log")
    results = {"liaison-bus": [], "liaison-directory": {}, "openldap": [], "nats": [], "fsync ms": []}
    try:
        data = os.path.join(tmp, "contacts.jsonl")
        subprocess.run([f"{b}/liaison-gendir", "--count", str(n), "--seed", str(contacts.SEED), "--countries",
                        contacts.COUNTRIES, "--out", data], check=True)
        records = contacts.load(data)
        started = time.strftime("%Y-%m-%dT%H:%MZ", time.gmtime())
        print(f"Liaison beside OpenLDAP and NATS — {started}, {os.cpu_count()} cores, {n:,} records, "
              f"{'median of ' + str(runs) + ' runs' if runs > 1 else '1 run'}", file=sys.stderr)
        print("  liaison-bench-directory (it takes its own medians over the runs)", file=sys.stderr)
        results["liaison-directory"] = liaison_bench(
            processes, [f"{b}/liaison-bench-directory"] + dir_args + ["--runs", str(runs)], log)
        for i in range(1, runs + 1):
            run_dir = os.path.join(tmp, f"run{i}")
            os.makedirs(run_dir)
            results["fsync ms"].append(common.fsync_ms(run_dir))
            print(f"run {i} of {runs}: OpenLDAP…", file=sys.stderr)
            results["openldap"].append(openldap.run(os.path.join(run_dir, "ldap"), records, one, bulk, probes,
                                                    queries, procs_n, processes.track))
            print(f"run {i} of {runs}: NATS…", file=sys.stderr)
            results["nats"].append(jetstream.run(os.path.join(run_dir, "nats"), records, one, bulk, probes,
                                                 processes.track))
            print(f"run {i} of {runs}: Liaison's bus…", file=sys.stderr)
            results["liaison-bus"].append(liaison_bench(processes, [f"{b}/liaison-bench-bus"] + bus_args, log))
            shutil.rmtree(run_dir, ignore_errors=True)
    finally:
        processes.stop_all()
        shutil.rmtree(tmp, ignore_errors=True)
    if args.json:
        with open(args.json, "w", encoding="utf-8") as f:
            json.dump(results, f, indent=1)
    print_table(results, n, runs, one, bulk, probes, queries, versions())
    return 0


def versions():
    def first_line(argv, pick):
        try:
            r = subprocess.run(argv, capture_output=True, text=True, timeout=10)
            return pick(r.stdout + r.stderr)
        except (OSError, subprocess.TimeoutExpired, IndexError):
            return "?"
    slapd = first_line(["slapd", "-VV"], lambda t: t.split("slapd ")[1].split()[0])
    nats = first_line(["nats-server", "--version"], lambda t: t.split()[1].lstrip("v"))
    return slapd, nats


def median_of(runs, key):
    vals = [r[key] for r in runs if r.get(key) is not None]
    return statistics.median(vals) if vals else None


def print_table(res, n, runs, one, bulk, probes, queries, vers):
    d = res["liaison-directory"]
    bus_keys = set().union(*[r.keys() for r in res["liaison-bus"]]) if res["liaison-bus"] else set()
    bus = {k: statistics.median([r[k] for r in res["liaison-bus"] if k in r]) for k in bus_keys}
    what = "median of 3 runs" if runs == 3 else ("1 run" if runs == 1 else f"median of {runs} runs")
    print(f"Liaison beside its peers: {n:,} synthetic contacts, {what}, "
          f"{os.cpu_count()} cores ({time.strftime('%Y-%m-%d', time.gmtime())})")
    print(f"baseline in the same runs: 4 KiB write + fdatasync on the peers' disk, "
          f"{fmt(statistics.median(res['fsync ms']))} ms")
    print(f"OpenLDAP {vers[0]} (Debian): a provider slapd (mdb + syncprov) and a consumer slapd (mdb + "
          f"syncrepl refreshAndPersist), equality indexes on c, businessCategory, liaisonTopic, "
          f"liaisonLanguage, uid; mdb's default synced commits.")
    print(f"NATS {vers[1]} (Debian): a hub nats-server with JetStream and a KV bucket (file storage, 1 value "
          f"per key); the replica is a leaf nats-server in its own JetStream domain mirroring the bucket's stream.")
    print()
    head = ("figure", "unit", "Liaison", "OpenLDAP", "NATS", "Liaison÷LDAP", "Liaison÷NATS")
    print(f"{head[0]:<48} {head[1]:<10} {head[2]:>9} {head[3]:>9} {head[4]:>9}  {head[5]:<12} {head[6]}")
    for label, unit, lf, lkey, nkey, _higher in ROWS:
        lv = lf(bus, d) if lf else None
        ov = median_of(res["openldap"], lkey) if lkey else None
        nv = median_of(res["nats"], nkey) if nkey else None
        nats_cell = fmt(nv) if nkey else ("no search" if "search" in label else "—")
        print(f"{label:<48} {unit:<10} {fmt(lv):>9} {fmt(ov):>9} {nats_cell:>9}  {ratio(lv, ov):<12} {ratio(lv, nv)}")
    hits = median_of(res["openldap"], "search hits")
    print(f"""
Ratios are Liaison's value ÷ the peer's: for rates above 1 is Liaison faster, for times and
sizes below 1 is Liaison faster or smaller. "—": not measured (see below).

What is measured, for each side:
- Writes one at a time: {one:,} records added one after the other, each waiting for its result
  (OpenLDAP: an LDAP add on the provider; NATS: a KV put acknowledged by JetStream). Liaison:
  the latency is a publish of one record through a site's API until it answers (signed by the
  site, accepted and sequenced by the broker, applied at the publishing site), {probes} of
  them 20 ms apart (liaison-bench-bus); no benchmark publishes them back to back, so the rate
  is missing.
- Bulk: the next {bulk:,} records (OpenLDAP: adds on 4 connections, 32 in flight on each; NATS:
  pipelined puts, 4,096 acknowledgements in flight), until the writer acknowledged them all and
  until the replica held them all. Liaison: liaison-bench-bus's sustained figure (signed
  updates, each verified and durably applied at all 4 sites, batches of 2,000 through a site's
  API); it has no figure for the broker's acknowledgement alone.
- Offline load: OpenLDAP's slapadd -q of the remaining records into the stopped provider (how one
  loads a directory); Liaison: liaison-bench-directory's publish with signatures verified on both
  cores, one LMDB transaction.
- Fresh replica: OpenLDAP: a new consumer slapd, empty, from its start until its contextCSN is the
  provider's (syncrepl refresh of all {n:,} entries); NATS: a new nats-server (leaf node), from its
  start until its mirror of the bucket holds the whole stream; Liaison: a new site daemon, from its
  start until it applied the broker's head, every record's signature verified.
- Live change: {probes} changes, one at a time, 20 ms apart: OpenLDAP: a modify on the provider,
  then a search on the consumer in a tight loop until it shows the change; NATS: a put of a new
  revision on the hub, then a watcher (push consumer) of the leaf's mirror until it delivers it;
  from the writer's acknowledgement in both (and, on its own rows, from the write's start).
  Liaison: from the publish request through a site's API (which answers once that site holds
  the change) -> applied at the last of 4 sites, so only the rows from the write's start; the
  peers have one replica, so Liaison's figure is the slowest of four. NATS's
  mirror often holds the change before the writer has read its acknowledgement, hence well
  under a millisecond from the acknowledgement.
- Structured search (country + role + topic, 20 results at most, the same random draws as
  liaison-bench-directory, {queries:,} queries, {fmt(hits)} entries returned on average by slapd):
  slapd's own time is its log's etime on the replica (-d 256); the client time is python-ldap over
  loopback; the whole process is ldapsearch against the replica. Liaison: find in-process on its
  LMDB replica, and `liaison find` as a process. NATS has no search: a KV bucket is read by key
  (or by listing keys), so it has no counterpart.
- Memory and disk: the fresh replica during its catch-up (own memory sampled every 5-10 ms) and
  after it (OpenLDAP: consumer slapd; NATS: the leaf's nats-server; Liaison: the catching-up
  site during it, and at the end the largest of its 5 site daemons, 4 of which took the
  sustained load); the provider (slapd), the hub (nats-server) and Liaison's broker at the end
  of a run. On disk: the fresh replica's files (Liaison: liaison-bench-directory's replica).

What the peers do not do:
- Neither verifies an origin's signature per record: OpenLDAP trusts the provider it binds to
  and syncrepl carries entries, not signed records; NATS trusts the server it connects to.
  Every Liaison site verifies every record's Ed25519 signature (5 verifications per update
  across the bus bench's 4 sites and broker), and catch-up verifies all {n:,}.
- NATS has no search. NATS 2.9 (Debian's) acknowledges a put once written, not synced: it syncs
  its files every 2 minutes (sync_interval, settable only from 2.10); slapd (mdb, default) and
  Liaison sync each commit, but syncrepl applies each entry in its own synced transaction where
  Liaison commits batches.
- OpenLDAP's replica searches LDAP filters over indexed attributes; Liaison's find also ranks and
  matches names across scripts (not exercised here). Liaison's search figures come from 17
  countries' records with the same generator and seed.

Records: liaison-gendir --count {n} --seed {contacts.SEED} --countries {contacts.COUNTRIES}, the
directory benchmark's records. NATS stores each as its JSON line (key = id). OpenLDAP stores the
same values as attributes: {contacts.MAPPING}. Liaison's stored value is the signed envelope.""")


if __name__ == "__main__":
    sys.exit(main())
