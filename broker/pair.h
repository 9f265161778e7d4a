// The broker pair's view of leadership (DESIGN.md, "High availability and operations"): a thread
// of its own that keeps this broker's lease in etcd, takes the leader key when this broker may
// lead, and writes the sync key the leader's loop asks for.
//
// Keys: /liaison/NETWORK/leader holds the leading broker's name (its --pair-listen), bound to
// its lease; /liaison/NETWORK/sync holds the names, space-separated, of the brokers whose copy
// is whole: the leader alone ("A"), or the leader and its synchronous standby ("A B"). It is
// written only by the leader, guarded by the leader key. A broker may take the leader key only
// when its name is in the sync key (or no sync key exists yet: a new pair) and its own copy is
// whole (no copy half-received): a standby not shown in sync never takes over. With no sync key
// yet, a broker whose store is empty waits two leases before it may lead, so that a broker
// holding a log (one being made a pair) leads and the empty one takes its copy, not the reverse.
//
// Operation: the thread ticks every ttl/8 (etcd calls block; the loop never waits for them).
// The loop reads leadingUntilMs() (an atomic) before it sequences or releases anything, so a
// leader that cannot renew its lease stops before the lease can pass (ha::Leadership's fencing).
// Concurrency: want(), confirmed(), setWhole() and leader() may be called from any thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <chrono>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "common/result.h"
#include "ha/etcd.h"
#include "ha/leadership.h"

namespace liaison::broker {

class PairControl {
 public:
  // `etcd`: "http://HOST:PORT[,http://...]"; `self`: this broker's name.
  static Result<std::unique_ptr<PairControl>> start(const std::string& etcd, const std::string& network,
                                                    const std::string& self, std::chrono::seconds ttl,
                                                    bool whole, bool empty);
  ~PairControl();  // stops the thread; a leader resigns (its lease is revoked: the other takes over)
  PairControl(const PairControl&) = delete;
  PairControl& operator=(const PairControl&) = delete;

  int64_t leadingUntilMs() const { return leadingUntil_.load(); }
  // The sync key's value the leader wants; confirmed() is what etcd holds by this leader's write
  // ("" until then, and whenever this broker does not lead).
  void want(const std::string& sync);
  std::string confirmed() const;
  // Whether this broker's copy is whole (false while a copy from the leader is half-received).
  void setWhole(bool whole) { whole_ = whole; }
  // The leader's name as last read ("" nobody).
  std::string leader() const;
  const std::string& self() const { return self_; }
  // Whether `name` is among the space-separated names of a sync value.
  static bool names(const std::string& sync, const std::string& name);

 private:
  PairControl(std::unique_ptr<ha::EtcdClient> etcd, std::string network, std::string self, std::chrono::seconds ttl,
              bool whole, bool empty);
  void run();

  std::unique_ptr<ha::EtcdClient> etcd_;
  const std::string self_, leaderKey_, syncKey_;
  const std::chrono::seconds ttl_;
  ha::Leadership leadership_;
  std::atomic<int64_t> leadingUntil_{0};
  std::atomic<bool> whole_;
  const int64_t firstMayLeadMs_;  // with no sync key yet: now, or two leases on for an empty store
  std::atomic<bool> stop_{false};
  mutable std::mutex mutex_;
  std::condition_variable wake_;  // want() and the destructor wake the thread
  std::string wanted_, confirmed_, leader_;  // guarded by mutex_
  std::string lastSaid_;                      // the last etcd trouble logged (thread only)
  std::thread thread_;
};

}  // namespace liaison::broker
