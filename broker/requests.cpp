#include "broker/requests.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "requests/request.h"
#include "schemas/json.h"
#include "trust/verify.h"

namespace liaison::broker {

namespace {

constexpr int64_t kFirstResendMs = 2000;
constexpr int64_t kMaxResendMs = 60000;
constexpr size_t kMaxFiles = 64;

std::string_view view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
Bytes bytes(std::string_view v) { return Bytes(v.begin(), v.end()); }

std::string chunkKey(const std::string& id, uint32_t file, uint32_t index) {
  return "c/" + id + "/" + std::to_string(file) + "/" + std::to_string(index);
}
std::string stepKey(const std::string& id, uint32_t n) {
  char num[16];
  std::snprintf(num, sizeof num, "%04u", n);
  return "s/" + id + "/" + num;
}
std::string deliveryKey(const std::string& id, uint32_t step) {
  return step == 0 ? "offer/" + id : "step/" + id + "/" + std::to_string(step);
}

// A request id: a UUID as requests::seal makes it (letters, digits, dashes; no separator of keys).
bool plainId(std::string_view id) {
  return !id.empty() && id.size() <= 64 &&
         std::all_of(id.begin(), id.end(), [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '-'; });
}

}  // namespace

RequestRouter::RequestRouter(lmdb::Env& env, MDB_dbi requests, MDB_dbi blobs, const Core& core,
                             const trust::KeyPair& keys, const Clock& clock, std::string network)
    : env_(env),
      requestsDb_(requests),
      blobsDb_(blobs),
      core_(core),
      keys_(keys),
      clock_(clock),
      network_(std::move(network)),
      signer_("broker:" + network_) {}

Status RequestRouter::load() {
  txn_.reset();
  custody_.clear();
  deliveries_.clear();
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, requestsDb_);
  if (!cursor) return cursor.error();
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    auto j = json::Json::parse(v, nullptr, false);
    if (j.is_discarded() || !j.is_object()) return makeError(Errc::kIo, "request custody damaged at " + std::string(k));
    Custody c;
    c.from = j.value("from", "");
    c.to = j.value("to", "");
    c.chunks = j.value("chunks", std::vector<uint32_t>{});
    c.have = j.value("have", 0u);
    c.steps = j.value("steps", 0u);
    c.state = j.value("state", "receiving");
    c.reply = j.value("reply", "");
    c.replyStep = j.value("replyStep", 0u);
    c.hop = j.value("hop", "");
    c.foreign = j.value("foreign", "");
    c.broker = j.value("broker", "");
    if (auto key = fromHex(j.value("brokerKey", "")); key && key->size() == c.brokerKey.size()) {
      std::copy(key->begin(), key->end(), c.brokerKey.begin());
    }
    const std::string id(k);
    if (auto d = j.find("deliveries"); d != j.end() && d->is_object()) {
      for (const auto& [key, site] : d->items()) {
        auto slash = key.rfind('/');
        uint32_t step = key.starts_with("step/") ? static_cast<uint32_t>(std::stoul(key.substr(slash + 1))) : 0;
        deliveries_[key] = Pending{site.get<std::string>(), id, step, 0, 0};
      }
    }
    custody_[id] = std::move(c);
  }
  return {};
}

Result<lmdb::Txn*> RequestRouter::txn() {
  if (!txn_) {
    auto t = lmdb::Txn::beginWrite(env_);
    if (!t) return t.error();
    txn_.emplace(std::move(t).value());
  }
  return &*txn_;
}

Status RequestRouter::save(const std::string& id, const Custody& c) {
  json::Json j = {{"from", c.from}, {"to", c.to}, {"chunks", c.chunks}, {"have", c.have},
                  {"steps", c.steps}, {"state", c.state}};
  if (!c.reply.empty()) {
    j["reply"] = c.reply;
    j["replyStep"] = c.replyStep;
  }
  if (!c.hop.empty()) {
    j["hop"] = c.hop;
    j["foreign"] = c.foreign;
  }
  if (!c.broker.empty()) {
    j["broker"] = c.broker;
    j["brokerKey"] = toHex(c.brokerKey);
  }
  json::Json d = json::Json::object();
  for (const auto& [key, p] : deliveries_) {
    if (p.id == id) d[key] = p.site;
  }
  j["deliveries"] = std::move(d);
  auto t = txn();
  if (!t) return t.error();
  return (*t)->put(requestsDb_, id, j.dump());
}

Status RequestRouter::commit() {
  if (!txn_) {
    for (auto& o : out_) sent_.push_back(std::move(o));
    out_.clear();
    return {};
  }
  auto st = std::move(*txn_).commit();
  txn_.reset();
  if (!st) {
    out_.clear();
    auto reloaded = load();
    if (!reloaded) spdlog::error("request custody not reloaded: {}", reloaded.error().message);
    return st;
  }
  for (auto& o : out_) sent_.push_back(std::move(o));
  out_.clear();
  return {};
}

std::vector<RequestRouter::Outgoing> RequestRouter::takeOutgoing() { return std::exchange(sent_, {}); }

namespace {

// A reply to `m`: its request id and the request it is about.
bus::RequestMsg replyTo(const bus::RequestMsg& m) {
  bus::RequestMsg r;
  r.requestId = m.requestId;
  r.op = "reply";
  r.id = m.id;
  return r;
}

// The answer "accepted" to `m`, naming what it answered.
bus::RequestMsg acceptedReply(const bus::RequestMsg& m) {
  bus::RequestMsg r = replyTo(m);
  r.file = m.file;
  r.index = m.index;
  r.accepted = true;
  return r;
}

}  // namespace

bus::RequestMsg RequestRouter::refuse(const bus::RequestMsg& m, const std::string& reason, const std::string& detail) {
  ++counters_.refused[reason];
  bus::RequestMsg r = replyTo(m);
  r.refusal = reason;
  r.detail = detail;
  return r;
}

void RequestRouter::handle(const std::string& site, const bus::RequestMsg& m, int64_t nowMs) {
  (void)nowMs;
  bus::RequestMsg reply;
  if (m.op == "put") {
    reply = put(site, m);
  } else if (m.op == "chunk") {
    reply = chunk(site, m);
  } else if (m.op == "get") {
    reply = get(site, m);
  } else if (m.op == "step") {
    reply = step(site, m);
  } else if (m.op == "stored") {
    stored(site, m.keys);
    return;
  } else {
    reply = refuse(m, "bad request", "\"" + m.op + "\" is not something a site asks");
  }
  if (!reply.refusal.empty()) {
    spdlog::warn("site={} request={} {} refused ({}): {}", site, m.id, m.op, reply.refusal, reply.detail);
  }
  out_.push_back({site, std::move(reply)});
}

Result<std::vector<uint64_t>> RequestRouter::missing(const std::string& id, const Custody& c) {
  std::vector<uint64_t> out;
  if (c.have == std::accumulate(c.chunks.begin(), c.chunks.end(), uint32_t{0})) return out;
  auto t = txn();
  if (!t) return t.error();
  for (uint32_t f = 0; f < c.chunks.size(); ++f) {
    for (uint32_t i = 0; i < c.chunks[f]; ++i) {
      auto v = (*t)->get(blobsDb_, chunkKey(id, f, i));
      if (!v) return v.error();
      if (!*v) out.push_back(uint64_t{f} << 32 | i);
      if (out.size() >= bus::kMaxMissing) return out;
    }
  }
  return out;
}

bus::RequestMsg RequestRouter::put(const std::string& site, const bus::RequestMsg& m) {
  auto sealed = requests::decodeSealed(m.data);
  if (!sealed) return refuse(m, "bad request", sealed.error().message);
  if (!plainId(sealed->id) || sealed->id != m.id) return refuse(m, "bad request", "the request id is not a plain id");
  if (sealed->chunks.size() > kMaxFiles) {
    return refuse(m, "bad request", "a request has at most " + std::to_string(kMaxFiles) + " files");
  }
  uint64_t total = 0;
  for (uint32_t n : sealed->chunks) {
    if (n == 0 || n > requests::chunkCount(requests::kMaxFileBytes)) {
      return refuse(m, "too large", "a file of more than " + std::to_string(requests::kMaxFileBytes >> 20) + " MiB");
    }
    total += n;
  }
  if (total > requests::chunkCount(requests::kMaxRequestBytes) + kMaxFiles) {
    return refuse(m, "too large", "a request of more than " + std::to_string(requests::kMaxRequestBytes >> 20) + " MiB");
  }
  if (m.steps.empty()) return refuse(m, "bad request", "a put carries its \"sent\" step");
  if (!m.keys.empty()) return putEvidence(site, m, *sealed);
  Custody fresh;
  fresh.from = sealed->fromSite;
  fresh.to = sealed->toSite;
  fresh.chunks = sealed->chunks;
  std::vector<requests::SignedStep> given;  // "sent" (and from a peer network its "accepted")
  if (sealed->fromSite != site) {
    // From a site of a peer network, carried by a bridge with its broker's "accepted".
    const std::string network = core_.networkOf(sealed->fromSite).value_or("");
    if (network.empty() || !core_.bridgesFor(network).contains(site)) {
      return refuse(m, "not the sender", "a request from " + sealed->fromSite + " put by " + site);
    }
    if (!core_.isPeerMember(sealed->fromSite)) {
      return refuse(m, "unknown sender", sealed->fromSite + " is not a member of " + network + " in force");
    }
    if (auto why = peeringClosed(network, /*outgoing=*/false)) return refuse(m, "peering closed", *why);
    if (m.steps.size() < 2) return refuse(m, "bad request", "a request from a peer network carries \"sent\" and \"accepted\"");
    fresh.hop = site;
    fresh.foreign = sealed->fromSite;
    fresh.broker = "broker:" + network;
  } else if (m.steps.size() != 1) {
    return refuse(m, "bad request", "a put carries its \"sent\" step");
  }
  for (size_t i = 0; i < std::min<size_t>(m.steps.size(), 2); ++i) {
    auto s = requests::decodeStep(m.steps[i]);
    if (!s) return refuse(m, "bad step", s.error().message);
    given.push_back(std::move(s).value());
  }
  const std::string recipientNetwork = core_.networkOf(sealed->toSite).value_or("");
  if (!recipientNetwork.empty() && fresh.foreign.empty()) {
    // To a site of a peer network: through a bridge to it, if both peerings let requests pass.
    if (!core_.isPeerMember(sealed->toSite)) {
      return refuse(m, "unknown recipient", sealed->toSite + " is not a member of " + recipientNetwork + " in force");
    }
    if (auto why = peeringClosed(recipientNetwork, /*outgoing=*/true)) return refuse(m, "peering closed", *why);
    fresh.hop = *core_.bridgesFor(recipientNetwork).begin();
    fresh.foreign = sealed->toSite;
  } else if (!core_.member(sealed->toSite) || core_.revoked(sealed->toSite) || !core_.isAdmitted(sealed->toSite)) {
    return refuse(m, "unknown recipient", sealed->toSite + " is not a member of " + network_ + " in force");
  }
  auto from = core_.member(sealed->fromSite);
  auto to = core_.member(sealed->toSite);
  if (!from || !to) return refuse(m, "unknown sender", sealed->fromSite);
  if (!requests::takesRequests(to->role)) {
    return refuse(m, "unknown recipient", sealed->toSite + " is a " + to->role + ", which takes no requests");
  }
  if (!fresh.broker.empty()) fresh.brokerKey = given[1].signerKey;  // checked below, by name
  if (auto ok = requests::verifyTrail(given, *sealed, trailKeys(fresh, from->signKey, to->signKey)); !ok) {
    return refuse(m, "bad step", ok.error().message);
  }

  auto t = txn();
  if (!t) return refuse(m, "store failure", t.error().message);
  auto it = custody_.find(m.id);
  if (it != custody_.end()) {
    auto held = (*t)->get(blobsDb_, "h/" + m.id);
    if (!held || !*held || **held != view(m.data)) {
      return refuse(m, "conflict", "another request holds the id " + m.id);
    }
  } else {
    Custody c = std::move(fresh);
    c.steps = static_cast<uint32_t>(given.size());
    if (auto st = (*t)->put(blobsDb_, "h/" + m.id, view(m.data)); !st) return refuse(m, "store failure", st.error().message);
    for (uint32_t n = 1; n <= c.steps; ++n) {
      if (auto st = (*t)->put(blobsDb_, stepKey(m.id, n), view(m.steps[n - 1])); !st) {
        return refuse(m, "store failure", st.error().message);
      }
    }
    if (auto st = save(m.id, c); !st) return refuse(m, "store failure", st.error().message);
    it = custody_.emplace(m.id, std::move(c)).first;
    spdlog::info("request={} from={} to={}{} files={} chunks={} in custody", m.id, it->second.from, it->second.to,
                 it->second.hop.empty() ? "" : " via bridge=" + it->second.hop, it->second.chunks.size(), total);
    if (total == 0) {  // no files: whole as it is
      if (auto st = accept(m.id, it->second); !st) return refuse(m, "store failure", st.error().message);
    }
  }
  auto lacking = missing(m.id, it->second);
  if (!lacking) return refuse(m, "store failure", lacking.error().message);
  bus::RequestMsg r = acceptedReply(m);
  r.missing = std::move(lacking).value();
  if (it->second.state != "receiving") {
    r.detail = "complete";
    auto steps = trail(m.id);
    if (steps && steps->size() >= 2) r.steps = {(*steps)[1]};  // its "accepted"
  }
  return r;
}

bus::RequestMsg RequestRouter::putEvidence(const std::string& site, const bus::RequestMsg& m,
                                           const requests::Sealed& sealed) {
  const std::string& request = m.keys[0];
  auto rq = custody_.find(request);
  if (rq == custody_.end()) return refuse(m, "unknown request", request);
  if (rq->second.reach(rq->second.to) != site || sealed.fromSite != rq->second.to) {
    return refuse(m, "not the recipient", site + " is not the recipient of " + request);
  }
  if (sealed.toSite != rq->second.from) return refuse(m, "bad request", "evidence goes to the requesting site");
  if (m.index == 0 || m.index > rq->second.steps || m.id != requests::evidenceId(request, m.index)) {
    return refuse(m, "bad request", "evidence names a status step of its request");
  }
  auto steps = trail(request);
  if (!steps) return refuse(m, "store failure", steps.error().message);
  if ((*steps)[m.index - 1] != m.steps[0]) return refuse(m, "bad step", "it is not step " + std::to_string(m.index) + " of " + request);
  auto status = requests::decodeStep(m.steps[0]);
  const auto subject = requests::blake2b(m.data);
  if (!status || status->step.kind != "status" || status->step.subject != Bytes(subject.begin(), subject.end())) {
    return refuse(m, "bad request", "its status does not name this parcel");
  }
  auto t = txn();
  if (!t) return refuse(m, "store failure", t.error().message);
  auto it = custody_.find(m.id);
  if (it == custody_.end()) {
    Custody c;
    c.from = sealed.fromSite;
    c.to = sealed.toSite;
    c.chunks = sealed.chunks;
    c.reply = request;
    c.replyStep = m.index;
    c.hop = rq->second.hop;
    c.foreign = rq->second.foreign;
    if (auto st = (*t)->put(blobsDb_, "h/" + m.id, view(m.data)); !st) return refuse(m, "store failure", st.error().message);
    if (auto st = save(m.id, c); !st) return refuse(m, "store failure", st.error().message);
    it = custody_.emplace(m.id, std::move(c)).first;
    spdlog::info("request={} evidence={} of step {} in custody ({} files)", request, m.id, m.index, sealed.chunks.size());
  }
  auto lacking = missing(m.id, it->second);
  if (!lacking) return refuse(m, "store failure", lacking.error().message);
  bus::RequestMsg r = acceptedReply(m);
  r.missing = std::move(lacking).value();
  if (it->second.state != "receiving") r.detail = "complete";
  return r;
}

bus::RequestMsg RequestRouter::chunk(const std::string& site, const bus::RequestMsg& m) {
  auto it = custody_.find(m.id);
  if (it == custody_.end()) return refuse(m, "unknown request", m.id + " (put it first)");
  Custody& c = it->second;
  if (c.reach(c.from) != site) return refuse(m, "not the sender", site + " did not send " + m.id);
  if (m.file >= c.chunks.size() || m.index >= c.chunks[m.file]) {
    return refuse(m, "out of range", "file " + std::to_string(m.file) + " chunk " + std::to_string(m.index));
  }
  if (m.data.empty()) return refuse(m, "bad request", "an empty chunk");
  auto t = txn();
  if (!t) return refuse(m, "store failure", t.error().message);
  const std::string key = chunkKey(m.id, m.file, m.index);
  auto held = (*t)->get(blobsDb_, key);
  if (!held) return refuse(m, "store failure", held.error().message);
  bus::RequestMsg r = acceptedReply(m);
  if (!*held) {  // a duplicate is acknowledged, and keeps the first copy
    if (auto st = (*t)->put(blobsDb_, key, view(m.data)); !st) return refuse(m, "store failure", st.error().message);
    ++c.have;
    ++counters_.chunks;
    counters_.chunkBytes += m.data.size();
    if (c.have == std::accumulate(c.chunks.begin(), c.chunks.end(), uint32_t{0})) {
      if (auto st = accept(m.id, c); !st) return refuse(m, "store failure", st.error().message);
    } else if (auto st = save(m.id, c); !st) {
      return refuse(m, "store failure", st.error().message);
    }
  }
  if (c.state != "receiving") {
    r.detail = "complete";
    auto steps = trail(m.id);
    if (steps && steps->size() >= 2) r.steps = {(*steps)[1]};
  }
  return r;
}

// Every chunk is here: the broker signs "accepted" and offers the request to the recipient.
Status RequestRouter::accept(const std::string& id, Custody& c) {
  if (!c.reply.empty()) {  // evidence: proven by the status that names it
    c.state = "accepted";
    LIAISON_TRY(deliver(c.reach(c.to), id, 0));
    spdlog::info("evidence={} every chunk stored; offered to site={}", id, c.reach(c.to));
    return {};
  }
  if (!c.broker.empty()) {  // accepted by the sender's broker, in the peer network
    c.state = "accepted";
    ++counters_.relayed;
    LIAISON_TRY(deliver(c.to, id, 0));
    spdlog::info("request={} from {} every chunk stored; offered to site={}", id, c.from, c.to);
    return save(id, c);
  }
  auto steps = trail(id);
  if (!steps) return steps.error();
  auto last = requests::decodeStep(steps->back());
  if (!last) return last.error();
  requests::Step s;
  s.requestId = id;
  s.kind = "accepted";
  s.at = std::max(clock_.nowSeconds(), last->step.at);
  auto h = requests::stepHash(*last);
  s.previous.assign(h.begin(), h.end());
  auto signedStep = requests::signStep(s, signer_, keys_);
  c.state = "accepted";
  LIAISON_TRY(appendStep(id, c, requests::encode(signedStep)));
  ++counters_.accepted;
  LIAISON_TRY(deliver(c.reach(c.to), id, 0));
  spdlog::info("request={} accepted: every chunk stored; offered to site={}", id, c.reach(c.to));
  return {};
}

// Stores step number c.steps + 1 and carries it to the side that did not sign it.
Status RequestRouter::appendStep(const std::string& id, Custody& c, const Bytes& signedStep) {
  auto t = txn();
  if (!t) return t.error();
  ++c.steps;
  LIAISON_TRY((*t)->put(blobsDb_, stepKey(id, c.steps), view(signedStep)));
  ++counters_.steps;
  // The sender hears of every step after its own; the recipient signs them (its offer carries
  // "accepted").
  LIAISON_TRY(deliver(c.reach(c.from), id, c.steps));
  return save(id, c);
}

Status RequestRouter::deliver(const std::string& site, const std::string& id, uint32_t step) {
  const std::string key = deliveryKey(id, step);
  deliveries_[key] = Pending{site, id, step, 0, 0};
  auto it = custody_.find(id);
  return it == custody_.end() ? Status{} : save(id, it->second);
}

std::optional<std::string> RequestRouter::peeringClosed(const std::string& network, bool outgoing) const {
  if (auto why = trust::peeringClosed(core_, network, clock_.nowSeconds())) return why;
  auto home = trust::homePeering(core_, network);
  auto theirs = trust::foreignPeering(core_, network);
  const auto& first = outgoing ? home->offer : theirs->offer;
  const auto& second = outgoing ? theirs->accept : home->accept;
  const std::string& giver = outgoing ? network_ : network;
  const std::string& taker = outgoing ? network : network_;
  if (!first.allows("request", "", "")) return giver + " does not offer requests to " + taker;
  if (!second.allows("request", "", "")) return taker + " does not accept requests from " + giver;
  if (core_.bridgesFor(network).empty()) return "no bridge to " + network + " is enrolled";
  return std::nullopt;
}

requests::TrailKeys RequestRouter::trailKeys(const Custody& c, const SigningKey& fromKey, const SigningKey& toKey) const {
  if (c.broker.empty()) return {c.from, c.to, signer_, fromKey, toKey, keys_.pub.sign};
  return {c.from, c.to, c.broker, fromKey, toKey, c.brokerKey};
}

Result<std::vector<Bytes>> RequestRouter::trail(const std::string& id) {
  auto t = txn();
  if (!t) return t.error();
  auto it = custody_.find(id);
  std::vector<Bytes> out;
  if (it == custody_.end()) return out;
  for (uint32_t n = 1; n <= it->second.steps; ++n) {
    auto v = (*t)->get(blobsDb_, stepKey(id, n));
    if (!v) return v.error();
    if (!*v) return makeError(Errc::kIo, "request custody: no step " + std::to_string(n) + " of " + id);
    out.push_back(bytes(**v));
  }
  return out;
}

bus::RequestMsg RequestRouter::get(const std::string& site, const bus::RequestMsg& m) {
  auto it = custody_.find(m.id);
  if (it == custody_.end()) return refuse(m, "unknown request", m.id);
  const Custody& c = it->second;
  if (c.reach(c.to) != site) return refuse(m, "not the recipient", site + " is not the recipient of " + m.id);
  if (c.state == "receiving") return refuse(m, "not accepted", m.id + " is still being sent");
  if (m.file >= c.chunks.size() || m.index >= c.chunks[m.file]) {
    return refuse(m, "out of range", "file " + std::to_string(m.file) + " chunk " + std::to_string(m.index));
  }
  auto t = txn();
  if (!t) return refuse(m, "store failure", t.error().message);
  auto v = (*t)->get(blobsDb_, chunkKey(m.id, m.file, m.index));
  if (!v || !*v) return refuse(m, "store failure", "chunk not held");
  bus::RequestMsg r = acceptedReply(m);
  r.data = bytes(**v);
  ++counters_.chunksServed;
  return r;
}

bus::RequestMsg RequestRouter::step(const std::string& site, const bus::RequestMsg& m) {
  auto it = custody_.find(m.id);
  if (it == custody_.end()) return refuse(m, "unknown request", m.id);
  Custody& c = it->second;
  if (!c.reply.empty()) return refuse(m, "bad request", m.id + " is evidence, not a request");
  if (m.steps.size() != 1) return refuse(m, "bad request", "one step at a time");
  if (c.reach(c.to) != site) return refuse(m, "not the recipient", site + " may not take a step of " + m.id);
  auto steps = trail(m.id);
  if (!steps) return refuse(m, "store failure", steps.error().message);
  bus::RequestMsg r = acceptedReply(m);
  if (std::find(steps->begin(), steps->end(), m.steps[0]) != steps->end()) return r;  // held already
  auto t = txn();
  if (!t) return refuse(m, "store failure", t.error().message);
  auto sealedBytes = (*t)->get(blobsDb_, "h/" + m.id);
  if (!sealedBytes || !*sealedBytes) return refuse(m, "store failure", "sealed request not held");
  auto sealed = requests::decodeSealed(bytes(**sealedBytes));
  if (!sealed) return refuse(m, "store failure", sealed.error().message);
  auto from = core_.member(c.from);
  auto to = core_.member(c.to);
  if (!from || !to) return refuse(m, "unknown sender", "the certificates of " + m.id + "'s sites are gone");
  std::vector<requests::SignedStep> decoded;
  for (const auto& b : *steps) {
    auto s = requests::decodeStep(b);
    if (!s) return refuse(m, "store failure", s.error().message);
    decoded.push_back(std::move(s).value());
  }
  auto incoming = requests::decodeStep(m.steps[0]);
  if (!incoming) return refuse(m, "bad step", incoming.error().message);
  if (incoming->step.kind == "sent" || incoming->step.kind == "accepted") {
    return refuse(m, "bad step", "a recipient does not take a \"" + incoming->step.kind + "\" step");
  }
  decoded.push_back(std::move(incoming).value());
  if (auto ok = requests::verifyTrail(decoded, *sealed, trailKeys(c, from->signKey, to->signKey)); !ok) {
    return refuse(m, "bad step", ok.error().message);
  }
  if (auto st = appendStep(m.id, c, m.steps[0]); !st) return refuse(m, "store failure", st.error().message);
  spdlog::info("request={} step={} {}{} by site={}", m.id, c.steps, decoded.back().step.kind,
               decoded.back().step.status.empty() ? "" : " " + decoded.back().step.status, site);
  return r;
}

void RequestRouter::stored(const std::string& site, const std::vector<std::string>& keys) {
  for (const auto& key : keys) {
    auto it = deliveries_.find(key);
    if (it == deliveries_.end() || it->second.site != site) continue;
    const std::string id = it->second.id;
    deliveries_.erase(it);
    auto c = custody_.find(id);
    if (c != custody_.end()) {
      if (auto st = save(id, c->second); !st) spdlog::error("request={} custody not saved: {}", id, st.error().message);
    }
  }
}

bus::RequestMsg RequestRouter::delivery(const Pending& p) {
  bus::RequestMsg m;
  m.id = p.id;
  m.keys = {deliveryKey(p.id, p.step)};
  auto steps = trail(p.id);
  if (!steps) return m;
  if (p.step == 0) {
    m.op = "offer";
    auto t = txn();
    if (t) {
      auto v = (*t)->get(blobsDb_, "h/" + p.id);
      if (v && *v) m.data = bytes(**v);
    }
    m.steps = std::move(steps).value();
    if (auto c = custody_.find(p.id); c != custody_.end() && !c->second.reply.empty()) {
      auto status = trail(c->second.reply);  // evidence goes with the status that names it
      m.steps.clear();
      if (status && c->second.replyStep <= status->size()) m.steps = {(*status)[c->second.replyStep - 1]};
      m.keys.push_back(c->second.reply);  // a bridge puts it on with both
      m.index = c->second.replyStep;
    }
  } else {
    m.op = "step";
    if (p.step <= steps->size()) m.steps = {(*steps)[p.step - 1]};
  }
  return m;
}

void RequestRouter::tick(int64_t nowMs) {
  for (auto& [key, p] : deliveries_) {
    if (p.nextMs > nowMs) continue;
    auto m = delivery(p);
    if (m.steps.empty()) continue;
    ++p.attempts;
    ++counters_.deliveries;
    p.nextMs = nowMs + std::min(kMaxResendMs, kFirstResendMs << std::min<uint32_t>(p.attempts - 1, 5));
    out_.push_back({p.site, std::move(m)});
  }
}

void RequestRouter::undeliverable(const std::string& key) {
  auto it = deliveries_.find(key);
  if (it != deliveries_.end() && it->second.attempts > 0) --it->second.attempts;
}

}  // namespace liaison::broker
