// The directory on real LMDB files in a temporary folder.
#include <gtest/gtest.h>

#include <capnp/message.h>

#include "common/clock.h"
#include "common/lmdb.h"
#include "directory/directory.h"
#include "schemas/json.h"
#include "tests/support.h"

namespace liaison {
namespace {

using directory::Directory;
using directory::Outcome;
using testing::contactJson;

// 2026-11-25 (a Wednesday) 06:00 UTC = 12:00 in Bishkek (UTC+6), 13:00 in Bangkok (UTC+7).
const int64_t kWednesdayNoonBishkek = *parseTimestamp("2026-11-25T06:00:00Z");

class DirectoryTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  trust::KeyPair th = trust::generateKeyPair();
  std::unique_ptr<Directory> dir;
  int64_t now = kWednesdayNoonBishkek;

  void SetUp() override {
    auto d = Directory::open(tmp / "db", Directory::Options{});
    ASSERT_TRUE(d.ok()) << d.error().message;
    dir = std::move(d).value();
    auto batch = dir->begin();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE(batch->setRoot(root.pub.sign).ok());
    for (auto [site, keys, country] : {std::tuple{"kg-bishkek", &kg, "KG"},
                                       std::tuple{"th-bangkok", &th, "TH"}}) {
      auto cert = testing::certFor(site, *keys, {country}, "authority", now - 86400,
                                   now + 400 * 86400);
      auto r = batch->apply(trust::sign(trust::memberItem(cert), "root", root), now);
      ASSERT_TRUE(r.ok() && r->outcome == Outcome::kApplied);
    }
    ASSERT_TRUE(std::move(*batch).commit().ok());
  }

  // Publishes contacts (JSON form) signed by `site`; returns the outcomes.
  std::vector<Outcome> publish(const std::vector<std::string>& jsons,
                               const std::string& site = "kg-bishkek") {
    const trust::KeyPair& keys = site == "th-bangkok" ? th : kg;
    auto batch = dir->begin();
    EXPECT_TRUE(batch.ok());
    std::vector<Outcome> outcomes;
    for (const auto& j : jsons) {
      auto items = json::parseInput("t", j);
      EXPECT_TRUE(items.ok()) << (items.ok() ? "" : items.error().message);
      auto r = batch->apply(trust::sign(std::move(std::get<OwnedItem>(items->front())), site, keys), now);
      EXPECT_TRUE(r.ok());
      outcomes.push_back(r->outcome);
    }
    EXPECT_TRUE(std::move(*batch).commit().ok());
    return outcomes;
  }

  std::vector<std::string> ids(const directory::Query& q) {
    auto hits = dir->find(q, now);
    EXPECT_TRUE(hits.ok()) << (hits.ok() ? "" : hits.error().message);
    std::vector<std::string> out;
    for (const auto& h : *hits) out.emplace_back(h.stored.record().getId().cStr());
    return out;
  }

  std::vector<std::string> byName(const std::string& name) {
    // On the heap: GCC 12 warns (maybe-uninitialized) about a local Query here, as in
    // names_test.cpp.
    auto q = std::make_unique<directory::Query>();
    q->name = name;
    return ids(*q);
  }
};

TEST_F(DirectoryTest, FindIntersectsEveryCriterion) {
  publish({contactJson("kg-1"),
           contactJson("kg-2", R"("role": "investigator")"),
           contactJson("kg-3", R"("topics": ["cybercrime"])"),
           contactJson("kg-4", R"("languages": ["ky"], "competences": ["extradition"])")});
  publish({contactJson("th-1", R"("country": "TH", "networks": ["SEAJust"])")}, "th-bangkok");
  directory::Query q;
  q.country = "KG";
  q.role = "prosecutor";
  q.topic = "trafficking-in-persons";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"kg-1", "kg-4"}));
  q.language = "ru";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"kg-1"}));
  q = {};
  q.competence = "mla";
  q.network = "SEAJust";
  EXPECT_EQ(ids(q), (std::vector<std::string>{"th-1"}));
  q = {};
  q.legalBasis = "ASEAN-MLAT";
  EXPECT_TRUE(ids(q).empty());
  q = {};
  q.limit = 2;
  EXPECT_EQ(ids(q).size(), 2u);
}

TEST_F(DirectoryTest, NamesMatchAcrossScriptsAndSpellings) {
  publish({contactJson("kg-ca", R"("name": {"latin": "Bakyt Kudaiarov", "original": "Бакыт Кудаяров"})"),
           contactJson("kg-pr", R"("name": {"latin": "Aibek Sadykov"})"),
           contactJson("kg-other", R"("name": {"latin": "Nurlan Sadyrbaev"})")});
  for (const char* q : {"Kudaiarov", "Kudayarov", "Кудаяров", "KUDAIAROV", "kudaiyarov",
                        "Bakyt Kudayarov"}) {
    EXPECT_EQ(byName(q), std::vector<std::string>{"kg-ca"}) << q;
  }
  EXPECT_EQ(byName("Садыков"), std::vector<std::string>{"kg-pr"});
  EXPECT_EQ(byName("Sadikov"), std::vector<std::string>{"kg-pr"});
  EXPECT_EQ(byName("Sady").size(), 2u) << "prefix";
  EXPECT_TRUE(byName("Petrov").empty());
  EXPECT_TRUE(byName("Aibek Kudaiarov").empty()) << "every word must match";
  EXPECT_TRUE(byName("!!!").empty());
}

// A name's spelling variants are written when the name first appears; a record sharing it later
// or holding it after the first is retired is still found by a misspelling.
TEST_F(DirectoryTest, ASharedNameIsFoundMisspeltWhicheverRecordHoldsIt) {
  const std::string name = R"("name": {"latin": "Gulnara Abdyldaeva"})";
  publish({contactJson("kg-a", name), contactJson("kg-b", name)});
  EXPECT_EQ(byName("Abdyldaeva"), (std::vector<std::string>{"kg-a", "kg-b"}));
  EXPECT_EQ(byName("Abdylaeva"), (std::vector<std::string>{"kg-a", "kg-b"})) << "a letter lost";
  publish({contactJson("kg-a", R"("revision": 2, "status": "retired", )" + name)});
  EXPECT_EQ(byName("Abdylaeva"), std::vector<std::string>{"kg-b"});
  publish({contactJson("kg-b", R"("revision": 2, "status": "retired", )" + name)});
  EXPECT_TRUE(byName("Abdylaeva").empty());
  publish({contactJson("kg-c", name)});
  EXPECT_EQ(byName("Abdylaeva"), std::vector<std::string>{"kg-c"});
  EXPECT_EQ(byName("Abdyldaeav"), std::vector<std::string>{"kg-c"}) << "two letters swapped";
}

TEST_F(DirectoryTest, RevisionRulesAndRetirement) {
  EXPECT_EQ(publish({contactJson("kg-1", R"("revision": 2, "title": "Old")")}),
            std::vector<Outcome>{Outcome::kApplied});
  EXPECT_EQ(publish({contactJson("kg-1", R"("revision": 2, "title": "Replay")")}),
            std::vector<Outcome>{Outcome::kIgnored});
  EXPECT_EQ(publish({contactJson("kg-1", R"("revision": 1, "title": "Older")")}),
            std::vector<Outcome>{Outcome::kIgnored});
  auto stored = dir->get("kg-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(std::string((*stored)->record().getBody().getContact().getTitle().cStr()), "Old");

  // An update that changes the role moves the record between index terms.
  publish({contactJson("kg-1", R"("revision": 3, "role": "judge")")});
  directory::Query q;
  q.role = "prosecutor";
  EXPECT_TRUE(ids(q).empty());
  q.role = "judge";
  EXPECT_EQ(ids(q), std::vector<std::string>{"kg-1"});

  // Retired: a tombstone with a higher revision; not found, still shown.
  publish({contactJson("kg-1", R"("revision": 4, "status": "retired")")});
  EXPECT_TRUE(ids(q).empty());
  EXPECT_TRUE(byName("Sadykov").empty());
  stored = dir->get("kg-1");
  ASSERT_TRUE(stored.ok() && stored->has_value());
  EXPECT_EQ(std::string((*stored)->record().getStatus().cStr()), "retired");
  auto counts = dir->counts();
  ASSERT_TRUE(counts.ok());
  EXPECT_EQ(counts->retired, 1u);
  EXPECT_EQ(counts->contacts, 0u);
}

// The counts a status shows are kept with each change, not walked from every record; a replica
// made before they were kept is counted when opened for writing (a reader walks it meanwhile).
TEST_F(DirectoryTest, TheCountsFollowEachChangeAndAnOlderReplicaIsCountedOnce) {
  auto counted = [&](Directory& d) {
    auto c = d.counts();
    EXPECT_TRUE(c.ok()) << (c.ok() ? "" : c.error().message);
    return c.ok() ? std::pair{c->contacts, c->retired} : std::pair<uint64_t, uint64_t>{};
  };
  using Two = std::pair<uint64_t, uint64_t>;
  publish(
      {contactJson("kg-a"), contactJson("kg-b"), contactJson("kg-c", R"("status": "suspended")")});
  EXPECT_EQ(counted(*dir), (Two{3, 0}));
  publish({contactJson("kg-a", R"("revision": 2, "title": "Deputy")")});
  publish({contactJson("kg-a", R"("revision": 2, "title": "Replay")")});  // ignored
  EXPECT_EQ(counted(*dir), (Two{3, 0}));
  publish({contactJson("kg-b", R"("revision": 2, "status": "retired")")});
  EXPECT_EQ(counted(*dir), (Two{2, 1}));
  publish({contactJson("th-9", R"("country": "TH")")});  // refused: KG's key
  EXPECT_EQ(counted(*dir), (Two{2, 1}));

  dir.reset();
  auto hasStoredCounts = [&] {
    auto env = lmdb::Env::open(tmp / "db", lmdb::Env::Options{});
    EXPECT_TRUE(env.ok());
    auto txn = lmdb::Txn::beginRead(*env);
    auto meta = lmdb::openDbi(*txn, "meta", 0);
    auto v = txn->get(*meta, "record-counts");
    return v.ok() && v->has_value();
  };
  ASSERT_TRUE(hasStoredCounts());
  {
    auto env = lmdb::Env::open(tmp / "db", lmdb::Env::Options{});
    ASSERT_TRUE(env.ok());
    auto txn = lmdb::Txn::beginWrite(*env);
    ASSERT_TRUE(txn.ok());
    auto meta = lmdb::openDbi(*txn, "meta", 0);
    ASSERT_TRUE(meta.ok());
    ASSERT_TRUE(txn->del(*meta, "record-counts").ok());  // as a replica made before them
    ASSERT_TRUE(std::move(*txn).commit().ok());
  }
  ASSERT_FALSE(hasStoredCounts());
  {
    directory::Directory::Options ro;
    ro.readOnly = true;
    auto reader = Directory::open(tmp / "db", ro);
    ASSERT_TRUE(reader.ok());
    EXPECT_EQ(counted(**reader), (Two{2, 1})) << "a reader counts by walking";
  }
  auto reopened = Directory::open(tmp / "db", Directory::Options{});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  dir = std::move(reopened).value();
  EXPECT_EQ(counted(*dir), (Two{2, 1}));
  publish({contactJson("kg-d")});
  EXPECT_EQ(counted(*dir), (Two{3, 1}));
  dir.reset();
  EXPECT_TRUE(hasStoredCounts());
}

TEST_F(DirectoryTest, RefusedItemChangesNothing) {
  publish({contactJson("kg-1")});
  // KG's key publishing for TH, and TH's key taking over a KG record.
  EXPECT_EQ(publish({contactJson("th-9", R"("country": "TH")")}),
            std::vector<Outcome>{Outcome::kRefused});
  EXPECT_EQ(publish({contactJson("kg-1", R"("revision": 9, "country": "TH")")}, "th-bangkok"),
            std::vector<Outcome>{Outcome::kRefused});
  directory::Query q;
  q.country = "TH";
  EXPECT_TRUE(ids(q).empty());
  auto stored = dir->get("kg-1");
  EXPECT_EQ((*stored)->record().getRevision(), 1u);
}

TEST_F(DirectoryTest, StaleAndAvailableNow) {
  publish({contactJson("kg-office"),  // Mo-Fr 09:00-18:00 Asia/Bishkek: open at 12:00
           contactJson("kg-stale", R"("verification": {"verifiedAt": "2025-01-01", "reviewDue": "2025-07-01"})"),
           contactJson("kg-away", R"("availability": {"timezone": "Asia/Bishkek", "hours": "Mo-Fr 09:00-18:00", "outOfOfficeUntil": "2026-12-01", "deputyId": "kg-office"})"),
           contactJson("kg-247", R"("availability": {"always": true, "hours": "24/7"})"),
           contactJson("kg-night", R"("availability": {"timezone": "Asia/Bishkek", "hours": "Mo-Fr 20:00-23:00"})")});
  directory::Query q;
  q.availableNow = true;
  auto got = ids(q);
  std::sort(got.begin(), got.end());
  EXPECT_EQ(got, (std::vector<std::string>{"kg-247", "kg-office", "kg-stale"}));
  now = *parseTimestamp("2026-11-28T06:00:00Z");  // Saturday: only the 24/7 desk
  EXPECT_EQ(ids(q), std::vector<std::string>{"kg-247"});

  auto hits = dir->find(directory::Query{}, now);
  ASSERT_TRUE(hits.ok());
  for (const auto& h : *hits) {
    EXPECT_EQ(h.stale, std::string(h.stored.record().getId().cStr()) == "kg-stale");
  }
  q = {};
  q.verifiedWithinDays = 60;
  EXPECT_EQ(ids(q).size(), 4u);
}

TEST_F(DirectoryTest, RankingPrefersLanguageThen247ThenRecentVerification) {
  publish({contactJson("a-en", R"("languages": ["en"])"),
           contactJson("b-ru-second", R"("languages": ["ky", "ru"])"),
           contactJson("c-ru-first", R"("languages": ["ru"], "verification": {"verifiedAt": "2020-01-01"})"),
           contactJson("d-ru-first-247", R"("languages": ["ru"], "availability": {"always": true}, "verification": {"verifiedAt": "2020-01-01"})"),
           contactJson("e-ru-first-recent", R"("languages": ["ru", "en"])")});
  directory::Query q;
  q.preferLanguages = {"ru"};
  q.urgent = true;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"d-ru-first-247", "e-ru-first-recent", "c-ru-first",
                                              "b-ru-second", "a-en"}));
}

TEST_F(DirectoryTest, RolePreferenceRanksFirstAndTheLimitCutsAfterRanking) {
  publish({contactJson("a-investigator", R"("role": "investigator")"),
           contactJson("b-prosecutor-ru", R"("languages": ["ru"])"),
           contactJson("c-central", R"("role": "central-authority")"), contactJson("d-prosecutor"),
           contactJson("e-judge", R"("role": "judge")"),
           contactJson("f-central-ru", R"("role": "central-authority", "languages": ["ru"])")});
  directory::Query q;
  q.anyOfRoles = {"central-authority", "prosecutor", "investigator"};
  q.rolePreference = {"central-authority", "prosecutor", "investigator"};
  q.preferLanguages = {"ru"};
  EXPECT_EQ(ids(q), (std::vector<std::string>{"f-central-ru", "c-central", "b-prosecutor-ru",
                                              "d-prosecutor", "a-investigator"}));
  q.limit = 3;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"f-central-ru", "c-central", "b-prosecutor-ru"}));
  q.availableNow = true;  // post-filtered in rank order: everyone here is in office
  EXPECT_EQ(ids(q), (std::vector<std::string>{"f-central-ru", "c-central", "b-prosecutor-ru"}));
  auto hits = dir->find(q, now);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ((*hits)[0].score, 64 * 3 + 16 + 8 + 2) << "role, first language, accepted, recent";
}

// Bitmaps are kept in chunks of 16,384 records: a find reads and ranks across them.
TEST_F(DirectoryTest, FindRanksAndLimitsAcrossBitmapChunks) {
  constexpr int kRecords = 16384 + 200;
  auto batch = dir->begin();
  ASSERT_TRUE(batch.ok());
  for (int i = 0; i < kRecords; ++i) {
    std::string extra = R"("languages": ["ky"])";
    if (i == 7 || i == 16390) extra = R"("languages": ["ru"])";
    if (i == 16500) extra = R"("role": "investigator", "languages": ["ky"])";
    auto items = json::parseInput("t", contactJson("kg-" + std::to_string(i), extra));
    ASSERT_TRUE(items.ok());
    auto r =
        batch->apply(trust::sign(std::move(std::get<OwnedItem>(items->front())), "kg-bishkek", kg),
                     now, /*signatureChecked=*/true);
    ASSERT_TRUE(r.ok() && r->outcome == Outcome::kApplied);
  }
  ASSERT_TRUE(std::move(*batch).commit().ok());
  directory::Query q;
  q.country = "KG";
  q.role = "prosecutor";
  q.preferLanguages = {"ru"};
  q.limit = 4;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"kg-7", "kg-16390", "kg-0", "kg-1"}));
  // A find stops reading candidates once `limit` of them have the best score its signals allow:
  // whatever the limit, the hits are the first of the whole ranking.
  for (const auto& prefer : {std::vector<std::string>{}, std::vector<std::string>{"ru"},
                             std::vector<std::string>{"ky"}}) {
    q.preferLanguages = prefer;
    q.limit = 100000;
    const auto all = ids(q);
    ASSERT_EQ(all.size(), static_cast<size_t>(kRecords - 1));
    for (size_t limit : {1, 2, 3, 20}) {
      q.limit = limit;
      EXPECT_EQ(ids(q), std::vector<std::string>(all.begin(), all.begin() + limit))
          << limit << (prefer.empty() ? "" : " " + prefer.front());
    }
  }
  q = {};
  q.role = "investigator";
  EXPECT_EQ(ids(q), std::vector<std::string>{"kg-16500"});
  q = {};
  q.limit = 100000;
  EXPECT_EQ(ids(q).size(), static_cast<size_t>(kRecords));
  q.name = "Sadykov";
  q.preferLanguages = {"ru"};
  q.limit = 3;
  EXPECT_EQ(ids(q), (std::vector<std::string>{"kg-7", "kg-16390", "kg-0"}));
}

// A find keeps where it found records in the replica's current state: after a commit it reads
// them again, in this process and in another reader of the same files.
TEST_F(DirectoryTest, AFindAfterAnUpdateReadsTheNewRecord) {
  publish({contactJson("kg-1", R"("title": "First")"), contactJson("kg-2")});
  Directory::Options ro;
  ro.readOnly = true;
  auto reader = Directory::open(tmp / "db", ro);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto titles = [&](const Directory& d) {
    auto q = std::make_unique<directory::Query>();  // on the heap, as in byName
    q->country = "KG";
    auto hits = d.find(*q, now);
    EXPECT_TRUE(hits.ok());
    std::vector<std::string> out;
    for (const auto& h : *hits) {
      out.emplace_back(h.stored.record().getBody().getContact().getTitle().cStr());
    }
    return out;
  };
  for (int round = 0; round < 2; ++round) {  // the second time from what was kept
    EXPECT_EQ(titles(*dir), (std::vector<std::string>{"First", "Senior Prosecutor"}));
    EXPECT_EQ(titles(**reader), (std::vector<std::string>{"First", "Senior Prosecutor"}));
  }
  publish({contactJson("kg-1", R"("revision": 2, "title": "Second")")});
  EXPECT_EQ(titles(*dir), (std::vector<std::string>{"Second", "Senior Prosecutor"}));
  EXPECT_EQ(titles(**reader), (std::vector<std::string>{"Second", "Senior Prosecutor"}));
  publish({contactJson("kg-2", R"("revision": 2, "status": "retired")")});
  EXPECT_EQ(titles(*dir), std::vector<std::string>{"Second"});
  EXPECT_EQ(titles(**reader), std::vector<std::string>{"Second"});
}

TEST_F(DirectoryTest, ReadOnlyReaderSeesCommittedState) {
  publish({contactJson("kg-1")});
  Directory::Options ro;
  ro.readOnly = true;
  auto reader = Directory::open(tmp / "db", ro);
  ASSERT_TRUE(reader.ok()) << reader.error().message;
  auto hits = (*reader)->find(directory::Query{}, now);
  ASSERT_TRUE(hits.ok());
  EXPECT_EQ(hits->size(), 1u);
  EXPECT_FALSE((*reader)->begin().ok()) << "a read-only replica refuses writes";
  testing::TempDir empty;
  EXPECT_FALSE(Directory::open(empty / "nothing", ro).ok());
}

TEST_F(DirectoryTest, ANameIndexBuiltWithOtherRulesIsRebuiltWhenOpened) {
  // A replica indexed before the national romanizations (no "name-keys" in meta) or with other
  // rules: opened for writing, its name index is rebuilt from the stored records.
  publish({contactJson("az-1", R"("name": {"latin": "Cəfər Əliyev"}, "country": "KG")"),
           contactJson("kg-2", R"("name": {"latin": "Bakyt Kudaiarov"})")});
  dir.reset();
  {
    auto env = lmdb::Env::open(tmp / "db", lmdb::Env::Options{});
    ASSERT_TRUE(env.ok());
    auto txn = lmdb::Txn::beginWrite(*env);
    ASSERT_TRUE(txn.ok());
    auto meta = lmdb::openDbi(*txn, "meta", 0);
    auto names = lmdb::openDbi(*txn, "names", MDB_DUPSORT | MDB_DUPFIXED);
    ASSERT_TRUE(meta.ok() && names.ok());
    ASSERT_EQ(mdb_drop(txn->get(), *names, 0), 0);  // as if indexed by rules that miss these
    ASSERT_TRUE(txn->del(*meta, "name-keys").ok());
    ASSERT_TRUE(std::move(*txn).commit().ok());
  }
  {
    directory::Directory::Options ro;
    ro.readOnly = true;
    auto reader = Directory::open(tmp / "db", ro);
    ASSERT_TRUE(reader.ok());
    directory::Query q;
    q.name = "Alieva";
    EXPECT_TRUE((*reader)->find(q, now)->empty()) << "a reader does not rebuild";
  }
  auto reopened = Directory::open(tmp / "db", Directory::Options{});
  ASSERT_TRUE(reopened.ok()) << reopened.error().message;
  dir = std::move(reopened).value();
  EXPECT_EQ(byName("Джафар Алиев"), std::vector<std::string>{"az-1"});
  EXPECT_EQ(byName("Кудаяров"), std::vector<std::string>{"kg-2"});
}

}  // namespace
}  // namespace liaison
