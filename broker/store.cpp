#include "broker/store.h"

#include <cstring>
#include <functional>

#include "common/encoding.h"
#include "schemas/item.h"

namespace liaison::broker {

namespace {

std::string u64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
uint64_t readU64(std::string_view s, size_t at = 0) {
  uint64_t v = 0;
  if (s.size() >= at + 8) std::memcpy(&v, s.data() + at, 8);
  return v;
}
std::string_view bytesView(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}
Bytes toBytes(std::string_view s) {
  return Bytes(reinterpret_cast<const uint8_t*>(s.data()),
               reinterpret_cast<const uint8_t*>(s.data()) + s.size());
}

// State values: [u64 seq][i64 acceptedAt][extra][envelope]. For heads `extra` is
// [u64 revision][kind] '\0' [country] '\0'; for certificates and revocations it is empty.
std::string stateValue(const bus::Entry& e, std::string_view extra) {
  std::string v = u64(e.seq) + u64(static_cast<uint64_t>(e.acceptedAt));
  v.append(extra);
  v.append(bytesView(e.envelope));
  return v;
}

// Splits a heads value; returns false when damaged.
bool parseHead(std::string_view v, trust::Existing& head, size_t& envelopeAt) {
  if (v.size() < 24) return false;
  head.revision = readU64(v, 16);
  std::string_view rest = v.substr(24);
  size_t a = rest.find('\0');
  if (a == std::string_view::npos) return false;
  size_t b = rest.find('\0', a + 1);
  if (b == std::string_view::npos) return false;
  head.kind = std::string(rest.substr(0, a));
  head.country = std::string(rest.substr(a + 1, b - a - 1));
  envelopeAt = 24 + b + 1;
  return true;
}

// A heads value as the core uses it: revision, kind, country, and from the envelope its signer
// and origin.
Result<Store::Head> decodeHead(std::string_view key, std::string_view v) {
  Store::Head head;
  size_t at = 0;
  auto damaged = [&] { return makeError(Errc::kIo, "broker state damaged at " + std::string(key)); };
  if (!parseHead(v, head.existing, at)) return damaged();
  auto env = v.substr(at);
  auto item = SignedItem::decodeStored(
      std::span(reinterpret_cast<const uint8_t*>(env.data()), env.size()));
  if (!item) return damaged();
  head.signer = item->signer;
  head.origin = originOf(*item);
  return head;
}

// Snapshot order: peerings first (a peer's certificates verify under them), then certificates,
// revocations, records.
constexpr char kPeerings = '.', kMembers = '0', kRevoked = '1', kHeads = '2';

}  // namespace

Result<std::unique_ptr<LmdbStore>> LmdbStore::open(const std::string& dir, size_t mapSize,
                                                   uint64_t keep) {
  lmdb::Env::Options options;
  options.mapSize = mapSize;
  options.writeMap = true;  // a bulk submission's pages do not become the broker's own memory
  auto env = lmdb::Env::open(dir, options);
  if (!env) return env.error();
  std::unique_ptr<LmdbStore> store(new LmdbStore(std::move(env).value()));
  store->keep_ = keep;
  auto txn = lmdb::Txn::beginWrite(store->env_);
  if (!txn) return txn.error();
  for (auto [dbi, name] : {std::pair{&store->meta_, "meta"}, std::pair{&store->log_, "log"},
                           std::pair{&store->heads_, "heads"}, std::pair{&store->members_, "members"},
                           std::pair{&store->revoked_, "revoked"},
                           std::pair{&store->peerings_, "peerings"}}) {
    auto d = lmdb::openDbi(*txn, name, 0);
    if (!d) return d.error();
    *dbi = *d;
  }
  auto oldest = txn->get(store->meta_, "oldest");
  if (!oldest) return oldest.error();
  store->oldest_ = *oldest ? readU64(**oldest) : 1;
  LIAISON_TRY(std::move(*txn).commit());
  return store;
}

Result<Store::Snapshot> LmdbStore::load() {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  Snapshot s;
  auto epoch = txn->get(meta_, "epoch");
  if (!epoch) return epoch.error();
  if (*epoch) s.epoch = readU64(**epoch);
  auto head = txn->get(meta_, "head");
  if (!head) return head.error();
  if (*head) s.head = readU64(**head);
  std::string_view k, v;
  // Certificates and peerings: [u64 seq][i64 acceptedAt][envelope], read as signed items.
  auto eachState = [&](MDB_dbi dbi, schema::Item::Which which,
                       const std::function<void(std::string_view, const SignedItem&)>& fn) -> Status {
    auto c = lmdb::Cursor::open(*txn, dbi);
    if (!c) return c.error();
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      if (v.size() < 16) continue;
      auto env = v.substr(16);
      auto item = SignedItem::decodeStored(
          std::span(reinterpret_cast<const uint8_t*>(env.data()), env.size()));
      if (item && item->item.reader().which() == which) fn(k, *item);
    }
    return {};
  };
  LIAISON_TRY(eachState(members_, schema::Item::MEMBER, [&](std::string_view key, const SignedItem& item) {
    s.members[std::string(key)] = trust::memberFromSigned(item);
  }));
  LIAISON_TRY(eachState(peerings_, schema::Item::PEERING, [&](std::string_view key, const SignedItem& item) {
    auto p = trust::peeringFromReader(item.item.reader().getPeering());
    p.home = key.starts_with("0:");
    s.peerings[std::string(key)] = std::move(p);
  }));
  {
    auto c = lmdb::Cursor::open(*txn, revoked_);
    if (!c) return c.error();
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      s.revoked.insert(std::string(k));
    }
  }
  return s;
}

Result<std::optional<Store::Head>> LmdbStore::head(std::string_view id) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto v = txn->get(heads_, id);
  if (!v) return v.error();
  if (!*v) return std::optional<Head>();
  auto head = decodeHead(id, **v);
  if (!head) return head.error();
  return std::optional<Head>(std::move(head).value());
}

Status LmdbStore::eachHead(const std::function<void(std::string_view, const Head&)>& fn) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto c = lmdb::Cursor::open(*txn, heads_);
  if (!c) return c.error();
  std::string_view k, v;
  for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
    auto head = decodeHead(k, v);
    if (!head) return head.error();
    fn(k, *head);
  }
  return {};
}

Status LmdbStore::setEpoch(uint64_t epoch) {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  LIAISON_TRY(txn->put(meta_, "epoch", u64(epoch)));
  return std::move(*txn).commit();
}

Status LmdbStore::append(const std::vector<bus::Entry>& entries,
                         const std::vector<Change>& changes) {
  const auto from = std::chrono::steady_clock::now();
  struct Timed {
    std::chrono::steady_clock::time_point from;
    LmdbStore& store;
    ~Timed() {
      auto d = std::chrono::steady_clock::now() - from;
      store.commitTimes_.observe(d);
      store.appendTotal_ += d;
    }
  } timed{from, *this};
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  for (size_t i = 0; i < entries.size(); ++i) {
    const auto& entry = entries[i];
    const auto& change = changes[i];
    std::string value = u64(static_cast<uint64_t>(entry.acceptedAt));
    value.append(bytesView(entry.envelope));
    LIAISON_TRY(txn->put(log_, u64be(entry.seq), value, MDB_NOOVERWRITE));
    if (change.head) {
      std::string extra = u64(change.head->revision) + change.head->kind + '\0' +
                          change.head->country + '\0';
      LIAISON_TRY(txn->put(heads_, change.id, stateValue(entry, extra)));
    }
    if (change.member) LIAISON_TRY(txn->put(members_, change.id, stateValue(entry, "")));
    if (change.revoke) LIAISON_TRY(txn->put(revoked_, change.id, stateValue(entry, "")));
    if (change.peering) LIAISON_TRY(txn->put(peerings_, change.id, stateValue(entry, "")));
    for (const auto& id : change.dropHeads) LIAISON_TRY(txn->del(heads_, id));
    for (const auto& id : change.dropMembers) LIAISON_TRY(txn->del(members_, id));
  }
  uint64_t head = entries.back().seq;
  LIAISON_TRY(txn->put(meta_, "head", u64(head)));
  // Compaction: keep the last `keep_` entries; a few more each time until caught up.
  uint64_t newOldest = oldest_;
  if (keep_ > 0 && head > keep_) {
    uint64_t target = head - keep_ + 1;
    size_t budget = entries.size() + 64;
    while (newOldest < target && budget-- > 0) {
      LIAISON_TRY(txn->del(log_, u64be(newOldest)));
      ++newOldest;
    }
    LIAISON_TRY(txn->put(meta_, "oldest", u64(newOldest)));
  }
  LIAISON_TRY(std::move(*txn).commit());
  oldest_ = newOldest;
  return {};
}

Result<std::vector<bus::Entry>> LmdbStore::range(uint64_t from, uint32_t max) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto epoch = txn->get(meta_, "epoch");
  if (!epoch) return epoch.error();
  uint64_t ep = *epoch ? readU64(**epoch) : 0;
  std::vector<bus::Entry> out;
  auto c = lmdb::Cursor::open(*txn, log_);
  if (!c) return c.error();
  std::string_view k, v;
  for (bool ok = c->seek(u64be(from), MDB_SET_RANGE, &k, &v); ok && out.size() < max;
       ok = c->seek({}, MDB_NEXT, &k, &v)) {
    if (v.size() < 8) return makeError(Errc::kIo, "log entry damaged");
    out.push_back(bus::Entry{ep, readU64be(k), static_cast<int64_t>(readU64(v)), toBytes(v.substr(8))});
  }
  return out;
}

Status LmdbStore::snapshot(const std::string& afterKey, uint32_t max,
                           std::vector<bus::Entry>& out, std::string& nextKey) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto epoch = txn->get(meta_, "epoch");
  if (!epoch) return epoch.error();
  uint64_t ep = *epoch ? readU64(**epoch) : 0;
  nextKey.clear();
  char startTable = afterKey.empty() ? kPeerings : afterKey[0];
  std::string lastKey;  // table character + key of the last item added

  std::string startAfter = afterKey.empty() ? "" : afterKey.substr(1);
  for (char table : {kPeerings, kMembers, kRevoked, kHeads}) {
    if (table < startTable) continue;
    MDB_dbi dbi = table == kPeerings ? peerings_
                  : table == kMembers ? members_
                  : table == kRevoked ? revoked_
                                      : heads_;
    auto c = lmdb::Cursor::open(*txn, dbi);
    if (!c) return c.error();
    std::string_view k, v;
    bool ok = table == startTable && !startAfter.empty()
                  ? c->seek(startAfter, MDB_SET_RANGE, &k, &v)
                  : c->seek({}, MDB_FIRST, &k, &v);
    if (ok && table == startTable && !startAfter.empty() && k == startAfter) {
      ok = c->seek({}, MDB_NEXT, &k, &v);
    }
    for (; ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      if (out.size() >= max) {
        nextKey = lastKey;
        return {};
      }
      size_t envelopeAt = 16;
      if (table == kHeads) {
        trust::Existing h;
        if (!parseHead(v, h, envelopeAt)) return makeError(Errc::kIo, "broker state damaged");
      }
      if (v.size() < envelopeAt) return makeError(Errc::kIo, "broker state damaged");
      out.push_back(bus::Entry{ep, readU64(v), static_cast<int64_t>(readU64(v, 8)),
                               toBytes(v.substr(envelopeAt))});
      lastKey = std::string(1, table) + std::string(k);
    }
  }
  return {};
}

}  // namespace liaison::broker
