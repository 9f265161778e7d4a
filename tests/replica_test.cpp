// The replica core without sockets: a fake store and transport.
#include <gtest/gtest.h>

#include "schemas/json.h"
#include "site/precheck.h"
#include "site/replica.h"
#include "tests/support.h"
#include "trust/keys.h"

namespace liaison {
namespace {

using site::ReplicaCore;

struct FakeStore final : site::ReplicaStore {
  directory::Cursor durable;
  std::vector<uint64_t> appliedSeqs;
  int transactions = 0;
  bool failNext = false;
  directory::Cursor cursor() const override { return durable; }
  Status apply(const std::vector<bus::Entry>& entries, const directory::Cursor& after,
               std::map<std::string, uint64_t>&) override {
    if (failNext) {
      failNext = false;
      return makeError(Errc::kIo, "disk full");
    }
    for (const auto& e : entries) appliedSeqs.push_back(e.seq);
    durable = after;
    ++transactions;
    return {};
  }
};

struct FakeTransport final : site::Transport {
  std::vector<bus::Message> sent;
  void send(const bus::Message& m) override { sent.push_back(m); }
  template <typename T>
  const T* last() const {
    return sent.empty() ? nullptr : std::get_if<T>(&sent.back());
  }
};

bus::Entry entry(uint64_t seq, uint64_t epoch = 7) { return bus::Entry{epoch, seq, 0, Bytes{1}}; }

class ReplicaTest : public ::testing::Test {
 protected:
  FakeStore store;
  FakeTransport bus;
  std::unique_ptr<ReplicaCore> replica;
  int64_t now = 1000;

  void SetUp() override { restart(); }
  void restart() {
    ReplicaCore::Limits limits;
    limits.fetchItems = 2000;
    limits.fetchWindow = 3;
    replica = std::make_unique<ReplicaCore>(store, bus, limits);
    replica->start(now);
    auto* info = bus.last<bus::InfoRequest>();
    ASSERT_NE(info, nullptr);
    replica->onInfo(bus::Info{info->requestId, 7, store.durable.seq, 7401, "CASC", 1}, now);
  }
  std::vector<uint64_t> seqs(std::initializer_list<uint64_t> s) { return s; }
};

TEST_F(ReplicaTest, AppliesInOrderInOneTransactionPerFlush) {
  for (uint64_t s = 1; s <= 3; ++s) replica->onEntry(entry(s), now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.appliedSeqs, seqs({1, 2, 3}));
  EXPECT_EQ(store.transactions, 1);
  EXPECT_EQ(store.durable, (directory::Cursor{7, 3}));
}

TEST_F(ReplicaTest, GapTriggersFetchInsteadOfApply) {
  replica->onEntry(entry(1), now);
  replica->onEntry(entry(3), now);  // 2 is missing
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.appliedSeqs, seqs({1}));
  auto* fetch = bus.last<bus::FetchRequest>();
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->fromSeq, 2u);
  // The fetch answer fills the gap; the buffered 3 follows; 4 arrives live meanwhile.
  replica->onEntry(entry(4), now);
  replica->onItems(bus::Items{fetch->requestId, 7, 4, {entry(2)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.appliedSeqs, seqs({1, 2, 3, 4}));
}

TEST_F(ReplicaTest, HeartbeatAheadOrSilenceStartsCatchUp) {
  bus.sent.clear();
  replica->onHeartbeat(bus::Heartbeat{7, 5, 0}, now);
  auto* fetch = bus.last<bus::FetchRequest>();
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->fromSeq, 1u);
  // Unanswered: asked again after the retry interval, with a new request id.
  uint64_t firstId = fetch->requestId;
  replica->onTick(now + 3500);
  ASSERT_NE(bus.last<bus::FetchRequest>(), nullptr);
  EXPECT_NE(bus.last<bus::FetchRequest>()->requestId, firstId);
  // The stale answer to the first request is ignored.
  replica->onItems(bus::Items{firstId, 7, 5, {entry(1)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_TRUE(store.appliedSeqs.empty());
  // Long silence after that: the core asks the broker for its state.
  replica->onItems(bus::Items{bus.last<bus::FetchRequest>()->requestId, 7, 5,
                              {entry(1), entry(2), entry(3), entry(4), entry(5)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  bus.sent.clear();
  replica->onTick(now + 10000);
  EXPECT_NE(bus.last<bus::InfoRequest>(), nullptr);
}

TEST_F(ReplicaTest, LongFetchesContinueUntilTheHead) {
  replica->onHeartbeat(bus::Heartbeat{7, 4000, 0}, now);
  auto* fetch = bus.last<bus::FetchRequest>();
  std::vector<bus::Entry> first;
  for (uint64_t s = 1; s <= 2000; ++s) first.push_back(entry(s));
  replica->onItems(bus::Items{fetch->requestId, 7, 4000, first, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 2000u);
  ASSERT_NE(bus.last<bus::FetchRequest>(), nullptr);
  EXPECT_EQ(bus.last<bus::FetchRequest>()->fromSeq, 2001u);
}

TEST_F(ReplicaTest, CatchUpKeepsSeveralFetchesInFlightAndAppliesInOrder) {
  bus.sent.clear();
  replica->onHeartbeat(bus::Heartbeat{7, 9000, 0}, now);
  // Three consecutive ranges asked at once (the window), not one after another.
  std::vector<bus::FetchRequest> asked;
  for (const auto& m : bus.sent) {
    if (auto* f = std::get_if<bus::FetchRequest>(&m)) asked.push_back(*f);
  }
  ASSERT_EQ(asked.size(), 3u);
  EXPECT_EQ(asked[0].fromSeq, 1u);
  EXPECT_EQ(asked[1].fromSeq, 2001u);
  EXPECT_EQ(asked[2].fromSeq, 4001u);
  auto range = [](uint64_t from, uint64_t to) {
    std::vector<bus::Entry> v;
    for (uint64_t s = from; s <= to; ++s) v.push_back(entry(s));
    return v;
  };
  // The second answer first: held until the first fills the gap; each answer tops the window up.
  bus.sent.clear();
  replica->onItems(bus::Items{asked[1].requestId, 7, 9000, range(2001, 4000), false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 0u);
  replica->onItems(bus::Items{asked[0].requestId, 7, 9000, range(1, 2000), false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 4000u);
  std::vector<uint64_t> next;
  for (const auto& m : bus.sent) {
    if (auto* f = std::get_if<bus::FetchRequest>(&m)) next.push_back(f->fromSeq);
  }
  EXPECT_EQ(next, seqs({6001, 8001})) << "never past the broker's head, never a range twice";
  // An unanswered window is asked again whole, under new ids.
  bus.sent.clear();
  replica->onTick(now + 3500);
  EXPECT_EQ(bus.sent.size(), 3u);
  // A stale answer to a replaced request is ignored.
  replica->onItems(bus::Items{asked[2].requestId, 7, 9000, range(4001, 6000), false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 4000u);
  const auto again = bus.sent;  // answering may send more
  for (const auto& m : again) {
    auto* f = std::get_if<bus::FetchRequest>(&m);
    ASSERT_NE(f, nullptr);
    uint64_t to = std::min<uint64_t>(9000, f->fromSeq + 1999);
    replica->onItems(bus::Items{f->requestId, 7, 9000, range(f->fromSeq, to), false}, now);
  }
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 9000u);
  EXPECT_STREQ(replica->state(), "following");
  std::vector<uint64_t> expected;
  for (uint64_t s = 1; s <= 9000; ++s) expected.push_back(s);
  EXPECT_EQ(store.appliedSeqs, expected) << "each entry applied once, in order";
}

TEST_F(ReplicaTest, BehindTheHorizonTakesASnapshotThenTheDelta) {
  replica->onHeartbeat(bus::Heartbeat{7, 100, 0}, now);
  auto* fetch = bus.last<bus::FetchRequest>();
  replica->onItems(bus::Items{fetch->requestId, 7, 100, {}, true}, now);
  auto* snap = bus.last<bus::SnapshotRequest>();
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->afterKey, "");
  replica->onEntry(entry(101), now);  // live meanwhile: buffered
  replica->onSnapshot(bus::SnapshotChunk{snap->requestId, 7, 100, {entry(40), entry(90)}, "2b", false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 0u) << "the cursor moves only when the snapshot is complete";
  snap = bus.last<bus::SnapshotRequest>();
  ASSERT_NE(snap, nullptr);
  EXPECT_EQ(snap->afterKey, "2b");
  replica->onSnapshot(bus::SnapshotChunk{snap->requestId, 7, 102, {entry(99)}, "", true}, now);
  ASSERT_TRUE(replica->flush().ok());
  // From the snapshot's starting head on: the buffered live entry, then the delta.
  EXPECT_EQ(store.durable, (directory::Cursor{7, 101}));
  fetch = bus.last<bus::FetchRequest>();
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->fromSeq, 102u);
  replica->onItems(bus::Items{fetch->requestId, 7, 102, {entry(102)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.appliedSeqs, seqs({40, 90, 99, 101, 102}));
  EXPECT_EQ(store.durable.seq, 102u);
}

TEST_F(ReplicaTest, AnotherEpochCatchesUpFromItsStart) {
  for (uint64_t s = 1; s <= 3; ++s) replica->onEntry(entry(s), now);
  ASSERT_TRUE(replica->flush().ok());
  replica->onHeartbeat(bus::Heartbeat{9, 2, 0}, now);  // a broker with another history
  auto* fetch = bus.last<bus::FetchRequest>();
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->epoch, 7u);
  replica->onItems(bus::Items{fetch->requestId, 9, 2, {entry(1, 9), entry(2, 9)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.durable, (directory::Cursor{9, 2}));
}

TEST_F(ReplicaTest, AFailedApplyLosesNothing) {
  replica->onEntry(entry(1), now);
  store.failNext = true;
  EXPECT_FALSE(replica->flush().ok());
  EXPECT_EQ(store.durable.seq, 0u);
  replica->onEntry(entry(2), now);  // 1 is no longer pending: a gap, fetched
  auto* fetch = bus.last<bus::FetchRequest>();
  ASSERT_NE(fetch, nullptr);
  EXPECT_EQ(fetch->fromSeq, 1u);
  replica->onItems(bus::Items{fetch->requestId, 7, 2, {entry(1), entry(2)}, false}, now);
  ASSERT_TRUE(replica->flush().ok());
  EXPECT_EQ(store.appliedSeqs, seqs({1, 2}));
}

// The precheck gives each entry the result of its own bytes, checked on the pool ahead of the
// apply or then and there, and never another entry's.
TEST(Precheck, EachEntryGetsTheCheckOfItsOwnBytes) {
  auto keys = trust::generateKeyPair();
  auto signedEntry = [&](uint64_t seq) {
    auto items = json::parseInput("t", testing::contactJson("kg-" + std::to_string(seq)));
    EXPECT_TRUE(items.ok());
    return bus::Entry{7, seq, 0, trust::sign(std::move(std::get<OwnedItem>(items->front())), "kg", keys).encode()};
  };
  site::Precheck precheck(2);
  std::vector<bus::Entry> answer;
  for (uint64_t s = 1; s <= 100; ++s) answer.push_back(signedEntry(s));
  uint64_t ticket = precheck.prepare(answer);
  // Another answer with the same seqs but altered bytes: it must not get the good results.
  auto forged = answer;
  forged[3].envelope[forged[3].envelope.size() - 70] ^= 0x55;
  auto results = precheck.take(forged);
  ASSERT_EQ(results.size(), 100u);
  EXPECT_FALSE(results[3].signatureValid);
  EXPECT_TRUE(results[4].signatureValid);
  EXPECT_EQ(results[4].item->signer, "kg");
  EXPECT_EQ(precheck.prepared(), 99u) << "the untouched entries came from the pool";
  EXPECT_TRUE(precheck.ready(ticket));
  EXPECT_EQ(precheck.heldAnswers(), 1u) << "one result is not handed out yet";
  // Handed out once: the same entries again are checked again, with the same verdicts.
  results = precheck.take(answer);
  EXPECT_EQ(precheck.prepared(), 100u);
  for (const auto& r : results) EXPECT_TRUE(r.signatureValid);
  EXPECT_EQ(precheck.heldAnswers(), 0u) << "an answer all handed out is let go at once";
  // Garbage is a refusal with a reason, not a crash.
  auto garbage = precheck.take({bus::Entry{7, 500, 0, Bytes(40, 0xab)}});
  EXPECT_FALSE(garbage[0].item.ok());
  // Only the last few answers are held: memory stays bounded whatever is never applied.
  for (size_t k = 0; k < site::Precheck::kBatchesKept + 3; ++k) precheck.prepare(answer);
  for (size_t k = 0; k < site::Precheck::kBatchesKept + 1; ++k) {
    uint64_t before = precheck.prepared();
    results = precheck.take(answer);
    EXPECT_EQ(precheck.prepared() - before, k < site::Precheck::kBatchesKept ? 100u : 0u) << k;
    EXPECT_TRUE(results[99].signatureValid);
  }
}

}  // namespace
}  // namespace liaison
