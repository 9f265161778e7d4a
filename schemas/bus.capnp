# The bus protocol between a broker and its sites (DESIGN.md, "Bus").
#
# Requests go DEALER (site) → ROUTER (broker, port 7400), one BusMessage per ZeroMQ message;
# answers come back the same way. Fan-out goes PUB (broker, 7401) → SUB (sites): a `entry` for
# every sequenced item and a `heartbeat` each second. Everything is CURVE-encrypted; the ZAP
# handler admits only enrolled, unrevoked members.
@0x9b6bfb2de1cd1fe2;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

# One sequenced item of a network's log. `acceptedAt` is the time replicas verify against.
struct LogEntry {
  epoch @0 :UInt64;
  seq @1 :UInt64;
  acceptedAt @2 :Int64;
  envelope @3 :Data;            # the Envelope exactly as the origin signed it
}

struct Submit {
  requestId @0 :UInt64;
  envelope @1 :Data;
}

struct SubmitResult {
  requestId @0 :UInt64;
  accepted @1 :Bool;
  seq @2 :UInt64;               # when accepted
  refusal @3 :Text;             # when refused: the reason's name ("bad signature", ...)
  detail @4 :Text;
}

struct Fetch {
  requestId @0 :UInt64;
  epoch @1 :UInt64;             # the epoch the site's cursor belongs to (0: none)
  fromSeq @2 :UInt64;           # first seq wanted
  maxItems @3 :UInt32;
}

struct Items {
  requestId @0 :UInt64;
  epoch @1 :UInt64;
  head @2 :UInt64;              # the broker's last seq
  entries @3 :List(LogEntry);
  horizon @4 :Bool;             # true: fromSeq is older than the log keeps; take a snapshot
}

struct Heartbeat {
  epoch @0 :UInt64;
  head @1 :UInt64;
  time @2 :Int64;
}

struct BusMessage {
  union {
    submit @0 :Submit;
    result @1 :SubmitResult;
    fetch @2 :Fetch;
    items @3 :Items;
    heartbeat @4 :Heartbeat;
    entry @5 :LogEntry;
    error @6 :Text;             # the broker could not read the request
  }
}
