#include "broker/alerts.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/encoding.h"
#include "schemas/alert_json.h"
#include "schemas/item.h"
#include "schemas/vocab.h"
#include "trust/keys.h"

namespace liaison::broker {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

bool finalState(const std::string& s) { return s == "acknowledged" || s == "declined"; }

json::Json times(int64_t t) { return t == 0 ? json::Json(nullptr) : json::Json(t); }
int64_t timeOf(const json::Json& j, const char* key) {
  auto it = j.find(key);
  return it == j.end() || !it->is_number_integer() ? 0 : it->get<int64_t>();
}

std::string clip(const std::string& s) { return s.size() <= 80 ? s : s.substr(0, 80) + "..."; }

}  // namespace

json::Json custodyToJson(const Custody& c, bool withEnvelopes) {
  json::Json j;
  j["id"] = c.id;
  j["sender"] = c.sender;
  j["msgType"] = c.msgType;
  j["references"] = c.references;
  j["acceptedAt"] = c.acceptedAt;
  j["expiresAt"] = times(c.expiresAt);
  j["deadlineAt"] = times(c.deadlineAt);
  j["state"] = c.state;
  j["escalated"] = c.escalated;
  json::Json targets = json::Json::object();
  for (const auto& [site, t] : c.targets) {
    json::Json x;
    x["state"] = t.state;
    x["queuedAt"] = times(t.queuedAt);
    x["deliveredAt"] = times(t.deliveredAt);
    x["answeredAt"] = times(t.answeredAt);
    if (!t.by.empty()) x["by"] = t.by;
    if (!t.comment.empty()) x["comment"] = t.comment;
    if (!t.reference.empty()) x["reference"] = t.reference;
    x["attempts"] = t.attempts;
    if (t.escalation) x["escalation"] = true;
    if (!t.network.empty()) x["network"] = t.network;
    if (t.hop) x["hop"] = true;
    targets[site] = std::move(x);
  }
  j["targets"] = std::move(targets);
  json::Json answers = json::Json::array();
  for (const auto& a : c.answers) {
    json::Json x = {{"key", a.key}, {"stored", a.stored}};
    if (withEnvelopes) x["envelope"] = toBase64(a.envelope);
    answers.push_back(std::move(x));
  }
  j["answers"] = std::move(answers);
  if (withEnvelopes) j["envelope"] = toBase64(c.envelope);
  return j;
}

Result<Custody> custodyFromJson(const json::Json& j) {
  try {
    Custody c;
    c.id = j.at("id").get<std::string>();
    c.sender = j.at("sender").get<std::string>();
    c.msgType = j.at("msgType").get<std::string>();
    c.references = j.at("references").get<std::vector<std::string>>();
    c.acceptedAt = timeOf(j, "acceptedAt");
    c.expiresAt = timeOf(j, "expiresAt");
    c.deadlineAt = timeOf(j, "deadlineAt");
    c.state = j.at("state").get<std::string>();
    c.escalated = j.at("escalated").get<bool>();
    if (j.contains("envelope")) {
      auto env = fromBase64(j.at("envelope").get<std::string>());
      if (!env) return makeError(Errc::kIo, "alert " + c.id + ": damaged envelope");
      c.envelope = std::move(*env);
    }
    for (const auto& [site, x] : j.at("targets").items()) {
      TargetState t;
      t.state = x.at("state").get<std::string>();
      t.queuedAt = timeOf(x, "queuedAt");
      t.deliveredAt = timeOf(x, "deliveredAt");
      t.answeredAt = timeOf(x, "answeredAt");
      t.by = x.value("by", "");
      t.comment = x.value("comment", "");
      t.reference = x.value("reference", "");
      t.attempts = x.value("attempts", 0u);
      t.escalation = x.value("escalation", false);
      t.network = x.value("network", "");
      t.hop = x.value("hop", false);
      c.targets.emplace(site, std::move(t));
    }
    for (const auto& a : j.at("answers")) {
      Bytes bytes;
      if (a.contains("envelope")) {
        auto b = fromBase64(a.at("envelope").get<std::string>());
        if (!b) return makeError(Errc::kIo, "alert " + c.id + ": damaged answer");
        bytes = std::move(*b);
      }
      c.answers.push_back(
          {a.at("key").get<std::string>(), std::move(bytes), a.at("stored").get<bool>()});
    }
    return c;
  } catch (const std::exception& e) {
    return makeError(Errc::kIo, std::string("damaged alert custody: ") + e.what());
  }
}

AlertRouter::AlertRouter(AlertStore& store, const Core& core, const Clock& clock,
                         std::string network, Timing timing)
    : store_(store), core_(core), clock_(clock), network_(std::move(network)), timing_(timing) {}

Status AlertRouter::load() {
  alerts_.clear();
  pending_.clear();
  dirty_.clear();
  idle_.clear();
  tallied_.clear();
  totals_ = {};
  // Every custody is counted; only those with work left stay in memory.
  return store_.load([this](Custody&& c) {
    Tally t = tallyOf(c);
    count(t, +1);
    if (!hasWork(c)) return;
    std::string id = c.id;
    tallied_[id] = std::move(t);
    alerts_[id] = std::move(c);
    pending_.insert(id);
  });
}

Custody* AlertRouter::lookup(const std::string& id) {
  if (auto it = alerts_.find(id); it != alerts_.end()) return &it->second;
  auto stored = store_.get(id);
  if (!stored) {
    spdlog::error("alert={} custody not read: {}", id, stored.error().message);
    return nullptr;
  }
  if (!*stored) return nullptr;
  tallied_[id] = tallyOf(**stored);
  idle_.insert(id);
  return &alerts_.emplace(id, std::move(**stored)).first->second;
}

std::optional<Custody> AlertRouter::find(const std::string& id) {
  const Custody* c = lookup(id);
  return c == nullptr ? std::nullopt : std::optional<Custody>(*c);
}

bool AlertRouter::hasWork(const Custody& c) {
  if (std::any_of(c.answers.begin(), c.answers.end(), [](const auto& a) { return !a.stored; }))
    return true;
  if (c.state != "open") return false;
  bool queued = false, acknowledged = false;
  for (const auto& [site, t] : c.targets) {
    queued = queued || t.state == "queued";
    acknowledged = acknowledged || t.state == "acknowledged";
  }
  return queued || (c.deadlineAt != 0 && !c.escalated && !acknowledged);
}

AlertRouter::Tally AlertRouter::tallyOf(const Custody& c) {
  Tally t{c.state, {}};
  for (const auto& [site, target] : c.targets) ++t.targets[target.state];
  return t;
}

void AlertRouter::count(const Tally& t, int sign) {
  if (t.state.empty()) return;  // nothing counted yet
  auto add = [sign](std::map<std::string, uint64_t>& m, const std::string& key, uint64_t n) {
    uint64_t& v = m[key];
    v = sign > 0 ? v + n : v - std::min(v, n);
    if (v == 0) m.erase(key);
  };
  add(totals_.alerts, t.state, 1);
  for (const auto& [state, n] : t.targets) add(totals_.targets, state, n);
}

bus::AlertReply AlertRouter::refuse(uint64_t requestId, const std::string& reason,
                                    const std::string& detail) {
  ++counters_.refused[reason];
  return bus::AlertReply{requestId, false, reason, detail, {}};
}

void AlertRouter::touch(Custody& c) {
  dirty_.insert(c.id);
  pending_.insert(c.id);
}

bool AlertRouter::online(const std::string& site, int64_t nowMs) const {
  auto it = lastSeenMs_.find(site);
  return it != lastSeenMs_.end() && nowMs - it->second <= timing_.onlineMs;
}

std::set<std::string> AlertRouter::resolve(schema::Targets::Reader targets, bool forwardToInterpol,
                                           std::vector<std::string>* unknown) const {
  std::set<std::string> out;
  auto adapters = [&] {
    std::set<std::string> a;
    for (const auto& [site, cert] : core_.members()) {
      if (cert.role == "adapter" && core_.isAdmitted(site)) a.insert(site);
    }
    return a;
  };
  auto add = [&](const std::set<std::string>& sites, const std::string& name) {
    bool any = false;
    for (const auto& s : sites) {
      if (!core_.isAdmitted(s) && !core_.isPeerMember(s)) continue;
      out.insert(s);
      any = true;
    }
    if (!any && unknown != nullptr) unknown->push_back(name);
  };
  for (auto cc : targets.getCountries()) {
    std::set<std::string> sites;
    for (const auto& [site, cert] : core_.members()) {
      if (cert.role != "broker" && cert.role != "adapter" && cert.role != "bridge" &&
          cert.mayPublishFor(str(cc))) {
        sites.insert(site);
      }
    }
    add(sites, "country:" + str(cc));
  }
  for (auto n : targets.getNetworks()) {
    std::string network = str(n);
    std::set<std::string> sites = core_.sitesInNetwork(network);
    if (network == network_) {
      for (const auto& [site, cert] : core_.members()) {
        if (cert.role == "authority" || cert.role == "secretariat") sites.insert(site);
      }
    }
    for (const auto& [site, cert] : core_.members()) {
      // A peer network named as a whole: its authorities and secretariat.
      if (network != network_ && core_.networkOf(site) == network &&
          (cert.role == "authority" || cert.role == "secretariat")) {
        sites.insert(site);
      }
    }
    if (network == "INTERPOL") {
      auto a = adapters();
      sites.insert(a.begin(), a.end());
    }
    add(sites, "network:" + network);
  }
  for (auto r : targets.getRoles()) {
    std::string role = str(r);
    std::set<std::string> sites = core_.sitesWithRole(role);
    if (role == "interpol-ncb") {
      auto a = adapters();
      sites.insert(a.begin(), a.end());
    }
    add(sites, "role:" + role);
  }
  for (auto f : targets.getFocalPoints()) {
    std::set<std::string> sites;
    if (auto site = core_.siteOfRecord(str(f))) sites.insert(*site);
    add(sites, "focal-point:" + str(f));
  }
  for (auto s : targets.getSites()) add({str(s)}, "site:" + str(s));
  if (forwardToInterpol) {
    auto a = adapters();
    out.insert(a.begin(), a.end());  // no adapter yet is not the sender's error
  }
  return out;
}

bool AlertRouter::isBridge(const std::string& site) const {
  auto cert = core_.member(site);
  return cert && cert->role == "bridge" && core_.isAdmitted(site);
}

std::map<std::string, TargetState> AlertRouter::targetsFor(
    const std::set<std::string>& sites, bool fromPeer, int64_t now,
    std::map<std::string, std::string>* closed) const {
  std::map<std::string, TargetState> out;
  std::set<std::string> networks;
  for (const auto& s : sites) {
    TargetState t;
    t.queuedAt = now;
    auto network = core_.networkOf(s);
    if (!network) continue;
    if (!network->empty()) {
      if (fromPeer) continue;  // never back across a bridge
      const int64_t at = clock_.nowSeconds();
      auto home = trust::homePeering(core_, *network);
      auto theirs = trust::foreignPeering(core_, *network);
      std::optional<std::string> why = trust::peeringClosed(core_, *network, at);
      if (!why && !home->offer.allows("alert", "", ""))
        why = network_ + " does not offer alerts to " + *network;
      if (!why && !theirs->accept.allows("alert", "", ""))
        why = *network + " does not accept alerts from " + network_;
      if (!why && core_.bridgesFor(*network).empty())
        why = "no bridge to " + *network + " is enrolled";
      if (why) {
        if (closed != nullptr) (*closed)[*network] = *why;
        continue;  // the peering does not carry alerts
      }
      t.network = *network;
      networks.insert(*network);
    }
    out.emplace(s, std::move(t));
  }
  for (const auto& network : networks) {
    for (const auto& bridge : core_.bridgesFor(network)) {
      TargetState t;
      t.queuedAt = now;
      t.network = network;
      t.hop = true;
      out[bridge] = std::move(t);
    }
  }
  return out;
}

bus::AlertReply AlertRouter::send(const std::string& site, const bus::AlertRequest& r,
                                  int64_t nowMs) {
  const int64_t now = clock_.nowSeconds();
  if (r.envelope.size() > kMaxEnvelopeBytes) {
    return refuse(r.requestId, "oversized",
                  "an alert of " + std::to_string(r.envelope.size()) + " bytes is over " +
                      std::to_string(kMaxEnvelopeBytes));
  }
  auto decoded = SignedItem::decode(r.envelope);
  if (!decoded) return refuse(r.requestId, "malformed", decoded.error().message);
  const SignedItem& item = *decoded;
  auto reader = item.item.reader();
  if (reader.which() != schema::Item::ALERT) {
    return refuse(r.requestId, "malformed", "expected an alert, got a " + itemKind(reader));
  }
  auto alert = reader.getAlert();
  const std::string id = str(alert.getId());
  if (!signatureOk_.contains(r.envelope) && !trust::signatureValid(item)) {
    return refuse(r.requestId, trust::refusalName(trust::Refusal::kBadSignature),
                  "signature by " + item.signer + " does not match alert " + clip(id));
  }
  auto decision = trust::verify(item, core_, now, std::nullopt, /*signatureChecked=*/true);
  if (!decision.accepted())
    return refuse(r.requestId, trust::refusalName(decision.refusal), decision.detail);
  // An alert of a peer network arrives from a bridge, signed by its origin.
  const bool fromPeer =
      item.signer != site && isBridge(site) && !core_.networkOf(item.signer).value_or("").empty();
  if ((item.signer != site && !fromPeer) || str(alert.getSender().getSite()) != item.signer) {
    return refuse(r.requestId, trust::refusalName(trust::Refusal::kOutOfScope),
                  "alert " + clip(id) + " is signed by " + item.signer + " for sender " +
                      clip(str(alert.getSender().getSite())) + " but came from " + site);
  }
  if (auto st = json::checkAlert(alert); !st)
    return refuse(r.requestId, "invalid", st.error().message);
  if (const Custody* held = lookup(id); held != nullptr) {
    if (held->envelope == r.envelope) {  // the sender asking again: same answer
      return bus::AlertReply{r.requestId, true, {}, {}, custodyToJson(*held, false).dump()};
    }
    return refuse(r.requestId, "duplicate", "alert id " + id + " is taken by another alert");
  }
  Custody c;
  c.id = id;
  c.sender = site;
  c.msgType = str(alert.getMsgType());
  c.envelope = r.envelope;
  c.acceptedAt = now;
  if (alert.getExpires().size() > 0) {
    c.expiresAt = parseTimestamp(str(alert.getExpires())).value_or(0);
    if (c.expiresAt <= now) {
      return refuse(r.requestId, "expired",
                    "alert " + id + " expired at " + str(alert.getExpires()));
    }
  }
  std::vector<Custody*> replaced;
  for (auto ref : alert.getReferences()) {
    Custody* old = lookup(str(ref));
    if (old == nullptr) {
      return refuse(r.requestId, "unknown reference",
                    c.msgType + " " + id + " refers to " + clip(str(ref)) +
                        ", an alert the broker does not hold");
    }
    if (old->sender != site) {
      return refuse(
          r.requestId, "not the sender",
          "only " + old->sender + ", its sender, may " + c.msgType + " alert " + str(ref));
    }
    c.references.push_back(str(ref));
    replaced.push_back(old);
  }
  std::vector<std::string> unknown;
  auto sites = resolve(alert.getTargets(), alert.getForwardToInterpol(), &unknown);
  resolve(alert.getEscalateTo(), false, &unknown);
  if (!unknown.empty() && !fromPeer) {  // a peer's alert names its own network's sites too
    std::string names;
    for (const auto& u : unknown) names += (names.empty() ? "" : ", ") + u;
    return refuse(r.requestId, "unknown target", "no member site answers for " + clip(names));
  }
  sites.erase(site);
  sites.erase(item.signer);
  std::map<std::string, std::string> closed;
  c.targets = targetsFor(sites, fromPeer, now, &closed);
  // An update or cancel reaches every site the original reached or was reaching.
  for (Custody* old : replaced) {
    for (const auto& [s, t] : old->targets) {
      if (c.targets.count(s) != 0) continue;
      if (c.msgType == "update" || t.attempts > 0 || t.state != "queued" || t.hop) {
        TargetState copy;
        copy.queuedAt = now;
        copy.network = t.network;
        copy.hop = t.hop;
        c.targets.emplace(s, std::move(copy));
      }
    }
  }
  if (alert.getAckRequired() && alert.getAckDeadline().size() > 0) {
    // An alert of a peer network keeps the deadline its sender set (it may arrive late, when
    // the sender's broker escalated it here): counted from when it was sent.
    int64_t from = now;
    if (fromPeer) from = std::min(now, parseTimestamp(str(alert.getSent())).value_or(now));
    c.deadlineAt = from + vocab::parseDuration(str(alert.getAckDeadline())).value_or(0);
  }
  // From a peer network, an alert for nobody here yet may be for those it escalates to.
  const bool escalatesHere =
      fromPeer && c.deadlineAt != 0 &&
      !targetsFor(resolve(alert.getEscalateTo(), false, nullptr), true, now).empty();
  if (c.targets.empty() && !escalatesHere) {
    std::string detail = "no site other than the sender answers for alert " + id;
    for (const auto& [network, why] : closed)
      detail += "; sites in " + network + " cannot be reached: " + why;
    return refuse(r.requestId, "no targets", detail);
  }
  for (Custody* old : replaced) {
    std::string newState = c.msgType == "cancel" ? "cancelled" : "superseded";
    if (old->state == "open") old->state = newState;
    for (auto& [s, t] : old->targets) {
      if (t.state == "queued") t.state = newState;
    }
    touch(*old);
    spdlog::info("alert={} {} by alert={}", old->id, newState, id);
  }
  auto [it, inserted] = alerts_.emplace(id, std::move(c));
  (void)inserted;
  touch(it->second);
  ++counters_.accepted;
  spdlog::info("alert={} msgType={} from site={} accepted for {} site(s)", id, it->second.msgType,
               site, it->second.targets.size());
  deliverDue(it->second, nowMs);
  return bus::AlertReply{r.requestId, true, {}, {}, custodyToJson(it->second, false).dump()};
}

bus::AlertReply AlertRouter::answer(const std::string& site, const bus::AlertRequest& r,
                                    int64_t nowMs) {
  const int64_t now = clock_.nowSeconds();
  if (r.envelope.size() > kMaxEnvelopeBytes)
    return refuse(r.requestId, "oversized", "answer too large");
  auto decoded = SignedItem::decode(r.envelope);
  if (!decoded) return refuse(r.requestId, "malformed", decoded.error().message);
  const SignedItem& item = *decoded;
  auto reader = item.item.reader();
  if (reader.which() != schema::Item::ACK) {
    return refuse(r.requestId, "malformed", "expected an answer, got a " + itemKind(reader));
  }
  auto ack = reader.getAck();
  if (!signatureOk_.contains(r.envelope) && !trust::signatureValid(item)) {
    return refuse(r.requestId, trust::refusalName(trust::Refusal::kBadSignature),
                  "signature by " + item.signer + " does not match its answer");
  }
  auto decision = trust::verify(item, core_, now, std::nullopt, /*signatureChecked=*/true);
  if (!decision.accepted())
    return refuse(r.requestId, trust::refusalName(decision.refusal), decision.detail);
  // A peer network's answer arrives from the bridge that carried the alert there.
  const std::string peerNetwork = core_.networkOf(item.signer).value_or("");
  const bool relayed = item.signer != site && isBridge(site) && !peerNetwork.empty();
  if ((item.signer != site && !relayed) || str(ack.getSite()) != item.signer) {
    return refuse(r.requestId, trust::refusalName(trust::Refusal::kOutOfScope),
                  "an answer signed by " + item.signer + " for site " + clip(str(ack.getSite())) +
                      " came from " + site);
  }
  if (auto st = json::checkAck(ack); !st) return refuse(r.requestId, "invalid", st.error().message);
  const std::string id = str(ack.getAlertId());
  Custody* held = lookup(id);
  if (held == nullptr) return refuse(r.requestId, "unknown alert", "no alert " + id);
  Custody& c = *held;
  const std::string kind = str(ack.getKind());
  if (relayed) {
    auto hop = c.targets.find(site);
    if (hop == c.targets.end() || !hop->second.hop || hop->second.network != peerNetwork) {
      return refuse(r.requestId, "not a target",
                    site + " did not carry alert " + id + " to " + peerNetwork);
    }
    if (c.targets.count(item.signer) == 0) {  // resolved by the peer's broker, not known here
      TargetState t;
      t.queuedAt = now;
      t.network = peerNetwork;
      c.targets.emplace(item.signer, std::move(t));
    }
  }
  auto target = c.targets.find(item.signer);
  if (target == c.targets.end()) {
    return refuse(r.requestId, "not a target", site + " was never sent alert " + id);
  }
  TargetState& t = target->second;
  if (t.hop) {
    // The bridge's own word: handed to the peer's broker (the sites it resolved), or not.
    if (kind == json::kReceipt) {
      if (t.deliveredAt == 0) t.deliveredAt = now;
      if (t.state == "queued") t.state = "delivered";
      std::string ref = str(ack.getReference());
      auto colon = ref.find(':');
      if (colon != std::string::npos && ref.substr(0, colon) == t.network) {
        for (const auto& s : splitList(ref.substr(colon + 1))) {
          if (!vocab::isSiteId(s) || c.targets.count(s) != 0) continue;
          TargetState f;
          f.queuedAt = now;
          f.network = t.network;
          c.targets.emplace(s, std::move(f));
        }
      }
    } else if (t.state == "queued" || t.state == "delivered") {
      t.state = kind;
      t.answeredAt = now;
      t.comment = str(ack.getComment());
      spdlog::warn("alert={} not carried to {} by bridge={}: {}", id, t.network, site, t.comment);
    }
    touch(c);
    return bus::AlertReply{r.requestId, true, {}, {}, {}};
  }
  const std::string key = "answer/" + id + "/" + item.signer + "/" + kind;
  bool known =
      std::any_of(c.answers.begin(), c.answers.end(), [&](const auto& a) { return a.key == key; });
  if (kind == json::kReceipt) {
    if (t.deliveredAt == 0) t.deliveredAt = now;
    if (t.state == "queued" || t.state == "expired" || t.state == "cancelled" ||
        t.state == "superseded") {
      if (t.state == "queued") t.state = "delivered";
    }
    if (ack.getReference().size() > 0 && t.reference.empty()) t.reference = str(ack.getReference());
  } else if (finalState(t.state)) {
    if (t.state != kind) {
      return refuse(r.requestId, "already answered",
                    site + " has already " + t.state + " alert " + id);
    }
  } else {
    if (t.deliveredAt == 0) t.deliveredAt = now;
    t.state = kind;
    t.answeredAt = now;
    t.by = str(ack.getBy());
    t.comment = str(ack.getComment());
    if (ack.getReference().size() > 0) t.reference = str(ack.getReference());
    spdlog::info("alert={} {} by site={} person=\"{}\"", id, kind, item.signer, t.by);
  }
  if (!known) {
    c.answers.push_back({key, r.envelope, false, 0, 0});
    ++counters_.answers;
  }
  touch(c);
  deliverDue(c, nowMs);
  return bus::AlertReply{r.requestId, true, {}, {}, {}};
}

bus::AlertReply AlertRouter::status(const std::string& site, const bus::AlertRequest& r) {
  const Custody* c = lookup(r.alertId);
  // Only the sender and the targets learn that an alert exists.
  if (c == nullptr || (c->sender != site && c->targets.count(site) == 0)) {
    return bus::AlertReply{r.requestId, false, "unknown alert", "no alert " + clip(r.alertId), {}};
  }
  auto j = custodyToJson(*c, false);
  if (c->state == "open" && c->expiresAt != 0 && clock_.nowSeconds() >= c->expiresAt) {
    j["state"] = "expired";
  }
  if (c->sender == site) {
    j["envelope"] = toBase64(c->envelope);
  } else {  // a target learns its own state, not the other targets'
    json::Json own = json::Json::object();
    own[site] = j["targets"][site];
    j["targets"] = std::move(own);
  }
  return bus::AlertReply{r.requestId, true, {}, {}, j.dump()};
}

void AlertRouter::stored(const std::string& site, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    // "answer/ALERT/SITE/KIND"
    if (key.rfind("answer/", 0) != 0) continue;
    auto slash = key.find('/', 7);
    if (slash == std::string::npos) continue;
    Custody* c = lookup(key.substr(7, slash - 7));
    if (c == nullptr || c->sender != site) continue;
    for (auto& a : c->answers) {
      if (a.key == key && !a.stored) {
        a.stored = true;
        touch(*c);
      }
    }
  }
}

size_t AlertRouter::sitesOnline(int64_t nowMs) const {
  size_t n = 0;
  for (const auto& [site, at] : lastSeenMs_) n += online(site, nowMs) ? 1 : 0;
  return n;
}

void AlertRouter::seen(const std::string& site, int64_t nowMs) {
  if (!online(site, nowMs)) {
    // Back after an absence: whatever waits for it goes now, not after its backoff.
    for (const auto& id : pending_) {
      auto& c = alerts_.at(id);
      if (auto t = c.targets.find(site); t != c.targets.end()) t->second.nextAttemptMs = 0;
      if (c.sender == site) {
        for (auto& a : c.answers) a.nextAttemptMs = 0;
      }
    }
    spdlog::debug("site={} connected", site);
  }
  lastSeenMs_[site] = nowMs;
}

void AlertRouter::deliverDue(Custody& c, int64_t nowMs) {
  auto backoff = [&](uint32_t attempts) {
    int64_t d = timing_.firstResendMs;
    for (uint32_t i = 1; i < attempts && d < timing_.maxResendMs; ++i) d *= 2;
    return std::min(d, timing_.maxResendMs);
  };
  if (c.state == "open") {
    for (auto& [site, t] : c.targets) {
      if (t.state != "queued" || !online(site, nowMs) || t.nextAttemptMs > nowMs) continue;
      if (!t.network.empty() && !t.hop) continue;  // the peer network's broker delivers it
      out_.push_back({site, bus::Delivery{"alert/" + c.id, c.envelope}});
      ++t.attempts;
      ++counters_.deliveries;
      if (t.attempts == 1) {
        dirty_.insert(c.id);  // "was being delivered" decides who a cancel goes to
      } else {
        ++counters_.resends;
        spdlog::info("alert={} resent to site={} (attempt {})", c.id, site, t.attempts);
      }
      t.nextAttemptMs = nowMs + backoff(t.attempts);
    }
  }
  if (online(c.sender, nowMs)) {
    for (auto& a : c.answers) {
      if (a.stored || a.nextAttemptMs > nowMs) continue;
      out_.push_back({c.sender, bus::Delivery{a.key, a.envelope}});
      ++a.attempts;
      a.nextAttemptMs = nowMs + backoff(a.attempts);
    }
  }
}

void AlertRouter::tick(int64_t nowMs) {
  const int64_t now = clock_.nowSeconds();
  for (auto it = pending_.begin(); it != pending_.end();) {
    Custody& c = alerts_.at(*it);
    bool acknowledged = std::any_of(c.targets.begin(), c.targets.end(),
                                    [](const auto& t) { return t.second.state == "acknowledged"; });
    if (c.state == "open" && c.expiresAt != 0 && now >= c.expiresAt) {
      bool changed = false;
      for (auto& [site, t] : c.targets) {
        if (t.state == "queued") {
          t.state = "expired";
          changed = true;
        }
      }
      if (changed) {
        c.state = "expired";
        ++counters_.expired;
        dirty_.insert(c.id);
        spdlog::info("alert={} expired", c.id);
      }
    }
    if (c.state == "open" && c.deadlineAt != 0 && !c.escalated && !acknowledged &&
        now >= c.deadlineAt && (c.expiresAt == 0 || now < c.expiresAt)) {
      auto item = SignedItem::decodeStored(c.envelope);
      std::set<std::string> more;
      if (item) more = resolve(item->item.reader().getAlert().getEscalateTo(), false, nullptr);
      size_t added = 0;
      const bool fromPeer = item && item->signer != c.sender;
      more.erase(c.sender);
      if (item) more.erase(item->signer);
      for (auto& [s, t] : targetsFor(more, fromPeer, now)) {
        if (c.targets.count(s) != 0) continue;
        t.escalation = true;
        c.targets.emplace(s, std::move(t));
        ++added;
      }
      c.escalated = true;
      ++counters_.escalations;
      dirty_.insert(c.id);
      spdlog::warn("alert={} escalated: nobody acknowledged by the deadline; {} site(s) added",
                   c.id, added);
    }
    deliverDue(c, nowMs);
    if (hasWork(c)) {
      ++it;
    } else {
      idle_.insert(c.id);
      it = pending_.erase(it);
    }
  }
}

void AlertRouter::undeliverable(const std::string& site, const std::string& key, bool gone) {
  if (gone) lastSeenMs_.erase(site);
  if (key.rfind("alert/", 0) == 0) {
    auto it = alerts_.find(key.substr(6));
    if (it == alerts_.end()) return;
    auto t = it->second.targets.find(site);
    if (t == it->second.targets.end() || t->second.attempts == 0) return;
    --counters_.deliveries;
    if (--t->second.attempts == 0) dirty_.insert(it->first);
    t->second.nextAttemptMs = 0;
  } else if (key.rfind("answer/", 0) == 0) {
    auto slash = key.find('/', 7);
    if (slash == std::string::npos) return;
    auto it = alerts_.find(key.substr(7, slash - 7));
    if (it == alerts_.end()) return;
    for (auto& a : it->second.answers) {
      if (a.key == key && a.attempts > 0) {
        --a.attempts;
        a.nextAttemptMs = 0;
      }
    }
  }
}

void AlertRouter::handle(const std::string& site, const bus::AlertRequest& request, int64_t nowMs) {
  seen(site, nowMs);
  switch (request.kind) {
    case bus::AlertRequest::Kind::kSend: {
      auto r = send(site, request, nowMs);
      if (!r.accepted) spdlog::warn("site={} alert refused ({}): {}", site, r.refusal, r.detail);
      reply(site, std::move(r));
      break;
    }
    case bus::AlertRequest::Kind::kAnswer: {
      auto r = answer(site, request, nowMs);
      if (!r.accepted) spdlog::warn("site={} answer refused ({}): {}", site, r.refusal, r.detail);
      reply(site, std::move(r));
      break;
    }
    case bus::AlertRequest::Kind::kStatus:
      reply(site, status(site, request));
      break;
    case bus::AlertRequest::Kind::kStored:
      stored(site, request.keys);
      break;
    case bus::AlertRequest::Kind::kPing:
      break;
  }
}

void AlertRouter::precheck(const std::vector<const bus::AlertRequest*>& requests) {
  std::vector<const Bytes*> envelopes;
  for (const auto* r : requests) {
    const bool signs =
        r->kind == bus::AlertRequest::Kind::kSend || r->kind == bus::AlertRequest::Kind::kAnswer;
    if (signs && r->envelope.size() <= kMaxEnvelopeBytes) envelopes.push_back(&r->envelope);
  }
  auto checked = trust::checkEnvelopes(envelopes);
  for (size_t k = 0; k < envelopes.size(); ++k) {
    if (checked[k].signatureValid) signatureOk_.insert(*envelopes[k]);
  }
}

Status AlertRouter::commit() {
  signatureOk_.clear();
  if (!dirty_.empty()) {
    std::vector<const Custody*> changed;
    changed.reserve(dirty_.size());
    for (const auto& id : dirty_) changed.push_back(&alerts_.at(id));
    auto st = store_.put(changed);
    if (!st) {
      spdlog::error("alert store: {}; reloading", st.error().message);
      out_.clear();
      (void)load();
      return st;
    }
    for (const auto& id : dirty_) {
      Tally& t = tallied_[id];
      count(t, -1);
      t = tallyOf(alerts_.at(id));
      count(t, +1);
    }
    dirty_.clear();
  }
  // Stored and with no work left: memory keeps only what is open.
  for (const auto& id : idle_) {
    if (pending_.contains(id)) continue;
    alerts_.erase(id);
    tallied_.erase(id);
  }
  idle_.clear();
  return {};
}

std::vector<AlertRouter::Outgoing> AlertRouter::takeOutgoing() {
  std::vector<Outgoing> out;
  out.swap(out_);
  return out;
}

}  // namespace liaison::broker
