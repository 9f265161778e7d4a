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

# All or nothing: either every envelope is accepted (consecutive seqs, one transaction) or none.
struct Submit {
  requestId @0 :UInt64;
  envelopes @1 :List(Data);
}

struct SubmitResult {
  requestId @0 :UInt64;
  accepted @1 :Bool;
  firstSeq @2 :UInt64;          # when accepted: the seqs firstSeq..lastSeq
  lastSeq @3 :UInt64;
  refusal @4 :Text;             # when refused: the reason's name ("bad signature", ...)
  detail @5 :Text;
  index @6 :UInt32;             # which envelope was refused
  ignored @7 :UInt32;           # envelopes dropped as stale (already stored at that revision)
}

struct InfoRequest {
  requestId @0 :UInt64;
}

struct Info {
  requestId @0 :UInt64;
  epoch @1 :UInt64;
  head @2 :UInt64;
  fanoutPort @3 :UInt16;        # the PUB port, on the broker's host
  network @4 :Text;
  oldest @5 :UInt64;            # the oldest seq the log still holds
}

# A snapshot is read in chunks, each in its own short read transaction: the current state of
# every certificate, revocation and record, in key order. The site then fetches the delta from
# the head it saw when the snapshot began (re-applying is harmless: revisions decide).
struct SnapshotRequest {
  requestId @0 :UInt64;
  afterKey @1 :Text;            # "" for the first chunk
  maxItems @2 :UInt32;
}

struct SnapshotChunk {
  requestId @0 :UInt64;
  epoch @1 :UInt64;
  head @2 :UInt64;
  entries @3 :List(LogEntry);   # the entry that last set each key
  nextKey @4 :Text;
  done @5 :Bool;
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

# Alerts travel between a site and its broker on the request socket, never on the fan-out:
# only the sites an alert targets ever receive it (DESIGN.md, "Bus").
struct AlertRequest {           # site → broker
  requestId @0 :UInt64;
  union {
    send @1 :Data;              # a signed alert, update or cancel (Envelope)
    answer @2 :Data;            # a signed Ack: receipt, acknowledged or declined
    status @3 :Text;            # the id of an alert whose custody state is wanted
    stored @4 :List(Text);      # delivery keys this site has stored (answers to its alerts)
    ping @5 :Void;              # "I am here" each second: what waits for this site is delivered
  }
}

struct AlertReply {             # broker → site, for send, answer and status
  requestId @0 :UInt64;
  accepted @1 :Bool;
  refusal @2 :Text;
  detail @3 :Text;
  custody @4 :Text;             # JSON: the alert's state at every target (see broker/alerts.h)
}

struct Delivery {               # broker → site: store this, then answer (receipt or stored)
  key @0 :Text;                 # "alert/ID" or "answer/ID/SITE/KIND"
  envelope @1 :Data;
}

# MLA requests (requests/request.h) between a site and its broker, on the request socket. The
# broker holds ciphertext and routing only. One shape for every operation:
#   site → broker   put (data: sealed request, steps: [sent]) | chunk (id, file, index, data)
#                   | get (id, file, index) | step (steps: [a signed step]) | stored (keys)
#   broker → site   reply (to any of those: accepted/refusal, missing, data, steps)
#                   | offer (to the recipient: data = sealed request, steps = the trail)
#                   | step (steps: [a step for this site's trail]); both answered with stored
struct RequestMsg {
  requestId @0 :UInt64;
  op @1 :Text;
  id @2 :Text;                  # the MLA request
  file @3 :UInt32;
  index @4 :UInt32;
  data @5 :Data;
  steps @6 :List(Data);         # SignedStep messages
  keys @7 :List(Text);          # stored: delivery keys; offer/step: [its key]
  accepted @8 :Bool;
  refusal @9 :Text;
  detail @10 :Text;
  missing @11 :List(UInt64);    # put's reply: file << 32 | index of each chunk the broker lacks
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
    infoRequest @7 :InfoRequest;
    info @8 :Info;
    snapshotRequest @9 :SnapshotRequest;
    snapshot @10 :SnapshotChunk;
    alertRequest @11 :AlertRequest;
    alertReply @12 :AlertReply;
    delivery @13 :Delivery;
    request @14 :RequestMsg;
  }
}
