#include "adapters/bridge.h"

#include <spdlog/spdlog.h>

#include <set>

#include "common/encoding.h"
#include "schemas/alert_json.h"
#include "site/alerts.h"
#include "site/requests.h"
#include "trust/keys.h"

namespace liaison::adapters {

namespace {

using Json = json::Json;

std::string_view asView(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

constexpr size_t kBatch = 500;
// A submission the destination's broker did not answer (it was killed with it in flight) is sent
// again after this; carrying twice is harmless (the broker ignores what it holds).
constexpr auto kSubmitTimeout = std::chrono::seconds(5);
constexpr size_t kMaxReference = 250;  // an answer's reference is at most 256 bytes

}  // namespace

Carry classify(const SignedItem& item, const SigningKey& sourceRoot,
               const std::function<bool(std::string_view)>& isNative) {
  Carry c;
  auto reader = item.item.reader();
  if (reader.which() == schema::Item::ALERT || reader.which() == schema::Item::ACK) return c;
  if (item.signer == trust::kRootSigner) {
    if (item.signerKey != sourceRoot) return c;  // a peer root's item: it came from elsewhere
    c.carry = true;
    if (reader.which() == schema::Item::MEMBER) c.enrolled = itemId(reader);
    return c;
  }
  c.carry = isNative(item.signer);
  return c;
}

bool retryable(const std::string& refusal, const SignedItem& item) {
  if (refusal == trust::refusalName(trust::Refusal::kNotPeered)) return true;
  if (refusal == "store failure") return true;
  // A root the destination does not trust yet: its peering with us is not published there yet.
  return refusal == trust::refusalName(trust::Refusal::kUnknownSigner) && item.signer == trust::kRootSigner;
}

// ---------------------------------------------------------------------------------------------

Status Bridge::Side::start(site::SiteService& service, const directory::SiteConfig& config,
                           const trust::KeyPair& keys) {
  (void)keys;
  service_ = &service;
  config_ = config;
  auto root = trust::loadPublicKeys(config.rootPath);
  if (!root) return root.error();
  root_ = root->sign;
  auto env = lmdb::openWithDatabases(config.dir + "/bridge", size_t{4} << 30,
                                     {{&out_, "out"}, {&native_, "native"}, {&meta_, "meta"}});
  if (!env) return env.error();
  env_ = std::make_unique<lmdb::Env>(std::move(env).value());
  {
    auto txn = lmdb::Txn::beginRead(*env_);
    if (!txn) return txn.error();
    auto c = lmdb::Cursor::open(*txn, native_);
    if (!c) return c.error();
    std::string_view k, v;
    std::lock_guard lock(nativeMutex_);
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      nativeCache_.emplace(k);
    }
  }
  // Requests cross through the relay (site/request_relay.h); the brokers hold them meanwhile.
  bridge_.relay_.name(index_, config.id);
  if (auto* desk = service.requests()) desk->setRelay(&bridge_.relay_, index_);
  spdlog::info("bridge side site={} network={} ready", config.id, config.network);
  bridge_.started(index_);
  return {};
}

void Bridge::Side::stop() {
  bridge_.stopped_ = true;
  for (auto& d : bridge_.dirs_) bridge_.wake(d);
}

Status Bridge::Side::onEntries(const std::vector<bus::Entry>& entries) {
  auto txn = lmdb::Txn::beginWrite(*env_);
  if (!txn) return txn.error();
  auto nextV = txn->get(meta_, "next");
  if (!nextV) return nextV.error();
  uint64_t next = *nextV ? readU64be(**nextV) : 1;
  uint64_t carried = 0;
  std::lock_guard lock(nativeMutex_);
  for (const auto& e : entries) {
    auto item = SignedItem::decode(e.envelope);
    if (!item) continue;  // the replica counts it
    auto c = classify(*item, root_, [&](std::string_view site) { return nativeCache_.count(std::string(site)) != 0; });
    if (c.enrolled) {
      LIAISON_TRY(txn->put(native_, *c.enrolled, ""));
      nativeCache_.insert(*c.enrolled);
    }
    if (c.carry && item->item.reader().which() == schema::Item::PEERING) {
      const std::string ended = "ended:" + itemId(item->item.reader());
      if (item->item.reader().getPeering().getStatus() == "retired") {
        LIAISON_TRY(txn->put(meta_, ended, ""));
      } else {
        auto was = txn->get(meta_, ended);
        if (!was) return was.error();
        if (*was) {
          LIAISON_TRY(txn->del(meta_, ended));
          // The replay that follows meets this same peering again (after its end): the mark of
          // the last rewind keeps it from asking for another one, and another, for ever.
          auto mark = txn->get(meta_, "rewoundAt");
          if (!mark) return mark.error();
          const bool replayed = *mark && (*mark)->size() == 16 && readU64be((*mark)->substr(0, 8)) == e.epoch &&
                                readU64be((*mark)->substr(8)) >= e.seq;
          if (!replayed) {
            LIAISON_TRY(txn->put(meta_, "rewoundAt", u64be(e.epoch) + u64be(e.seq)));
            bridge_.rewind_ = true;  // the forwarder asks both sides (not from this loop)
          }
        }
      }
    }
    if (!c.carry) continue;
    LIAISON_TRY(txn->put(out_, u64be(next++), asView(e.envelope)));
    ++carried;
  }
  if (carried == 0 && entries.empty()) return {};
  LIAISON_TRY(txn->put(meta_, "next", u64be(next)));
  LIAISON_TRY(std::move(*txn).commit());
  if (carried > 0) bridge_.itemsAdded(bridge_.dirs_[index_]);
  return {};
}

void Bridge::Side::onNewAlert(const std::string& id) {
  auto& d = bridge_.dirs_[index_];
  {
    std::lock_guard lock(d.mutex);
    d.alerts.push_back(id);
  }
  bridge_.wake(d);
}

void Bridge::Side::onAnswer(const std::string& alertId, const Bytes& envelope) {
  // An answer to an alert this side handed to its broker: it goes back the other way.
  auto& d = bridge_.dirs_[1 - index_];
  {
    std::lock_guard lock(d.mutex);
    d.answers.emplace_back(alertId, envelope);
  }
  bridge_.wake(d);
}

std::string Bridge::Side::statusJson() const {
  Json j;
  j["kind"] = "bridge";
  const Side& other = *bridge_.sides_[1 - index_];
  j["outbound"] = bridge_.directionJson(bridge_.dirs_[index_]);
  j["outbound"]["to"] = other.config_.network;
  j["inbound"] = bridge_.directionJson(bridge_.dirs_[1 - index_]);
  j["inbound"]["from"] = other.config_.network;
  j["rewinds"] = bridge_.rewinds_.load();  // logs replayed because a peering came back
  const auto r = bridge_.relay_.counters();  // MLA requests, both ways
  j["requests"] = Json{{"carried", r.carried}, {"chunks", r.chunks}, {"chunkBytes", r.chunkBytes},
                       {"steps", r.steps}, {"carrying", bridge_.relay_.carrying()}, {"refused", r.refused}};
  return j.dump();
}

// ---------------------------------------------------------------------------------------------

Bridge::Bridge(std::atomic<bool>& stop) : stop_(stop) {
  for (int i = 0; i < 2; ++i) {
    sides_[i] = std::make_unique<Side>(*this, i);
    dirs_[i].from = i;
    dirs_[i].to = 1 - i;
  }
}

Bridge::~Bridge() {
  stopped_ = true;
  for (auto& d : dirs_) {
    wake(d);
    if (d.items.joinable()) d.items.join();
    if (d.worker.joinable()) d.worker.join();
  }
}

void Bridge::started(int index) {
  (void)index;
  std::lock_guard lock(startMutex_);
  if (++started_ != 2) return;
  for (auto& d : dirs_) {
    d.items = std::thread([this, &d] { forwardItems(d); });
    d.worker = std::thread([this, &d] { workAlerts(d); });
  }
}

Json Bridge::directionJson(const Direction& d) const {
  Json j;
  const Side& from = *sides_[d.from];
  uint64_t queued = 0;
  if (from.env_) {
    auto txn = lmdb::Txn::beginRead(*from.env_);
    MDB_stat st{};
    if (txn && mdb_stat(txn->get(), from.out_, &st) == 0) queued = st.ms_entries;
  }
  j["queued"] = queued;  // the lag: items waiting for the destination's broker
  j["forwarded"] = d.forwarded.load();
  j["ignored"] = d.ignored.load();
  j["alertsForwarded"] = d.alertsForwarded.load();
  j["alertsDeclined"] = d.alertsDeclined.load();
  j["answersRelayed"] = d.answersRelayed.load();
  j["answersRecovered"] = d.answersRecovered.load();  // found unrelayed at the start
  j["recovered"] = d.recovered.load();
  std::lock_guard lock(d.mutex);
  j["refused"] = d.refused;
  j["waiting"] = d.waiting;
  j["alertsPending"] = d.alerts.size();
  j["answersPending"] = d.answers.size();
  return j;
}

void Bridge::forwardItems(Direction& d) {
  Side& from = *sides_[d.from];
  Side& to = *sides_[d.to];
  const std::string route = from.config_.network + "->" + to.config_.network;
  size_t limit = kBatch;
  int64_t holdMs = 1000;  // a held outbox is tried again after this (doubling, at most 8 s)
  auto pause = [&](std::chrono::milliseconds ms) {
    std::unique_lock lock(d.mutex);
    d.cv.wait_for(lock, ms, [&] { return stopping(); });
  };
  while (!stopping()) {
    if (d.from == 0 && rewind_.exchange(false)) {
      for (auto& side : sides_) {
        auto st = side->service_->rewind();
        if (!st) spdlog::error("bridge: {} not rewound: {}", side->config_.id, st.error().message);
      }
      ++rewinds_;
      spdlog::info("bridge: a peering is back; both sides carry their networks' items again");
    }
    std::vector<std::string> keys;
    std::vector<Bytes> envelopes;
    uint64_t seen = 0;
    {
      std::lock_guard lock(d.mutex);
      seen = d.itemsAdded;
    }
    {
      auto txn = lmdb::Txn::beginRead(*from.env_);
      if (!txn) {
        pause(std::chrono::milliseconds(1000));
        continue;
      }
      auto c = lmdb::Cursor::open(*txn, from.out_);
      std::string_view k, v;
      for (bool ok = c && c->seek({}, MDB_FIRST, &k, &v); ok && keys.size() < limit;
           ok = c->seek({}, MDB_NEXT, &k, &v)) {
        keys.emplace_back(k);
        envelopes.emplace_back(reinterpret_cast<const uint8_t*>(v.data()),
                               reinterpret_cast<const uint8_t*>(v.data()) + v.size());
      }
    }
    // A peering of the source network with a third network is not the destination's business:
    // its broker would refuse it. Dropped here, silently.
    {
      std::vector<size_t> other;
      for (size_t i = 0; i < keys.size(); ++i) {
        auto item = SignedItem::decode(envelopes[i]);
        if (item && item->item.reader().which() == schema::Item::PEERING &&
            item->item.reader().getPeering().getPeer() != to.config_.network.c_str()) {
          other.push_back(i);
        }
      }
      if (!other.empty() && other.size() == keys.size()) {
        auto txn = lmdb::Txn::beginWrite(*from.env_);
        bool ok = txn.ok();
        for (size_t i : other) ok = ok && txn->del(from.out_, keys[i]).ok();
        if (ok && std::move(*txn).commit().ok()) continue;  // look at what follows at once
      } else if (!other.empty()) {
        auto txn = lmdb::Txn::beginWrite(*from.env_);
        bool ok = txn.ok();
        for (size_t i : other) ok = ok && txn->del(from.out_, keys[i]).ok();
        if (ok && std::move(*txn).commit().ok()) {
          for (auto it = other.rbegin(); it != other.rend(); ++it) {
            keys.erase(keys.begin() + static_cast<std::ptrdiff_t>(*it));
            envelopes.erase(envelopes.begin() + static_cast<std::ptrdiff_t>(*it));
          }
        }
      }
    }
    if (keys.empty()) {
      // Wait for onEntries to add items (it bumps itemsAdded under the mutex, so no wake-up is
      // lost between the read above and this wait).
      std::unique_lock lock(d.mutex);
      d.waiting.clear();
      d.cv.wait_for(lock, std::chrono::milliseconds(500), [&] { return stopping() || d.itemsAdded != seen; });
      continue;
    }
    const size_t n = keys.size();
    auto r = to.service_->submit(envelopes, kSubmitTimeout);
    if (!r) {
      {
        std::lock_guard lock(d.mutex);
        d.waiting = to.config_.network + " broker: " + r.error().message;
      }
      pause(std::chrono::milliseconds(1000));
      continue;
    }
    auto drop = [&](size_t count) -> Status {
      auto txn = lmdb::Txn::beginWrite(*from.env_);
      if (!txn) return txn.error();
      for (size_t i = 0; i < count; ++i) LIAISON_TRY(txn->del(from.out_, keys[i]));
      return std::move(*txn).commit();
    };
    if (r->accepted) {
      if (auto st = drop(n); !st) {
        spdlog::error("bridge {}: outbox: {}", route, st.error().message);
        pause(std::chrono::milliseconds(1000));
        continue;
      }
      d.forwarded += n - std::min<uint64_t>(n, r->ignored);
      d.ignored += r->ignored;
      if (r->lastSeq != 0) {
        spdlog::info("bridge {}: {} item(s) accepted as seq={}..{}", route, n - r->ignored, r->firstSeq, r->lastSeq);
      }
      std::lock_guard lock(d.mutex);
      d.waiting.clear();
      limit = kBatch;
      holdMs = 1000;
      continue;
    }
    if (r->index > 0 && r->index < n) {
      limit = r->index;  // what comes before the refused item goes first
      continue;
    }
    auto item = SignedItem::decode(envelopes[0]);
    if (item && retryable(r->refusal, *item)) {
      {
        std::lock_guard lock(d.mutex);
        if (d.waiting.empty()) spdlog::warn("bridge {}: held: {}: {}", route, r->refusal, r->detail);
        d.waiting = r->refusal + ": " + r->detail;
      }
      // Peerings, certificates and revocations further on may be what ends the hold (the
      // source's peering, queued behind a record): they go ahead, one at a time.
      for (size_t i = 1; i < n && !stopping(); ++i) {
        auto later = SignedItem::decode(envelopes[i]);
        if (!later || later->signer != trust::kRootSigner) continue;
        auto one = to.service_->submit({envelopes[i]}, kSubmitTimeout);
        if (!one || (!one->accepted && retryable(one->refusal, *later))) continue;
        auto txn = lmdb::Txn::beginWrite(*from.env_);
        if (!txn || !txn->del(from.out_, keys[i]) || !std::move(*txn).commit()) continue;
        if (one->accepted) {
          d.forwarded += 1 - std::min<uint64_t>(1, one->ignored);
        } else {
          std::lock_guard lock(d.mutex);
          ++d.refused[one->refusal];
        }
      }
      limit = kBatch;
      pause(std::chrono::milliseconds(holdMs));
      holdMs = std::min<int64_t>(holdMs * 2, 8000);
      continue;
    }
    holdMs = 1000;
    if (auto st = drop(1); !st) {
      spdlog::error("bridge {}: outbox: {}", route, st.error().message);
      pause(std::chrono::milliseconds(1000));
      continue;
    }
    std::lock_guard lock(d.mutex);
    ++d.refused[r->refusal];
    if (d.loggedReasons.insert(r->refusal).second) {
      spdlog::warn("bridge {}: refused ({}), not carried: {} (further refusals for this reason are "
                   "counted, not logged)", route, r->refusal, r->detail);
    }
    limit = kBatch;
  }
}

// What the inboxes hold decides after a restart: alerts received at `from` that it has not
// answered yet are handed on again; answers at `to` to the alerts it handed on, or was handing
// on, are relayed again if `from` does not hold them (relaying is idempotent at `from` and at its
// broker, but an answer `from` holds is in its queue or accepted already). "Was handing on": the
// peer's broker may have taken an alert and delivered it, and its targets' answers reached `to`,
// while the broker's "accepted" was lost (the broker killed just after its commit); `to` then
// holds the answers but not the alert, and the answers were only queued in memory for the relay.
// So a restart queues only what was lost, not every answer of the bridge's history.
void Bridge::recover(Direction& d) {
  Side& from = *sides_[d.from];
  Side& to = *sides_[d.to];
  std::set<std::string> relayFor;  // alert ids whose answers at `to` may go back again
  auto inbound = from.service_->inbox().ids(/*outbound=*/false);
  if (!inbound) {
    spdlog::warn("bridge: inbox of {} not read: {}", from.config_.network, inbound.error().message);
    inbound = std::vector<std::string>{};
  }
  for (const auto& id : *inbound) {
    relayFor.insert(id);
    auto answered = from.service_->inbox().answeredBy(id, from.config_.id);
    if (answered && !*answered) {
      std::lock_guard lock(d.mutex);
      d.alerts.push_back(id);
    }
  }
  auto handed = to.service_->inbox().ids(/*outbound=*/true);
  if (handed) {
    relayFor.insert(handed->begin(), handed->end());
  } else {
    spdlog::warn("bridge: inbox of {} not read: {}", to.config_.network, handed.error().message);
  }
  uint64_t queued = 0;
  for (const auto& id : relayFor) {
    auto answers = to.service_->inbox().answersBy(id);
    if (!answers || answers->empty()) continue;
    auto held = from.service_->inbox().answersBy(id);
    std::set<std::pair<std::string, std::string>> atFrom;
    if (held) {
      for (const auto& a : *held) atFrom.emplace(a.site, a.kind);
    }
    std::lock_guard lock(d.mutex);
    for (auto& a : *answers) {
      if (atFrom.count({a.site, a.kind}) != 0) continue;
      d.answers.emplace_back(id, std::move(a.envelope));
      ++queued;
    }
  }
  d.answersRecovered = queued;
  d.recovered = true;
  if (queued > 0) {
    spdlog::info("bridge {} -> {}: {} answers to relay again after the restart", to.config_.network,
                 from.config_.network, queued);
  }
}

bool Bridge::handAlert(Direction& d, const std::string& id) {
  Side& from = *sides_[d.from];
  Side& to = *sides_[d.to];
  auto stored = from.service_->inbox().get(id);
  if (!stored || !*stored) return true;  // nothing to hand on
  auto outcome = to.service_->sendAlert((*stored)->envelope, kSubmitTimeout);
  if (!outcome) return false;  // the peer's broker is not reachable: later
  Result<std::string> answered = std::string();
  if (outcome->accepted) {
    std::string sites;
    auto custody = Json::parse(outcome->custody, nullptr, false);
    if (custody.is_object() && custody.contains("targets") && custody["targets"].is_object()) {
      for (const auto& [site, t] : custody["targets"].items()) {
        if (t.value("hop", false) || !t.value("network", "").empty()) continue;
        if (to.config_.network.size() + sites.size() + site.size() + 2 > kMaxReference) break;
        sites += (sites.empty() ? "" : ",") + site;
      }
    }
    answered = from.service_->answerAlert(id, std::string(json::kReceipt), "", "", to.config_.network + ":" + sites);
    ++d.alertsForwarded;
    spdlog::info("bridge alert={} handed to {} for {}", id, to.config_.network, sites);
  } else {
    std::string why = outcome->refusal + ": " + outcome->detail;
    if (why.size() > 1000) why.resize(1000);
    answered = from.service_->answerAlert(id, std::string(json::kDeclined), "bridge to " + to.config_.network, why);
    ++d.alertsDeclined;
    spdlog::warn("bridge alert={} not taken by {}: {}", id, to.config_.network, why);
  }
  if (!answered) {
    spdlog::warn("bridge alert={}: answer not stored: {}", id, answered.error().message);
    return false;
  }
  return true;
}

void Bridge::workAlerts(Direction& d) {
  Side& from = *sides_[d.from];
  recover(d);
  while (!stopping()) {
    std::optional<std::string> alert;
    std::optional<std::pair<std::string, Bytes>> answer;
    {
      std::unique_lock lock(d.mutex);
      d.cv.wait_for(lock, std::chrono::milliseconds(500),
                    [&] { return stopping() || !d.alerts.empty() || !d.answers.empty(); });
      if (stopping()) return;
      if (!d.answers.empty()) {
        answer = std::move(d.answers.front());
        d.answers.pop_front();
      } else if (!d.alerts.empty()) {
        alert = d.alerts.front();
        d.alerts.pop_front();
      }
    }
    if (answer) {
      auto r = from.service_->relayAnswer(answer->second);
      if (!r) {
        spdlog::warn("bridge alert={}: answer not relayed yet: {}", answer->first, r.error().message);
        std::unique_lock lock(d.mutex);
        d.answers.push_back(std::move(*answer));
        d.cv.wait_for(lock, std::chrono::milliseconds(1000), [&] { return stopping(); });
        continue;
      }
      ++d.answersRelayed;
    }
    if (alert && !handAlert(d, *alert)) {
      std::unique_lock lock(d.mutex);
      d.alerts.push_back(*alert);
      d.cv.wait_for(lock, std::chrono::milliseconds(1000), [&] { return stopping(); });
    }
  }
}

}  // namespace liaison::adapters
