#include "broker/alert_store.h"

namespace liaison::broker {

Result<std::unique_ptr<LmdbAlertStore>> LmdbAlertStore::open(const std::string& dir,
                                                             size_t mapSize) {
  MDB_dbi alerts = 0, envelopes = 0, requests = 0, blobs = 0;
  // The order is the pair's too: a standby applies the leader's journal by database handle.
  auto env = lmdb::openWithDatabases(dir, mapSize,
                                     {{&alerts, "alerts"},
                                      {&envelopes, "envelopes"},
                                      {&requests, "requests"},
                                      {&blobs, "rblobs"}});
  if (!env) return env.error();
  std::unique_ptr<LmdbAlertStore> store(new LmdbAlertStore(std::move(env).value()));
  store->alerts_ = alerts;
  store->envelopes_ = envelopes;
  store->requests_ = requests;
  store->blobs_ = blobs;
  return store;
}

Result<Custody> LmdbAlertStore::read(const lmdb::Txn& txn, std::string_view id,
                                     std::string_view json) const {
  auto j = json::Json::parse(json, nullptr, false);
  if (j.is_discarded()) return makeError(Errc::kIo, "alert store damaged at " + std::string(id));
  auto c = custodyFromJson(j);
  if (!c) return c.error();
  auto envelope = [&](const std::string& key) -> Result<Bytes> {
    auto e = txn.get(envelopes_, key);
    if (!e) return e.error();
    if (!*e) return makeError(Errc::kIo, "alert store: no envelope for " + key);
    return Bytes((*e)->begin(), (*e)->end());
  };
  auto env = envelope("alert/" + c->id);
  if (!env) return env.error();
  c->envelope = std::move(env).value();
  for (auto& a : c->answers) {
    auto e = envelope(a.key);
    if (!e) return e.error();
    a.envelope = std::move(e).value();
  }
  return c;
}

Status LmdbAlertStore::load(const std::function<void(Custody&&)>& each) {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, alerts_);
  if (!cursor) return cursor.error();
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    auto c = read(*txn, k, v);
    if (!c) return c.error();
    each(std::move(c).value());
  }
  return {};
}

Result<std::optional<Custody>> LmdbAlertStore::get(const std::string& id) {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto v = txn->get(alerts_, id);
  if (!v) return v.error();
  if (!*v) return std::optional<Custody>();
  auto c = read(*txn, id, **v);
  if (!c) return c.error();
  return std::optional<Custody>(std::move(c).value());
}

Status LmdbAlertStore::put(const std::vector<const Custody*>& changed) {
  ScopedTimer timed(commitTimes_);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  auto view = [](const Bytes& b) {
    return std::string_view(reinterpret_cast<const char*>(b.data()), b.size());
  };
  for (const Custody* c : changed) {
    LIAISON_TRY(txn->put(alerts_, c->id, custodyToJson(*c, false).dump()));
    LIAISON_TRY(txn->put(envelopes_, "alert/" + c->id, view(c->envelope), MDB_NOOVERWRITE));
    for (const auto& a : c->answers)
      LIAISON_TRY(txn->put(envelopes_, a.key, view(a.envelope), MDB_NOOVERWRITE));
  }
  return std::move(*txn).commit();
}

}  // namespace liaison::broker
