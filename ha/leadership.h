// Who sequences a network's log: the broker of the pair that holds the leadership key in etcd,
// bound to its lease (the way Patroni decides which PostgreSQL is the primary). Pure: etcd comes
// in by reference and the time (steady milliseconds) as an argument, so a fake etcd and a
// simulated clock test every interleaving.
//
// Operation: tick() is called every ttl/8 or so (a thread of its own in the broker: etcd calls
// block). It keeps a lease (granted with `ttl`, renewed every ttl/4), and when this broker is
// `eligible` (alone, or the standby etcd shows in sync) and nobody holds the key, creates it
// with this broker's name, bound to the lease.
//
// Fencing: etcd drops the key when the lease has not been renewed for `ttl`, counted from when
// etcd received the last renewal, which is after this broker sent it. leading() is true only
// until `sent + ttl - margin` of the last renewal that succeeded, so a leader that cannot reach
// etcd (partitioned, paused, its etcd member dead) has stopped sequencing before the key can
// pass to the other broker. A broker that finds the key under its own name but another lease
// (its previous run) does not lead: it waits for that lease to pass like anyone else.
// Concurrency: one thread calls tick() and resign(); leadingUntilMs() is for an atomic that
// the sequencing thread reads.
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>

#include "ha/etcd.h"

namespace liaison::ha {

struct LeadershipOptions {
  std::string key;   // e.g. "/liaison/CASC/leader"
  std::string self;  // this broker's name in the pair (its --pair-listen address)
  std::chrono::seconds ttl{2};
};

class Leadership {
 public:
  Leadership(Etcd& etcd, LeadershipOptions options);

  void tick(int64_t nowMs, bool eligible);
  // Whether this broker may sequence at `nowMs`.
  bool leading(int64_t nowMs) const { return nowMs < leadingUntilMs(); }
  // Until when (steady ms) this broker may sequence; 0 when it does not lead.
  int64_t leadingUntilMs() const { return holding_ ? validUntilMs_ - marginMs() : 0; }
  // The name under the key when last read ("" when nobody holds it, nullopt before any read).
  const std::optional<std::string>& leader() const { return leader_; }
  const std::string& lastError() const { return lastError_; }
  // Gives the leadership up at once (revokes the lease: the key goes with it). For a clean stop.
  void resign();

 private:
  int64_t ttlMs() const { return static_cast<int64_t>(o_.ttl.count()) * 1000; }
  int64_t marginMs() const { return ttlMs() / 4; }
  void lost(const std::string& why);

  Etcd& etcd_;
  LeadershipOptions o_;
  int64_t lease_ = 0;
  int64_t validUntilMs_ = 0;  // the lease is certainly alive before this
  int64_t nextRenewMs_ = 0;
  bool holding_ = false;      // the key holds our name under our lease
  std::optional<std::string> leader_;
  std::string lastError_;
};

}  // namespace liaison::ha
