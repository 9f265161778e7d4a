// The broker core on a real LMDB store, and the bus protocol's edge.
#include <gtest/gtest.h>

#include <random>

#include "broker/store.h"
#include "bus/protocol.h"
#include "schemas/json.h"
#include "tests/support.h"

namespace liaison {
namespace {

constexpr int64_t kNow = 1'800'000'000;

class BrokerTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  ManualClock clock{kNow};
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  std::unique_ptr<broker::LmdbStore> store;
  std::unique_ptr<broker::Core> core;

  void SetUp() override { reopen(); }

  void reopen() {
    core.reset();
    store.reset();
    auto s = broker::LmdbStore::open(tmp / "broker", size_t{64} << 20);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store = std::move(s).value();
    core = std::make_unique<broker::Core>(*store, clock, root.pub.sign, 77);
    ASSERT_TRUE(core->load().ok());
  }

  Bytes cert(const std::string& site, const trust::KeyPair& keys, std::vector<std::string> cc) {
    auto c = testing::certFor(site, keys, std::move(cc), "authority", kNow - 10, kNow + 1000);
    return trust::sign(trust::memberItem(c), "root", root).encode();
  }

  Bytes record(const std::string& id, const std::string& extra = "",
               const std::string& signer = "kg-bishkek") {
    auto items = json::parseInput("t", testing::contactJson(id, extra));
    EXPECT_TRUE(items.ok());
    return trust::sign(std::move(std::get<OwnedItem>(items->front())), signer, kg).encode();
  }

  bus::SubmitResult submit(const Bytes& envelope, std::optional<bus::Entry>* fanout = nullptr) {
    std::optional<bus::Entry> out;
    auto r = core->submit(bus::SubmitRequest{1, envelope}, out);
    EXPECT_TRUE(r.ok());
    if (fanout != nullptr) *fanout = out;
    EXPECT_EQ(out.has_value(), r->accepted);
    return *r;
  }
};

TEST_F(BrokerTest, SequencesWithoutGapsAndServesFetches) {
  EXPECT_EQ(core->epoch(), 77u);
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  std::optional<bus::Entry> fanout;
  auto r = submit(record("kg-1"), &fanout);
  ASSERT_TRUE(r.accepted) << r.detail;
  EXPECT_EQ(r.seq, 2u);
  EXPECT_EQ(fanout->seq, 2u);
  EXPECT_EQ(fanout->acceptedAt, kNow);
  EXPECT_EQ(submit(record("kg-2")).seq, 3u);
  auto items = core->fetch(bus::FetchRequest{9, 77, 2, 0}, 100);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->entries.size(), 2u);
  EXPECT_EQ(items->entries[0], *fanout);
  EXPECT_EQ(items->head, 3u);
  // A cursor of another epoch gets everything from the start.
  EXPECT_EQ(core->fetch(bus::FetchRequest{9, 5, 3, 0}, 100)->entries.size(), 3u);
}

TEST_F(BrokerTest, RefusesWithAReasonAndLogsNothing) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 2)")).accepted);
  Bytes forged = record("kg-2");
  forged[forged.size() - 70] ^= 0x55;  // inside the signature
  Bytes garbage(64, 0xab);
  auto stranger = trust::generateKeyPair();
  auto strangerItems = json::parseInput("t", testing::contactJson("kg-3"));
  Bytes unknown = trust::sign(std::move(std::get<OwnedItem>(strangerItems->front())), "nobody", stranger).encode();
  struct Case {
    Bytes envelope;
    std::string reason;
  } cases[] = {
      {forged, "bad signature"},
      {garbage, "malformed"},
      {unknown, "unknown signer"},
      {record("th-1", R"("country": "TH")"), "out of scope"},
      {record("kg-1", R"("revision": 2)"), "stale revision"},
      {record("kg-1", R"("revision": 1)"), "stale revision"},
  };
  for (const auto& c : cases) {
    auto r = submit(c.envelope);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.refusal, c.reason) << r.detail;
  }
  EXPECT_EQ(core->head(), 2u);
  EXPECT_EQ(core->refusals().at("stale revision"), 2u);
  EXPECT_EQ(core->fetch(bus::FetchRequest{1, 77, 1, 0}, 100)->entries.size(), 2u);
}

TEST_F(BrokerTest, StateSurvivesARestart) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 5)")).accepted);
  reopen();
  EXPECT_EQ(core->epoch(), 77u);
  EXPECT_EQ(core->head(), 2u);
  EXPECT_EQ(submit(record("kg-1", R"("revision": 5)")).refusal, "stale revision");
  EXPECT_EQ(submit(record("kg-1", R"("revision": 6)")).seq, 3u);
}

TEST_F(BrokerTest, MembershipDecidesWhoIsAdmitted) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  auto admitted = core->admitted();
  ASSERT_EQ(admitted.size(), 1u);
  EXPECT_EQ(admitted.at(kg.pub.curve), "kg-bishkek");
  auto revocation = trust::sign(trust::revocationItem("kg-bishkek", kNow, "test"), "root", root);
  ASSERT_TRUE(submit(revocation.encode()).accepted);
  EXPECT_TRUE(core->admitted().empty());
  EXPECT_EQ(submit(record("kg-9")).refusal, "certificate revoked");
  clock.advance(2000);  // past the certificate's validity
  EXPECT_FALSE(core->isAdmitted("kg-bishkek"));
}

TEST(Protocol, RoundTripsEveryMessage) {
  std::vector<bus::Message> messages = {
      bus::SubmitRequest{1, Bytes{1, 2, 3}},
      bus::SubmitResult{2, false, 0, "out of scope", "kg may not publish for TH"},
      bus::FetchRequest{3, 77, 10, 500},
      bus::Items{4, 77, 12, {bus::Entry{77, 11, 5, Bytes(16, 7)}, bus::Entry{77, 12, 6, {}}}, false},
      bus::Heartbeat{77, 12, 99},
      bus::Entry{77, 13, 100, Bytes(40, 1)},
      bus::ProtocolError{"bad request"},
  };
  for (const auto& m : messages) {
    auto back = bus::decode(bus::encode(m));
    ASSERT_TRUE(back.ok()) << back.error().message;
    EXPECT_EQ(back->index(), m.index());
    EXPECT_EQ(bus::encode(*back), bus::encode(m));
  }
}

TEST(Protocol, GarbageIsAnErrorNeverACrash) {
  std::mt19937 rng(11);
  int errors = 0;
  for (int i = 0; i < 3000; ++i) {
    std::string frame(static_cast<size_t>(rng() % 300), '\0');
    for (auto& c : frame) c = static_cast<char>(rng());
    if (!bus::decode(frame).ok()) ++errors;
  }
  EXPECT_GT(errors, 2000);
  // A valid message with its bytes flipped one at a time.
  std::string good = bus::encode(bus::Items{4, 77, 12, {bus::Entry{77, 11, 5, Bytes(16, 7)}}, false});
  for (size_t i = 0; i < good.size(); ++i) {
    std::string bad = good;
    bad[i] = static_cast<char>(bad[i] ^ 0xff);
    (void)bus::decode(bad);
  }
  EXPECT_FALSE(bus::decode(std::string(bus::kMaxFrameBytes + 8, '\0')).ok());
}

}  // namespace
}  // namespace liaison
