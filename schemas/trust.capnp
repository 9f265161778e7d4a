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
}

struct Revocation {
  site @0 :Text;
  revokedAt @1 :Int64;
  reason @2 :Text;
}
