#include "broker/core.h"

#include <spdlog/spdlog.h>

#include "schemas/item.h"

namespace liaison::broker {

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
}  // namespace

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
  return {};
}

std::optional<trust::MemberCert> Core::member(std::string_view site) const {
  auto it = state_.members.find(std::string(site));
  if (it == state_.members.end()) return std::nullopt;
  return it->second;
}

bool Core::revoked(std::string_view site) const {
  return state_.revoked.count(std::string(site)) != 0;
}

bool Core::isAdmitted(std::string_view site) const {
  auto cert = member(site);
  int64_t now = clock_.nowSeconds();
  return cert && !revoked(site) && now >= cert->notBefore && now <= cert->notAfter;
}

std::map<trust::CurveKey, std::string> Core::admitted() const {
  std::map<trust::CurveKey, std::string> out;
  for (const auto& [site, cert] : state_.members) {
    if (isAdmitted(site)) out.emplace(cert.curveKey, site);
  }
  return out;
}

bus::SubmitResult Core::refuse(uint64_t requestId, const std::string& reason,
                               const std::string& detail) {
  ++refusals_[reason];
  return bus::SubmitResult{requestId, false, 0, reason, detail};
}

Result<bus::SubmitResult> Core::submit(const bus::SubmitRequest& request,
                                       std::optional<bus::Entry>& fanout) {
  fanout.reset();
  auto item = SignedItem::decode(request.envelope);
  if (!item) return refuse(request.requestId, "malformed", item.error().message);
  auto reader = item->item.reader();
  if (reader.which() == schema::Item::ALERT || reader.which() == schema::Item::ACK) {
    return refuse(request.requestId, "unsupported", "alerts are not carried by this broker yet");
  }
  Store::Change change;
  change.id = itemId(reader);
  std::optional<trust::Existing> existing;
  if (reader.which() == schema::Item::RECORD) {
    auto it = state_.heads.find(change.id);
    if (it != state_.heads.end()) existing = it->second;
  }
  const int64_t now = clock_.nowSeconds();
  auto decision = trust::verify(*item, *this, now, existing);
  if (!decision.accepted()) {
    return refuse(request.requestId, trust::refusalName(decision.refusal), decision.detail);
  }
  switch (reader.which()) {
    case schema::Item::RECORD: {
      auto record = reader.getRecord();
      trust::Existing head{record.getRevision(), itemKind(reader), ""};
      if (record.getBody().isContact()) head.country = str(record.getBody().getContact().getCountry());
      change.head = head;
      break;
    }
    case schema::Item::MEMBER: {
      auto cert = trust::memberFromReader(reader.getMember());
      auto current = member(cert.site);
      if (current && current->notBefore > cert.notBefore) {
        return refuse(request.requestId, trust::refusalName(trust::Refusal::kStaleRevision),
                      "member " + cert.site + ": a newer certificate is held");
      }
      change.member = cert;
      break;
    }
    case schema::Item::REVOCATION:
      change.revoke = true;
      break;
    default:
      break;
  }
  bus::Entry entry{epoch_, head_ + 1, now, request.envelope};
  LIAISON_TRY(store_.append(entry, change));
  head_ = entry.seq;
  ++accepted_;
  if (change.head) state_.heads[change.id] = *change.head;
  if (change.member) state_.members[change.id] = *change.member;
  if (change.revoke) state_.revoked.insert(change.id);
  spdlog::debug("accepted {} {} seq={} signer={}", itemKind(reader), change.id, entry.seq,
                item->signer);
  fanout = std::move(entry);
  return bus::SubmitResult{request.requestId, true, head_, "", ""};
}

Result<bus::Items> Core::fetch(const bus::FetchRequest& request, uint32_t maxItems) const {
  bus::Items out{request.requestId, epoch_, head_, {}, false};
  uint64_t from = request.epoch == epoch_ ? request.fromSeq : 1;  // another epoch: from the start
  if (from == 0) from = 1;
  uint32_t max = request.maxItems == 0 ? maxItems : std::min(request.maxItems, maxItems);
  auto entries = store_.range(from, max);
  if (!entries) return entries.error();
  out.entries = std::move(entries).value();
  return out;
}

bus::Heartbeat Core::heartbeat() const { return bus::Heartbeat{epoch_, head_, clock_.nowSeconds()}; }

}  // namespace liaison::broker
