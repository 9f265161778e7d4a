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

class Federation : public testing::FederationTest {
 protected:
  json send(const std::string& from, std::vector<std::string> args, std::string* err = nullptr) {
    std::vector<std::string> argv = {"alert", "send", "--site", site(from), "--format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = liaison(argv, 60);
    if (err != nullptr) *err = r.err;
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }
  json showAlert(const std::string& at, const std::string& id) {
    auto r = liaison({"alert", "show", "--site", site(at), id, "--format", "json"}, 30);
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }
  std::string targetState(const std::string& sender, const std::string& id, const std::string& target) {
    auto s = showAlert(sender, id);
    if (s.is_null() || !s["custody"].is_object() || !s["custody"]["targets"].contains(target)) return "";
    return s["custody"]["targets"][target]["state"];
  }
  std::vector<std::string> listed(const std::string& at) {
    auto r = liaison({"alert", "list", "--site", site(at), "--format", "json"}, 30);
    std::vector<std::string> ids;
    if (r.exitCode != 0) return ids;
    for (const auto& a : json::parse(r.out)) ids.push_back(a["id"]);
    return ids;
  }
  // Both networks running, peered, and each holding the other's certificates.
  void startPeered() {
    startTwoNetworks();
    ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-oag-ca-01", kThai)).exitCode, 0);
    ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-gpo-intl-01", "")).exitCode, 0);
    ASSERT_TRUE(waitFor([&] { return found("kg-bishkek", {"--country", "TH"}).size() == 1 &&
                                     found("th-bangkok", {"--country", "KG"}).size() == 1; }, 30s));
  }
};

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

TEST_F(Federation, AnAlertCrossesTheBridgeAndItsAcknowledgementComesBack) {
  startPeered();
  auto sent = send("kg-bishkek", {"--headline", "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight",
                                  "--target", "country:TH", "--target", "site:kz-almaty", "--urgency", "immediate",
                                  "--severity", "severe", "--certainty", "observed", "--by", "A. Sadykov",
                                  "--ack-required"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  // At the home broker: Almaty, the Thai site (of SEAJust) and the bridge that carries it there.
  auto targets = sent["custody"]["targets"];
  EXPECT_TRUE(targets.contains("kz-almaty")) << targets.dump();
  ASSERT_TRUE(targets.contains("th-bangkok")) << targets.dump();
  EXPECT_EQ(targets["th-bangkok"]["network"], "SEAJust");
  EXPECT_EQ(targets["casc-bridge"]["hop"], true);
  // Bangkok, in the other network, receives it, exactly once; nobody else in SEAJust does.
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok") == std::vector<std::string>{id}; }, 20s));
  EXPECT_TRUE(listed("seajust-secretariat").empty());
  // Its automatic receipt, signed in Bangkok, comes back to the sender's view.
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 20s));
  EXPECT_EQ(targetState("kg-bishkek", id, "casc-bridge"), "delivered");
  // A named officer acknowledges in Bangkok; Bishkek sees who.
  auto ack = liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "Pol. Col. Somchai P.",
                      "--comment", "Team dispatched"});
  ASSERT_EQ(ack.exitCode, 0) << ack.err;
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "acknowledged"; }, 20s));
  auto s = showAlert("kg-bishkek", id);
  EXPECT_EQ(s["custody"]["targets"]["th-bangkok"]["by"], "Pol. Col. Somchai P.");
  // The signed answers themselves reach the sender's site: Bangkok's receipt and acknowledgement,
  // Almaty's receipt (the bridge's own receipt stays with the broker).
  EXPECT_TRUE(waitFor([&] {
    auto x = showAlert("kg-bishkek", id);
    return !x.is_null() && x["answers"].size() == 3;
  }, 20s)) << showAlert("kg-bishkek", id).dump();
  auto table = liaison({"alert", "show", "--site", site("kg-bishkek"), id});
  EXPECT_NE(table.out.find("Somchai"), std::string::npos) << table.out;
  // A cancel follows the same way.
  auto cancel = liaison({"alert", "cancel", "--site", site("kg-bishkek"), id, "--format", "json"}, 60);
  ASSERT_EQ(cancel.exitCode, 0) << cancel.err << cancel.out;
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok").size() == 2; }, 20s));
}

TEST_F(Federation, NothingCrossesWithoutBothPeeringsAndOutsideThePolicy) {
  // SEAJust takes only central authorities from CASC; CASC offers no alerts.
  startTwoNetworks({"--offer", "kinds=contact,instrument"},
                   {"--accept", "kinds=contact,alert;roles=central-authority"}, /*peer=*/false);
  ASSERT_EQ(publish("casc-secretariat", peering("CASC", "SEAJust", {"--offer", "kinds=contact,instrument"})).exitCode, 0);
  ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-oag-ca-01", kThai)).exitCode, 0);
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-gpo-intl-01", "")).exitCode, 0);
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg2.json", "kg-gpo-ca-01", R"("role": "central-authority")")).exitCode, 0);
  // Only one side peered: nothing flows either way, and the bridge says why it holds.
  std::this_thread::sleep_for(3s);
  EXPECT_TRUE(found("kg-bishkek", {"--country", "TH"}).empty());
  EXPECT_TRUE(found("th-bangkok", {"--country", "KG"}).empty());
  auto held = status("casc-bridge")["extension"]["outbound"]["waiting"].get<std::string>();
  EXPECT_FALSE(held.empty());
  // SEAJust peers too: what both allow flows, held items included.
  ASSERT_EQ(publish("seajust-secretariat",
                    peering("SEAJust", "CASC", {"--accept", "kinds=contact,alert;roles=central-authority"})).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}) ==
                                   std::vector<std::string>{"kg-gpo-ca-01"}; }, 30s));
  EXPECT_TRUE(waitFor([&] { return found("kg-bishkek", {"--country", "TH"}).size() == 1; }, 30s));
  // The prosecutor is outside SEAJust's acceptance: refused at its broker, counted at the bridge.
  EXPECT_TRUE(waitFor([&] {
    auto x = status("casc-bridge")["extension"]["outbound"]["refused"];
    return x.contains("outside the peering") && x["outside the peering"].get<int>() >= 1;
  }, 20s));
  // CASC offers no alerts: an alert for Thailand has nowhere to go.
  std::string err;
  auto sent = send("kg-bishkek", {"--headline", "x", "--target", "country:TH"}, &err);
  EXPECT_TRUE(sent.is_null());
  EXPECT_NE(err.find("CASC does not offer alerts to SEAJust"), std::string::npos) << err;
}

}  // namespace
}  // namespace liaison
