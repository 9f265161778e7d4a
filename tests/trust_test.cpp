// Verification decisions: every refusal says why.
#include <gtest/gtest.h>

#include <capnp/message.h>
#include <sys/stat.h>

#include "schemas/json.h"
#include "tests/support.h"

namespace liaison {
namespace {

using testing::certFor;
using testing::contactJson;
using testing::FakeTrust;
using trust::Refusal;

constexpr int64_t kNow = 1'800'000'000;

OwnedItem record(const std::string& id, const std::string& extra = "") {
  auto items = json::parseInput("t", contactJson(id, extra));
  EXPECT_TRUE(items.ok()) << (items.ok() ? "" : items.error().message);
  return std::move(std::get<OwnedItem>(items->front()));
}

class TrustTest : public ::testing::Test {
 protected:
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  trust::KeyPair sec = trust::generateKeyPair();
  FakeTrust view{root.pub.sign};

  void SetUp() override {
    view.add(certFor("kg-bishkek", kg, {"KG"}, "authority", kNow - 100, kNow + 100));
    view.add(certFor("casc-sec", sec, {"KG", "KZ"}, "secretariat", kNow - 100, kNow + 100));
  }
  trust::Decision check(const SignedItem& item, std::optional<trust::Existing> existing = {},
                        int64_t now = kNow) {
    return trust::verify(item, view, now, existing);
  }
};

TEST_F(TrustTest, AcceptsARecordInScope) {
  auto d = check(trust::sign(record("kg-1"), "kg-bishkek", kg));
  EXPECT_TRUE(d.accepted()) << d.detail;
}

TEST_F(TrustTest, TamperedBytesAreABadSignature) {
  auto item = trust::sign(record("kg-1"), "kg-bishkek", kg);
  item.signature[5] ^= 1;
  EXPECT_EQ(check(item).refusal, Refusal::kBadSignature);
}

TEST_F(TrustTest, UnknownSignerAndWrongKey) {
  auto stranger = trust::generateKeyPair();
  EXPECT_EQ(check(trust::sign(record("kg-1"), "nobody", stranger)).refusal, Refusal::kUnknownSigner);
  auto d = check(trust::sign(record("kg-1"), "kg-bishkek", stranger));
  EXPECT_EQ(d.refusal, Refusal::kKeyMismatch);
  EXPECT_NE(d.detail.find("kg-bishkek"), std::string::npos);
}

TEST_F(TrustTest, CertificateValidityAndRevocation) {
  auto item = trust::sign(record("kg-1"), "kg-bishkek", kg);
  EXPECT_EQ(check(item, {}, kNow + 101).refusal, Refusal::kExpired);
  EXPECT_EQ(check(item, {}, kNow - 101).refusal, Refusal::kNotYetValid);
  view.revoke("kg-bishkek");
  EXPECT_EQ(check(item).refusal, Refusal::kRevoked);
}

TEST_F(TrustTest, CountryOutOfScope) {
  auto d = check(trust::sign(record("th-1", R"("country": "TH")"), "kg-bishkek", kg));
  EXPECT_EQ(d.refusal, Refusal::kOutOfScope);
  EXPECT_NE(d.detail.find("may not publish for TH"), std::string::npos) << d.detail;
}

TEST_F(TrustTest, MovingAnotherCountrysRecordIsOutOfScope) {
  // KG signer tries to take over a KZ record by re-publishing it as KG.
  auto d = check(trust::sign(record("kz-1", R"("revision": 2)"), "kg-bishkek", kg),
                 trust::Existing{1, "contact", "KZ", ""});
  EXPECT_EQ(d.refusal, Refusal::kOutOfScope);
}

TEST_F(TrustTest, LowerOrEqualRevisionIsStale) {
  auto item = trust::sign(record("kg-1", R"("revision": 3)"), "kg-bishkek", kg);
  EXPECT_EQ(check(item, trust::Existing{3, "contact", "KG", ""}).refusal, Refusal::kStaleRevision);
  EXPECT_EQ(check(item, trust::Existing{4, "contact", "KG", ""}).refusal, Refusal::kStaleRevision);
  EXPECT_TRUE(check(item, trust::Existing{2, "contact", "KG", ""}).accepted());
}

TEST_F(TrustTest, InstrumentsOnlyFromASecretariat) {
  auto items = json::parseInput(
      "i", R"({"kind": "instrument", "id": "UNTOC", "revision": 1, "name": "UNTOC"})");
  ASSERT_TRUE(items.ok());
  auto owned = std::move(std::get<OwnedItem>(items->front()));
  capnp::MallocMessageBuilder copy;
  copy.setRoot(owned.reader());
  auto fromKg = trust::sign(std::move(owned), "kg-bishkek", kg);
  EXPECT_EQ(check(fromKg).refusal, Refusal::kOutOfScope);
  auto fromSec = trust::sign(OwnedItem::fromBuilder(copy), "casc-sec", sec);
  EXPECT_TRUE(check(fromSec).accepted());
}

TEST_F(TrustTest, CertificatesOnlyFromTheRoot) {
  auto cert = certFor("kz-almaty", kg, {"KZ"}, "authority", kNow, kNow + 10);
  EXPECT_TRUE(check(trust::sign(trust::memberItem(cert), "root", root)).accepted());
  // Signed by a member pretending to be root, or by a member under its own name.
  EXPECT_EQ(check(trust::sign(trust::memberItem(cert), "root", kg)).refusal, Refusal::kUnknownSigner);
  EXPECT_EQ(check(trust::sign(trust::memberItem(cert), "kg-bishkek", kg)).refusal,
            Refusal::kUnknownSigner);
  // The root signs nothing but certificates and revocations.
  EXPECT_EQ(check(trust::sign(record("kg-1"), "root", root)).refusal, Refusal::kOutOfScope);
}

TEST(Keys, FilesRoundTripAndSecretIsPrivate) {
  testing::TempDir dir;
  auto keys = trust::generateKeyPair();
  ASSERT_TRUE(trust::writeKeyFiles(dir / "site", keys).ok());
  EXPECT_FALSE(trust::writeKeyFiles(dir / "site", keys).ok()) << "never overwrites a key";
  auto loaded = trust::loadKeyPair(dir / "site.key");
  ASSERT_TRUE(loaded.ok());
  EXPECT_EQ(loaded->pub.sign, keys.pub.sign);
  EXPECT_EQ(loaded->pub.curve, keys.pub.curve);
  auto pub = trust::loadPublicKeys(dir / "site.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_EQ(pub->curve, keys.pub.curve);
  struct stat st{};
  ASSERT_EQ(::stat((dir / "site.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  std::string pubText = testing::readText(dir / "site.pub");
  EXPECT_EQ(pubText.find("secret"), std::string::npos);
  EXPECT_FALSE(trust::loadKeyPair(dir / "site.pub").ok());
}

}  // namespace
}  // namespace liaison
