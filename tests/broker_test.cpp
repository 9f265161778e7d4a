// The broker core on a real LMDB store, and the bus protocol's edge.
#include <gtest/gtest.h>

#include <filesystem>
#include <random>

#include <lmdb.h>

#include "broker/store.h"
#include "bus/protocol.h"
#include "schemas/alert_json.h"
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

  void reopen(uint64_t keep = 0) {
    core.reset();
    store.reset();
    auto s = broker::LmdbStore::open(tmp / "broker", size_t{64} << 20, keep);
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

  bus::SubmitResult submitAll(const std::vector<Bytes>& envelopes,
                              std::vector<bus::Entry>* fanout = nullptr) {
    std::vector<bus::Entry> out;
    auto r = core->submit(bus::SubmitRequest{1, envelopes}, out);
    EXPECT_TRUE(r.ok());
    if (fanout != nullptr) *fanout = out;
    if (!r->accepted) {
      EXPECT_TRUE(out.empty());
    }
    return *r;
  }
  bus::SubmitResult submit(const Bytes& envelope, std::vector<bus::Entry>* fanout = nullptr) {
    return submitAll({envelope}, fanout);
  }
};

TEST_F(BrokerTest, SequencesWithoutGapsAndServesFetches) {
  EXPECT_EQ(core->epoch(), 77u);
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  std::vector<bus::Entry> fanout;
  auto r = submit(record("kg-1"), &fanout);
  ASSERT_TRUE(r.accepted) << r.detail;
  EXPECT_EQ(r.firstSeq, 2u);
  ASSERT_EQ(fanout.size(), 1u);
  EXPECT_EQ(fanout[0].seq, 2u);
  EXPECT_EQ(fanout[0].acceptedAt, kNow);
  EXPECT_EQ(submit(record("kg-2")).firstSeq, 3u);
  auto items = core->fetch(bus::FetchRequest{9, 77, 2, 0}, 100);
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->entries.size(), 2u);
  EXPECT_EQ(items->entries[0], fanout[0]);
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
  };
  for (const auto& c : cases) {
    // Alone, and after a good item in the same submission: nothing of it is accepted.
    auto r = submit(c.envelope);
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.refusal, c.reason) << r.detail;
    r = submitAll({record("kg-ok", R"("revision": 9)"), c.envelope});
    EXPECT_FALSE(r.accepted);
    EXPECT_EQ(r.index, 1u);
  }
  // Replays are harmless: dropped and counted, not logged.
  auto replay = submitAll({record("kg-1", R"("revision": 2)"), record("kg-1", R"("revision": 1)")});
  EXPECT_TRUE(replay.accepted);
  EXPECT_EQ(replay.ignored, 2u);
  EXPECT_EQ(core->head(), 2u);
  EXPECT_EQ(core->refusals().at("stale revision"), 2u);
  // The refused batches left no trace in memory either: kg-ok revision 9 is still new.
  EXPECT_TRUE(submit(record("kg-ok", R"("revision": 9)")).accepted);
  EXPECT_EQ(core->fetch(bus::FetchRequest{1, 77, 1, 0}, 100)->entries.size(), 3u);
}

TEST_F(BrokerTest, StateSurvivesARestart) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 5)")).accepted);
  reopen();
  EXPECT_EQ(core->epoch(), 77u);
  EXPECT_EQ(core->head(), 2u);
  EXPECT_EQ(submit(record("kg-1", R"("revision": 5)")).ignored, 1u);
  EXPECT_EQ(submit(record("kg-1", R"("revision": 6)")).firstSeq, 3u);
}

// Record heads live in the store, not in memory: a batch sees its own earlier items, a refused
// batch leaves nothing, and the role and network indexes that route alerts follow every change
// and are rebuilt the same after a restart.
TEST_F(BrokerTest, RecordHeadsAndAlertRoutingFollowTheStore) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  auto r = submitAll({record("kg-1", R"("revision": 1)"), record("kg-1", R"("revision": 2)"),
                      record("kg-1", R"("revision": 2)")});
  ASSERT_TRUE(r.accepted) << r.detail;
  EXPECT_EQ(r.lastSeq - r.firstSeq + 1, 2u);
  EXPECT_EQ(r.ignored, 1u) << "the same revision again within the batch is a replay";
  EXPECT_EQ(core->siteOfRecord("kg-1"), "kg-bishkek");
  EXPECT_EQ(core->sitesWithRole("prosecutor"), std::set<std::string>{"kg-bishkek"});
  EXPECT_EQ(core->sitesInNetwork("CASC"), std::set<std::string>{"kg-bishkek"});
  // A refused batch that would have moved kg-1 on: revision 3 is still new afterwards.
  Bytes garbage(64, 0xab);
  EXPECT_FALSE(submitAll({record("kg-1", R"("revision": 3, "role": "investigator")"), garbage}).accepted);
  EXPECT_TRUE(core->sitesWithRole("investigator").empty());
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 3, "role": "investigator")")).accepted);
  EXPECT_TRUE(core->sitesWithRole("prosecutor").empty());
  EXPECT_EQ(core->sitesWithRole("investigator"), std::set<std::string>{"kg-bishkek"});
  ASSERT_TRUE(submit(record("kg-2", R"("role": "investigator", "networks": ["CASC", "SEAJust"])")).accepted);
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 4, "status": "retired")")).accepted);
  EXPECT_FALSE(core->siteOfRecord("kg-1").has_value()) << "a retired contact is no alert target";
  EXPECT_EQ(core->siteOfRecord("kg-2"), "kg-bishkek");
  reopen();
  EXPECT_FALSE(core->siteOfRecord("kg-1").has_value());
  EXPECT_EQ(core->sitesWithRole("investigator"), std::set<std::string>{"kg-bishkek"});
  EXPECT_EQ(core->sitesInNetwork("SEAJust"), std::set<std::string>{"kg-bishkek"});
  EXPECT_EQ(submit(record("kg-1", R"("revision": 4)")).ignored, 1u);
  ASSERT_TRUE(submit(record("kg-2", R"("revision": 2, "status": "retired")")).accepted);
  EXPECT_TRUE(core->sitesWithRole("investigator").empty());
  EXPECT_TRUE(core->sitesInNetwork("CASC").empty());
}

TEST_F(BrokerTest, ABatchCarriesACertificateAndItsRecords) {
  auto th = trust::generateKeyPair();
  auto c = testing::certFor("th-bangkok", th, {"TH"}, "authority", kNow - 10, kNow + 1000);
  auto items = json::parseInput("t", testing::contactJson("th-1", R"("country": "TH")"));
  Bytes rec = trust::sign(std::move(std::get<OwnedItem>(items->front())), "th-bangkok", th).encode();
  auto r = submitAll({trust::sign(trust::memberItem(c), "root", root).encode(), rec});
  ASSERT_TRUE(r.accepted) << r.detail;
  EXPECT_EQ(r.firstSeq, 1u);
  EXPECT_EQ(r.lastSeq, 2u);
}

TEST_F(BrokerTest, CompactedLogServesASnapshot) {
  reopen(/*keep=*/3);
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  for (int i = 0; i < 10; ++i) {
    ASSERT_TRUE(submit(record("kg-" + std::to_string(i % 4), "\"revision\": " + std::to_string(i + 1))).accepted);
  }
  EXPECT_EQ(core->head(), 11u);
  auto old = core->fetch(bus::FetchRequest{1, 77, 2, 0}, 100);
  ASSERT_TRUE(old.ok());
  EXPECT_TRUE(old->horizon);
  EXPECT_EQ(core->fetch(bus::FetchRequest{1, 77, 9, 0}, 100)->entries.size(), 3u);
  // The snapshot, two items a chunk: the certificate, then each record at its last revision.
  std::vector<bus::Entry> all;
  std::string after;
  for (int chunks = 0; chunks < 10; ++chunks) {
    auto s = core->snapshot(bus::SnapshotRequest{1, after, 2}, 100);
    ASSERT_TRUE(s.ok());
    all.insert(all.end(), s->entries.begin(), s->entries.end());
    if (s->done) break;
    after = s->nextKey;
  }
  ASSERT_EQ(all.size(), 5u);
  EXPECT_EQ(all[0].seq, 1u);  // the certificate first
  std::map<std::string, uint64_t> revisions;
  for (size_t i = 1; i < all.size(); ++i) {
    auto item = SignedItem::decode(all[i].envelope);
    ASSERT_TRUE(item.ok());
    revisions[itemId(item->item.reader())] = item->item.reader().getRecord().getRevision();
  }
  EXPECT_EQ(revisions, (std::map<std::string, uint64_t>{{"kg-0", 9}, {"kg-1", 10}, {"kg-2", 7}, {"kg-3", 8}}));
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
      bus::SubmitRequest{1, {Bytes{1, 2, 3}, Bytes{4}}},
      bus::SubmitResult{2, false, 0, 0, "out of scope", "kg may not publish for TH", 1, 0},
      bus::InfoRequest{5},
      bus::Info{6, 77, 12, 7401, "CASC", 1},
      bus::SnapshotRequest{7, "2kg-1", 100},
      bus::SnapshotChunk{8, 77, 12, {bus::Entry{77, 3, 5, Bytes(8, 1)}}, "2kg-2", false},
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

// Inputs the fuzzers found (tests/data/fuzz-regressions/): each is read as the broker and the

// A bulk publish's submission, encoded while its envelopes are given back: the broker reads the
// same request, envelope for envelope, as from the plain encoding.
TEST(Protocol, ASubmissionEncodedInPlaceReadsAsTheSameRequest) {
  std::vector<Bytes> envelopes;
  for (int i = 0; i < 3000; ++i) envelopes.push_back(Bytes(static_cast<size_t>(900 + i % 13), static_cast<uint8_t>(i)));
  const bus::SubmitRequest plain{42, envelopes};
  auto frame = bus::encodeSubmit(42, std::move(envelopes));
  EXPECT_TRUE(envelopes.empty());
  auto back = bus::decode(frame);
  ASSERT_TRUE(back.ok()) << back.error().message;
  auto* submit = std::get_if<bus::SubmitRequest>(&*back);
  ASSERT_NE(submit, nullptr);
  EXPECT_EQ(submit->requestId, 42u);
  EXPECT_EQ(submit->envelopes, plain.envelopes);
  EXPECT_EQ(bus::encode(*back), bus::encode(plain));
}
// sites read a frame, and must end in a refusal, never in an exception.
TEST(Protocol, InputsTheFuzzersFoundAreRefusedNotThrown) {
  const std::string dir = testing::sourceDir() + "/tests/data/fuzz-regressions/bus_frame";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    std::string frame = testing::readText(entry.path());
    auto decoded = bus::decode(frame);
    if (!decoded) continue;
    std::vector<Bytes> envelopes;
    if (auto* a = std::get_if<bus::AlertRequest>(&*decoded)) envelopes.push_back(a->envelope);
    if (auto* d = std::get_if<bus::Delivery>(&*decoded)) envelopes.push_back(d->envelope);
    if (auto* s = std::get_if<bus::SubmitRequest>(&*decoded)) envelopes = s->envelopes;
    for (const auto& e : envelopes) {
      auto item = SignedItem::decode(e);
      if (!item) {
        EXPECT_NE(item.error().message.find("malformed"), std::string::npos) << item.error().message;
        continue;
      }
      auto r = item->item.reader();
      EXPECT_NO_THROW({
        if (r.which() == schema::Item::ALERT) (void)json::checkAlert(r.getAlert());
        if (r.which() == schema::Item::ACK) (void)json::checkAck(r.getAck());
        if (r.which() == schema::Item::RECORD) (void)json::recordToJson(r.getRecord());
      }) << entry.path();
    }
  }
  EXPECT_GE(files, 1u);
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


// The broker pair's standby: a compact copy of the leader's store, then the journal of every write
// transaction applied in order, is the same store; a core loaded from it continues the history
// (same epoch, next seq), which is what a takeover needs.
TEST_F(BrokerTest, ACopyFollowingTheJournalContinuesTheHistoryAndRefusesABrokenJournal) {
  ASSERT_TRUE(submit(cert("kg-bishkek", kg, {"KG"})).accepted);
  ASSERT_TRUE(std::filesystem::create_directories(tmp / "copy"));
  ASSERT_EQ(mdb_env_copy2(store->env().get(), (tmp / "copy").c_str(), MDB_CP_COMPACT), 0);
  std::string journal;
  store->env().setJournal(&journal);
  ASSERT_TRUE(submitAll({record("kg-1"), record("kg-2")}).accepted);
  ASSERT_TRUE(submit(record("kg-1", R"("revision": 2)")).accepted);  // a head rewritten
  EXPECT_FALSE(submit(record("kg-3", "", "kz-almaty")).accepted);                  // refused: nothing written
  ASSERT_FALSE(journal.empty());

  auto copy = broker::LmdbStore::open(tmp / "copy", size_t{64} << 20);
  ASSERT_TRUE(copy.ok()) << copy.error().message;
  ASSERT_TRUE(lmdb::applyJournal((*copy)->env(), journal).ok());
  auto mine = store->range(1, 100);
  auto theirs = (*copy)->range(1, 100);
  ASSERT_TRUE(mine.ok() && theirs.ok());
  ASSERT_EQ(theirs->size(), 4u);
  for (size_t i = 0; i < mine->size(); ++i) {
    EXPECT_EQ((*theirs)[i].seq, (*mine)[i].seq);
    EXPECT_EQ((*theirs)[i].envelope, (*mine)[i].envelope);
  }
  auto head = (*copy)->head("kg-1");
  ASSERT_TRUE(head.ok() && head->has_value());
  EXPECT_EQ((*head)->existing.revision, 2u);

  // A takeover: the copy's core keeps the leader's epoch (not its own new one) and the next seq.
  broker::Core next(**copy, clock, root.pub.sign, 78);
  ASSERT_TRUE(next.load().ok());
  EXPECT_EQ(next.epoch(), 77u);
  std::vector<bus::Entry> out;
  auto r = next.submit(bus::SubmitRequest{2, {record("kg-4")}}, out);
  ASSERT_TRUE(r.ok() && r->accepted) << (r.ok() ? r->detail : r.error().message);
  EXPECT_EQ(r->firstSeq, 5u);

  // A journal cut short, or not a journal: refused, and nothing of it is written.
  journal.clear();
  ASSERT_TRUE(submit(record("kg-5")).accepted);
  for (const std::string& broken : {journal.substr(0, journal.size() - 1), std::string("Xgarbage")}) {
    auto st = lmdb::applyJournal((*copy)->env(), broken);
    EXPECT_FALSE(st.ok());
    auto after = (*copy)->range(1, 100);
    ASSERT_TRUE(after.ok());
    EXPECT_EQ(after->size(), 5u);  // kg-5 is not there
  }
}

}  // namespace
}  // namespace liaison
