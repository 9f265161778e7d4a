// The MLA request core (requests/request.h): what a central authority may send, what only the
// recipient can read, files that resume chunk by chunk and refuse tampering, and a trail of
// signed steps that a third party can check with the public keys.
#include <gtest/gtest.h>

#include <sstream>
#include <string_view>

#include "requests/request.h"
#include "schemas/json.h"
#include "trust/verify.h"
#include "tests/support.h"

namespace liaison {
namespace {

using requests::Content;

constexpr int64_t kNow = 1795000000;  // 2026-11-18

class RequestTest : public ::testing::Test {
 protected:
  trust::KeyPair kg = trust::generateKeyPair(), th = trust::generateKeyPair(), broker = trust::generateKeyPair(),
                 other = trust::generateKeyPair();
  requests::Party from{"kg-gp-ca", {"KG"}}, to{"th-oag-ca", {"TH"}};
  requests::Instruments instruments{{"UNTOC", {"KG", "TH", "KZ"}},
                                    {"UNCAC", {"KG", "TH"}},
                                    {"Minsk-1993", {"KG", "KZ", "RU"}}};

  Content content() {
    Content c;
    c.id = "6f1c2a4e-9b3d-4c8e-a1f0-3d2b7c9e5a10";
    c.caseReference = "KG-2026-0147";
    c.fromSite = "kg-gp-ca";
    c.toSite = "th-oag-ca";
    c.legalBasis = "UNTOC";
    c.measures = {"hearing-of-witness", "bank-records"};
    c.deadline = "2027-01-15";
    c.language = "en";
    c.summary = "Three victims of trafficking recruited in Osh; the Ruby Orchid account in Bangkok.";
    c.createdAt = kNow;
    return c;
  }

  requests::TrailKeys trailKeys() {
    return {"kg-gp-ca", "th-oag-ca", "broker:CASC", kg.pub.sign, th.pub.sign, broker.pub.sign};
  }

  requests::SignedStep step(const std::string& kind, const requests::SignedStep* previous, const trust::KeyPair& keys,
                            const std::string& signer, const std::string& status = "") {
    requests::Step s;
    s.requestId = content().id;
    s.kind = kind;
    s.status = status;
    s.by = kind == "opened" || kind == "status" ? "Ms. Suda W." : "";
    s.comment = status == "refused" ? "dual criminality not met" : "";
    s.at = kNow + (previous != nullptr ? previous->step.at - kNow + 60 : 0);
    if (previous != nullptr) {
      auto h = requests::stepHash(*previous);
      s.previous.assign(h.begin(), h.end());
    }
    return requests::signStep(s, signer, keys);
  }
};

TEST_F(RequestTest, AValidRequestPassesAndEachBadFieldIsNamed) {
  EXPECT_TRUE(requests::validate(content(), from, to, instruments, kNow).ok());
  auto expectRefused = [&](Content c, std::string_view words) {
    auto st = requests::validate(c, from, to, instruments, kNow);
    ASSERT_FALSE(st.ok()) << words;
    EXPECT_NE(st.error().message.find(words), std::string::npos) << st.error().message;
  };
  // A treaty one side has not joined: the error names the ones both share.
  auto c = content();
  c.legalBasis = "Minsk-1993";
  expectRefused(c, "KG and TH are not both party to Minsk-1993; the instruments both are party to: UNCAC, UNTOC");
  c.legalBasis = "Hague-1970";
  expectRefused(c, "\"Hague-1970\" is no instrument");
  c = content();
  c.measures = {"torture"};
  expectRefused(c, "measure: \"torture\" is not one of hearing-of-witness");
  c.measures = {};
  expectRefused(c, "at least one measure");
  c.measures = {"bank-records", "bank-records"};
  expectRefused(c, "given twice");
  c = content();
  c.deadline = "2026-02-30";
  expectRefused(c, "is not a date");
  c.deadline = "2026-01-01";
  expectRefused(c, "has passed");
  c = content();
  c.language = "klingon";
  expectRefused(c, "language");
  c = content();
  c.summary.clear();
  expectRefused(c, "summary");
  c = content();
  c.caseReference.clear();
  expectRefused(c, "case");
  c = content();
  c.id = "not-a-uuid";
  expectRefused(c, "UUID");
  c = content();
  c.files = {{"../../etc/passwd", 10, {}}};
  expectRefused(c, "not a plain file name");
  c.files = {{"a.pdf", requests::kMaxFileBytes + 1, {}}};
  expectRefused(c, "64 MB at most");
  c.files = {{"a.pdf", 60 << 20, {}}, {"b.pdf", 60 << 20, {}}, {"c.pdf", 60 << 20, {}}, {"d.pdf", 60 << 20, {}},
             {"e.pdf", 60 << 20, {}}};
  expectRefused(c, "256 MB at most");
  c.files = {{"a.pdf", 1, {}}, {"a.pdf", 2, {}}};
  expectRefused(c, "two files are named");
  c = content();
  c.toSite = "kg-gp-ca";
  expectRefused(c, "not its parties");
}

TEST_F(RequestTest, OnlyTheRecipientOpensTheRequestAndTheBrokersCopyHoldsNoWordOfIt) {
  auto c = content();
  const std::string secret = "Ruby Orchid";
  c.files = {{"request.pdf", 2'500'000, requests::sha256(Bytes(10, 1))}};
  auto sealed = requests::seal(c, th.pub.box);
  ASSERT_TRUE(sealed.ok()) << sealed.error().message;
  EXPECT_NE(c.fileKey, requests::Hash{});  // made when sealing
  EXPECT_EQ(sealed->chunks, std::vector<uint32_t>{3});
  const Bytes wire = requests::encode(*sealed);
  // What a broker stores: routing, and nothing of the content.
  const std::string_view stored(reinterpret_cast<const char*>(wire.data()), wire.size());
  EXPECT_EQ(stored.find(secret), std::string_view::npos);
  EXPECT_EQ(stored.find("KG-2026-0147"), std::string_view::npos);
  EXPECT_NE(stored.find("th-oag-ca"), std::string_view::npos);

  auto decoded = requests::decodeSealed(wire);
  ASSERT_TRUE(decoded.ok()) << decoded.error().message;
  auto opened = requests::open(*decoded, th);
  ASSERT_TRUE(opened.ok()) << opened.error().message;
  EXPECT_EQ(*opened, c);
  // Another site's keys do not open it, and neither do the sender's.
  EXPECT_FALSE(requests::open(*decoded, other).ok());
  EXPECT_FALSE(requests::open(*decoded, kg).ok());
  // A byte changed anywhere in the ciphertext: refused.
  for (size_t at : {size_t{0}, decoded->sealed.size() / 2, decoded->sealed.size() - 1}) {
    auto tampered = *decoded;
    tampered.sealed[at] ^= 0x01;
    EXPECT_FALSE(requests::open(tampered, th).ok()) << at;
  }
  // Routing changed on the way (another recipient named, or chunk counts): refused at opening.
  auto rerouted = *decoded;
  rerouted.fromSite = "kz-gp-ca";
  EXPECT_FALSE(requests::open(rerouted, th).ok());
  auto rechunked = *decoded;
  rechunked.chunks = {2};
  EXPECT_FALSE(requests::open(rechunked, th).ok());
  // A site enrolled before requests has no box key: a clear error, not a crash.
  auto none = requests::seal(c, trust::CurveKey{});
  ASSERT_FALSE(none.ok());
  EXPECT_NE(none.error().message.find("enrolled again"), std::string::npos);
}

TEST_F(RequestTest, FileChunksDecryptOnlyInTheirPlaceAndUnchanged) {
  auto c = content();
  Bytes first(1000, 7), second(10, 9);
  ASSERT_TRUE(requests::seal(c, th.pub.box).ok());
  auto one = requests::encryptChunk(c, 0, 0, first);
  auto two = requests::encryptChunk(c, 0, 1, second);
  auto back = requests::decryptChunk(c, 0, 0, one);
  ASSERT_TRUE(back.ok());
  EXPECT_EQ(*back, first);
  EXPECT_FALSE(requests::decryptChunk(c, 0, 1, one).ok());  // out of order
  EXPECT_FALSE(requests::decryptChunk(c, 1, 0, one).ok());  // another file
  auto otherRequest = c;
  otherRequest.id = "00000000-0000-4000-8000-000000000000";
  EXPECT_FALSE(requests::decryptChunk(otherRequest, 0, 0, one).ok());
  auto changed = two;
  changed[changed.size() / 2] ^= 0x80;
  EXPECT_FALSE(requests::decryptChunk(c, 0, 1, changed).ok());
  EXPECT_FALSE(requests::decryptChunk(c, 0, 1, Bytes(5)).ok());
  EXPECT_EQ(requests::chunkCount(0), 1u);
  EXPECT_EQ(requests::chunkCount(requests::kChunkBytes), 1u);
  EXPECT_EQ(requests::chunkCount(requests::kChunkBytes + 1), 2u);
}

TEST_F(RequestTest, ATrailOfSignedStepsIsCheckedByAThirdPartyAndEveryForgeryIsNamed) {
  auto c = content();
  auto sealed = requests::seal(c, th.pub.box);
  ASSERT_TRUE(sealed.ok());
  const auto subject = requests::blake2b(requests::encode(*sealed));
  requests::Step sentStep;
  sentStep.requestId = c.id;
  sentStep.kind = "sent";
  sentStep.at = kNow;
  sentStep.subject.assign(subject.begin(), subject.end());
  auto sent = requests::signStep(sentStep, "kg-gp-ca", kg);
  auto accepted = step("accepted", &sent, broker, "broker:CASC");
  auto delivered = step("delivered", &accepted, th, "th-oag-ca");
  auto opened = step("opened", &delivered, th, "th-oag-ca");
  auto registered = step("status", &opened, th, "th-oag-ca", "registered");
  auto executed = step("status", &registered, th, "th-oag-ca", "executed");
  std::vector<requests::SignedStep> trail{sent, accepted, delivered, opened, registered, executed};

  // What a third party does: decode each step from its bytes, then check the whole.
  std::vector<requests::SignedStep> decoded;
  for (const auto& s : trail) {
    auto d = requests::decodeStep(requests::encode(s));
    ASSERT_TRUE(d.ok()) << d.error().message;
    decoded.push_back(*d);
  }
  EXPECT_TRUE(requests::verifyTrail(decoded, *sealed, trailKeys()).ok());

  auto refused = [&](std::vector<requests::SignedStep> t, std::string_view words) {
    auto st = requests::verifyTrail(t, *sealed, trailKeys());
    ASSERT_FALSE(st.ok()) << words;
    EXPECT_NE(st.error().message.find(words), std::string::npos) << st.error().message;
  };
  // A status by a site that is not the recipient.
  refused({sent, accepted, delivered, opened, step("status", &opened, other, "th-oag-ca", "executed")},
          "a key that is not th-oag-ca's");
  refused({sent, accepted, delivered, opened, step("status", &opened, kg, "kg-gp-ca", "executed")}, "not by th-oag-ca");
  // A replayed status (the same step twice), a step left out, steps in the wrong order.
  refused({sent, accepted, delivered, opened, registered, registered}, "not chained");
  refused({sent, delivered}, "may not follow \"sent\"");
  refused({sent, accepted, opened}, "may not follow \"accepted\"");
  // Delivery claimed by the broker; a refusal without grounds; a status outside the vocabulary.
  refused({sent, accepted, step("delivered", &accepted, broker, "broker:CASC")}, "not by th-oag-ca");
  auto noGrounds = opened;
  {
    requests::Step s;
    s.requestId = c.id;
    s.kind = "status";
    s.status = "refused";
    s.by = "Ms. Suda W.";
    s.at = kNow + 600;
    auto h = requests::stepHash(opened);
    s.previous.assign(h.begin(), h.end());
    noGrounds = requests::signStep(s, "th-oag-ca", th);
  }
  refused({sent, accepted, delivered, opened, noGrounds}, "gives its grounds");
  refused({sent, accepted, delivered, opened, step("status", &opened, th, "th-oag-ca", "lost")}, "is not a status");
  // A trail of another sealed request.
  auto c2 = content();
  c2.summary = "another";
  auto sealed2 = requests::seal(c2, th.pub.box);
  ASSERT_TRUE(sealed2.ok());
  EXPECT_FALSE(requests::verifyTrail(trail, *sealed2, trailKeys()).ok());
  // A step's bytes changed after signing: its signature no longer verifies.
  auto bytes = requests::encode(opened);
  bytes[bytes.size() / 3] ^= 0x01;
  auto forged = requests::decodeStep(bytes);
  EXPECT_FALSE(forged.ok());
  // Garbage is an error, not a crash.
  EXPECT_FALSE(requests::decodeStep(Bytes(3, 0)).ok());
  EXPECT_FALSE(requests::decodeStep(Bytes(64, 0xff)).ok());
  EXPECT_FALSE(requests::decodeSealed(Bytes(64, 0xff)).ok());
}

TEST(KeyFiles, AMemberCertificateCarriesTheBoxKeyAndAnOlderOneHasNone) {
  auto keys = trust::generateKeyPair();
  trust::MemberCert cert;
  cert.site = "th-oag-ca";
  cert.signKey = keys.pub.sign;
  cert.curveKey = keys.pub.curve;
  cert.boxKey = keys.pub.box;
  auto item = trust::memberItem(cert);
  EXPECT_EQ(trust::memberFromReader(item.reader().getMember()).boxKey, keys.pub.box);
  cert.boxKey = {};
  auto older = trust::memberItem(cert);
  EXPECT_EQ(trust::memberFromReader(older.reader().getMember()).boxKey, trust::CurveKey{});
  EXPECT_FALSE(older.reader().getMember().hasBoxKey());
}

TEST(KeyFiles, EnrolmentPutsTheSitesBoxKeyInItsCertificate) {
  testing::TempDir tmp;
  const std::string bin = testing::binDir() + "/liaison";
  ASSERT_EQ(testing::run({bin, "keygen", "--out", tmp / "root"}).exitCode, 0);
  ASSERT_EQ(testing::run({bin, "keygen", "--out", tmp / "th"}).exitCode, 0);
  auto cert = testing::run({bin, "enroll", "--root", tmp / "root.key", "--site", "th-oag-ca", "--public", tmp / "th.pub",
                            "--country", "TH", "--network", "SEAJust"});
  ASSERT_EQ(cert.exitCode, 0) << cert.err;
  auto items = json::dearmor("th.member", cert.out);
  ASSERT_TRUE(items.ok() && items->size() == 1u);
  auto pub = trust::loadPublicKeys(tmp / "th.pub");
  ASSERT_TRUE(pub.ok());
  EXPECT_NE(pub->box, trust::CurveKey{});
  EXPECT_EQ(trust::memberFromSigned(items->front()).boxKey, pub->box);
}

TEST(KeyFiles, NewKeysHaveABoxKeyAndOlderKeyFilesStillLoad) {
  testing::TempDir tmp;
  auto keys = trust::generateKeyPair();
  EXPECT_TRUE(keys.hasBox());
  EXPECT_NE(keys.pub.box, keys.pub.curve);  // a key of its own, not the transport's
  ASSERT_TRUE(trust::writeKeyFiles(tmp / "site", keys).ok());
  auto loaded = trust::loadKeyPair(tmp / "site.key");
  auto pub = trust::loadPublicKeys(tmp / "site.pub");
  ASSERT_TRUE(loaded.ok() && pub.ok());
  EXPECT_EQ(loaded->pub.box, keys.pub.box);
  EXPECT_EQ(pub->box, keys.pub.box);
  // A key file from before requests (no box lines): it loads, with no box key.
  auto dropBox = [](const std::string& text) {
    std::string out, line;
    std::istringstream in(text);
    while (std::getline(in, line)) {
      if (!line.starts_with("box")) out += line + "\n";
    }
    return out;
  };
  testing::writeText(tmp / "old.key", dropBox(testing::readText(tmp / "site.key")));
  testing::writeText(tmp / "old.pub", dropBox(testing::readText(tmp / "site.pub")));
  auto old = trust::loadKeyPair(tmp / "old.key");
  auto oldPub = trust::loadPublicKeys(tmp / "old.pub");
  ASSERT_TRUE(old.ok() && oldPub.ok());
  EXPECT_FALSE(old->hasBox());
  EXPECT_EQ(oldPub->box, trust::CurveKey{});
  EXPECT_EQ(old->pub.sign, keys.pub.sign);
}

TEST(RequestEvidence, TheParcelOfAStatusHasOneIdBothSidesDeriveAndNoOtherStepShares) {
  const std::string request = "6f1c2a4e-9b3d-4c8e-a1f0-3d2b7c9e5a10";
  const std::string id = requests::evidenceId(request, 7);
  EXPECT_EQ(id, requests::evidenceId(request, 7));
  EXPECT_NE(id, requests::evidenceId(request, 8));
  EXPECT_NE(id, requests::evidenceId("6f1c2a4e-9b3d-4c8e-a1f0-3d2b7c9e5a11", 7));
  ASSERT_EQ(id.size(), 36u);
  EXPECT_EQ(id[14], '8');  // version 8
  // It is a request id a broker accepts for a sealed parcel.
  Content c;
  c.id = id;
  c.fromSite = "th-oag-ca";
  c.toSite = "kg-gp-ca";
  auto keys = trust::generateKeyPair();
  auto sealed = requests::seal(c, keys.pub.box);
  ASSERT_TRUE(sealed);
  EXPECT_TRUE(requests::decodeSealed(requests::encode(*sealed)));
}

}  // namespace
}  // namespace liaison
