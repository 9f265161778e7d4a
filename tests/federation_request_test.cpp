// MLA requests across a peering, on real processes on 127.0.0.1: CASC and SEAJust, each with its
// own root and broker, and liaison-bridge between them (tests/federation_fixture.h). The same
// request from Bishkek (CASC) to Bangkok (SEAJust) as within one network: delivered whole,
// opened, answered with evidence, the same signed trail at both ends that a third party checks
// with the public keys, and no word of the case at either broker or at the bridge. Requests pass
// only when both peerings say so; a kill -9 of the bridge in the middle of a transfer loses and
// doubles nothing.
#include <filesystem>
#include <thread>

#include "requests/request.h"
#include "tests/federation_fixture.h"
#include "tests/request_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

constexpr const char* kWord = testing::kCaseWord;

class FederationRequests : public testing::RequestFixture<testing::FederationTest> {
 protected:
  // Both networks peered; `cascKinds` and `seajustKinds`: what each peering offers and accepts.
  void startPeered(const std::string& cascKinds, const std::string& seajustKinds) {
    startTwoNetworks({"--offer", "kinds=" + cascKinds, "--accept", "kinds=" + cascKinds},
                     {"--offer", "kinds=" + seajustKinds, "--accept", "kinds=" + seajustKinds});
    // The instruments come first in CASC's log: applied at Bishkek before anything from SEAJust.
    ASSERT_EQ(publish("casc-secretariat", testing::sourceDir() + "/config/sample/instruments.json").exitCode, 0);
    // Bangkok's certificate crosses with the first record it publishes; Bishkek's with its own.
    ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-oag-ca-01", R"("country": "TH", "networks": ["SEAJust"])")).exitCode, 0);
    ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-gpo-intl-01", "")).exitCode, 0);
    ASSERT_TRUE(waitFor([&] { return found("kg-bishkek", {"--network", "SEAJust"}).size() == 1; }, 30s));
    ASSERT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}).size() == 1; }, 30s));
  }

  void restartBridge() {
    daemons.erase("bridge");
    startBridge();
  }
};

TEST_F(FederationRequests, ARequestCrossesThePeeringWithTheSameProofs) {
  const std::string every = "contact,instrument,notice,alert,request";
  startPeered(every, every);
  const std::string pdf = makeFile("request.pdf", 6 * 1024 * 1024 + 777, 11);
  std::string err;
  const std::string id = sendRequest("kg-bishkek", "th-bangkok", {pdf}, &err);
  ASSERT_FALSE(id.empty()) << err;
  // The bridge is killed while it carries the chunks, and started again: the transfer goes on.
  std::this_thread::sleep_for(300ms);
  daemons["bridge"]->kill9();
  restartBridge();

  ASSERT_TRUE(waitFor([&] { return state("th-bangkok", id) == "delivered"; }, 90s)) << show("th-bangkok", id).dump();
  ASSERT_TRUE(waitFor([&] { return kinds(show("kg-bishkek", id)) == std::vector<std::string>{"sent", "accepted", "delivered"}; }, 30s))
      << show("kg-bishkek", id).dump();
  EXPECT_EQ(list("th-bangkok").size(), 1u);  // once
  EXPECT_TRUE(list("kz-almaty").empty());

  auto opened = liaison({"request", "open", "--site", site("th-bangkok"), id, "--by", "Pol. Col. Somchai P.", "--out",
                         tmp / "opened"});
  ASSERT_EQ(opened.exitCode, 0) << opened.err;
  EXPECT_EQ(testing::readText(tmp / "opened/request.pdf"), testing::readText(pdf));
  auto reg = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "registered", "--by",
                      "Ms. Kanya R.", "--reference", "OAG-IA-2026-0912"});
  ASSERT_EQ(reg.exitCode, 0) << reg.err;
  const std::string evidence = makeFile("bank-statement.pdf", 1536 * 1024 + 3, 12);
  auto partly = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "partially-executed", "--by",
                         "Ms. Kanya R.", "--comment", "Bank records enclosed", "--attach", evidence});
  ASSERT_EQ(partly.exitCode, 0) << partly.err << partly.out;

  const std::vector<std::string> whole = {"sent", "accepted", "delivered", "opened", "status:registered",
                                          "status:partially-executed"};
  ASSERT_TRUE(waitFor([&] { return kinds(show("kg-bishkek", id)) == whole; }, 60s)) << show("kg-bishkek", id).dump();
  // The evidence crosses back, checked against its status, and comes out as it went.
  ASSERT_TRUE(waitFor([&] {
    auto got = liaison({"request", "open", "--site", site("kg-bishkek"), id, "--by", "A. Sadykov", "--out", tmp / "back"});
    return got.exitCode == 0 && std::filesystem::exists(tmp / "back/partially-executed-6-bank-statement.pdf");
  }, 60s));
  EXPECT_EQ(testing::readText(tmp / "back/partially-executed-6-bank-statement.pdf"), testing::readText(evidence));

  // The same trail at both ends, which a third party checks with the three public keys: the
  // sender, the recipient, and the sender's broker (CASC's), which alone signed "accepted".
  auto atKg = show("kg-bishkek", id);
  auto atTh = show("th-bangkok", id);
  EXPECT_TRUE(atKg["verified"].get<bool>()) << atKg.dump();
  EXPECT_TRUE(atTh["verified"].get<bool>()) << atTh.dump();
  ASSERT_EQ(atKg["trail"].size(), whole.size());
  for (size_t i = 0; i < whole.size(); ++i) EXPECT_EQ(atKg["trail"][i]["signature"], atTh["trail"][i]["signature"]);
  EXPECT_EQ(atKg["trail"][1]["signer"], "broker:CASC");
  auto sealed = requests::decodeSealed(*fromBase64(atKg["sealed"].get<std::string>()));
  ASSERT_TRUE(sealed);
  auto kg = trust::loadPublicKeys(tmp / "kg-bishkek.pub");
  auto th = trust::loadPublicKeys(tmp / "th-bangkok.pub");
  auto casc = trust::loadPublicKeys(tmp / "CASC-broker.pub");
  ASSERT_TRUE(kg && th && casc);
  const requests::TrailKeys keys{"kg-bishkek", "th-bangkok", "broker:CASC", kg->sign, th->sign, casc->sign};
  auto trail = trailOf(atKg);
  auto checked = requests::verifyTrail(trail, *sealed, keys);
  EXPECT_TRUE(checked) << checked.error().message;
  trail.erase(trail.begin() + 3);  // "opened" left out
  EXPECT_FALSE(requests::verifyTrail(trail, *sealed, keys));

  // Brokers and the bridge carried ciphertext and routing only.
  for (const std::string& dir : {tmp / "CASC-broker-data", tmp / "SEAJust-broker-data", tmp / "casc-bridge",
                                tmp / "seajust-bridge"}) {
    EXPECT_TRUE(filesHolding(dir, kWord).empty()) << dir;
    EXPECT_TRUE(filesHolding(dir, "KG-2026-0147").empty()) << dir;
  }
  EXPECT_FALSE(filesHolding(site("th-bangkok"), "KG-2026-0147").empty());  // the check can find it
  auto bridge = status("casc-bridge");
  EXPECT_GE(bridge["extension"]["requests"]["carried"].get<uint64_t>(), 1u) << bridge.dump();
}

TEST_F(FederationRequests, NothingCrossesUnlessBothPeeringsLetRequestsPass) {
  // CASC offers requests; SEAJust accepts everything else but not requests.
  startPeered("contact,instrument,notice,alert,request", "contact,instrument,notice,alert");
  std::string err;
  const std::string id = sendRequest("kg-bishkek", "th-bangkok", {}, &err, {"--wait", "0"});
  ASSERT_FALSE(id.empty()) << err;
  ASSERT_TRUE(waitFor([&] { return state("kg-bishkek", id) == "refused-by-broker"; }, 30s)) << show("kg-bishkek", id).dump();
  auto shown = show("kg-bishkek", id);
  EXPECT_NE(shown["request"]["refusal"].get<std::string>().find("peering closed: SEAJust does not accept requests from CASC"),
            std::string::npos)
      << shown.dump();
  std::this_thread::sleep_for(1s);
  EXPECT_TRUE(list("th-bangkok").empty());
}

}  // namespace
}  // namespace liaison
