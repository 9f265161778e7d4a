"""A minimal NATS client over a plain socket, for the peers benchmark.

Debian has no Python NATS client (no python3-nats), and the benchmark installs nothing from
outside Debian, so this speaks the NATS text protocol itself: INFO/CONNECT, PUB, SUB, MSG and
HMSG, PING/PONG. It does what the benchmark needs and nothing more: requests with a reply
inbox (JetStream's API and publish acknowledgements are plain request/reply), pipelined
publishes with a window of acknowledgements in flight, and subscriptions read synchronously.
No TLS, no reconnection, no authentication.
"""
import json
import os
import select
import socket
import time


class NatsError(Exception):
    pass


class Msg:
    __slots__ = ("subject", "reply", "headers", "data")

    def __init__(self, subject, reply, headers, data):
        self.subject, self.reply, self.headers, self.data = subject, reply, headers, data


class Nats:
    def __init__(self, host, port, name="liaison-peers", timeout=10.0):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.sock.settimeout(None)
        self.buf = bytearray()
        self.out = bytearray()
        self.next_sid = 1
        self.handlers = {}  # sid -> list collecting Msg
        self.inbox = "_INBOX." + os.urandom(8).hex()
        self.info = json.loads(self._read_line().split(b" ", 1)[1])
        connect = {"verbose": False, "pedantic": False, "headers": True, "no_responders": True,
                   "protocol": 1, "name": name, "lang": "python-raw", "version": "0"}
        self.sock.sendall(b"CONNECT " + json.dumps(connect).encode() + b"\r\nPING\r\n")
        while True:
            line = self._read_line()
            if line == b"PONG":
                break
            if line.startswith(b"-ERR"):
                raise NatsError(line.decode())
        self.replies = {}  # token -> Msg, answers to our inbox
        self.inbox_sid = self.subscribe(self.inbox + ".*", collect=False)

    # --- reading --------------------------------------------------------------------------

    def _fill(self, timeout):
        if timeout is not None:
            r, _, _ = select.select([self.sock], [], [], max(0.0, timeout))
            if not r:
                return False
        chunk = self.sock.recv(1 << 20)
        if not chunk:
            raise NatsError("connection closed by the server")
        self.buf += chunk
        return True

    def _read_line(self):
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[:i + 2]
                return line
            self._fill(10.0)

    def _parse_one(self):
        """Parses one protocol message from the buffer; returns False when it needs more bytes."""
        i = self.buf.find(b"\r\n")
        if i < 0:
            return False
        line = bytes(self.buf[:i])
        if line.startswith(b"MSG ") or line.startswith(b"HMSG "):
            parts = line.split(b" ")
            if parts[0] == b"MSG":
                subject, sid = parts[1], int(parts[2])
                reply = parts[3] if len(parts) == 5 else None
                hlen, total = 0, int(parts[-1])
            else:
                subject, sid = parts[1], int(parts[2])
                reply = parts[3] if len(parts) == 6 else None
                hlen, total = int(parts[-2]), int(parts[-1])
            end = i + 2 + total + 2
            if len(self.buf) < end:
                return False
            body = bytes(self.buf[i + 2:i + 2 + total])
            del self.buf[:end]
            headers = body[:hlen] if hlen else None
            self._deliver(sid, Msg(subject.decode(), reply.decode() if reply else None, headers, body[hlen:]))
            return True
        del self.buf[:i + 2]
        if line == b"PING":
            self.out += b"PONG\r\n"
            self.flush()
        elif line.startswith(b"-ERR"):
            raise NatsError(line.decode())
        return True  # PONG, +OK, INFO

    def _deliver(self, sid, msg):
        if sid == getattr(self, "inbox_sid", None):
            self.replies[msg.subject.rsplit(".", 1)[1]] = msg
        else:
            self.handlers.setdefault(sid, []).append(msg)

    def process(self, timeout):
        """Reads what the server sent within `timeout` seconds (0: only what is already there)."""
        got = self._fill(timeout)
        while self._parse_one():
            pass
        return got

    # --- writing --------------------------------------------------------------------------

    def flush(self):
        if self.out:
            self.sock.sendall(self.out)
            self.out.clear()

    def publish(self, subject, data=b"", reply=None, flush=True):
        head = f"PUB {subject} {reply + ' ' if reply else ''}{len(data)}\r\n".encode()
        self.out += head
        self.out += data
        self.out += b"\r\n"
        if flush:
            self.flush()

    def subscribe(self, subject, collect=True):
        sid = self.next_sid
        self.next_sid += 1
        if collect:
            self.handlers[sid] = []
        self.out += f"SUB {subject} {sid}\r\n".encode()
        self.flush()
        return sid

    def unsubscribe(self, sid):
        self.out += f"UNSUB {sid}\r\n".encode()
        self.flush()
        self.handlers.pop(sid, None)

    def ping(self, timeout=10.0):
        """A round trip: everything sent before has been processed by the server."""
        token = "p" + os.urandom(4).hex()
        # A request to our own inbox comes back through the server once it has read all before it.
        self.publish(f"{self.inbox}.{token}", b"")
        return self.wait_reply(token, timeout)

    def wait_reply(self, token, timeout=10.0):
        deadline = time.monotonic() + timeout
        while token not in self.replies:
            left = deadline - time.monotonic()
            if left <= 0:
                raise NatsError(f"no answer within {timeout} s")
            while self._parse_one():
                pass
            if token in self.replies:
                break
            self._fill(left)
        return self.replies.pop(token)

    def request(self, subject, data=b"", timeout=10.0):
        token = os.urandom(6).hex()
        self.publish(subject, data, reply=f"{self.inbox}.{token}")
        msg = self.wait_reply(token, timeout)
        if msg.headers and b"503" in msg.headers.split(b"\r\n", 1)[0]:
            raise NatsError(f"no responders for {subject}")
        return msg

    def js(self, api, body=None, prefix="$JS.API", timeout=10.0):
        """A JetStream API request; returns the decoded answer, raises on an error answer."""
        data = json.dumps(body).encode() if body is not None else b""
        answer = json.loads(self.request(f"{prefix}.{api}", data, timeout).data)
        if "error" in answer:
            raise NatsError(f"{api}: {answer['error']}")
        return answer

    def close(self):
        try:
            self.flush()
            self.sock.close()
        except OSError:
            pass
