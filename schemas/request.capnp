# MLA requests (DESIGN.md, "MLA requests"): what the two central authorities read, what brokers
# carry, and the signed steps that prove what happened to a request.
@0xd3b1f0c2a9e84c17;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

# A file of a request or of a status, as the signed content names it.
struct FileRef {
  name @0 :Text;               # a plain file name, no directory
  size @1 :UInt64;             # bytes, before encryption
  sha256 @2 :Data;             # of the plaintext, 32 bytes
}

# The request itself: sealed to the recipient site's box key, so only the two sites read it.
struct RequestContent {
  id @0 :Text;                 # UUID, also the sealed request's id
  caseReference @1 :Text;
  fromSite @2 :Text;
  toSite @3 :Text;
  toContact @4 :Text;          # the focal point it is addressed to (a contact id), or empty
  legalBasis @5 :Text;         # an instrument id both countries are party to
  measures @6 :List(Text);     # the vocabulary in requests/request.h
  urgent @7 :Bool;
  deadline @8 :Text;           # YYYY-MM-DD, or empty
  language @9 :Text;           # BCP 47
  summary @10 :Text;
  files @11 :List(FileRef);
  fileKey @12 :Data;           # 32 bytes: the key of the files' encrypted chunks
  createdAt @13 :Int64;        # Unix seconds
}

# What brokers and bridges store and carry: routing and ciphertext only.
struct SealedRequest {
  id @0 :Text;
  fromSite @1 :Text;
  toSite @2 :Text;
  sealed @3 :Data;             # crypto_box_seal(RequestContent) to the recipient's box key
  chunks @4 :List(UInt32);     # the number of encrypted chunks of each file, in order
}

# One step of a request's trail, signed by the party that took it (SignedStep).
struct Step {
  requestId @0 :Text;
  kind @1 :Text;               # sent | accepted | delivered | opened | status
  status @2 :Text;             # kind status: registered | in-execution | ...
  by @3 :Text;                 # the named person (opened, status)
  reference @4 :Text;          # the requested side's own reference (status)
  comment @5 :Text;            # status: grounds of a refusal, what more is needed
  at @6 :Int64;                # Unix seconds
  previous @7 :Data;           # BLAKE2b-256 of the previous signed step (empty for "sent")
  subject @8 :Data;            # "sent": BLAKE2b-256 of the sealed request
  files @9 :List(FileRef);     # files a status sends back (the evidence), sealed separately
}

struct SignedStep {
  step @0 :Data;               # a Step message (canonical Cap'n Proto bytes)
  signer @1 :Text;             # a site id, or "broker:NETWORK"
  signerKey @2 :Data;          # Ed25519, 32 bytes
  signature @3 :Data;          # Ed25519 over "liaison/request-step/v1\0" + step
}
