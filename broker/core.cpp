#include "broker/core.h"

#include <spdlog/spdlog.h>

#include "schemas/item.h"

namespace liaison::broker {

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
}  // namespace

std::optional<Origin> originOf(const SignedItem& item) {
  auto reader = item.item.reader();
  if (reader.which() != schema::Item::RECORD) return std::nullopt;
  auto record = reader.getRecord();
  if (!record.getBody().isContact() || str(record.getStatus()) == "retired") return std::nullopt;
  auto contact = record.getBody().getContact();
  Origin o{item.signer, str(contact.getRole()), {}};
  for (auto n : contact.getNetworks()) o.networks.push_back(str(n));
  return o;
}

Core::Core(Store& store, const Clock& clock, const SigningKey& root, uint64_t newEpoch)
    : store_(store), clock_(clock), root_(root), newEpoch_(newEpoch) {}

Status Core::load() {
  auto snapshot = store_.load();
  if (!snapshot) return snapshot.error();
  state_ = std::move(snapshot).value();
  if (state_.epoch == 0) {
    LIAISON_TRY(store_.setEpoch(newEpoch_));
    state_.epoch = newEpoch_;
  }
  epoch_ = state_.epoch;
  head_ = state_.head;
  byRole_.clear();
  byNetwork_.clear();
  return store_.eachHead([&](std::string_view, const Store::Head& head) {
    if (head.origin) countOrigin(*head.origin, +1);
  });
}

void Core::countOrigin(const Origin& o, int delta) {
  auto count = [&](auto& index, const std::string& key) {
    auto& sites = index[key];
    if (delta > 0) {
      ++sites[o.site];
    } else if (--sites[o.site] == 0) {
      sites.erase(o.site);
      if (sites.empty()) index.erase(key);
    }
  };
  count(byRole_, o.role);
  for (const auto& n : o.networks) count(byNetwork_, n);
}

Result<std::optional<Store::Head>> Core::headOf(
    const std::string& id, const std::map<std::string, std::optional<Store::Head>>& batch) const {
  if (auto it = batch.find(id); it != batch.end()) return it->second;
  auto head = store_.head(id);
  if (!head) return head.error();
  if (*head) (*head)->existing.network = networkOf((*head)->signer).value_or("?");
  return head;
}

std::set<std::string> Core::sitesWithRole(std::string_view role) const {
  std::set<std::string> out;
  auto it = byRole_.find(role);
  if (it != byRole_.end()) {
    for (const auto& [site, n] : it->second) out.insert(site);
  }
  return out;
}

std::set<std::string> Core::sitesInNetwork(std::string_view network) const {
  std::set<std::string> out;
  auto it = byNetwork_.find(network);
  if (it != byNetwork_.end()) {
    for (const auto& [site, n] : it->second) out.insert(site);
  }
  return out;
}

std::optional<std::string> Core::siteOfRecord(std::string_view id) const {
  auto head = store_.head(id);
  if (!head) {
    spdlog::error("record {}: {}", id, head.error().message);
    return std::nullopt;
  }
  if (!*head || !(*head)->origin) return std::nullopt;
  return (*head)->origin->site;
}

std::optional<trust::MemberCert> Core::member(std::string_view site) const {
  auto it = state_.members.find(std::string(site));
  if (it == state_.members.end()) return std::nullopt;
  return it->second;
}

bool Core::revoked(std::string_view site) const {
  return state_.revoked.count(std::string(site)) != 0;
}

std::vector<trust::Peering> Core::peerings() const {
  std::vector<trust::Peering> out;
  for (const auto& [key, p] : state_.peerings) out.push_back(p);
  return out;
}

std::optional<std::string> Core::networkOf(std::string_view site) const {
  auto cert = member(site);
  if (!cert) return std::nullopt;
  return trust::issuerNetwork(*cert, *this);
}

std::set<std::string> Core::bridgesFor(std::string_view network) const {
  std::set<std::string> all, matching;
  std::set<SigningKey> peerBridgeKeys;
  for (const auto& [site, cert] : state_.members) {
    if (cert.role == "bridge" && networkOf(site) == network) peerBridgeKeys.insert(cert.signKey);
  }
  for (const auto& [site, cert] : state_.members) {
    if (cert.role != "bridge" || !isAdmitted(site)) continue;
    all.insert(site);
    if (peerBridgeKeys.count(cert.signKey) != 0) matching.insert(site);
  }
  return matching.empty() ? all : matching;
}

bool Core::isPeerMember(std::string_view site) const {
  auto cert = member(site);
  if (!cert) return false;
  auto network = networkOf(site);
  int64_t now = clock_.nowSeconds();
  return network && !network->empty() && !revoked(site) && now >= cert->notBefore &&
         now <= cert->notAfter && !trust::peeringClosed(*this, *network, now);
}

bool Core::isAdmitted(std::string_view site) const {
  auto cert = member(site);
  int64_t now = clock_.nowSeconds();
  // Members of a peer network are known (to verify what they sign) but never connect here.
  return cert && !revoked(site) && now >= cert->notBefore && now <= cert->notAfter &&
         (cert->issuerKey == root_ || cert->issuerKey == SigningKey{});
}

std::map<trust::CurveKey, std::string> Core::admitted() const {
  std::map<trust::CurveKey, std::string> out;
  for (const auto& [site, cert] : state_.members) {
    if (isAdmitted(site)) out.emplace(cert.curveKey, site);
  }
  return out;
}

bus::SubmitResult Core::refuse(uint64_t requestId, uint32_t index, const std::string& reason,
                               const std::string& detail) {
  ++refusals_[reason];
  bus::SubmitResult r;
  r.requestId = requestId;
  r.refusal = reason;
  r.detail = detail;
  r.index = index;
  return r;
}

Result<bus::SubmitResult> Core::submit(bus::SubmitRequest request, std::vector<bus::Entry>& fanout,
                                       const std::string& submitter) {
  fanout.clear();
  if (request.envelopes.empty()) return refuse(request.requestId, 0, "malformed", "nothing to submit");
  if (request.envelopes.size() > kMaxBatch) {
    return refuse(request.requestId, 0, "malformed",
                  "more than " + std::to_string(kMaxBatch) + " items in one submission");
  }
  // Verify in order against the state as it would be after the items before (a batch may carry
  // a certificate and then records signed under it); undo on the first refusal.
  // Undo log: the previous value of everything this batch changed in memory.
  // Record heads changed by the batch are held apart in `batchHeads` until it is stored.
  struct Undo {
    std::string id;
    std::optional<trust::MemberCert> member;
    bool wasRevoked = false;
    int what = 0;  // 1 member, 2 revoked, 3 peering (key in id), 4 whole state
    std::optional<trust::Peering> peering;
    std::optional<Store::Snapshot> state;
  };
  std::vector<Undo> undo;
  std::map<std::string, std::optional<Store::Head>> batchHeads;
  auto rollback = [&] {
    for (auto it = undo.rbegin(); it != undo.rend(); ++it) {
      if (it->what == 1) {
        if (it->member) state_.members[it->id] = *it->member; else state_.members.erase(it->id);
      } else if (it->what == 2) {
        if (!it->wasRevoked) state_.revoked.erase(it->id);
      } else if (it->what == 3) {
        if (it->peering) state_.peerings[it->id] = *it->peering; else state_.peerings.erase(it->id);
      } else {
        state_ = std::move(*it->state);
      }
    }
  };
  const int64_t now = clock_.nowSeconds();
  std::vector<bus::Entry> entries;
  std::vector<Store::Change> changes;
  // Contacts' origins counted out and in once the batch is stored.
  std::vector<std::pair<Origin, int>> origins;
  uint32_t ignored = 0;
  // Decode everything, then check the signatures on every core before the ordered checks.
  std::vector<SignedItem> decoded;
  decoded.reserve(request.envelopes.size());
  for (uint32_t i = 0; i < request.envelopes.size(); ++i) {
    auto item = SignedItem::decode(request.envelopes[i]);
    if (!item) return refuse(request.requestId, i, "malformed", item.error().message);
    decoded.push_back(std::move(item).value());
  }
  std::vector<const SignedItem*> pointers;
  for (const auto& d : decoded) pointers.push_back(&d);
  const auto valid = trust::signaturesValid(pointers);
  for (uint32_t i = 0; i < request.envelopes.size(); ++i) {
    if (i > 0) decoded[i - 1].item = OwnedItem::fromWords({});  // checked: its copy goes
    Bytes& envelope = request.envelopes[i];
    const SignedItem* item = &decoded[i];
    if (!valid[i]) {
      rollback();
      return refuse(request.requestId, i, trust::refusalName(trust::Refusal::kBadSignature),
                    "signature by " + item->signer + " does not match " +
                        itemKind(item->item.reader()) + " " + itemId(item->item.reader()));
    }
    auto reader = item->item.reader();
    if (!submitter.empty()) {
      bool foreign = !networkOf(item->signer).value_or("").empty();
      if (item->signer == trust::kRootSigner) {  // a peered root's (an unknown key is refused below)
        foreign = false;
        for (const auto& [key, p] : state_.peerings) foreign = foreign || (p.home && p.peerRoot == item->signerKey);
      }
      auto cert = member(submitter);
      if (foreign && (!cert || cert->role != "bridge")) {
        rollback();
        return refuse(request.requestId, i, trust::refusalName(trust::Refusal::kOutOfScope),
                      itemKind(reader) + " " + itemId(reader) + " is a peer network's; only a bridge carries it, not " +
                          submitter);
      }
    }
    if (reader.which() == schema::Item::ALERT || reader.which() == schema::Item::ACK) {
      rollback();
      return refuse(request.requestId, i, "malformed",
                    "alerts and answers travel as alert requests, not in the directory's log");
    }
    Store::Change change;
    change.id = itemId(reader);
    std::optional<Store::Head> held;  // the record's head before this item
    std::optional<trust::Existing> existing;
    if (reader.which() == schema::Item::RECORD) {
      auto head = headOf(change.id, batchHeads);
      if (!head) {
        rollback();
        return head.error();
      }
      held = std::move(head).value();
      if (held) existing = held->existing;
    }
    if (reader.which() == schema::Item::REVOCATION && revoked(change.id)) {
      ++ignored;  // a revocation held already (a bridge carrying it again)
      continue;
    }
    auto decision = trust::verify(*item, *this, now, existing, /*signatureChecked=*/true);
    if (decision.refusal == trust::Refusal::kStaleRevision) {
      ++ignored;
      ++refusals_[trust::refusalName(decision.refusal)];
      continue;  // a replay: harmless, not logged
    }
    if (!decision.accepted()) {
      rollback();
      return refuse(request.requestId, i, trust::refusalName(decision.refusal), decision.detail);
    }
    switch (reader.which()) {
      case schema::Item::RECORD: {
        auto record = reader.getRecord();
        trust::Existing head{record.getRevision(), itemKind(reader), "", networkOf(item->signer).value_or("")};
        if (record.getBody().isContact()) {
          head.country = str(record.getBody().getContact().getCountry());
        }
        change.head = head;
        Store::Head next{head, item->signer, originOf(*item)};
        if (held && held->origin) origins.emplace_back(*held->origin, -1);
        if (next.origin) origins.emplace_back(*next.origin, +1);
        batchHeads[change.id] = std::move(next);
        break;
      }
      case schema::Item::MEMBER: {
        auto cert = trust::memberFromSigned(*item);
        auto current = member(cert.site);
        if (current && current->notBefore >= cert.notBefore) {
          ++ignored;
          continue;  // an older certificate than the one held
        }
        change.member = cert;
        undo.push_back({change.id, current, false, 1, std::nullopt, std::nullopt});
        state_.members[change.id] = cert;
        break;
      }
      case schema::Item::REVOCATION:
        change.revoke = true;
        undo.push_back({change.id, std::nullopt, revoked(change.id), 2, std::nullopt, std::nullopt});
        state_.revoked.insert(change.id);
        break;
      case schema::Item::PEERING: {
        auto p = trust::peeringFromReader(reader.getPeering());
        p.home = item->signerKey == root_;
        const std::string key = (p.home ? "0:" : "1:") + p.id;
        auto current = state_.peerings.find(key);
        if (current != state_.peerings.end() && current->second.revision >= p.revision) {
          ++ignored;
          ++refusals_[trust::refusalName(trust::Refusal::kStaleRevision)];
          continue;
        }
        const std::string network = p.home ? p.peer : p.network;
        auto home = trust::homePeering(*this, network);
        const bool ending = p.status == "retired" ||
                            (p.home && current != state_.peerings.end() &&
                             current->second.peerRoot != p.peerRoot);
        if (ending && home) {
          // The peer network's records and certificates leave the state (and every replica).
          undo.push_back({change.id, std::nullopt, false, 4, std::nullopt, state_});
          // Every record of that network: those stored, then those this batch set.
          std::set<std::string> drop;
          auto st = store_.eachHead([&](std::string_view id, const Store::Head& h) {
            if (!batchHeads.contains(std::string(id)) && networkOf(h.signer).value_or("?") == network) {
              drop.emplace(id);
              if (h.origin) origins.emplace_back(*h.origin, -1);
            }
          });
          if (!st) {
            rollback();
            return st.error();
          }
          for (auto& [id, h] : batchHeads) {
            if (h && h->existing.network == network) {
              drop.insert(id);
              if (h->origin) origins.emplace_back(*h->origin, -1);
              h.reset();
            }
          }
          for (const auto& id : drop) batchHeads[id] = std::nullopt;
          change.dropHeads.assign(drop.begin(), drop.end());
          for (auto it = state_.members.begin(); it != state_.members.end();) {
            if (it->second.issuerKey == home->peerRoot) {
              change.dropMembers.push_back(it->first);
              it = state_.members.erase(it);
            } else {
              ++it;
            }
          }
          spdlog::warn("peering {} ended: {} record(s) and {} certificate(s) of {} withdrawn", p.id,
                       change.dropHeads.size(), change.dropMembers.size(), network);
        }
        undo.push_back({key, std::nullopt, false, 3,
                        current == state_.peerings.end() ? std::nullopt : std::optional(current->second), {}});
        state_.peerings[key] = p;
        change.id = key;
        change.peering = p;
        break;
      }
      default:
        break;
    }
    entries.push_back(bus::Entry{epoch_, head_ + entries.size() + 1, now, std::move(envelope)});
    changes.push_back(std::move(change));
  }
  bus::SubmitResult result;
  result.requestId = request.requestId;
  result.accepted = true;
  result.ignored = ignored;
  if (entries.empty()) return result;  // all were replays
  auto st = store_.append(entries, changes);
  if (!st) {
    rollback();
    return st.error();
  }
  for (const auto& [origin, delta] : origins) countOrigin(origin, delta);
  result.firstSeq = entries.front().seq;
  result.lastSeq = entries.back().seq;
  head_ = result.lastSeq;
  accepted_ += entries.size();
  spdlog::debug("accepted {} item(s) seq={}..{}", entries.size(), result.firstSeq, result.lastSeq);
  fanout = std::move(entries);
  return result;
}

Result<bus::Items> Core::fetch(const bus::FetchRequest& request, uint32_t maxItems) const {
  bus::Items out{request.requestId, epoch_, head_, {}, false};
  uint64_t from = request.epoch == epoch_ ? request.fromSeq : 1;  // another epoch: from the start
  if (from == 0) from = 1;
  if (from < store_.oldest()) {
    out.horizon = true;  // the log no longer holds it: take a snapshot
    return out;
  }
  uint32_t max = request.maxItems == 0 ? maxItems : std::min(request.maxItems, maxItems);
  auto entries = store_.range(from, max);
  if (!entries) return entries.error();
  out.entries = std::move(entries).value();
  return out;
}

Result<bus::SnapshotChunk> Core::snapshot(const bus::SnapshotRequest& request,
                                          uint32_t maxItems) const {
  bus::SnapshotChunk out;
  out.requestId = request.requestId;
  out.epoch = epoch_;
  out.head = head_;
  uint32_t max = request.maxItems == 0 ? maxItems : std::min(request.maxItems, maxItems);
  LIAISON_TRY(store_.snapshot(request.afterKey, max, out.entries, out.nextKey));
  out.done = out.nextKey.empty();
  return out;
}

bus::Heartbeat Core::heartbeat() const { return bus::Heartbeat{epoch_, head_, clock_.nowSeconds()}; }

}  // namespace liaison::broker
