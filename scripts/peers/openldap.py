"""OpenLDAP as a peer: a provider slapd (mdb + syncprov) and consumers (mdb + syncrepl,
refreshAndPersist), each on 127.0.0.1 in its own temporary directory, configured through a
cn=config made with slapadd -n0 (nothing of the system's /etc/ldap/slapd.d is read or changed).
"""
import os
import random
import re
import subprocess
import threading
import time

import ldap
import ldap.modlist
import ldif

from common import dir_bytes, free_port, percentile, proc_kib, stop_process
from contacts import (ADMIN, BASE, COUNTRIES, PARENT, PASSWORD, QUERY_ROLES, QUERY_TOPICS, ldap_bytes, ldap_entry,
                      schema_ldif)

MODULES = "/usr/lib/ldap"
SCHEMAS = "/etc/ldap/schema"
INDEXES = ["objectClass eq", "entryCSN eq", "entryUUID eq", "uid eq",
           "c,businessCategory,liaisonTopic,liaisonLanguage eq"]


def _config_ldif(directory, provider_url=None):
    db = os.path.join(directory, "db")
    lines = [
        "dn: cn=config", "objectClass: olcGlobal", "cn: config",
        f"olcPidFile: {directory}/slapd.pid", f"olcArgsFile: {directory}/slapd.args", "",
        "dn: cn=module{0},cn=config", "objectClass: olcModuleList", "cn: module{0}",
        f"olcModulePath: {MODULES}", "olcModuleLoad: back_mdb", "olcModuleLoad: syncprov", "",
        "dn: cn=schema,cn=config", "objectClass: olcSchemaConfig", "cn: schema", "",
        f"include: file://{SCHEMAS}/core.ldif", "",
        f"include: file://{SCHEMAS}/cosine.ldif", "",
        f"include: file://{SCHEMAS}/inetorgperson.ldif", "",
        schema_ldif(),
        "dn: olcDatabase={0}config,cn=config", "objectClass: olcDatabaseConfig", "olcDatabase: {0}config", "",
        "dn: olcDatabase={1}mdb,cn=config", "objectClass: olcDatabaseConfig", "objectClass: olcMdbConfig",
        "olcDatabase: {1}mdb", f"olcSuffix: {BASE}", f"olcRootDN: {ADMIN}", f"olcRootPW: {PASSWORD}",
        f"olcDbDirectory: {db}", "olcDbMaxSize: 8589934592", "olcAccess: to * by * read",
        "olcLimits: * size.soft=unlimited size.hard=unlimited",
    ]
    lines += [f"olcDbIndex: {i}" for i in INDEXES]
    if provider_url:
        lines.append(
            f'olcSyncrepl: rid=001 provider={provider_url} bindmethod=simple binddn="{ADMIN}" '
            f'credentials={PASSWORD} searchbase="{BASE}" type=refreshAndPersist retry="1 +" '
            'timeout=5 network-timeout=5')
    lines.append("")
    # The provider serves syncrepl; the consumers only apply it.
    if not provider_url:
        lines += ["dn: olcOverlay={0}syncprov,olcDatabase={1}mdb,cn=config", "objectClass: olcOverlayConfig",
                  "objectClass: olcSyncProvConfig", "olcOverlay: {0}syncprov", "olcSpCheckpoint: 1000 1", ""]
    return "\n".join(lines) + "\n"


class Slapd:
    """One slapd in the foreground (-d), its PID registered with `track`."""

    def __init__(self, directory, port, track, provider_url=None, stats_log=False):
        self.directory = directory
        self.port = port
        self.url = f"ldap://127.0.0.1:{port}"
        os.makedirs(os.path.join(directory, "db"))
        os.makedirs(os.path.join(directory, "slapd.d"))
        with open(os.path.join(directory, "config.ldif"), "w", encoding="utf-8") as f:
            f.write(_config_ldif(directory, provider_url))
        subprocess.run(["slapadd", "-n0", "-F", os.path.join(directory, "slapd.d"), "-l",
                        os.path.join(directory, "config.ldif")], check=True, capture_output=True)
        self.log = os.path.join(directory, "slapd.log")
        self.stats_log = stats_log
        self.restart(track)

    def restart(self, track):
        # -d 256 (stats) keeps it in the foreground and logs each operation with its etime;
        # -d 0 keeps it in the foreground without logging.
        level = "256" if self.stats_log else "0"
        with open(self.log, "ab") as log:
            self.proc = subprocess.Popen(["slapd", "-d", level, "-h", self.url, "-F",
                                          os.path.join(self.directory, "slapd.d")],
                                         stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
        track(self.proc)
        self.wait_ready()

    def wait_ready(self, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"slapd exited ({self.proc.returncode}); see {self.log}")
            try:
                c = self.connect(bind=False)
                c.whoami_s()
                c.unbind_s()
                return
            except ldap.SERVER_DOWN:
                time.sleep(0.02)
        raise RuntimeError(f"slapd on {self.url} did not answer within {timeout} s")

    def connect(self, bind=True):
        c = ldap.initialize(self.url)
        c.protocol_version = 3
        c.set_option(ldap.OPT_NETWORK_TIMEOUT, 5)
        if bind:
            c.simple_bind_s(ADMIN, PASSWORD)
        return c

    def context_csn(self, conn):
        try:
            r = conn.search_s(BASE, ldap.SCOPE_BASE, "(objectClass=*)", ["contextCSN"])
        except ldap.NO_SUCH_OBJECT:
            return None
        vals = r[0][1].get("contextCSN", []) if r else []
        return sorted(vals)[-1] if vals else None

    def count(self, conn):
        msgid = conn.search_ext(PARENT, ldap.SCOPE_ONELEVEL, "(objectClass=inetOrgPerson)", ["1.1"])
        n = 0
        while True:
            rtype, data, _, _ = conn.result3(msgid, all=0)
            if rtype == ldap.RES_SEARCH_RESULT:
                return n
            n += len(data)

    def stop(self):
        stop_process(self.proc)


def add_base(conn):
    conn.add_s(BASE, ldap.modlist.addModlist({"objectClass": [b"dcObject", b"organization"],
                                              "dc": [b"liaison"], "o": [b"Liaison peers benchmark"]}))
    conn.add_s(PARENT, ldap.modlist.addModlist({"objectClass": [b"organizationalUnit"], "ou": [b"contacts"]}))


def _wait_csn(consumer_conn, consumer, want, timeout=3600, step=0.005, memory=None):
    """Waits until the consumer's contextCSN reaches `want`; samples its RssAnon into `memory`."""
    deadline = time.monotonic() + timeout
    while True:
        if memory is not None:
            memory.append(proc_kib(consumer.proc.pid, "RssAnon"))
        csn = consumer.context_csn(consumer_conn)
        if csn is not None and csn >= want:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"the consumer did not reach contextCSN {want!r} within {timeout} s")
        time.sleep(step)


def _bulk_add(url, entries, connections=4, window=32):
    """Adds `entries` over `connections` connections, `window` adds in flight on each."""
    errors = []

    def worker(part):
        try:
            c = ldap.initialize(url)
            c.protocol_version = 3
            c.simple_bind_s(ADMIN, PASSWORD)
            pending = 0
            for dn, mods in part:
                c.add_ext(dn, mods)
                pending += 1
                if pending >= window:
                    c.result3(ldap.RES_ANY, all=1)
                    pending -= 1
            while pending:
                c.result3(ldap.RES_ANY, all=1)
                pending -= 1
            c.unbind_s()
        except ldap.LDAPError as e:  # pragma: no cover - reported by the caller
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(entries[i::connections],)) for i in range(connections)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]


def _search_filters(n, seed=3):
    rng = random.Random(seed)
    cc = COUNTRIES.split(",")
    return [f"(&(c={rng.choice(cc)})(businessCategory={rng.choice(QUERY_ROLES)})"
            f"(liaisonTopic={rng.choice(QUERY_TOPICS)}))" for _ in range(n)]


def _search(conn, flt, limit):
    msgid = conn.search_ext(PARENT, ldap.SCOPE_ONELEVEL, flt, None, sizelimit=limit)
    hits = 0
    try:
        while True:
            rtype, data, _, _ = conn.result3(msgid, all=0)
            if rtype == ldap.RES_SEARCH_RESULT:
                break
            hits += len(data)
    except ldap.SIZELIMIT_EXCEEDED:
        pass
    return hits


def _etimes(log, marker):
    """Server-side time (etime) of each search whose filter holds `marker`, from a -d 256 log."""
    ops, times = set(), []
    pat = re.compile(r"(conn=\d+ op=\d+) ")
    with open(log, encoding="utf-8", errors="replace") as f:
        for line in f:
            m = pat.search(line)
            if not m:
                continue
            if " SRCH base=" in line and marker in line.lower():
                ops.add(m.group(1))
            elif " SEARCH RESULT " in line and m.group(1) in ops:
                e = re.search(r"etime=([0-9.]+)", line)
                if e:
                    times.append(float(e.group(1)) * 1e6)
    return times


def run(tmp, records, one_at_a_time, bulk, probes, queries, processes, track):
    """One run; returns {figure: value}."""
    out = {}
    entries = [ldap_entry(r) for r in records]
    out["value bytes"] = sum(ldap_bytes(a) for _, a in entries) / len(entries)
    modlists = [(dn, ldap.modlist.addModlist(a)) for dn, a in entries]
    prov = Slapd(os.path.join(tmp, "provider"), free_port(), track)
    pc = prov.connect()
    add_base(pc)
    live = Slapd(os.path.join(tmp, "consumer1"), free_port(), track, provider_url=prov.url)
    lc = live.connect()
    _wait_csn(lc, live, prov.context_csn(pc), timeout=60)

    # Writes one at a time: each add waits for its result.
    lat = []
    t0 = time.perf_counter()
    for dn, mods in modlists[:one_at_a_time]:
        t = time.perf_counter()
        pc.add_s(dn, mods)
        lat.append((time.perf_counter() - t) * 1e3)
    out["one at a time ops"] = one_at_a_time / (time.perf_counter() - t0)
    out["one at a time p50"] = percentile(lat, 0.5)
    _wait_csn(lc, live, prov.context_csn(pc))

    # Bulk: adds in flight on several connections, then until the consumer holds them all.
    t0 = time.perf_counter()
    _bulk_add(prov.url, modlists[one_at_a_time:one_at_a_time + bulk])
    out["bulk acked"] = bulk / (time.perf_counter() - t0)
    _wait_csn(lc, live, prov.context_csn(pc))
    out["bulk applied"] = bulk / (time.perf_counter() - t0)

    # A live change: a new revision of a record on the provider; time from the modify's result
    # until a search on the consumer sees it (searched in a tight loop, as Liaison's bench polls).
    delays, whole = [], []
    for i in range(probes):
        dn, _ = entries[i % len(entries)]
        note = f"Revised by the peers benchmark, change {i + 1}.".encode()
        start = time.perf_counter()
        pc.modify_s(dn, [(ldap.MOD_REPLACE, "description", [note]),
                         (ldap.MOD_REPLACE, "liaisonRevision", [str(i + 2).encode()])])
        accepted = time.perf_counter()
        while True:
            r = lc.search_s(dn, ldap.SCOPE_BASE, "(objectClass=*)", ["description"])
            if r and r[0][1].get("description") == [note]:
                break
            if time.perf_counter() - accepted > 10:
                raise RuntimeError("a live change did not reach the consumer within 10 s")
        delays.append((time.perf_counter() - accepted) * 1e3)
        whole.append((time.perf_counter() - start) * 1e3)
        time.sleep(0.02)
    out["live p50"] = percentile(delays, 0.5)
    out["live p99"] = percentile(delays, 0.99)
    out["live whole p50"] = percentile(whole, 0.5)
    out["live whole p99"] = percentile(whole, 0.99)
    lc.unbind_s()
    live.stop()

    # The rest of the records, loaded offline with slapadd (as one loads a directory), so that
    # the provider holds them all; its rate is reported as OpenLDAP's offline bulk load.
    rest = entries[one_at_a_time + bulk:]
    pc.unbind_s()
    prov.stop()
    if rest:
        ldif_path = os.path.join(tmp, "rest.ldif")
        with open(ldif_path, "w", encoding="utf-8") as f:
            w = ldif.LDIFWriter(f, cols=100000)
            for dn, a in rest:
                w.unparse(dn, a)
        t0 = time.perf_counter()
        subprocess.run(["slapadd", "-q", "-w", "-F", os.path.join(prov.directory, "slapd.d"), "-b", BASE,
                        "-l", ldif_path], check=True, capture_output=True)
        out["offline load"] = len(rest) / (time.perf_counter() - t0)
    prov.restart(track)
    pc = prov.connect()
    head = prov.context_csn(pc)

    # A fresh replica: a consumer started now, with an empty database, until its contextCSN is
    # the provider's (the end of syncrepl's refresh).
    t0 = time.perf_counter()
    fresh = Slapd(os.path.join(tmp, "consumer2"), free_port(), track, provider_url=prov.url, stats_log=True)
    fc = fresh.connect()
    memory = []
    _wait_csn(fc, fresh, head, step=0.01, memory=memory)
    out["catch-up"] = time.perf_counter() - t0
    n = fresh.count(fc)
    if n != len(records):
        raise RuntimeError(f"the fresh consumer holds {n} entries, not {len(records)}")
    out["replica own"] = proc_kib(fresh.proc.pid, "RssAnon") / 1024
    out["replica own max"] = max(memory + [proc_kib(fresh.proc.pid, "RssAnon")]) / 1024
    out["replica peak"] = proc_kib(fresh.proc.pid, "VmHWM") / 1024
    out["provider own"] = proc_kib(prov.proc.pid, "RssAnon") / 1024
    out["replica disk"] = dir_bytes(os.path.join(fresh.directory, "db")) / len(records)

    # Structured search on the fresh replica: country + role + topic, 20 entries at most, as
    # liaison-bench-directory's find. Client time over loopback, and slapd's own etime.
    filters = _search_filters(queries)
    for flt in filters[:20]:  # warm the connection and the caches, as Liaison's find is warm
        _search(fc, flt, 20)
    client, hits = [], 0
    for flt in filters:
        t = time.perf_counter()
        hits += _search(fc, flt, 20)
        client.append((time.perf_counter() - t) * 1e6)
    out["search client p50"] = percentile(client, 0.5)
    out["search hits"] = hits / len(filters)
    time.sleep(0.5)  # let slapd's log reach the file
    server = _etimes(fresh.log, "liaisontopic=")[20:]
    if len(server) < len(filters) * 0.9:
        raise RuntimeError(f"found {len(server)} search etimes in {fresh.log}, expected {len(filters)}")
    out["search server p50"] = percentile(server, 0.5)
    out["search server p99"] = percentile(server, 0.99)
    # A whole ldapsearch process (the command's counterpart to `liaison find`).
    proc_ms = []
    for _ in range(processes):
        t = time.perf_counter()
        r = subprocess.run(["ldapsearch", "-x", "-LLL", "-H", fresh.url, "-b", PARENT, "-z", "20",
                            "(&(c=TH)(businessCategory=central-authority)(liaisonTopic=trafficking-in-persons))"],
                           capture_output=True)
        proc_ms.append((time.perf_counter() - t) * 1e3)
        if r.returncode not in (0, 4):  # 4: size limit exceeded, the 20 asked for were returned
            raise RuntimeError(f"ldapsearch: {r.stderr.decode()}")
    out["search process"] = percentile(proc_ms, 0.5)
    fc.unbind_s()
    pc.unbind_s()
    fresh.stop()
    prov.stop()
    return out
