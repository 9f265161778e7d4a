// The broker pair's leadership core against an in-memory etcd and a simulated clock: who leads,
// and that a leader cut off from etcd has stopped before its key can pass to the other.
#include <gtest/gtest.h>

#include <map>

#include "ha/leadership.h"

namespace liaison {
namespace {

using ha::EtcdValue;

// etcd's lease and key semantics, in memory, on a clock the test moves. Leases pass `ttl` after
// their last renewal as etcd receives it.
class FakeEtcd {
 public:
  int64_t now = 0;
  struct Lease {
    int64_t ttlMs = 0, expiresMs = 0;
  };
  std::map<int64_t, Lease> leases;
  std::map<std::string, EtcdValue> kv;
  int64_t nextLease = 100, revision = 1;

  void expire() {
    for (auto it = leases.begin(); it != leases.end();) {
      if (it->second.expiresMs > now) {
        ++it;
        continue;
      }
      for (auto k = kv.begin(); k != kv.end();) k = k->second.lease == it->first ? kv.erase(k) : std::next(k);
      it = leases.erase(it);
    }
  }
  // The lease `id` is alive at `now`.
  bool alive(int64_t id) {
    expire();
    return leases.count(id) != 0;
  }
};

// One broker's connection to the fake etcd, which the test can cut.
class Connection final : public ha::Etcd {
 public:
  explicit Connection(FakeEtcd& etcd) : e_(etcd) {}
  bool cut = false;

  Result<int64_t> grantLease(std::chrono::seconds ttl) override {
    if (cut) return down();
    e_.expire();
    int64_t id = e_.nextLease++;
    e_.leases[id] = {ttl.count() * 1000, e_.now + ttl.count() * 1000};
    return id;
  }
  Result<int64_t> keepAlive(int64_t lease) override {
    if (cut) return down();
    e_.expire();
    auto it = e_.leases.find(lease);
    if (it == e_.leases.end()) return int64_t{0};
    it->second.expiresMs = e_.now + it->second.ttlMs;
    return it->second.ttlMs / 1000;
  }
  Status revokeLease(int64_t lease) override {
    if (cut) return down();
    auto it = e_.leases.find(lease);
    if (it != e_.leases.end()) it->second.expiresMs = e_.now;
    e_.expire();
    return {};
  }
  Result<bool> createIfAbsent(const std::string& key, const std::string& value, int64_t lease,
                              std::optional<EtcdValue>* current) override {
    if (cut) return down();
    e_.expire();
    auto it = e_.kv.find(key);
    if (it != e_.kv.end()) {
      if (current != nullptr) *current = it->second;
      return false;
    }
    e_.kv[key] = EtcdValue{value, ++e_.revision, lease};
    return true;
  }
  Result<bool> putIf(const std::string& guardKey, const std::string& guardValue, const std::string& key,
                     const std::string& value) override {
    if (cut) return down();
    e_.expire();
    auto it = e_.kv.find(guardKey);
    if (it == e_.kv.end() || it->second.value != guardValue) return false;
    e_.kv[key] = EtcdValue{value, ++e_.revision, 0};
    return true;
  }
  Result<std::optional<EtcdValue>> get(const std::string& key) override {
    if (cut) return down();
    e_.expire();
    auto it = e_.kv.find(key);
    if (it == e_.kv.end()) return std::optional<EtcdValue>();
    return std::optional<EtcdValue>(it->second);
  }

 private:
  static Error down() { return makeError(Errc::kUnavailable, "etcd: no endpoint answered"); }
  FakeEtcd& e_;
};

class LeadershipTest : public ::testing::Test {
 protected:
  FakeEtcd etcd;
  Connection toA{etcd}, toB{etcd};
  ha::Leadership a{toA, {"/liaison/CASC/leader", "broker-a", std::chrono::seconds(2)}};
  ha::Leadership b{toB, {"/liaison/CASC/leader", "broker-b", std::chrono::seconds(2)}};

  // Moves the clock in steps of 100 ms for `ms`, ticking both; checks at every step that at most
  // one leads, and that whoever leads holds the key under a lease etcd still holds.
  void run(int64_t ms, bool aEligible, bool bEligible) {
    for (int64_t end = etcd.now + ms; etcd.now < end;) {
      etcd.now += 100;
      a.tick(etcd.now, aEligible);
      b.tick(etcd.now, bEligible);
      ASSERT_FALSE(a.leading(etcd.now) && b.leading(etcd.now)) << "both lead at " << etcd.now;
      for (auto* who : {&a, &b}) {
        if (!who->leading(etcd.now)) continue;
        auto held = etcd.kv.find("/liaison/CASC/leader");
        ASSERT_NE(held, etcd.kv.end()) << "a leader without the key at " << etcd.now;
        ASSERT_TRUE(etcd.alive(held->second.lease)) << "a leader whose lease passed at " << etcd.now;
        ASSERT_EQ(held->second.value, who == &a ? "broker-a" : "broker-b");
      }
    }
  }
};

TEST_F(LeadershipTest, OneLeadsTheOtherKnowsWhoAndItLastsWhileRenewed) {
  run(100, true, false);
  EXPECT_TRUE(a.leading(etcd.now));
  run(100, true, true);
  EXPECT_FALSE(b.leading(etcd.now));
  EXPECT_EQ(b.leader(), "broker-a");
  run(30'000, true, true);  // many lease periods: renewed all along
  EXPECT_TRUE(a.leading(etcd.now));
  EXPECT_FALSE(b.leading(etcd.now));
}

TEST_F(LeadershipTest, ALeaderCutOffFromEtcdStopsBeforeItsKeyPassesAndTheStandbyTakesOver) {
  run(500, true, true);
  ASSERT_TRUE(a.leading(etcd.now));
  toA.cut = true;
  const int64_t cutAt = etcd.now;
  int64_t aStopped = -1, bLeads = -1;
  for (int i = 0; i < 60 && bLeads < 0; ++i) {
    run(100, true, true);
    if (aStopped < 0 && !a.leading(etcd.now)) aStopped = etcd.now;
    if (b.leading(etcd.now)) bLeads = etcd.now;
  }
  ASSERT_GE(aStopped, 0);
  ASSERT_GE(bLeads, 0) << "the standby never took over";
  EXPECT_LT(aStopped, bLeads);
  EXPECT_LE(bLeads - cutAt, 2'600);  // the lease (2 s) and a step or two
  EXPECT_EQ(b.leader(), "broker-b");
  // A comes back: it follows.
  toA.cut = false;
  run(3'000, true, true);
  EXPECT_FALSE(a.leading(etcd.now));
  EXPECT_EQ(a.leader(), "broker-b");
}

TEST_F(LeadershipTest, AStandbyNotInSyncNeverTakesOver) {
  run(500, true, false);
  ASSERT_TRUE(a.leading(etcd.now));
  toA.cut = true;
  run(10'000, true, false);
  EXPECT_FALSE(a.leading(etcd.now));
  EXPECT_FALSE(b.leading(etcd.now));
  EXPECT_EQ(b.leader(), "");  // nobody: the network waits for a broker that may lead
}

TEST_F(LeadershipTest, AResignationHandsOverAtOnce) {
  run(500, true, true);
  ASSERT_TRUE(a.leading(etcd.now));
  a.resign();
  EXPECT_FALSE(a.leading(etcd.now));
  etcd.now += 100;
  b.tick(etcd.now, true);
  EXPECT_TRUE(b.leading(etcd.now));
}

TEST_F(LeadershipTest, AKeyUnderItsOwnNameFromAnEarlierRunIsNotTakenForItsOwn) {
  // The key holds broker-a's name under a lease of a run of broker-a that died.
  Connection earlier{etcd};
  auto lease = earlier.grantLease(std::chrono::seconds(2));
  ASSERT_TRUE(lease.ok());
  ASSERT_TRUE(*earlier.createIfAbsent("/liaison/CASC/leader", "broker-a", *lease, nullptr));
  etcd.now += 100;
  a.tick(etcd.now, true);
  EXPECT_FALSE(a.leading(etcd.now));
  run(2'500, true, false);  // the old lease passes: then this run leads
  EXPECT_TRUE(a.leading(etcd.now));
}

}  // namespace
}  // namespace liaison
