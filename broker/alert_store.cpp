#include "broker/alert_store.h"

#include "common/files.h"

namespace liaison::broker {

Result<std::unique_ptr<LmdbAlertStore>> LmdbAlertStore::open(const std::string& dir, size_t mapSize) {
  LIAISON_TRY(makeDirectories(dir, 0700));
  lmdb::Env::Options options;
  options.mapSize = mapSize;
  options.maxDbs = 4;
  auto env = lmdb::Env::open(dir, options);
  if (!env) return env.error();
  std::unique_ptr<LmdbAlertStore> store(new LmdbAlertStore(std::move(env).value()));
  auto txn = lmdb::Txn::beginWrite(store->env_);
  if (!txn) return txn.error();
  auto dbi = lmdb::openDbi(*txn, "alerts", MDB_CREATE);
  if (!dbi) return dbi.error();
  store->alerts_ = *dbi;
  LIAISON_TRY(std::move(*txn).commit());
  return store;
}

Result<std::vector<Custody>> LmdbAlertStore::load() {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, alerts_);
  if (!cursor) return cursor.error();
  std::vector<Custody> out;
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    auto j = json::Json::parse(v, nullptr, false);
    if (j.is_discarded()) return makeError(Errc::kIo, "alert store damaged at " + std::string(k));
    auto c = custodyFromJson(j);
    if (!c) return c.error();
    out.push_back(std::move(c).value());
  }
  return out;
}

Status LmdbAlertStore::put(const std::vector<const Custody*>& changed) {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  for (const Custody* c : changed) {
    LIAISON_TRY(txn->put(alerts_, c->id, custodyToJson(*c, true).dump()));
  }
  return std::move(*txn).commit();
}

}  // namespace liaison::broker
