// Federation in the pure parts and the stores, without sockets: the trust decision for peerings
// and a peer network's items, the broker core and a replica on real LMDB files, and what the
// bridge carries.
#include <gtest/gtest.h>

#include "adapters/bridge.h"
#include "broker/store.h"
#include "directory/directory.h"
#include "schemas/json.h"
#include "tests/support.h"

namespace liaison {
namespace {

constexpr int64_t kNow = 1'800'000'000;
using trust::Refusal;

// Two networks' keys and the signed items that make their peering.
struct TwoNetworks {
  trust::KeyPair casc = trust::generateKeyPair(), seajust = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair(), th = trust::generateKeyPair();

  SignedItem peering(bool fromCasc, const std::string& offer = "kinds=contact,instrument,notice,alert",
                     const std::string& accept = "kinds=contact,instrument,notice,alert", int64_t validUntil = kNow + 86400,
                     const std::string& status = "active", uint64_t revision = 1) {
    trust::Peering p;
    p.network = fromCasc ? "CASC" : "SEAJust";
    p.peer = fromCasc ? "SEAJust" : "CASC";
    p.id = p.network + "~" + p.peer;
    p.revision = revision;
    p.status = status;
    p.peerRoot = fromCasc ? seajust.pub.sign : casc.pub.sign;
    p.offer = *trust::parsePolicy(offer);
    p.accept = *trust::parsePolicy(accept);
    p.validUntil = validUntil;
    return trust::sign(trust::peeringItem(p), "root", fromCasc ? casc : seajust);
  }
  SignedItem member(bool casc_, const std::string& site, const trust::KeyPair& keys, std::vector<std::string> cc,
                    const std::string& role = "authority") {
    auto c = testing::certFor(site, keys, std::move(cc), role, kNow - 10, kNow + 100000);
    c.network = casc_ ? "CASC" : "SEAJust";
    return trust::sign(trust::memberItem(c), "root", casc_ ? casc : seajust);
  }
  SignedItem contact(const std::string& id, const std::string& extra, const std::string& signer,
                     const trust::KeyPair& keys) {
    auto items = json::parseInput("t", testing::contactJson(id, extra));
    EXPECT_TRUE(items.ok());
    return trust::sign(std::move(std::get<OwnedItem>(items->front())), signer, keys);
  }
};

class BrokerFederation : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  ManualClock clock{kNow};
  TwoNetworks n;
  std::unique_ptr<broker::LmdbStore> store;
  std::unique_ptr<broker::Core> core;  // CASC's broker

  void SetUp() override { reopen(); }
  void reopen() {
    core.reset();
    store.reset();
    auto s = broker::LmdbStore::open(tmp / "broker", size_t{64} << 20);
    ASSERT_TRUE(s.ok()) << s.error().message;
    store = std::move(s).value();
    core = std::make_unique<broker::Core>(*store, clock, n.casc.pub.sign, 77);
    ASSERT_TRUE(core->load().ok());
  }
  bus::SubmitResult submit(const SignedItem& item, const std::string& from = "casc-bridge") {
    std::vector<bus::Entry> out;
    auto r = core->submit(bus::SubmitRequest{1, {item.encode()}}, out, from);
    EXPECT_TRUE(r.ok());
    return *r;
  }
  // CASC with Bishkek and a bridge, peered both ways, SEAJust's Bangkok known.
  void peer(const std::string& seajustOffer = "kinds=contact,instrument,notice,alert") {
    ASSERT_TRUE(submit(n.member(true, "kg-bishkek", n.kg, {"KG"}), "").accepted);
    ASSERT_TRUE(submit(n.member(true, "casc-bridge", n.kg, {}, "bridge"), "").accepted);
    ASSERT_TRUE(submit(n.peering(true), "").accepted);
    auto theirs = submit(n.peering(false, seajustOffer));
    ASSERT_TRUE(theirs.accepted) << theirs.detail;
    auto th = submit(n.member(false, "th-bangkok", n.th, {"TH"}));
    ASSERT_TRUE(th.accepted) << th.detail;
  }
};

TEST_F(BrokerFederation, APeerNetworksItemsEnterOnlyThroughBothPeerings) {
  ASSERT_TRUE(submit(n.member(true, "casc-bridge", n.kg, {}, "bridge"), "").accepted);
  // Before CASC's root names SEAJust's root, SEAJust's certificates mean nothing here.
  auto early = submit(n.member(false, "th-bangkok", n.th, {"TH"}));
  EXPECT_EQ(early.refusal, trust::refusalName(Refusal::kUnknownSigner)) << early.detail;
  ASSERT_TRUE(submit(n.peering(true), "").accepted);
  ASSERT_TRUE(submit(n.member(false, "th-bangkok", n.th, {"TH"})).accepted);
  // SEAJust's own peering is not published here yet: its records wait.
  auto record = n.contact("th-1", R"("country": "TH")", "th-bangkok", n.th);
  auto r = submit(record);
  EXPECT_EQ(r.refusal, trust::refusalName(Refusal::kNotPeered)) << r.detail;
  ASSERT_TRUE(submit(n.peering(false)).accepted);
  r = submit(record);
  EXPECT_TRUE(r.accepted) << r.detail;
  // A foreign member is known, never admitted to connect; only a bridge carries its items.
  EXPECT_FALSE(core->isAdmitted("th-bangkok"));
  EXPECT_TRUE(core->isPeerMember("th-bangkok"));
  auto byOther = submit(n.contact("th-2", R"("country": "TH")", "th-bangkok", n.th), "kg-bishkek");
  EXPECT_EQ(byOther.refusal, trust::refusalName(Refusal::kOutOfScope));
}

TEST_F(BrokerFederation, ForgedWrongRootAndExpiredPeeringsAreRefused) {
  ASSERT_TRUE(submit(n.member(true, "casc-bridge", n.kg, {}, "bridge"), "").accepted);
  // Signed by a key that is no root here.
  trust::KeyPair mallory = trust::generateKeyPair();
  trust::Peering p = trust::peeringFromReader(n.peering(true).item.reader().getPeering());
  auto forged = trust::sign(trust::peeringItem(p), "root", mallory);
  EXPECT_EQ(submit(forged, "").refusal, trust::refusalName(Refusal::kUnknownSigner));
  // SEAJust's peering naming another root for CASC.
  ASSERT_TRUE(submit(n.peering(true), "").accepted);
  trust::Peering q = trust::peeringFromReader(n.peering(false).item.reader().getPeering());
  q.peerRoot = mallory.pub.sign;
  auto wrongRoot = submit(trust::sign(trust::peeringItem(q), "root", n.seajust));
  EXPECT_EQ(wrongRoot.refusal, trust::refusalName(Refusal::kOutOfScope)) << wrongRoot.detail;
  // An expired peering stops SEAJust's items.
  ASSERT_TRUE(submit(n.peering(false, "kinds=contact", "kinds=contact", kNow - 1)).accepted);
  ASSERT_TRUE(submit(n.member(false, "th-bangkok", n.th, {"TH"})).accepted);
  auto r = submit(n.contact("th-1", R"("country": "TH")", "th-bangkok", n.th));
  EXPECT_EQ(r.refusal, trust::refusalName(Refusal::kNotPeered)) << r.detail;
}

TEST_F(BrokerFederation, PolicyScopeAndCollisions) {
  peer();
  // SEAJust's member may not speak for a CASC country.
  auto kgByThai = submit(n.contact("kg-x", R"("country": "KG")", "th-bangkok", n.th));
  EXPECT_EQ(kgByThai.refusal, trust::refusalName(Refusal::kOutOfScope));
  // A home record holds its id: the peer's record of the same id is refused as a collision.
  ASSERT_TRUE(submit(n.contact("shared-1", "", "kg-bishkek", n.kg), "kg-bishkek").accepted);
  auto clash = submit(n.contact("shared-1", R"("country": "TH", "revision": 9)", "th-bangkok", n.th));
  EXPECT_EQ(clash.refusal, trust::refusalName(Refusal::kCollision)) << clash.detail;
  // A peer's record first, then the home network's: home wins.
  ASSERT_TRUE(submit(n.contact("shared-2", R"("country": "TH", "revision": 5)", "th-bangkok", n.th)).accepted);
  EXPECT_TRUE(submit(n.contact("shared-2", R"("revision": 1)", "kg-bishkek", n.kg), "kg-bishkek").accepted);
  // Replays carried twice are ignored, not logged twice.
  uint64_t head = core->head();
  auto again = submit(n.member(false, "th-bangkok", n.th, {"TH"}));
  EXPECT_TRUE(again.accepted);
  EXPECT_EQ(core->head(), head);
}

TEST_F(BrokerFederation, OutsideThePolicyIsRefusedAndAnEndedPeeringWithdrawsEverything) {
  peer("kinds=contact;roles=central-authority");
  // SEAJust offers only its central authorities: a prosecutor does not pass, nor an alert.
  auto prosecutor = submit(n.contact("th-0", R"("country": "TH")", "th-bangkok", n.th));
  EXPECT_EQ(prosecutor.refusal, trust::refusalName(Refusal::kPolicy)) << prosecutor.detail;
  ASSERT_TRUE(submit(n.contact("th-1", R"("country": "TH", "role": "central-authority")", "th-bangkok", n.th)).accepted);
  // Revoking the peering (a retired revision by CASC's root) withdraws SEAJust from the state.
  ASSERT_TRUE(submit(n.peering(true, "kinds=contact", "kinds=contact", kNow + 86400, "retired", 2), "").accepted);
  EXPECT_FALSE(core->member("th-bangkok").has_value());
  EXPECT_FALSE(core->siteOfRecord("th-1").has_value());
  // And it survives a restart.
  reopen();
  EXPECT_FALSE(core->member("th-bangkok").has_value());
  auto r = submit(n.contact("th-2", R"("country": "TH")", "th-bangkok", n.th));
  EXPECT_FALSE(r.accepted);
}

TEST(TrustFederation, PolicyAllowsOnlyWhatBothSay) {
  auto p = trust::parsePolicy("kinds=contact,alert;roles=central-authority;countries=TH,VN");
  ASSERT_TRUE(p.ok());
  EXPECT_TRUE(p->allows("contact", "central-authority", "TH"));
  EXPECT_FALSE(p->allows("contact", "prosecutor", "TH"));
  EXPECT_FALSE(p->allows("contact", "central-authority", "KG"));
  EXPECT_FALSE(p->allows("notice", "", ""));
  EXPECT_TRUE(p->allows("alert", "", ""));
  EXPECT_FALSE(trust::parsePolicy("kinds=contact;colours=red").ok());
  EXPECT_FALSE(trust::parsePolicy("roles=wizard").ok());
  EXPECT_FALSE(trust::parsePolicy("countries=XX1").ok());
}

class ReplicaFederation : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  TwoNetworks n;
  std::unique_ptr<directory::Directory> dir;  // a CASC replica

  void SetUp() override {
    auto d = directory::Directory::open(tmp / "db", directory::Directory::Options{});
    ASSERT_TRUE(d.ok());
    dir = std::move(d).value();
    auto b = dir->begin();
    ASSERT_TRUE(b.ok());
    ASSERT_TRUE(b->setRoot(n.casc.pub.sign).ok());
    ASSERT_TRUE(std::move(*b).commit().ok());
  }
  directory::ApplyResult apply(const SignedItem& item, int64_t at = kNow) {
    auto b = dir->begin();
    EXPECT_TRUE(b.ok());
    auto r = b->apply(item, at);
    EXPECT_TRUE(r.ok());
    EXPECT_TRUE(std::move(*b).commit().ok());
    return *r;
  }
  std::vector<std::string> ids(directory::Query q, int64_t at = kNow) {
    auto hits = dir->find(q, at);
    EXPECT_TRUE(hits.ok());
    std::vector<std::string> out;
    for (const auto& h : *hits) out.emplace_back(h.stored.record().getId().cStr());
    return out;
  }
};

TEST_F(ReplicaFederation, ForeignRecordsAreServedWhileThePeeringIsInForceThenWithdrawn) {
  EXPECT_EQ(apply(n.member(true, "kg-bishkek", n.kg, {"KG"})).outcome, directory::Outcome::kApplied);
  EXPECT_EQ(apply(n.peering(true)).outcome, directory::Outcome::kApplied);
  EXPECT_EQ(apply(n.peering(false, "kinds=contact,alert", "kinds=contact,alert", kNow + 1000)).outcome,
            directory::Outcome::kApplied);
  EXPECT_EQ(apply(n.member(false, "th-bangkok", n.th, {"TH"})).outcome, directory::Outcome::kApplied);
  EXPECT_EQ(apply(n.contact("th-1", R"("country": "TH", "networks": [])", "th-bangkok", n.th)).outcome,
            directory::Outcome::kApplied);
  EXPECT_EQ(apply(n.contact("kg-1", "", "kg-bishkek", n.kg)).outcome, directory::Outcome::kApplied);
  directory::Query bySeajust;
  bySeajust.network = "SEAJust";  // the record does not say so itself: its origin does
  EXPECT_EQ(ids(bySeajust), std::vector<std::string>{"th-1"});
  auto got = dir->get("th-1");
  ASSERT_TRUE(got.ok() && got->has_value());
  EXPECT_EQ((*got)->network, "SEAJust");
  EXPECT_EQ((**dir->get("kg-1")).network, "");
  auto counts = dir->counts();
  EXPECT_EQ(counts->fromPeers.at("SEAJust"), 1u);
  // A peer's record with a home id is refused; a Thai signer may not touch KG's record.
  auto clash = apply(n.contact("kg-1", R"("country": "TH", "revision": 7)", "th-bangkok", n.th));
  EXPECT_EQ(clash.decision.refusal, Refusal::kCollision);
  // After SEAJust's peering expires its records are not served (nor found by name).
  directory::Query all;
  EXPECT_EQ(ids(all, kNow + 2000), std::vector<std::string>{"kg-1"});
  EXPECT_EQ(ids(all, kNow).size(), 2u);
  // Ended by CASC's root: removed from the replica, certificates too.
  EXPECT_EQ(apply(n.peering(true, "kinds=contact", "kinds=contact", kNow + 86400, "retired", 2)).outcome,
            directory::Outcome::kApplied);
  EXPECT_FALSE(dir->get("th-1")->has_value());
  EXPECT_FALSE(dir->member("th-bangkok")->has_value());
  EXPECT_EQ(ids(all), std::vector<std::string>{"kg-1"});
}

TEST(BridgeCarry, OnlyWhatIsNativeToTheSourceNetworkIsCarried) {
  TwoNetworks n;
  std::set<std::string> native = {"kg-bishkek"};
  auto isNative = [&](std::string_view s) { return native.count(std::string(s)) != 0; };
  // The source root's certificates, revocations and peerings, and what its members sign.
  auto cert = adapters::classify(n.member(true, "kz-almaty", n.kg, {"KZ"}), n.casc.pub.sign, isNative);
  EXPECT_TRUE(cert.carry);
  EXPECT_EQ(cert.enrolled, "kz-almaty");
  EXPECT_TRUE(adapters::classify(n.peering(true), n.casc.pub.sign, isNative).carry);
  EXPECT_TRUE(adapters::classify(n.contact("kg-1", "", "kg-bishkek", n.kg), n.casc.pub.sign, isNative).carry);
  // What came into the source network from a peer never goes on (nor back).
  EXPECT_FALSE(adapters::classify(n.member(false, "th-bangkok", n.th, {"TH"}), n.casc.pub.sign, isNative).carry);
  EXPECT_FALSE(adapters::classify(n.peering(false), n.casc.pub.sign, isNative).carry);
  EXPECT_FALSE(adapters::classify(n.contact("th-1", R"("country": "TH")", "th-bangkok", n.th), n.casc.pub.sign,
                                  isNative).carry);
  // Held refusals: a peer root not trusted yet, peerings not in force; others are final.
  auto rootItem = n.peering(true);
  EXPECT_TRUE(adapters::retryable("not peered", n.contact("kg-1", "", "kg-bishkek", n.kg)));
  EXPECT_TRUE(adapters::retryable("unknown signer", rootItem));
  EXPECT_FALSE(adapters::retryable("unknown signer", n.contact("kg-1", "", "kg-bishkek", n.kg)));
  EXPECT_FALSE(adapters::retryable("outside the peering", n.contact("kg-1", "", "kg-bishkek", n.kg)));
}

}  // namespace
}  // namespace liaison
