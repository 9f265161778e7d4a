# Alerts (CAP 1.2 semantics in Liaison's own schema), acknowledgements and receipts.
@0xd6232b461627a09b;

using Cxx = import "/capnp/c++.capnp";
$Cxx.namespace("liaison::schema");

struct Targets {
  countries @0 :List(Text);
  networks @1 :List(Text);
  roles @2 :List(Text);
  focalPoints @3 :List(Text);  # contact record ids
  sites @4 :List(Text);
}

struct Sender {
  site @0 :Text;
  person @1 :Text;
}

struct Alert {
  id @0 :Text;
  sender @1 :Sender;
  sent @2 :Text;               # ISO 8601 timestamp
  status @3 :Text;             # actual | exercise | test
  msgType @4 :Text;            # alert | update | cancel
  references @5 :List(Text);   # alert ids an update or cancel replaces
  incident @6 :Text;
  category @7 :Text;
  event @8 :Text;
  urgency @9 :Text;            # immediate | expected | future | past | unknown
  severity @10 :Text;          # extreme | severe | moderate | minor | unknown
  certainty @11 :Text;         # observed | likely | possible | unlikely | unknown
  headline @12 :Text;
  description @13 :Text;
  instruction @14 :Text;
  language @15 :Text;
  expires @16 :Text;
  targets @17 :Targets;
  ackRequired @18 :Bool;
  ackDeadline @19 :Text;       # ISO 8601 duration, e.g. PT30M
  escalateTo @20 :Targets;
  forwardToInterpol @21 :Bool;
}

struct Ack {
  alertId @0 :Text;
  site @1 :Text;               # the acknowledging site
  kind @2 :Text;               # receipt | acknowledged | declined
  by @3 :Text;                 # the person (empty for an automatic receipt)
  comment @4 :Text;
  at @5 :Text;                 # ISO 8601 timestamp
  reference @6 :Text;          # e.g. a gateway's reference for an adapter's receipt
}
