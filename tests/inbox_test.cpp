// The site's inbox on a real LMDB file: the light reads (visit without the whole record, ids,
// answeredBy) say what the whole read and answersBy() say.
#include <gtest/gtest.h>
#include <lmdb.h>

#include "common/lmdb.h"
#include "site/alerts.h"
#include "tests/support.h"

namespace liaison {
namespace {

site::StoredAlert alert(const std::string& id, bool outbound, const std::string& state) {
  site::StoredAlert a;
  a.id = id;
  a.outbound = outbound;
  a.state = state;
  a.receivedAt = 1'700'000'000 + static_cast<int64_t>(id.size());
  a.envelope = Bytes(64, static_cast<uint8_t>(id.size()));
  return a;
}

TEST(Inbox, ALightReadGivesEveryFieldButTheCustodyAndEnvelope) {
  testing::TempDir tmp;
  auto inbox = site::Inbox::open(tmp / "alerts");
  ASSERT_TRUE(inbox.ok()) << inbox.error().message;
  auto out = alert("a-out", true, "sent");
  out.custody = json::Json{{"targets", {{"th-bangkok", {{"state", "delivered"}}}}},
                           {"note", "custody, state"}};
  out.replacedBy = "a-update";
  out.replacedHow = "update";
  auto in = alert("b-in", false, "acknowledged");
  {
    auto w = (*inbox)->write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->putAlert(out).ok());
    ASSERT_TRUE(w->putAlert(in).ok());
    ASSERT_TRUE(w->putAnswer("b-in", "kg-bishkek", "receipt", Bytes(8, 1)).ok());
    ASSERT_TRUE(w->putAnswer("b-in", "kg-bishkek-2", "acknowledged", Bytes(8, 2)).ok());
    ASSERT_TRUE(std::move(*w).commit().ok());
  }
  std::vector<site::StoredAlert> light;
  ASSERT_TRUE((*inbox)
                  ->visit([&](const site::StoredAlert& a) { light.push_back(a); },
                          site::Inbox::Read::kState)
                  .ok());
  std::vector<site::StoredAlert> whole;
  ASSERT_TRUE((*inbox)
                  ->visit([&](site::StoredAlert& a) { whole.push_back(std::move(a)); },
                          site::Inbox::Read::kWhole)
                  .ok());
  ASSERT_EQ(light.size(), 2u);
  ASSERT_EQ(whole.size(), 2u);
  for (size_t i = 0; i < light.size(); ++i) {  // both in id order
    const auto& l = light[i];
    const auto& w = whole[i];
    EXPECT_EQ(l.id, w.id);
    EXPECT_EQ(l.outbound, w.outbound) << l.id;
    EXPECT_EQ(l.state, w.state) << l.id;
    EXPECT_EQ(l.receivedAt, w.receivedAt) << l.id;
    EXPECT_EQ(l.replacedBy, w.replacedBy) << l.id;
    EXPECT_EQ(l.replacedHow, w.replacedHow) << l.id;
    EXPECT_TRUE(l.envelope.empty()) << l.id;
    EXPECT_TRUE(l.custody.is_null()) << l.id;
  }
  EXPECT_EQ(light[0].state, "sent");
  EXPECT_EQ(light[0].replacedBy, "a-update");
  EXPECT_EQ(light[1].state, "acknowledged");
  EXPECT_EQ(whole[0].id, "a-out");
  EXPECT_FALSE(whole[0].envelope.empty());
  EXPECT_EQ(whole[0].custody["note"], "custody, state");  // the whole read reads it

  EXPECT_EQ(*(*inbox)->ids(false), std::vector<std::string>{"b-in"});
  EXPECT_EQ(*(*inbox)->ids(true), std::vector<std::string>{"a-out"});
  EXPECT_TRUE(*(*inbox)->answeredBy("b-in", "kg-bishkek"));
  EXPECT_TRUE(*(*inbox)->answeredBy("b-in", "kg-bishkek-2"));
  EXPECT_FALSE(*(*inbox)->answeredBy("b-in", "kg-bish"));  // a prefix of a site is not that site
  EXPECT_FALSE(*(*inbox)->answeredBy("b", "kg-bishkek"));  // nor of an alert id
  EXPECT_FALSE(*(*inbox)->answeredBy("a-out", "kg-bishkek"));
  auto by = (*inbox)->answersBy("b-in");
  ASSERT_TRUE(by.ok());
  ASSERT_EQ(by->size(), 2u);
  EXPECT_EQ((*by)[0].site, "kg-bishkek");
  EXPECT_EQ((*by)[0].kind, "receipt");
  EXPECT_EQ((*by)[1].kind, "acknowledged");
}

TEST(Inbox, ADamagedRecordIsAnErrorForTheLightReadToo) {
  testing::TempDir tmp;
  {
    auto inbox = site::Inbox::open(tmp / "alerts");
    ASSERT_TRUE(inbox.ok());
    auto w = (*inbox)->write();
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->putAlert(alert("a", false, "new")).ok());
    ASSERT_TRUE(std::move(*w).commit().ok());
  }
  {
    MDB_dbi alerts = 0;
    auto env = lmdb::openWithDatabases(tmp / "alerts", size_t{1} << 30, {{&alerts, "alerts"}});
    ASSERT_TRUE(env.ok());
    auto txn = lmdb::Txn::beginWrite(*env);
    ASSERT_TRUE(txn.ok());
    ASSERT_TRUE(txn->put(alerts, "a", R"({"direction":"in","state":"ne)").ok());
    ASSERT_TRUE(std::move(*txn).commit().ok());
  }
  auto inbox = site::Inbox::open(tmp / "alerts");
  ASSERT_TRUE(inbox.ok());
  auto read = (*inbox)->visit([](const site::StoredAlert&) {}, site::Inbox::Read::kState);
  ASSERT_FALSE(read.ok());
  EXPECT_NE(read.error().message.find("inbox damaged at alert a"), std::string::npos)
      << read.error().message;
  EXPECT_FALSE((*inbox)->ids(true).ok());
}

}  // namespace
}  // namespace liaison
