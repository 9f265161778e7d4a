// The broker's alert custody in LMDB (DIR/alerts/data.mdb, its own environment beside the log):
//   alerts     alert id → the custody as JSON, without envelopes (rewritten as it changes)
//   envelopes  "alert/ID" or "answer/ID/SITE/KIND" → the signed envelope (written once)
//   requests, rblobs  the MLA requests' custody (broker/requests.h)
// One write transaction per commit of the router, synced before it returns, so a custody the
// sender was told about survives kill -9.
#pragma once

#include <memory>
#include <string>

#include "broker/alerts.h"
#include "common/lmdb.h"
#include "common/metrics.h"

namespace liaison::broker {

class LmdbAlertStore final : public AlertStore {
 public:
  static Result<std::unique_ptr<LmdbAlertStore>> open(const std::string& dir, size_t mapSize);
  Status load(const std::function<void(Custody&&)>& each) override;
  Result<std::optional<Custody>> get(const std::string& id) override;
  Status put(const std::vector<const Custody*>& changed) override;
  const Histogram& commitTimes() const {
    return commitTimes_;
  }                                  // each put: write and synced commit
  lmdb::Env& env() { return env_; }  // for the broker pair, as LmdbStore::env()
  // The MLA requests' custody shares this environment (broker/requests.h).
  MDB_dbi requestsDb() const { return requests_; }
  MDB_dbi requestBlobsDb() const { return blobs_; }

 private:
  explicit LmdbAlertStore(lmdb::Env env) : env_(std::move(env)) {}
  // The custody stored as `json` under `id`, with its envelopes, read in `txn`.
  Result<Custody> read(const lmdb::Txn& txn, std::string_view id, std::string_view json) const;
  lmdb::Env env_;
  MDB_dbi alerts_ = 0, envelopes_ = 0, requests_ = 0, blobs_ = 0;
  Histogram commitTimes_;
};

}  // namespace liaison::broker
