// Federation on real processes on 127.0.0.1: CASC and SEAJust, each with its own root, broker and
// sites, and liaison-bridge between them. Checks what people in each network would see: the
// other network's focal points found, shown with their network, alerts crossing with receipts
// and named acknowledgements coming back; and that nothing crosses that the peerings do not
// allow, that forged or foreign-rooted items are refused with a reason, and that kill -9 of the
// bridge loses and doubles nothing.
#include <filesystem>
#include <thread>

#include "tests/federation_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

const char* kThai = R"("country": "TH", "role": "central-authority", "locality": "Bangkok",
    "name": {"latin": "Somchai Prasert", "original": "สมชาย ประเสริฐ"}, "networks": ["SEAJust"],
    "organization": "Office of the Attorney General", "languages": ["th", "en", "ru"],
    "availability": {"timezone": "Asia/Bangkok", "hours": "Mo-Fr 08:30-16:30"},
    "channels": [{"kind": "email", "value": "ca@example.th", "preferred": true}])";

class Federation : public testing::FederationTest {};

TEST_F(Federation, EachNetworkFindsTheOthersFocalPointsWithTheirNetwork) {
  startTwoNetworks();
  ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-oag-ca-01", kThai)).exitCode, 0);
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-gpo-intl-01", "")).exitCode, 0);
  // The Thai central authority, published on SEAJust, is found at a CASC site.
  EXPECT_TRUE(waitFor([&] { return found("kg-bishkek", {"--network", "SEAJust"}) ==
                                   std::vector<std::string>{"th-oag-ca-01"}; }, 30s));
  EXPECT_EQ(found("kz-almaty", {"--country", "TH"}), std::vector<std::string>{"th-oag-ca-01"});
  EXPECT_EQ(found("kg-bishkek", {"--name", "Сомчай"}), std::vector<std::string>{"th-oag-ca-01"});
  // And the Kyrgyz prosecutor at the SEAJust sites.
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}) ==
                                   std::vector<std::string>{"kg-gpo-intl-01"}; }, 30s));
  // `show` and the table say where a record came from.
  auto show = liaison({"show", "--site", site("kg-bishkek"), "th-oag-ca-01"});
  EXPECT_NE(show.out.find("network: SEAJust (a peer network"), std::string::npos) << show.out;
  auto table = liaison({"find", "--site", site("kg-bishkek"), "--country", "TH"});
  EXPECT_NE(table.out.find("SEAJust"), std::string::npos) << table.out;
  auto home = liaison({"find", "--site", site("kg-bishkek"), "--country", "KG", "--format", "json"});
  EXPECT_EQ(json::parse(home.out)[0]["match"]["network"], "CASC");
  // The counterpart search at a CASC site returns SEAJust's Thai focal point.
  auto cp = liaison({"counterpart", "--site", site("kg-bishkek"), "--from", "KG", "--to", "TH", "--format", "json"});
  ASSERT_EQ(cp.exitCode, 0) << cp.err;
  auto j = json::parse(cp.out);
  ASSERT_EQ(j["counterparts"].size(), 1u) << cp.out;
  EXPECT_EQ(j["counterparts"][0]["id"], "th-oag-ca-01");
  EXPECT_EQ(j["counterparts"][0]["match"]["network"], "SEAJust");
  // Both sides of the bridge show both directions.
  auto st = status("casc-bridge");
  ASSERT_TRUE(st.contains("extension")) << st.dump();
  EXPECT_EQ(st["extension"]["outbound"]["to"], "SEAJust");
  EXPECT_GE(st["extension"]["outbound"]["forwarded"].get<int>(), 1);
  EXPECT_GE(st["extension"]["inbound"]["forwarded"].get<int>(), 1);
  auto text = liaison({"status", "--site", site("seajust-bridge")});
  EXPECT_NE(text.out.find("bridge to    CASC"), std::string::npos) << text.out;
  EXPECT_NE(text.out.find("peering:      SEAJust~CASC"), std::string::npos) << text.out;
}

}  // namespace
}  // namespace liaison
