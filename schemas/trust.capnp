# Membership: certificates signed by a network's root key, and their revocation.
@0xc3cc36557c66fef8;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

struct Member {
  site @0 :Text;               # site id
  network @1 :Text;
  role @2 :Text;               # authority | secretariat | adapter | broker
  countries @3 :List(Text);    # the countries it may publish for
  signKey @4 :Data;            # Ed25519 public key, 32 bytes
  curveKey @5 :Data;           # CURVE (X25519) public key, 32 bytes
  notBefore @6 :Int64;         # Unix seconds
  notAfter @7 :Int64;
  serial @8 :UInt64;           # random; a re-enrolment gets a new one
  boxKey @9 :Data;             # X25519 public key that MLA requests to this site are sealed to,
                               # 32 bytes; empty in certificates made before requests existed
}

struct Revocation {
  site @0 :Text;
  revokedAt @1 :Int64;
  reason @2 :Text;
}

# What a peering lets pass in one direction. An empty list of roles or countries means any;
# an empty list of kinds means none.
struct Policy {
  kinds @0 :List(Text);        # contact | instrument | notice | alert | request
  roles @1 :List(Text);        # contact roles
  countries @2 :List(Text);    # ISO 3166-1 alpha-2
}

# Federation (DESIGN.md, "Federation"): signed by a network's root and published in its own
# network. What flows from A to B is what A's peering offers and B's peering accepts, while both
# are in force. A peering with status "retired" ends it.
struct Peering {
  id @0 :Text;                 # "NETWORK~PEER"
  revision @1 :UInt64;
  status @2 :Text;             # active | retired
  network @3 :Text;            # the signing root's network
  peer @4 :Text;               # the peer network
  peerRoot @5 :Data;           # the peer root's Ed25519 public key, 32 bytes
  offer @6 :Policy;            # what this network lets pass to the peer
  accept @7 :Policy;           # what it takes from the peer
  validUntil @8 :Int64;        # Unix seconds; not in force after it
}
