# Directory records: the things a site publishes and every replica stores.
# Vocabulary fields (role, status, channel kind, ...) are Text holding the JSON form's
# words; they are validated once, at the edge (schemas/json.cpp), against DESIGN.md.
@0x92185e1877af5035;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

struct Name {
  latin @0 :Text;        # required for a contact
  original @1 :Text;     # the name in its original script
  honorific @2 :Text;
}

struct Channel {
  kind @0 :Text;         # email | phone | mobile | fax | secure-messaging | i24-7 | post
  value @1 :Text;
  note @2 :Text;
  preferred @3 :Bool;
}

struct Availability {
  always @0 :Bool;             # reachable 24/7
  timezone @1 :Text;           # IANA
  hours @2 :Text;              # opening_hours style: "Mo-Fr 09:00-18:00", "24/7"
  afterHours @3 :Text;
  outOfOfficeUntil @4 :Text;   # YYYY-MM-DD, empty when in office
  deputyId @5 :Text;
}

struct Verification {
  verifiedAt @0 :Text;         # YYYY-MM-DD
  verifiedBy @1 :Text;
  reviewDue @2 :Text;          # YYYY-MM-DD; past it the record is served and marked stale
}

struct Contact {
  contactKind @0 :Text;        # person | desk | authority
  name @1 :Name;
  title @2 :Text;
  role @3 :Text;
  organization @4 :Text;
  unit @5 :Text;
  country @6 :Text;            # ISO 3166-1 alpha-2
  locality @7 :Text;
  body @8 :Text;               # central | territorial (Minsk Convention)
  networks @9 :List(Text);
  competences @10 :List(Text);
  topics @11 :List(Text);
  legalBases @12 :List(Text);
  languages @13 :List(Text);   # BCP 47, in order of preference
  channels @14 :List(Channel);
  requiresEncryption @15 :Bool;
  requiresESignature @16 :Bool;
  availability @17 :Availability;
  verification @18 :Verification;
  notes @19 :Text;
}

struct Instrument {
  type @0 :Text;               # multilateral | regional | bilateral
  name @1 :Text;
  parties @2 :List(Text);      # ISO 3166-1 alpha-2
  covers @3 :List(Text);       # competences it provides a basis for
  notes @4 :Text;
}

struct Notice {
  noticeType @0 :Text;         # yellow | red
  entityId @1 :Text;           # Interpol's entity id, e.g. "2026/12345"
  forename @2 :Text;
  name @3 :Text;
  dateOfBirth @4 :Text;
  nationalities @5 :List(Text);
  link @6 :Text;
  fetchedAt @7 :Text;
}

struct Record {
  id @0 :Text;                 # unique in the network across kinds
  revision @1 :UInt64;         # increases with every change
  status @2 :Text;             # active | suspended | retired (retired = tombstone)
  body :union {
    contact @3 :Contact;
    instrument @4 :Instrument;
    notice @5 :Notice;
  }
}
