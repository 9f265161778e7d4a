"""NATS JetStream as a peer: a key-value bucket on a "hub" nats-server, replicated by a stream
mirror on a second nats-server (a leaf node in its own JetStream domain), as nats-server's own
documentation sets up a KV replica at the edge. One run: writes one at a time and in bulk, a live
change reaching the mirror, then a fresh third server mirroring the whole bucket.
"""
import os
import subprocess
import time

from contacts import nats_key, revised
from nats_client import Nats, NatsError
from common import dir_bytes, free_port, percentile, proc_kib, stop_process

BUCKET = "contacts"
STREAM = "KV_" + BUCKET


def _kv_config():
    # What a client's CreateKeyValue makes: one value per key, file storage, one replica.
    return {"name": STREAM, "subjects": [f"$KV.{BUCKET}.>"], "retention": "limits",
            "max_msgs_per_subject": 1, "storage": "file", "num_replicas": 1, "discard": "new",
            "allow_rollup_hdrs": True, "deny_delete": True, "allow_direct": True, "max_age": 0,
            "max_msgs": -1, "max_bytes": -1, "max_msg_size": -1, "duplicate_window": 120_000_000_000}


def _mirror_config():
    return {"name": STREAM, "retention": "limits", "max_msgs_per_subject": 1, "storage": "file",
            "num_replicas": 1, "discard": "new", "deny_delete": True, "allow_direct": True,
            "mirror_direct": True, "max_age": 0, "max_msgs": -1, "max_bytes": -1, "max_msg_size": -1,
            "mirror": {"name": STREAM, "external": {"api": "$JS.hub.API", "deliver": ""}}}


class NatsServer:
    def __init__(self, directory, name, track, leaf_of=None):
        os.makedirs(directory)
        self.port = free_port()
        self.leaf_port = free_port() if leaf_of is None else None
        conf = [f"listen: 127.0.0.1:{self.port}", f"server_name: {name}",
                f'jetstream {{ store_dir: "{directory}/js", domain: {name} }}']
        if leaf_of is None:
            conf.append(f"leafnodes {{ listen: 127.0.0.1:{self.leaf_port} }}")
        else:
            conf.append(f'leafnodes {{ remotes: [ {{ url: "nats-leaf://127.0.0.1:{leaf_of.leaf_port}" }} ] }}')
        path = os.path.join(directory, "nats.conf")
        with open(path, "w", encoding="utf-8") as f:
            f.write("\n".join(conf) + "\n")
        self.directory = directory
        self.log = os.path.join(directory, "nats.log")
        with open(self.log, "wb") as log:
            self.proc = subprocess.Popen(["nats-server", "-c", path], stdout=log, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        track(self.proc)
        self.wait_ready(leaf_of is not None)

    def wait_ready(self, leaf, timeout=30):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"nats-server exited ({self.proc.returncode}); see {self.log}")
            try:
                c = Nats("127.0.0.1", self.port)
                c.js("INFO")
                c.close()
                if not leaf or "Leafnode connection created" in open(self.log, encoding="utf-8").read():
                    return
            except (OSError, NatsError):
                pass
            time.sleep(0.02)
        raise RuntimeError(f"nats-server on {self.port} not ready within {timeout} s; see {self.log}")

    def connect(self):
        return Nats("127.0.0.1", self.port)

    def stop(self):
        stop_process(self.proc)


def _last_seq(conn):
    return conn.js(f"STREAM.INFO.{STREAM}")["state"]["last_seq"]


def _wait_mirror(conn, seq, timeout=1800, pid=None, memory=None):
    """Waits until the mirror reaches `seq`; samples the server's RssAnon into `memory`."""
    deadline = time.monotonic() + timeout
    while True:
        if memory is not None:
            memory.append(proc_kib(pid, "RssAnon"))
        if _last_seq(conn) >= seq:
            return
        if time.monotonic() > deadline:
            raise RuntimeError(f"mirror did not reach seq {seq} within {timeout} s")
        time.sleep(0.005)


def _bulk(conn, records, window=4096):
    """Pipelined puts with up to `window` acknowledgements outstanding (an async publish)."""
    inbox = f"_INBOX.bulk{os.urandom(4).hex()}"
    sid = conn.subscribe(inbox + ".*")
    acks = conn.handlers[sid]
    sent = done = 0
    last = 0
    while done < len(records):
        while sent < len(records) and sent - done < window:
            line = records[sent]
            conn.publish(f"$KV.{BUCKET}.{nats_key(line)}", line.encode(), reply=f"{inbox}.{sent}", flush=False)
            sent += 1
            if len(conn.out) > (256 << 10):
                conn.flush()
        conn.flush()
        conn.process(10.0)
        for m in acks:
            if b'"error"' in m.data:
                raise NatsError(m.data.decode())
            last = max(last, int(m.data.rsplit(b'"seq":', 1)[1].strip(b" }")))
        done += len(acks)
        acks.clear()
    conn.unsubscribe(sid)
    return last


def run(tmp, records, one_at_a_time, bulk, probes, track):
    """One run; returns {figure: value}."""
    out = {}
    hub = NatsServer(os.path.join(tmp, "hub"), "hub", track)
    leaf = NatsServer(os.path.join(tmp, "leaf1"), "leaf1", track, leaf_of=hub)
    a, b = hub.connect(), leaf.connect()
    a.js(f"STREAM.CREATE.{STREAM}", _kv_config())
    b.js(f"STREAM.CREATE.{STREAM}", _mirror_config())
    out["value bytes"] = sum(len(r.encode()) for r in records) / len(records)

    # Writes one at a time: each put waits for its acknowledgement.
    lat = []
    t0 = time.perf_counter()
    for line in records[:one_at_a_time]:
        t = time.perf_counter()
        ack = a.request(f"$KV.{BUCKET}.{nats_key(line)}", line.encode())
        lat.append((time.perf_counter() - t) * 1e3)
        if b'"error"' in ack.data:
            raise NatsError(ack.data.decode())
    out["one at a time ops"] = one_at_a_time / (time.perf_counter() - t0)
    out["one at a time p50"] = percentile(lat, 0.5)
    _wait_mirror(b, one_at_a_time)

    # Bulk: pipelined puts, then until the mirror holds them all.
    batch = records[one_at_a_time:one_at_a_time + bulk]
    t0 = time.perf_counter()
    last = _bulk(a, batch)
    out["bulk acked"] = len(batch) / (time.perf_counter() - t0)
    _wait_mirror(b, last)
    out["bulk applied"] = len(batch) / (time.perf_counter() - t0)

    # A live change: put a new revision of a record at the hub; time from its acknowledgement
    # until a watcher of the mirror on the leaf server receives it.
    inbox = f"_INBOX.watch{os.urandom(4).hex()}"
    wsid = b.subscribe(inbox)
    b.js(f"CONSUMER.CREATE.{STREAM}", {"stream_name": STREAM, "config": {
        "deliver_subject": inbox, "deliver_policy": "new", "ack_policy": "none", "replay_policy": "instant"}})
    got = b.handlers[wsid]
    delays, whole = [], []
    for i in range(probes):
        line = revised(records[i % len(records)], i + 1)
        data = line.encode()
        subject = f"$KV.{BUCKET}.{nats_key(line)}"
        start = time.perf_counter()
        ack = a.request(subject, data)
        accepted = time.perf_counter()
        if b'"error"' in ack.data:
            raise NatsError(ack.data.decode())
        deadline = accepted + 10
        seen = False
        while not seen:
            seen = any(m.subject == subject and m.data == data for m in got)
            if not seen:
                if time.perf_counter() > deadline:
                    raise RuntimeError("a live change did not reach the mirror within 10 s")
                b.process(1.0)
        delays.append((time.perf_counter() - accepted) * 1e3)
        whole.append((time.perf_counter() - start) * 1e3)
        got.clear()
        time.sleep(0.02)
    out["live p50"] = percentile(delays, 0.5)
    out["live p99"] = percentile(delays, 0.99)
    out["live whole p50"] = percentile(whole, 0.5)
    out["live whole p99"] = percentile(whole, 0.99)
    b.close()
    leaf.stop()

    # The rest of the records, untimed, so that the bucket holds them all.
    rest = records[one_at_a_time + bulk:]
    head = _bulk(a, rest) if rest else _last_seq(a)
    head = max(head, _last_seq(a))

    # A fresh replica: a third server, started now, mirroring the whole bucket.
    t0 = time.perf_counter()
    fresh = NatsServer(os.path.join(tmp, "leaf2"), "leaf2", track, leaf_of=hub)
    c = fresh.connect()
    c.js(f"STREAM.CREATE.{STREAM}", _mirror_config())
    memory = []
    _wait_mirror(c, head, pid=fresh.proc.pid, memory=memory)
    out["catch-up"] = time.perf_counter() - t0
    info = c.js(f"STREAM.INFO.{STREAM}")["state"]
    if info["messages"] != len(records):
        raise RuntimeError(f"the fresh mirror holds {info['messages']} records, not {len(records)}")
    out["replica own"] = proc_kib(fresh.proc.pid, "RssAnon") / 1024
    out["replica own max"] = max(memory + [proc_kib(fresh.proc.pid, "RssAnon")]) / 1024
    out["replica peak"] = proc_kib(fresh.proc.pid, "VmHWM") / 1024
    out["provider own"] = proc_kib(hub.proc.pid, "RssAnon") / 1024
    out["replica disk"] = dir_bytes(os.path.join(fresh.directory, "js")) / len(records)
    c.close()
    a.close()
    fresh.stop()
    hub.stop()
    return out
