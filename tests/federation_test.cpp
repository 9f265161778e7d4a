// Federation on real processes on 127.0.0.1: CASC and SEAJust, each with its own root, broker and
// sites, and liaison-bridge between them. Checks what people in each network would see: the
// other network's focal points found, shown with their network, alerts crossing with receipts
// and named acknowledgements coming back; and that nothing crosses that the peerings do not
// allow, that forged or foreign-rooted items are refused with a reason, and that kill -9 of the
// bridge loses and doubles nothing.
#include <filesystem>
#include <functional>
#include <thread>

#include "common/lmdb.h"
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
  // The head of a network's broker log, as a site of it last heard (0 when unknown).
  uint64_t brokerHead(const std::string& at) {
    auto j = status(at);
    return j.is_object() && j.contains("brokerHead") ? j["brokerHead"].get<uint64_t>() : 0;
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
  EXPECT_TRUE(waitFor([&] { return found("kz-almaty", {"--country", "TH"}) ==
                                   std::vector<std::string>{"th-oag-ca-01"}; }, 30s));
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

TEST_F(Federation, EscalationAndUpdateCrossToo) {
  startPeered();
  // For Almaty; nobody acknowledges within 2 s, so it escalates to Thailand, across the bridge.
  auto sent = send("kg-bishkek", {"--headline", "Suspect boarding", "--target", "site:kz-almaty", "--ack-required",
                                  "--ack-deadline", "PT2S", "--escalate-to", "country:TH"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  EXPECT_FALSE(sent["custody"]["targets"].contains("th-bangkok"));
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok") == std::vector<std::string>{id}; }, 30s));
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 30s));
  auto s = showAlert("kg-bishkek", id);
  EXPECT_EQ(s["custody"]["escalated"], true);
  EXPECT_EQ(s["custody"]["targets"]["th-bangkok"]["network"], "SEAJust");
  // An update reaches Bangkok the same way.
  auto update = liaison({"alert", "update", "--site", site("kg-bishkek"), id, "--headline", "Suspect boarded TG 123",
                         "--format", "json"}, 60);
  ASSERT_EQ(update.exitCode, 0) << update.err << update.out;
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok").size() == 2; }, 30s));
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

TEST_F(Federation, RevocationsCrossAndAnEndedPeeringWithdrawsThePeerEverywhere) {
  startPeered();
  // SEAJust enrols a Thai police site (its certificate crosses), then its root revokes it:
  // CASC's replicas hold the revocation too.
  const uint64_t members = status("kz-almaty")["counts"]["members"];
  enroll("SEAJust", "th-police", "TH");
  ASSERT_EQ(publish("seajust-secretariat", tmp / "th-police.member").exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return status("kz-almaty")["counts"]["members"] == members + 1; }, 20s))
      << status("kz-almaty").dump();
  auto revocation = liaison({"revoke", "--root", tmp / "SEAJust-root.key", "--site", "th-police"});
  ASSERT_EQ(revocation.exitCode, 0);
  testing::writeText(tmp / "th.revocation", revocation.out);
  ASSERT_EQ(publish("seajust-secretariat", tmp / "th.revocation").exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return status("kz-almaty")["counts"]["revoked"] == 1; }, 20s))
      << status("kz-almaty").dump();
  // CASC's root ends the peering: SEAJust's records leave every CASC replica, and CASC's leave
  // SEAJust's (the ended peering crosses first).
  ASSERT_EQ(publish("casc-secretariat", peering("CASC", "SEAJust", {"--end"})).exitCode, 0);
  for (auto at : {"kg-bishkek", "kz-almaty", "casc-secretariat"}) {
    EXPECT_TRUE(waitFor([&] { return found(at, {"--country", "TH"}).empty(); }, 20s)) << at;
  }
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}).empty(); }, 20s));
  EXPECT_TRUE(waitFor([&] { return found("seajust-secretariat", {"--country", "KG"}).empty(); }, 20s));
  EXPECT_FALSE(liaison({"show", "--site", site("kg-bishkek"), "th-oag-ca-01"}).exitCode == 0);
  // Nothing flows any more, either way.
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg3.json", "kg-gpo-intl-03", "")).exitCode, 0);
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(found("th-bangkok", {"--country", "KG"}).empty());
  // CASC peers again: what was withdrawn on both sides comes back, and what was held flows.
  ASSERT_EQ(publish("casc-secretariat", peering("CASC", "SEAJust")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return found("kg-bishkek", {"--country", "TH"}).size() == 1; }, 40s));
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}).size() == 2; }, 40s))
      << found("th-bangkok", {"--country", "KG"}).size();
  // The bridge replayed both logs once for the peering that came back; replaying them met that
  // peering again and did not start another replay.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(status("casc-bridge")["extension"]["rewinds"], 1) << status("casc-bridge").dump();
}

TEST_F(Federation, ForgedPeeringsReplaysAndARevokedBridgeAreRefused) {
  startPeered();
  // A peering signed by a key that is no network's root: refused at publishing, with the reason.
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "mallory"}).exitCode, 0);
  auto forged = liaison({"peer", "--root", tmp / "mallory.key", "--network", "CASC", "--peer", "SEAJust",
                         "--peer-root", tmp / "mallory.pub"});
  ASSERT_EQ(forged.exitCode, 2);  // its own root as the peer's: refused by the command
  forged = liaison({"peer", "--root", tmp / "mallory.key", "--network", "CASC", "--peer", "SEAJust",
                    "--peer-root", tmp / "SEAJust-root.pub"});
  ASSERT_EQ(forged.exitCode, 0);
  testing::writeText(tmp / "forged.peering", forged.out);
  auto r = publish("casc-secretariat", tmp / "forged.peering");
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("unknown signer"), std::string::npos) << r.err;
  // A bridge carrying everything again (its CASC side made anew, its cursor at the start):
  // SEAJust's broker ignores every replay; its log does not grow.
  const uint64_t head = brokerHead("th-bangkok");
  ASSERT_GT(head, 0u);
  daemons.erase("bridge");
  std::filesystem::remove_all(site("casc-bridge"));
  initSite("casc-bridge", "bridge");
  startBridge();
  EXPECT_TRUE(waitFor([&] {
    auto st = status("casc-bridge");
    return st.contains("extension") && st["extension"]["outbound"]["ignored"].get<uint64_t>() >= 5 &&
           st["extension"]["outbound"]["queued"] == 0;
  }, 30s)) << status("casc-bridge").dump();
  EXPECT_EQ(brokerHead("th-bangkok"), head);
  // CASC's root revokes the bridge: CASC's broker refuses it; nothing of SEAJust arrives any more.
  auto revocation = liaison({"revoke", "--root", tmp / "CASC-root.key", "--site", "casc-bridge"});
  testing::writeText(tmp / "bridge.revocation", revocation.out);
  ASSERT_EQ(publish("casc-secretariat", tmp / "bridge.revocation").exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return status("kg-bishkek")["counts"]["revoked"] == 1; }, 20s));
  std::this_thread::sleep_for(1s);
  ASSERT_EQ(publish("th-bangkok", contactFile("th2.json", "th-oag-ca-02", kThai)).exitCode, 0);
  std::this_thread::sleep_for(4s);
  EXPECT_EQ(found("kg-bishkek", {"--country", "TH"}), std::vector<std::string>{"th-oag-ca-01"});
  EXPECT_NE(testing::readText(tmp / "CASC-broker.log").find("casc-bridge"), std::string::npos);
}

TEST_F(Federation, APeeringNamingAnotherRootOrExpiredLetsNothingIn) {
  // CASC's peering names a root that is not SEAJust's; SEAJust's own peering has expired.
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "impostor"}).exitCode, 0);
  startTwoNetworks({}, {}, /*peer=*/false);
  auto wrong = liaison({"peer", "--root", tmp / "CASC-root.key", "--network", "CASC", "--peer", "SEAJust",
                        "--peer-root", tmp / "impostor.pub"});
  ASSERT_EQ(wrong.exitCode, 0);
  testing::writeText(tmp / "wrong.peering", wrong.out);
  ASSERT_EQ(publish("casc-secretariat", tmp / "wrong.peering").exitCode, 0);
  ASSERT_EQ(publish("seajust-secretariat", peering("SEAJust", "CASC", {"--until", "2020-01-01"})).exitCode, 0);
  ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-oag-ca-01", kThai)).exitCode, 0);
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-gpo-intl-01", "")).exitCode, 0);
  // SEAJust's certificates and records are held at the bridge with the reason; CASC's are held
  // because SEAJust's peering is not in force. Nothing of the other network is stored anywhere.
  EXPECT_TRUE(waitFor([&] {
    auto x = status("casc-bridge")["extension"];
    return x["inbound"]["waiting"].get<std::string>().find("not signed by this network's root key") != std::string::npos &&
           x["outbound"]["waiting"].get<std::string>().find("not in force") != std::string::npos;
  }, 30s)) << status("casc-bridge")["extension"].dump();
  EXPECT_TRUE(found("kg-bishkek", {"--country", "TH"}).empty());
  EXPECT_TRUE(found("th-bangkok", {"--country", "KG"}).empty());
  auto st = status("kz-almaty");
  EXPECT_EQ(st["counts"]["members"], 4) << st.dump();  // CASC's own four only
  // The status at a CASC site says which peering is not in force.
  auto text = liaison({"status", "--site", site("th-bangkok")});
  EXPECT_NE(text.out.find("SEAJust~CASC (home root), NOT in force"), std::string::npos) << text.out;
}

TEST_F(Federation, ThreeNetworksInARingCarryEachItemOnceAndNeverBack) {
  // CASC, SEAJust and a third network, SAJN, each peered with both others, with three bridges
  // in a ring: CASC→SEAJust, SEAJust→SAJN, SAJN→CASC (each bridge carries both ways).
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "SAJN-root"}).exitCode, 0);
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "SAJN-broker"}).exitCode, 0);
  const std::vector<std::string> names = {"CASC", "SEAJust", "SAJN"};
  auto secretariat = [](std::string n) {
    for (auto& c : n) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return "sec-" + n;
  };
  const std::map<std::string, std::pair<std::string, std::string>> authority = {
      {"CASC", {"kg-bishkek", "KG"}}, {"SEAJust", {"th-bangkok", "TH"}}, {"SAJN", {"bd-dhaka", "BD"}}};
  for (const auto& n : names) {
    enroll(n, authority.at(n).first, authority.at(n).second);
    enroll(n, secretariat(n), "", "secretariat");
  }
  // Bridge i joins names[i] and names[i+1], with one key pair, as "<from>-<to>" in each.
  for (size_t i = 0; i < 3; ++i) {
    const std::string a = names[i], b = names[(i + 1) % 3], key = "ring" + std::to_string(i);
    enroll(a, "br" + std::to_string(i) + "-a", "", "bridge", key);
    enroll(b, "br" + std::to_string(i) + "-b", "", "bridge", key);
  }
  for (const auto& n : names) startBroker(n);
  for (const auto& n : names) {
    for (const auto& id : {authority.at(n).first, secretariat(n)}) {
      initSite(id);
      startSite(id);
    }
  }
  for (size_t i = 0; i < 3; ++i) {
    const std::string key = "ring" + std::to_string(i), a = "br" + std::to_string(i) + "-a",
                      b = "br" + std::to_string(i) + "-b";
    initSite(a, key);
    initSite(b, key);
    daemons[key] = std::make_unique<testing::Process>(
        std::vector<std::string>{bin + "/liaison-bridge", "--site", site(a), "--site", site(b)}, tmp / (key + ".log"));
  }
  for (const auto& n : names) {
    for (const auto& peer : names) {
      if (peer == n) continue;
      ASSERT_EQ(publish(secretariat(n), peering(n, peer)).exitCode, 0);
    }
  }
  // One record in each network.
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg.json", "kg-1", "")).exitCode, 0);
  ASSERT_EQ(publish("th-bangkok", contactFile("th.json", "th-1", kThai)).exitCode, 0);
  ASSERT_EQ(publish("bd-dhaka", contactFile("bd.json", "bd-1", R"("country": "BD", "networks": ["SAJN"])")).exitCode, 0);
  // Each reaches the two other networks.
  for (const auto& [n, who] : authority) {
    EXPECT_TRUE(waitFor([&] { return found(who.first, {}).size() == 3; }, 40s)) << n << ": " << found(who.first, {}).size();
  }
  // A new one in CASC: each log grows by exactly one entry, and nothing goes round the ring: no
  // bridge ever carries an item its destination holds already (it would be "ignored" there).
  const uint64_t heads[3] = {brokerHead("kg-bishkek"), brokerHead("th-bangkok"), brokerHead("bd-dhaka")};
  ASSERT_EQ(publish("kg-bishkek", contactFile("kg2.json", "kg-2", "")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {}).size() == 4 && found("bd-dhaka", {}).size() == 4; }, 30s));
  std::this_thread::sleep_for(3s);
  EXPECT_EQ(brokerHead("kg-bishkek"), heads[0] + 1);
  EXPECT_EQ(brokerHead("th-bangkok"), heads[1] + 1);
  EXPECT_EQ(brokerHead("bd-dhaka"), heads[2] + 1);
  for (size_t i = 0; i < 3; ++i) {
    auto st = status("br" + std::to_string(i) + "-a")["extension"];
    for (auto way : {"outbound", "inbound"}) {
      EXPECT_EQ(st[way]["ignored"], 0) << st.dump();
      EXPECT_TRUE(st[way]["refused"].empty()) << st.dump();
      EXPECT_GE(st[way]["forwarded"].get<int>(), 1) << st.dump();
    }
  }
}

TEST_F(Federation, KillNineOfTheBridgeLosesAndDoublesNothing) {
  startPeered();
  const uint64_t head = brokerHead("th-bangkok");
  ASSERT_GT(head, 0u);
  std::vector<std::string> alerts;
  int published = 0;
  for (int round = 0; round < 6; ++round) {
    std::string file = tmp / ("batch" + std::to_string(round) + ".jsonl");
    auto g = testing::run({bin + "/liaison-gendir", "--count", "60", "--first", std::to_string(1000 + round * 60),
                           "--seed", std::to_string(round), "--countries", "KG", "--out", file});
    ASSERT_EQ(g.exitCode, 0) << g.err;
    ASSERT_EQ(publish("kg-bishkek", file).exitCode, 0);
    published += 60;
    auto sent = send("kg-bishkek", {"--headline", "round " + std::to_string(round), "--target", "country:TH"});
    ASSERT_FALSE(sent.is_null());
    alerts.push_back(sent["id"]);
    // Kill the bridge at a different moment each round, then bring it back.
    std::this_thread::sleep_for(std::chrono::milliseconds(50 * round));
    daemons["bridge"]->kill9();
    daemons.erase("bridge");
    if (round % 2 == 1) std::this_thread::sleep_for(500ms);
    startBridge();
  }
  // Every record reached SEAJust once: its log grew by exactly what was published.
  EXPECT_TRUE(waitFor([&] { return found("th-bangkok", {"--country", "KG"}).size() == static_cast<size_t>(published + 1); }, 60s))
      << found("th-bangkok", {"--country", "KG"}).size();
  EXPECT_TRUE(waitFor([&] { return brokerHead("th-bangkok") >= head + published; }, 30s));
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(brokerHead("th-bangkok"), head + published);
  // Every alert reached Bangkok once, and its receipt came back to Bishkek.
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok").size() == alerts.size(); }, 60s)) << listed("th-bangkok").size();
  for (const auto& id : alerts) {
    EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 60s)) << id;
  }
}

// The peer's broker can take an alert the bridge hands on, deliver it and send the bridge its
// targets' answers while its "accepted" is lost (that broker killed between its commit and its
// answer; the chaos run found it). The bridge then holds the answers without the alert recorded
// as handed on, and had them only in memory on their way back: after a restart it relays the
// answers it holds for every alert it received, not only for those it recorded as handed on.
// What its other side holds already is not relayed again: a restart does not replay the history.
TEST_F(Federation, AnswersToAnAlertNotRecordedAsHandedOnAreRelayedAfterARestart) {
  startPeered();
  auto sent =
      send("kg-bishkek", {"--headline", "Answers across a lost accept", "--target", "country:TH"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  ASSERT_TRUE(
      waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 20s));
  auto outbound = [&](const char* field) {
    auto s = status("casc-bridge");
    if (!s.is_object() || !s["extension"]["outbound"].value("recovered", false))
      return nlohmann::json();
    return s["extension"]["outbound"][field];
  };
  auto restart = [&](const std::function<void()>& whileStopped) {
    daemons["bridge"]->stop();
    daemons.erase("bridge");
    whileStopped();
    startBridge();
    EXPECT_TRUE(waitFor([&] { return !outbound("answersRecovered").is_null(); }, 20s));
  };
  // A plain restart: both sides hold Bangkok's receipt, nothing is relayed again.
  restart([] {});
  EXPECT_EQ(outbound("answersRecovered"), 0);
  EXPECT_EQ(outbound("answersRelayed"), 0);
  restart([&] {
    // What the lost "accepted" leaves: at the bridge's SEAJust side Bangkok's receipt and no
    // alert; at its CASC side, nothing of the receipt (it waited in memory for the relay).
    auto remove = [&](const std::string& side, const char* db, const std::string& key) {
      MDB_dbi dbi = 0;
      auto env = lmdb::openWithDatabases(site(side) + "/alerts", size_t{1} << 30, {{&dbi, db}});
      ASSERT_TRUE(env.ok()) << env.error().message;
      auto txn = lmdb::Txn::beginWrite(*env);
      ASSERT_TRUE(txn.ok());
      auto had = txn->get(dbi, key);
      ASSERT_TRUE(had.ok());
      if (std::string_view(db) != "outq") {
        ASSERT_TRUE(had->has_value()) << side << " " << db;
      }
      if (had->has_value()) {
        ASSERT_TRUE(txn->del(dbi, key).ok());
      }
      ASSERT_TRUE(std::move(*txn).commit().ok());
    };
    remove("seajust-bridge", "alerts", id);
    remove("casc-bridge", "answers",
           id + std::string(1, '\0') + "th-bangkok" + std::string(1, '\0') + "receipt");
    remove("casc-bridge", "outq", "answer/" + id + "/th-bangkok/receipt");
  });
  EXPECT_EQ(outbound("answersRecovered"), 1);
  EXPECT_TRUE(waitFor([&] { return outbound("answersRelayed") == 1; }, 20s))
      << outbound("answersRelayed");
  // Relayed and held again at the CASC side: the next restart finds nothing to relay.
  restart([] {});
  EXPECT_EQ(outbound("answersRecovered"), 0);
  EXPECT_EQ(targetState("kg-bishkek", id, "th-bangkok"), "delivered");
}

}  // namespace
}  // namespace liaison
