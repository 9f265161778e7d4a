// The broker's custody of MLA requests (broker/requests.h) on real LMDB stores, driven by hand:
// what a sender, a recipient and a third site may put, fetch and sign, and that everything a
// broker refuses is named, counted, and leaves what it holds as it was.
#include <gtest/gtest.h>

#include <map>
#include <set>

#include "broker/alert_store.h"
#include "broker/requests.h"
#include "broker/store.h"
#include "requests/request.h"
#include "tests/support.h"

namespace liaison {
namespace {

constexpr int64_t kNow = 1'800'000'000;
const std::string kId = "6f1c2a4e-9b3d-4c8e-a1f0-3d2b7c9e5a10";

class RequestRouterTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  ManualClock clock{kNow};
  trust::KeyPair root = trust::generateKeyPair(), brokerKeys = trust::generateKeyPair();
  std::map<std::string, trust::KeyPair> keys;
  std::unique_ptr<broker::LmdbStore> store;
  std::unique_ptr<broker::Core> core;
  std::unique_ptr<broker::LmdbAlertStore> alertStore;
  std::unique_ptr<broker::RequestRouter> router;
  requests::Content content;
  requests::Sealed sealed;
  Bytes sealedBytes, sent;
  std::vector<Bytes> chunks;

  void SetUp() override {
    auto s = broker::LmdbStore::open(tmp / "broker", size_t{64} << 20);
    ASSERT_TRUE(s.ok());
    store = std::move(s).value();
    core = std::make_unique<broker::Core>(*store, clock, root.pub.sign, 77);
    ASSERT_TRUE(core->load().ok());
    bus::SubmitRequest certs;
    for (auto [site, cc] : {std::pair{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}, {"kz-almaty", "KZ"}}) {
      keys[site] = trust::generateKeyPair();
      auto c = testing::certFor(site, keys[site], {cc}, "authority", kNow - 10, kNow + 100000);
      certs.envelopes.push_back(trust::sign(trust::memberItem(c), "root", root).encode());
    }
    std::vector<bus::Entry> fanout;
    auto r = core->submit(certs, fanout);
    ASSERT_TRUE(r.ok() && r->accepted);
    reopen();
    // A request of one file of three chunks, sealed to Bangkok, "sent" signed by Bishkek.
    content.id = kId;
    content.caseReference = "KG-2026-0147";
    content.fromSite = "kg-bishkek";
    content.toSite = "th-bangkok";
    content.legalBasis = "UNTOC";
    content.measures = {"bank-records"};
    const std::string file(2 * requests::kChunkBytes + 100, 'x');
    content.files = {{"annex.pdf", file.size(), requests::sha256(std::span(reinterpret_cast<const uint8_t*>(file.data()), file.size()))}};
    auto sl = requests::seal(content, keys["th-bangkok"].pub.box);
    ASSERT_TRUE(sl.ok());
    sealed = *sl;
    sealedBytes = requests::encode(sealed);
    sent = signed_("sent", "kg-bishkek", {}, sealedBytes);
    for (uint32_t i = 0; i < 3; ++i) {
      const size_t at = i * requests::kChunkBytes;
      const std::string_view part = std::string_view(file).substr(at, requests::kChunkBytes);
      chunks.push_back(requests::encryptChunk(content, 0, i, std::span(reinterpret_cast<const uint8_t*>(part.data()), part.size())));
    }
  }

  void reopen() {
    router.reset();
    alertStore.reset();
    auto a = broker::LmdbAlertStore::open(tmp / "alerts", size_t{64} << 20);
    ASSERT_TRUE(a.ok());
    alertStore = std::move(a).value();
    router = std::make_unique<broker::RequestRouter>(alertStore->env(), alertStore->requestsDb(),
                                                     alertStore->requestBlobsDb(), *core, brokerKeys, clock, "CASC");
    ASSERT_TRUE(router->load().ok());
  }

  // A step signed by `signer` with `keys[signer]` (or `with`), chained to `previous`.
  Bytes signed_(const std::string& kind, const std::string& signer, const Bytes& previous,
                const Bytes& subject = {}, const std::string& status = "", const trust::KeyPair* with = nullptr) {
    requests::Step s;
    s.requestId = kId;
    s.kind = kind;
    s.status = status;
    s.by = kind == "opened" || kind == "status" ? "Ms. Kanya R." : "";
    s.at = clock.nowSeconds();
    if (!previous.empty()) {
      auto d = requests::decodeStep(previous);
      auto h = requests::stepHash(*d);
      s.previous.assign(h.begin(), h.end());
    }
    if (!subject.empty()) {
      auto h = requests::blake2b(subject);
      s.subject.assign(h.begin(), h.end());
    }
    return requests::encode(requests::signStep(s, signer, with != nullptr ? *with : keys[signer]));
  }

  std::vector<broker::RequestRouter::Outgoing> handle(const std::string& site, bus::RequestMsg m) {
    m.requestId = 9;
    router->handle(site, m, 0);
    EXPECT_TRUE(router->commit().ok());
    return router->takeOutgoing();
  }
  static bus::RequestMsg reply(const std::vector<broker::RequestRouter::Outgoing>& out) {
    for (const auto& o : out) {
      if (o.message.op == "reply") return o.message;
    }
    ADD_FAILURE() << "no reply";
    return {};
  }
  bus::RequestMsg put(const std::string& site, const Bytes& step) {
    bus::RequestMsg m;
    m.op = "put";
    m.id = kId;
    m.data = sealedBytes;
    m.steps = {step};
    return reply(handle(site, m));
  }
  bus::RequestMsg chunk(const std::string& site, uint32_t index, const Bytes& data) {
    bus::RequestMsg m;
    m.op = "chunk";
    m.id = kId;
    m.index = index;
    m.data = data;
    return reply(handle(site, m));
  }
  bus::RequestMsg get(const std::string& site, uint32_t index) {
    bus::RequestMsg m;
    m.op = "get";
    m.id = kId;
    m.index = index;
    return reply(handle(site, m));
  }
  std::vector<broker::RequestRouter::Outgoing> step(const std::string& site, const Bytes& s) {
    bus::RequestMsg m;
    m.op = "step";
    m.id = kId;
    m.steps = {s};
    return handle(site, m);
  }
};

TEST_F(RequestRouterTest, EveryBadMessageIsRefusedWithItsReasonCountedAndWhatIsHeldStaysAsItWas) {
  // A put by another site than the sender, or with a "sent" signed by another key.
  EXPECT_EQ(put("kz-almaty", sent).refusal, "not the sender");
  EXPECT_EQ(put("kg-bishkek", signed_("sent", "kg-bishkek", {}, sealedBytes, "", &keys["kz-almaty"])).refusal, "bad step");
  EXPECT_EQ(put("kg-bishkek", signed_("sent", "kg-bishkek", {}, Bytes{1, 2, 3})).refusal, "bad step");  // another subject
  // The real put: three chunks missing; then a chunk out of range, one from the recipient.
  auto p = put("kg-bishkek", sent);
  ASSERT_TRUE(p.accepted) << p.refusal << ": " << p.detail;
  EXPECT_EQ(p.missing.size(), 3u);
  EXPECT_EQ(chunk("kg-bishkek", 3, chunks[0]).refusal, "out of range");
  EXPECT_EQ(chunk("th-bangkok", 0, chunks[0]).refusal, "not the sender");
  EXPECT_EQ(get("th-bangkok", 0).refusal, "not accepted");  // not whole yet
  // The chunks, one twice: the duplicate is acknowledged and the first copy kept.
  ASSERT_TRUE(chunk("kg-bishkek", 0, chunks[0]).accepted);
  ASSERT_TRUE(chunk("kg-bishkek", 0, Bytes(chunks[0].size(), 0)).accepted);
  ASSERT_TRUE(chunk("kg-bishkek", 1, chunks[1]).accepted);
  router->tick(0);
  ASSERT_TRUE(router->commit().ok());
  EXPECT_TRUE(router->takeOutgoing().empty());  // nothing offered before every chunk is here
  auto last = chunk("kg-bishkek", 2, chunks[2]);
  ASSERT_TRUE(last.accepted);
  ASSERT_EQ(last.steps.size(), 1u);  // the broker's "accepted", signed by it
  auto accepted = requests::decodeStep(last.steps[0]);
  ASSERT_TRUE(accepted.ok());
  EXPECT_EQ(accepted->step.kind, "accepted");
  EXPECT_EQ(accepted->signer, "broker:CASC");
  EXPECT_EQ(accepted->signerKey, brokerKeys.pub.sign);
  router->tick(0);
  ASSERT_TRUE(router->commit().ok());
  // The offer goes to Bangkok only, with the trail so far; Bishkek hears of "accepted" (step 2).
  std::map<std::string, bus::RequestMsg> sentTo;
  for (auto& o : router->takeOutgoing()) sentTo[o.site + ":" + o.message.keys.at(0)] = o.message;
  ASSERT_EQ(sentTo.size(), 2u);
  ASSERT_EQ(sentTo.count("th-bangkok:offer/" + kId), 1u);
  EXPECT_EQ(sentTo["th-bangkok:offer/" + kId].steps.size(), 2u);
  EXPECT_EQ(sentTo["th-bangkok:offer/" + kId].data, sealedBytes);
  EXPECT_EQ(sentTo.count("kg-bishkek:step/" + kId + "/2"), 1u);
  // Only the recipient fetches; it gets what was first stored.
  EXPECT_EQ(get("kz-almaty", 0).refusal, "not the recipient");
  EXPECT_EQ(get("th-bangkok", 0).data, chunks[0]);
  // Steps: only the recipient's, in order, signed with its own key.
  const Bytes delivered = signed_("delivered", "th-bangkok", last.steps[0]);
  EXPECT_EQ(reply(step("kg-bishkek", signed_("delivered", "kg-bishkek", last.steps[0]))).refusal, "not the recipient");
  EXPECT_EQ(reply(step("th-bangkok", signed_("delivered", "th-bangkok", last.steps[0], {}, "", &keys["kz-almaty"]))).refusal,
            "bad step");
  EXPECT_EQ(reply(step("th-bangkok", signed_("status", "th-bangkok", last.steps[0], {}, "executed"))).refusal,
            "bad step");  // a status before "opened"
  auto ok = step("th-bangkok", delivered);
  ASSERT_TRUE(reply(ok).accepted);
  // Replayed: acknowledged, not stored twice; another "delivered" chained to the same step: refused.
  EXPECT_TRUE(reply(step("th-bangkok", delivered)).accepted);
  clock.advance(5);
  EXPECT_EQ(reply(step("th-bangkok", signed_("delivered", "th-bangkok", last.steps[0]))).refusal, "bad step");
  EXPECT_EQ(router->counters().steps, 2u);  // accepted, delivered
  EXPECT_EQ(router->counters().chunks, 3u);
  const auto& refused = router->counters().refused;
  EXPECT_EQ(refused.at("not the sender"), 2u);
  EXPECT_EQ(refused.at("not the recipient"), 2u);
  EXPECT_EQ(refused.at("bad step"), 5u);
  EXPECT_EQ(refused.at("out of range"), 1u);
  // Reloaded from its store: the same custody. The sender hears of "delivered" (step 3), and
  // Bangkok's offer is still owed (it never said "stored").
  reopen();
  EXPECT_EQ(get("th-bangkok", 1).data, chunks[1]);
  router->tick(0);
  ASSERT_TRUE(router->commit().ok());
  std::set<std::string> owed;
  for (const auto& o : router->takeOutgoing()) owed.insert(o.site + ":" + o.message.keys.at(0));
  EXPECT_EQ(owed, (std::set<std::string>{"th-bangkok:offer/" + kId, "kg-bishkek:step/" + kId + "/2",
                                          "kg-bishkek:step/" + kId + "/3"}));
  bus::RequestMsg storedMsg;
  storedMsg.op = "stored";
  storedMsg.keys = {"offer/" + kId};
  handle("th-bangkok", storedMsg);
  clock.advance(120);
  router->tick(1'000'000);
  ASSERT_TRUE(router->commit().ok());
  for (const auto& o : router->takeOutgoing()) EXPECT_NE(o.message.keys.at(0), "offer/" + kId);
}

TEST_F(RequestRouterTest, ARequestToARevokedMemberIsRefusedAndNothingIsHeld) {
  bus::SubmitRequest revoke;
  revoke.envelopes.push_back(trust::sign(trust::revocationItem("th-bangkok", kNow, "test"), "root", root).encode());
  std::vector<bus::Entry> fanout;
  auto r = core->submit(revoke, fanout);
  ASSERT_TRUE(r.ok() && r->accepted);
  auto refused = put("kg-bishkek", sent);
  EXPECT_FALSE(refused.accepted);
  EXPECT_EQ(refused.refusal, "unknown recipient");
  EXPECT_NE(refused.detail.find("th-bangkok"), std::string::npos) << refused.detail;
  EXPECT_EQ(router->inCustody(), 0u);
  EXPECT_EQ(chunk("kg-bishkek", 0, chunks[0]).refusal, "unknown request");
  EXPECT_EQ(router->counters().refused.at("unknown recipient"), 1u);
}

TEST_F(RequestRouterTest, ABridgeNeitherReceivesRequestsNorPutsOneOfAHomeSite) {
  keys["casc-bridge"] = trust::generateKeyPair();
  bus::SubmitRequest cert;
  cert.envelopes.push_back(trust::sign(trust::memberItem(testing::certFor("casc-bridge", keys["casc-bridge"], {},
                                                                           "bridge", kNow - 10, kNow + 100000)),
                                       "root", root)
                               .encode());
  std::vector<bus::Entry> fanout;
  auto r = core->submit(cert, fanout);
  ASSERT_TRUE(r.ok() && r->accepted);
  // A bridge only carries requests between networks: Bishkek's request, put by the bridge of
  // its own network, is not the bridge's to put.
  auto byBridge = put("casc-bridge", sent);
  EXPECT_EQ(byBridge.refusal, "not the sender") << byBridge.detail;
  // And nobody sends a request to a bridge.
  requests::Content toBridge = content;
  toBridge.toSite = "casc-bridge";
  auto sl = requests::seal(toBridge, keys["casc-bridge"].pub.box);
  ASSERT_TRUE(sl.ok());
  sealedBytes = requests::encode(*sl);
  auto toIt = put("kg-bishkek", signed_("sent", "kg-bishkek", {}, sealedBytes));
  EXPECT_EQ(toIt.refusal, "unknown recipient");
  EXPECT_NE(toIt.detail.find("bridge"), std::string::npos) << toIt.detail;
  EXPECT_EQ(router->inCustody(), 0u);
}

}  // namespace
}  // namespace liaison
