// The broker's durable state in LMDB (DIR/data.mdb):
//   meta     "epoch" → u64, "head" → u64
//   log      u64-BE seq → [i64 acceptedAt][envelope]   (gap-free from 1 to head)
//   heads    record id → [u64 revision][kind '\0' country]
//   members  site id → envelope of its certificate
//   revoked  site id → "" 
// One write transaction per append (entry, head and state together), synced before commit
// returns, so an accepted item survives kill -9.
#pragma once

#include <memory>
#include <string>

#include "broker/core.h"
#include "common/lmdb.h"

namespace liaison::broker {

class LmdbStore final : public Store {
 public:
  static Result<std::unique_ptr<LmdbStore>> open(const std::string& dir, size_t mapSize);

  Result<Snapshot> load() override;
  Status setEpoch(uint64_t epoch) override;
  Status append(const bus::Entry& entry, const Change& change) override;
  Result<std::vector<bus::Entry>> range(uint64_t from, uint32_t max) const override;
  // Stores a certificate outside the log (`liaison-broker --member FILE` at start).
  Status importMember(const std::string& site, const Bytes& envelope);

 private:
  explicit LmdbStore(lmdb::Env env) : env_(std::move(env)) {}
  lmdb::Env env_;
  MDB_dbi meta_ = 0, log_ = 0, heads_ = 0, members_ = 0, revoked_ = 0;
};

}  // namespace liaison::broker
