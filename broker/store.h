// The broker's durable state in LMDB (DIR/data.mdb):
//   meta     "epoch" → u64, "head" → u64
//   meta     also "oldest" → u64 (the first seq the log still holds)
//   log      u64-BE seq → [i64 acceptedAt][envelope]   (gap-free from oldest to head)
//   heads    record id → [u64 seq][i64 acceptedAt][u64 revision][kind]\0[country]\0[envelope]
//   members  site id → [u64 seq][i64 acceptedAt][envelope of its certificate]
//   revoked  site id → [u64 seq][i64 acceptedAt][envelope of the revocation]
//   peerings "0:" id (home) or "1:" id (a peer's own) → [u64 seq][i64 acceptedAt][envelope]
// peerings, members, revoked and heads (served in that order) are the current state, which snapshots serve when the log no
// longer reaches back to a site's cursor.
// One write transaction per append (entry, head and state together), synced before commit
// returns, so an accepted item survives kill -9.
#pragma once

#include <memory>
#include <string>

#include "broker/core.h"
#include "common/lmdb.h"
#include "common/metrics.h"

namespace liaison::broker {

class LmdbStore final : public Store {
 public:
  // `keep`: how many log entries to keep (0: all); older ones are served by snapshot.
  static Result<std::unique_ptr<LmdbStore>> open(const std::string& dir, size_t mapSize,
                                                 uint64_t keep = 0);

  Result<Snapshot> load() override;
  Status setEpoch(uint64_t epoch) override;
  Status append(const std::vector<bus::Entry>& entries, const std::vector<Change>& changes) override;
  Result<std::optional<Head>> head(std::string_view id) const override;
  Status eachHead(const std::function<void(std::string_view id, const Head&)>& fn) const override;
  Result<std::vector<bus::Entry>> range(uint64_t from, uint32_t max) const override;
  uint64_t oldest() const override { return oldest_; }
  Status snapshot(const std::string& afterKey, uint32_t max, std::vector<bus::Entry>& out,
                  std::string& nextKey) const override;
  // Each append's write and synced commit; and their total (for the part of a submission that
  // is not the store's).
  const Histogram& commitTimes() const { return commitTimes_; }
  std::chrono::nanoseconds appendTotal() const { return appendTotal_; }
  // For the broker pair: journaling (the leader) and applying journals (the standby).
  lmdb::Env& env() { return env_; }

 private:
  explicit LmdbStore(lmdb::Env env) : env_(std::move(env)) {}
  lmdb::Env env_;
  MDB_dbi meta_ = 0, log_ = 0, heads_ = 0, members_ = 0, revoked_ = 0, peerings_ = 0;
  uint64_t keep_ = 0;
  uint64_t oldest_ = 1;
  Histogram commitTimes_;
  std::chrono::nanoseconds appendTotal_{0};
};

}  // namespace liaison::broker
