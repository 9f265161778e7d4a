# The signed envelope that carries every item on the bus and in every store.
#
#   Envelope ─┬─ payload   : canonical Cap'n Proto bytes of one Item (the signed bytes)
#             ├─ signer    : site id of the origin ("root" for the network root)
#             ├─ signerKey : its Ed25519 public key (32 bytes)
#             └─ signature : Ed25519 over "liaison/v1\0" || payload (64 bytes)
@0xe8f11acbdd862767;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

using Record = import "record.capnp".Record;
using Alert = import "alert.capnp".Alert;
using Ack = import "alert.capnp".Ack;
using Member = import "trust.capnp".Member;
using Revocation = import "trust.capnp".Revocation;
using Peering = import "trust.capnp".Peering;

struct Item {
  union {
    record @0 :Record;
    alert @1 :Alert;
    ack @2 :Ack;
    member @3 :Member;
    revocation @4 :Revocation;
    peering @5 :Peering;
  }
}

struct Envelope {
  payload @0 :Data;
  signer @1 :Text;
  signerKey @2 :Data;
  signature @3 :Data;
}
