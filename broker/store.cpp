#include "broker/store.h"

#include <cstring>

#include "schemas/item.h"

namespace liaison::broker {

namespace {

std::string u64be(uint64_t v) {
  std::string s(8, '\0');
  for (int i = 7; i >= 0; --i) {
    s[static_cast<size_t>(i)] = static_cast<char>(v & 0xff);
    v >>= 8;
  }
  return s;
}
uint64_t readU64be(std::string_view s) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8 && i < s.size(); ++i) v = (v << 8) | static_cast<uint8_t>(s[i]);
  return v;
}
std::string u64(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
uint64_t readU64(std::string_view s) {
  uint64_t v = 0;
  if (s.size() >= 8) std::memcpy(&v, s.data(), 8);
  return v;
}
std::string_view bytesView(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

Result<std::unique_ptr<LmdbStore>> LmdbStore::open(const std::string& dir, size_t mapSize) {
  lmdb::Env::Options options;
  options.mapSize = mapSize;
  auto env = lmdb::Env::open(dir, options);
  if (!env) return env.error();
  std::unique_ptr<LmdbStore> store(new LmdbStore(std::move(env).value()));
  auto txn = lmdb::Txn::beginWrite(store->env_);
  if (!txn) return txn.error();
  for (auto [dbi, name] : {std::pair{&store->meta_, "meta"}, std::pair{&store->log_, "log"},
                           std::pair{&store->heads_, "heads"}, std::pair{&store->members_, "members"},
                           std::pair{&store->revoked_, "revoked"}}) {
    auto d = lmdb::openDbi(*txn, name, 0);
    if (!d) return d.error();
    *dbi = *d;
  }
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
  {
    auto c = lmdb::Cursor::open(*txn, heads_);
    if (!c) return c.error();
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      if (v.size() < 9) continue;
      std::string_view rest = v.substr(8);
      size_t nul = rest.find('\0');
      s.heads[std::string(k)] = trust::Existing{
          readU64(v), std::string(rest.substr(0, nul)),
          nul == std::string_view::npos ? "" : std::string(rest.substr(nul + 1))};
    }
  }
  {
    auto c = lmdb::Cursor::open(*txn, members_);
    if (!c) return c.error();
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      auto item = SignedItem::decodeStored(std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
      if (!item || item->item.reader().which() != schema::Item::MEMBER) continue;
      s.members[std::string(k)] = trust::memberFromReader(item->item.reader().getMember());
    }
  }
  {
    auto c = lmdb::Cursor::open(*txn, revoked_);
    if (!c) return c.error();
    for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
      s.revoked.insert(std::string(k));
    }
  }
  return s;
}

Status LmdbStore::setEpoch(uint64_t epoch) {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  LIAISON_TRY(txn->put(meta_, "epoch", u64(epoch)));
  return std::move(*txn).commit();
}

Status LmdbStore::append(const bus::Entry& entry, const Change& change) {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  std::string value = u64(static_cast<uint64_t>(entry.acceptedAt));
  value.append(bytesView(entry.envelope));
  LIAISON_TRY(txn->put(log_, u64be(entry.seq), value, MDB_NOOVERWRITE));
  LIAISON_TRY(txn->put(meta_, "head", u64(entry.seq)));
  if (change.head) {
    std::string h = u64(change.head->revision) + change.head->kind + '\0' + change.head->country;
    LIAISON_TRY(txn->put(heads_, change.id, h));
  }
  if (change.member) LIAISON_TRY(txn->put(members_, change.id, bytesView(entry.envelope)));
  if (change.revoke) LIAISON_TRY(txn->put(revoked_, change.id, ""));
  return std::move(*txn).commit();
}

Status LmdbStore::importMember(const std::string& site, const Bytes& envelope) {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  LIAISON_TRY(txn->put(members_, site, bytesView(envelope)));
  return std::move(*txn).commit();
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
    bus::Entry e{ep, readU64be(k), static_cast<int64_t>(readU64(v)),
                 Bytes(reinterpret_cast<const uint8_t*>(v.data()) + 8,
                       reinterpret_cast<const uint8_t*>(v.data()) + v.size())};
    out.push_back(std::move(e));
  }
  return out;
}

}  // namespace liaison::broker
