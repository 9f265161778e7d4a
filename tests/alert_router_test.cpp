// The broker's alert custody (broker/alerts.h) on real LMDB stores, driven by hand: a manual
// clock for deadlines and expiry, steady milliseconds passed in for resends.
#include <gtest/gtest.h>

#include "broker/alert_store.h"
#include "broker/store.h"
#include "schemas/alert_json.h"
#include "tests/support.h"

namespace liaison {
namespace {

constexpr int64_t kNow = 1'800'000'000;

class RouterTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  ManualClock clock{kNow};
  trust::KeyPair root = trust::generateKeyPair();
  std::map<std::string, trust::KeyPair> keys;
  std::unique_ptr<broker::LmdbStore> store;
  std::unique_ptr<broker::Core> core;
  std::unique_ptr<broker::LmdbAlertStore> alertStore;
  std::unique_ptr<broker::AlertRouter> router;
  int64_t ms = 1'000'000;

  void SetUp() override {
    auto s = broker::LmdbStore::open(tmp / "broker", size_t{64} << 20);
    ASSERT_TRUE(s.ok());
    store = std::move(s).value();
    core = std::make_unique<broker::Core>(*store, clock, root.pub.sign, 77);
    ASSERT_TRUE(core->load().ok());
    bus::SubmitRequest certs;
    for (auto [site, cc] :
         {std::pair{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}, {"kz-almaty", "KZ"}}) {
      keys[site] = trust::generateKeyPair();
      auto c = testing::certFor(site, keys[site], {cc}, "authority", kNow - 10, kNow + 100000);
      certs.envelopes.push_back(trust::sign(trust::memberItem(c), "root", root).encode());
    }
    std::vector<bus::Entry> fanout;
    auto r = core->submit(certs, fanout);
    ASSERT_TRUE(r.ok() && r->accepted);
    reopenRouter();
  }

  void reopenRouter() {
    router.reset();
    alertStore.reset();
    auto a = broker::LmdbAlertStore::open(tmp / "alerts", size_t{64} << 20);
    ASSERT_TRUE(a.ok());
    alertStore = std::move(a).value();
    router = std::make_unique<broker::AlertRouter>(*alertStore, *core, clock, "CASC");
    ASSERT_TRUE(router->load().ok());
  }

  Bytes alert(const std::string& id, const std::string& extra,
              const std::string& from = "kg-bishkek") {
    auto j = json::Json::parse(R"({"id": ")" + id + R"(", "headline": "Suspect leaving tonight")" +
                               (extra.empty() ? "" : ", " + extra) + "}");
    auto item = json::alertFromJson(j, {id, from, formatTimestamp(clock.nowSeconds())}, "test");
    EXPECT_TRUE(item.ok()) << (item.ok() ? "" : item.error().message);
    return trust::sign(std::move(item).value(), from, keys[from]).encode();
  }

  Bytes answer(const std::string& id, const std::string& site, std::string_view kind,
               const std::string& by = "", const std::string& signer = "") {
    std::string s = signer.empty() ? site : signer;
    return trust::sign(json::ackItem(id, site, kind, by, "", formatTimestamp(clock.nowSeconds())),
                       s, keys[s])
        .encode();
  }

  // Handles one request, commits, and returns everything the broker would send.
  std::vector<broker::AlertRouter::Outgoing> request(const std::string& site,
                                                     bus::AlertRequest::Kind kind,
                                                     Bytes envelope = {},
                                                     std::string alertId = {}) {
    bus::AlertRequest r;
    r.requestId = 7;
    r.kind = kind;
    r.envelope = std::move(envelope);
    r.alertId = std::move(alertId);
    router->handle(site, r, ms);
    EXPECT_TRUE(router->commit().ok());
    return router->takeOutgoing();
  }
  std::vector<broker::AlertRouter::Outgoing> ping(const std::string& site) {
    return request(site, bus::AlertRequest::Kind::kPing);
  }
  std::vector<broker::AlertRouter::Outgoing> tick(int64_t advanceMs) {
    ms += advanceMs;
    router->tick(ms);
    EXPECT_TRUE(router->commit().ok());
    return router->takeOutgoing();
  }

  static bus::AlertReply replyIn(const std::vector<broker::AlertRouter::Outgoing>& out) {
    for (const auto& o : out) {
      if (auto* r = std::get_if<bus::AlertReply>(&o.message)) return *r;
    }
    ADD_FAILURE() << "no reply";
    return {};
  }
  // "site:key" for every delivery.
  static std::vector<std::string> deliveries(
      const std::vector<broker::AlertRouter::Outgoing>& out) {
    std::vector<std::string> d;
    for (const auto& o : out) {
      if (auto* x = std::get_if<bus::Delivery>(&o.message)) d.push_back(o.site + ":" + x->key);
    }
    return d;
  }
  std::string state(const std::string& id, const std::string& site) {
    auto c = router->find(id);
    if (!c || c->targets.count(site) == 0) return "";
    return c->targets.at(site).state;
  }
};

using K = bus::AlertRequest::Kind;

TEST_F(RouterTest, DeliversToOnlineTargetsAndResendsWithBackoffUntilTheReceipt) {
  ping("th-bangkok");
  auto out = request("kg-bishkek", K::kSend,
                     alert("a1b2c3d4-0001", R"("targets": {"countries": ["TH", "KZ"]})"));
  ASSERT_TRUE(replyIn(out).accepted) << replyIn(out).detail;
  EXPECT_EQ(deliveries(out), std::vector<std::string>{"th-bangkok:alert/a1b2c3d4-0001"});
  EXPECT_EQ(state("a1b2c3d4-0001", "kz-almaty"), "queued");
  EXPECT_TRUE(deliveries(tick(1000)).empty());
  EXPECT_EQ(deliveries(tick(1000)).size(), 1u);  // 2 s: first resend
  ping("th-bangkok");
  EXPECT_TRUE(deliveries(tick(3000)).empty());  // next after 4 s more
  EXPECT_EQ(deliveries(tick(1000)).size(), 1u);
  // Almaty comes online: served at once.
  ping("kz-almaty");
  ping("th-bangkok");
  EXPECT_EQ(deliveries(tick(100)), std::vector<std::string>{"kz-almaty:alert/a1b2c3d4-0001"});
  // Receipts stop the resends; a receipt sent twice changes nothing.
  ASSERT_TRUE(replyIn(request("th-bangkok", K::kAnswer,
                              answer("a1b2c3d4-0001", "th-bangkok", json::kReceipt)))
                  .accepted);
  ASSERT_TRUE(replyIn(request("th-bangkok", K::kAnswer,
                              answer("a1b2c3d4-0001", "th-bangkok", json::kReceipt)))
                  .accepted);
  ASSERT_TRUE(replyIn(request("kz-almaty", K::kAnswer,
                              answer("a1b2c3d4-0001", "kz-almaty", json::kReceipt)))
                  .accepted);
  EXPECT_EQ(state("a1b2c3d4-0001", "th-bangkok"), "delivered");
  ping("th-bangkok");
  ping("kz-almaty");
  EXPECT_TRUE(deliveries(tick(60000)).empty());
  // The receipts go to the sender's site once it is heard from, until it says it stored them.
  ping("kg-bishkek");
  auto toSender = deliveries(tick(100));
  EXPECT_EQ(toSender.size(), 2u);
  bus::AlertRequest stored;
  stored.kind = K::kStored;
  stored.keys = {"answer/a1b2c3d4-0001/th-bangkok/receipt",
                 "answer/a1b2c3d4-0001/kz-almaty/receipt"};
  router->handle("kg-bishkek", stored, ms);
  ASSERT_TRUE(router->commit().ok());
  EXPECT_TRUE(deliveries(tick(120000)).empty());
  EXPECT_EQ(router->pendingAlerts(), 0u);
}

TEST_F(RouterTest, CustodySurvivesARestartAndADepartedSiteIsNotAnAttempt) {
  ping("th-bangkok");
  auto out = request("kg-bishkek", K::kSend,
                     alert("a1b2c3d4-0002", R"("targets": {"sites": ["th-bangkok"]})"));
  ASSERT_EQ(deliveries(out).size(), 1u);
  // The connection was gone: not counted, and Bangkok is offline until heard from.
  router->undeliverable("th-bangkok", "alert/a1b2c3d4-0002", true);
  ASSERT_TRUE(router->commit().ok());
  EXPECT_EQ(router->find("a1b2c3d4-0002")->targets.at("th-bangkok").attempts, 0u);
  EXPECT_TRUE(deliveries(tick(10000)).empty());
  reopenRouter();
  EXPECT_EQ(state("a1b2c3d4-0002", "th-bangkok"), "queued");
  ping("th-bangkok");
  EXPECT_EQ(deliveries(tick(100)).size(), 1u);
}

TEST_F(RouterTest, EscalatesOnceAtTheDeadlineAndNotWhenAcknowledged) {
  for (auto s : {"th-bangkok", "kz-almaty", "kg-bishkek"}) ping(s);
  request("kg-bishkek", K::kSend,
          alert("a1b2c3d4-0003", R"("targets": {"sites": ["th-bangkok"]}, "ackRequired": true,
      "ackDeadline": "PT60S", "escalateTo": {"countries": ["KZ"]})"));
  request("kg-bishkek", K::kSend,
          alert("a1b2c3d4-0004", R"("targets": {"sites": ["th-bangkok"]}, "ackRequired": true,
      "ackDeadline": "PT60S", "escalateTo": {"countries": ["KZ"]})"));
  ASSERT_TRUE(
      replyIn(request("th-bangkok", K::kAnswer,
                      answer("a1b2c3d4-0004", "th-bangkok", json::kAcknowledged, "Officer")))
          .accepted);
  clock.advance(59);
  tick(100);
  EXPECT_FALSE(router->find("a1b2c3d4-0003")->escalated);
  clock.advance(2);
  for (auto s : {"th-bangkok", "kz-almaty", "kg-bishkek"}) ping(s);
  auto out = deliveries(tick(100));
  EXPECT_NE(std::find(out.begin(), out.end(), "kz-almaty:alert/a1b2c3d4-0003"), out.end());
  EXPECT_TRUE(router->find("a1b2c3d4-0003")->escalated);
  EXPECT_TRUE(router->find("a1b2c3d4-0003")->targets.at("kz-almaty").escalation);
  EXPECT_FALSE(router->find("a1b2c3d4-0004")->escalated);
  EXPECT_EQ(router->counters().escalations, 1u);
  reopenRouter();
  clock.advance(600);
  tick(100);
  EXPECT_EQ(router->counters().escalations, 0u);  // a new router: it did not fire again
  EXPECT_EQ(router->find("a1b2c3d4-0003")->targets.size(), 2u);
}

TEST_F(RouterTest, RefusesWhatItMustWithAReasonAndStoresNothing) {
  ping("th-bangkok");
  struct Case {
    std::string site;
    K kind;
    Bytes envelope;
    std::string reason;
  };
  request("kg-bishkek", K::kSend,
          alert("a1b2c3d4-0005", R"("targets": {"sites": ["th-bangkok"]})"));
  Bytes tampered = alert("a1b2c3d4-0006", R"("targets": {"sites": ["th-bangkok"]})");
  tampered[tampered.size() - 20] ^= 1;
  std::vector<Case> cases = {
      {"kg-bishkek", K::kSend, alert("a1b2c3d4-0007", R"("targets": {"countries": ["UZ"]})"),
       "unknown target"},
      {"kg-bishkek", K::kSend, alert("a1b2c3d4-0008", R"("targets": {"sites": ["kg-bishkek"]})"),
       "no targets"},
      {"kg-bishkek", K::kSend,
       alert("a1b2c3d4-0009",
             R"("targets": {"sites": ["th-bangkok"]}, "expires": "2020-01-01T00:00:00Z")"),
       "expired"},
      {"kg-bishkek", K::kSend,
       alert("a1b2c3d4-0010", R"("msgType": "cancel", "references": ["ffffffff-0000"])"),
       "unknown reference"},
      {"kz-almaty", K::kSend,
       alert("a1b2c3d4-0011", R"("msgType": "cancel", "references": ["a1b2c3d4-0005"])",
             "kz-almaty"),
       "not the sender"},
      {"th-bangkok", K::kSend, alert("a1b2c3d4-0012", R"("targets": {"sites": ["kz-almaty"]})"),
       "out of scope"},
      {"kg-bishkek", K::kSend, tampered, "bad signature"},
      {"kg-bishkek", K::kSend, Bytes{1, 2, 3}, "malformed"},
      {"kg-bishkek", K::kSend, Bytes(kMaxEnvelopeBytes + 1, 0), "oversized"},
      {"kg-bishkek", K::kSend, alert("a1b2c3d4-0005", R"("targets": {"sites": ["kz-almaty"]})"),
       "duplicate"},
      {"kz-almaty", K::kAnswer, answer("a1b2c3d4-0005", "kz-almaty", json::kReceipt),
       "not a target"},
      {"th-bangkok", K::kAnswer, answer("a1b2c3d4-0099", "th-bangkok", json::kReceipt),
       "unknown alert"},
      {"th-bangkok", K::kAnswer,
       answer("a1b2c3d4-0005", "kz-almaty", json::kReceipt, "", "th-bangkok"), "out of scope"},
      {"th-bangkok", K::kAnswer, answer("a1b2c3d4-0005", "th-bangkok", json::kAcknowledged, ""),
       "invalid"},
  };
  for (const auto& c : cases) {
    auto reply = replyIn(request(c.site, c.kind, c.envelope));
    EXPECT_FALSE(reply.accepted) << c.reason;
    EXPECT_EQ(reply.refusal, c.reason) << reply.detail;
  }
  EXPECT_FALSE(router->find("a1b2c3d4-0007").has_value());
  EXPECT_FALSE(router->find("a1b2c3d4-0011").has_value());
  EXPECT_EQ(state("a1b2c3d4-0005", "th-bangkok"), "queued");
  EXPECT_EQ(router->counters().refused.at("out of scope"), 2u);
  // The sender sending the same alert again gets the same answer (a retry, not a duplicate).
  EXPECT_TRUE(replyIn(request("kg-bishkek", K::kSend,
                              alert("a1b2c3d4-0005", R"("targets": {"sites": ["th-bangkok"]})")))
                  .accepted);
  // Only the sender and the targets learn an alert exists.
  EXPECT_FALSE(replyIn(request("kz-almaty", K::kStatus, {}, "a1b2c3d4-0005")).accepted);
  EXPECT_TRUE(replyIn(request("th-bangkok", K::kStatus, {}, "a1b2c3d4-0005")).accepted);
}

// Signatures checked ahead on every core for a whole drain: a tampered alert among good ones is
// still refused as a bad signature, the good ones are accepted, and nothing learnt outlives the
// drain (the same tampered bytes alone are refused again).
TEST_F(RouterTest, APrecheckedDrainStillRefusesTheTamperedOne) {
  ping("th-bangkok");
  std::vector<bus::AlertRequest> drain;
  for (int i = 0; i < 6; ++i) {
    bus::AlertRequest r;
    r.requestId = 100 + static_cast<uint64_t>(i);
    r.kind = K::kSend;
    r.envelope =
        alert("a1b2c3d4-010" + std::to_string(i), R"("targets": {"sites": ["th-bangkok"]})");
    drain.push_back(std::move(r));
  }
  drain[3].envelope[drain[3].envelope.size() - 20] ^= 1;
  std::vector<const bus::AlertRequest*> pointers;
  for (const auto& r : drain) pointers.push_back(&r);
  router->precheck(pointers);
  for (const auto& r : drain) router->handle("kg-bishkek", r, ms);
  ASSERT_TRUE(router->commit().ok());
  std::map<uint64_t, bus::AlertReply> replies;
  for (const auto& o : router->takeOutgoing()) {
    if (auto* reply = std::get_if<bus::AlertReply>(&o.message)) replies[reply->requestId] = *reply;
  }
  ASSERT_EQ(replies.size(), 6u);
  for (const auto& [id, reply] : replies) {
    if (id == 103) {
      EXPECT_FALSE(reply.accepted);
      EXPECT_EQ(reply.refusal, "bad signature");
    } else {
      EXPECT_TRUE(reply.accepted) << reply.detail;
    }
  }
  EXPECT_FALSE(router->find("a1b2c3d4-0103").has_value());
  EXPECT_EQ(replyIn(request("kg-bishkek", K::kSend, drain[3].envelope)).refusal, "bad signature");
}

TEST_F(RouterTest, ACancelStopsDeliveryAndGoesWhereTheAlertWent) {
  ping("th-bangkok");
  request("kg-bishkek", K::kSend,
          alert("a1b2c3d4-0020", R"("targets": {"sites": ["th-bangkok", "kz-almaty"]},
      "ackRequired": true, "ackDeadline": "PT60S", "escalateTo": {"countries": ["KZ"]})"));
  auto out =
      request("kg-bishkek", K::kSend,
              alert("a1b2c3d4-0021", R"("msgType": "cancel", "references": ["a1b2c3d4-0020"])"));
  auto reply = replyIn(out);
  ASSERT_TRUE(reply.accepted) << reply.detail;
  auto custody = json::Json::parse(reply.custody);
  EXPECT_TRUE(custody["targets"].contains("th-bangkok"));  // it was being delivered there
  EXPECT_FALSE(custody["targets"].contains("kz-almaty"));  // never reached: nothing to cancel
  EXPECT_EQ(router->find("a1b2c3d4-0020")->state, "cancelled");
  EXPECT_EQ(state("a1b2c3d4-0020", "kz-almaty"), "cancelled");
  ping("kz-almaty");
  clock.advance(120);
  auto later = deliveries(tick(5000));
  for (const auto& d : later) EXPECT_EQ(d.find("a1b2c3d4-0020"), std::string::npos) << d;
  EXPECT_FALSE(router->find("a1b2c3d4-0020")->escalated);
}

// Memory follows the open work: a finished custody is dropped from memory once stored, and is
// read back from the store for whoever asks about it (status, an update, the same alert again).
TEST_F(RouterTest, AFinishedCustodyLeavesMemoryButIsStillAnswered) {
  ping("th-bangkok");
  ping("kg-bishkek");
  const Bytes sent = alert("a1b2c3d4-0030", R"("targets": {"sites": ["th-bangkok"]})");
  ASSERT_TRUE(replyIn(request("kg-bishkek", K::kSend, sent)).accepted);
  request("kg-bishkek", K::kSend, alert("a1b2c3d4-0031", R"("targets": {"sites": ["kz-almaty"]})"));
  ASSERT_TRUE(replyIn(request("th-bangkok", K::kAnswer,
                              answer("a1b2c3d4-0030", "th-bangkok", json::kReceipt)))
                  .accepted);
  bus::AlertRequest stored;
  stored.kind = K::kStored;
  stored.keys = {"answer/a1b2c3d4-0030/th-bangkok/receipt"};
  router->handle("kg-bishkek", stored, ms);
  ASSERT_TRUE(router->commit().ok());
  EXPECT_EQ(router->heldAlerts(), 2u);
  tick(100);  // 0030 has nothing left to do; 0031 waits for Almaty
  EXPECT_EQ(router->pendingAlerts(), 1u);
  EXPECT_EQ(router->heldAlerts(), 1u);
  EXPECT_EQ(router->states().alerts.at("open"), 2u);
  EXPECT_EQ(router->states().targets.at("delivered"), 1u);
  EXPECT_EQ(router->states().targets.at("queued"), 1u);

  // Its sender still learns its custody, and sending it again gets the same answer.
  auto status = replyIn(request("kg-bishkek", K::kStatus, {}, "a1b2c3d4-0030"));
  ASSERT_TRUE(status.accepted) << status.detail;
  EXPECT_EQ(json::Json::parse(status.custody)["targets"]["th-bangkok"]["state"], "delivered");
  EXPECT_TRUE(replyIn(request("kg-bishkek", K::kSend, sent)).accepted);
  auto taken = replyIn(request("kg-bishkek", K::kSend,
                               alert("a1b2c3d4-0030", R"("targets": {"sites": ["kz-almaty"]})")));
  EXPECT_FALSE(taken.accepted);
  EXPECT_EQ(taken.refusal, "duplicate");
  EXPECT_EQ(router->heldAlerts(), 1u);  // read for those answers, dropped again

  // An update of it reaches where it went; the original is superseded, counted as such.
  auto update = replyIn(
      request("kg-bishkek", K::kSend,
              alert("a1b2c3d4-0032", R"("msgType": "update", "references": ["a1b2c3d4-0030"])")));
  ASSERT_TRUE(update.accepted) << update.detail;
  EXPECT_TRUE(json::Json::parse(update.custody)["targets"].contains("th-bangkok"));
  EXPECT_EQ(router->find("a1b2c3d4-0030")->state, "superseded");
  EXPECT_EQ(router->states().alerts.at("superseded"), 1u);
  EXPECT_EQ(router->states().alerts.at("open"), 2u);

  // After a restart only the open work is read into memory; every alert is still counted.
  reopenRouter();
  EXPECT_EQ(router->heldAlerts(), 2u);  // 0031 and 0032 wait for deliveries
  EXPECT_EQ(router->states().alerts.at("open"), 2u);
  EXPECT_EQ(router->states().alerts.at("superseded"), 1u);
  EXPECT_EQ(state("a1b2c3d4-0030", "th-bangkok"), "delivered");
}

}  // namespace
}  // namespace liaison
