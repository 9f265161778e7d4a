// Alerts on a real network on 127.0.0.1: a broker and up to five site daemons, driven through
// `liaison alert`. Checks what a sender and the people at target sites would see: who receives
// an alert (exactly its targets), receipts, acknowledgements, escalation, update, cancel and
// expiry, and that restarts, kill -9 and a lost receipt lose nothing and show nothing twice.
#include <signal.h>

#include <filesystem>
#include <fstream>
#include <thread>

#include "tests/network_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

class AlertTest : public testing::NetworkTest {
 protected:
  // Sends an alert from `from`; the command's JSON answer (empty on failure, with `err` set).
  json send(const std::string& from, std::vector<std::string> args, std::string* err = nullptr,
            int* exitCode = nullptr) {
    std::vector<std::string> argv = {"alert", "send", "--site", site(from), "--format", "json"};
    argv.insert(argv.end(), args.begin(), args.end());
    auto r = liaison(argv, 60);
    if (err != nullptr) *err = r.err;
    if (exitCode != nullptr) *exitCode = r.exitCode;
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }

  // The alert as `at` shows it (JSON), or null when it has none.
  json show(const std::string& at, const std::string& id) {
    auto r = liaison({"alert", "show", "--site", site(at), id, "--format", "json"}, 30);
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }

  // Ids of the alerts `at` holds (received and sent), in the order listed.
  std::vector<std::string> listed(const std::string& at) {
    auto r = liaison({"alert", "list", "--site", site(at), "--format", "json"}, 30);
    std::vector<std::string> ids;
    if (r.exitCode != 0) return ids;
    for (const auto& a : json::parse(r.out)) ids.push_back(a["id"]);
    return ids;
  }

  // The state of one target in the sender's view ("" when not a target).
  std::string targetState(const std::string& sender, const std::string& id, const std::string& target) {
    auto s = show(sender, id);
    if (s.is_null() || !s["custody"].is_object() || !s["custody"]["targets"].contains(target)) return "";
    return s["custody"]["targets"][target]["state"];
  }

  // Writes a site.toml [alerts] on_new hook that appends each alert's JSON to `file`.
  void hookInto(const std::string& id, const std::string& file) {
    std::string toml = testing::readText(site(id) + "/site.toml");
    auto at = toml.find("[alerts]\n");
    ASSERT_NE(at, std::string::npos);
    toml.insert(at + 9, "on_new = \"cat >> '" + file + "'; echo >> '" + file + "'\"\n");
    testing::writeText(site(id) + "/site.toml", toml);
  }

  static size_t countOf(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }

  // Five sites: two in Thailand, and a contact role and a focal point published by Chiang Mai.
  void startFiveSites() {
    enroll("kg-bishkek", "KG");
    enroll("kz-almaty", "KZ");
    enroll("th-bangkok", "TH");
    enroll("th-chiangmai", "TH");
    enroll("vn-hanoi", "VN");
    startBroker();
    for (auto id : {"kg-bishkek", "kz-almaty", "th-bangkok", "th-chiangmai", "vn-hanoi"}) {
      initSite(id);
      if (std::string(id) == "th-bangkok") hookInto(id, tmp / "bangkok-hook.jsonl");
      startSite(id);
    }
    testing::writeText(tmp / "ncb.json",
                       testing::contactJson("th-ncb-desk-01", R"("country": "TH", "role": "interpol-ncb",
                           "networks": ["INTERPOL"], "availability": {"timezone": "Asia/Bangkok", "hours": "Mo-Fr 09:00-17:00"})"));
    auto r = publish("th-chiangmai", tmp / "ncb.json");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    // The broker learns provenance from the log; every site verifies alerts against the sender's
    // certificate, which they all hold once the log is applied.
    ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty", "th-bangkok", "th-chiangmai", "vn-hanoi"}, 1); }, 20s));
  }
};

TEST_F(AlertTest, AnAlertReachesExactlyItsTargetsAndIsAcknowledged) {
  startFiveSites();
  auto sent = send("kg-bishkek", {"--headline", "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight",
                                  "--target", "country:TH", "--target", "site:kz-almaty", "--urgency", "immediate",
                                  "--severity", "severe", "--certainty", "observed", "--category",
                                  "trafficking-in-persons", "--incident", "KG-2026-0147", "--by", "A. Sadykov",
                                  "--ack-required", "--description", "Victims & suspect <details>"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  EXPECT_EQ(sent["custody"]["targets"].size(), 3u) << sent.dump();
  for (auto t : {"th-bangkok", "th-chiangmai", "kz-almaty"}) {
    EXPECT_TRUE(waitFor([&] { return listed(t) == std::vector<std::string>{id}; }, 10s)) << t;
  }
  // Not targeted: never receives the content.
  EXPECT_TRUE(listed("vn-hanoi").empty());
  // Every target receipted automatically; the sender sees it.
  EXPECT_TRUE(waitFor([&] {
    auto s = show("kg-bishkek", id);
    if (s.is_null() || !s["custody"].is_object()) return false;
    for (const auto& [site, t] : s["custody"]["targets"].items()) {
      if (t["state"] != "delivered") return false;
    }
    return s["custody"]["targets"].size() == 3;
  }, 10s));
  // A named officer in Bangkok acknowledges; the sender sees who and what.
  auto ack = liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "Pol. Col. Somchai P.",
                      "--comment", "Team dispatched to the airport"});
  ASSERT_EQ(ack.exitCode, 0) << ack.err;
  EXPECT_NE(ack.out.find("acknowledged"), std::string::npos);
  auto s = show("kg-bishkek", id);
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["custody"]["targets"]["th-bangkok"]["state"], "acknowledged");
  EXPECT_EQ(s["custody"]["targets"]["th-bangkok"]["by"], "Pol. Col. Somchai P.");
  EXPECT_EQ(s["custody"]["targets"]["th-chiangmai"]["state"], "delivered");
  // The signed answers travel back to the sender's site and are held there.
  EXPECT_TRUE(waitFor([&] {
    auto x = show("kg-bishkek", id);
    return !x.is_null() && x["answers"].size() == 4;  // 3 receipts + 1 acknowledgement
  }, 10s));
  // The table view names the officer; the CAP view is a CAP 1.2 alert plus an Ack message.
  auto table = liaison({"alert", "show", "--site", site("kg-bishkek"), id});
  EXPECT_NE(table.out.find("Somchai"), std::string::npos) << table.out;
  auto cap = liaison({"alert", "show", "--site", site("kg-bishkek"), id, "--format", "cap"});
  ASSERT_EQ(cap.exitCode, 0) << cap.err;
  EXPECT_EQ(countOf(cap.out, "<msgType>Alert</msgType>"), 1u);
  EXPECT_EQ(countOf(cap.out, "<msgType>Ack</msgType>"), 1u);
  EXPECT_NE(cap.out.find("Victims &amp; suspect &lt;details&gt;"), std::string::npos);
  // The operator's hook at Bangkok got the alert as JSON on stdin, once.
  EXPECT_TRUE(waitFor([&] { return countOf(testing::readText(tmp / "bangkok-hook.jsonl"), id) == 1; }, 10s));
  auto hook = json::parse(testing::readText(tmp / "bangkok-hook.jsonl"));
  EXPECT_EQ(hook["headline"], "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight");
  EXPECT_EQ(hook["id"], id);
  // Acknowledging twice is harmless; declining after acknowledging is refused.
  EXPECT_EQ(liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "Pol. Col. Somchai P."}).exitCode, 0);
  EXPECT_EQ(liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "X", "--decline"}).exitCode, 2);

  // Roles, networks and focal points resolve through the provenance of published contacts.
  auto byRole = send("kg-bishkek", {"--headline", "For the NCB", "--target", "role:interpol-ncb"});
  ASSERT_FALSE(byRole.is_null());
  EXPECT_EQ(byRole["custody"]["targets"].size(), 1u);
  EXPECT_TRUE(byRole["custody"]["targets"].contains("th-chiangmai"));
  auto byFocal = send("kg-bishkek", {"--headline", "For the desk", "--target", "focal-point:th-ncb-desk-01"});
  ASSERT_FALSE(byFocal.is_null());
  EXPECT_TRUE(byFocal["custody"]["targets"].contains("th-chiangmai"));
  EXPECT_EQ(byFocal["custody"]["targets"].size(), 1u);
}

TEST_F(AlertTest, BadAlertsAndAnswersAreRefusedWithAReasonAndCounted) {
  startFiveSites();
  std::string err;
  int code = 0;
  // A country no member site answers for.
  EXPECT_TRUE(send("kg-bishkek", {"--headline", "x", "--target", "country:UZ"}, &err, &code).is_null());
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("unknown target"), std::string::npos) << err;
  EXPECT_NE(err.find("country:UZ"), std::string::npos) << err;
  // No targets at all.
  EXPECT_TRUE(send("kg-bishkek", {"--headline", "x"}, &err, &code).is_null());
  EXPECT_EQ(code, 2);
  EXPECT_NE(err.find("targets"), std::string::npos) << err;
  // Expired on arrival.
  EXPECT_TRUE(send("kg-bishkek", {"--headline", "x", "--target", "country:TH", "--expires",
                                  "2020-01-01T00:00:00Z"}, &err, &code).is_null());
  EXPECT_NE(err.find("expired"), std::string::npos) << err;
  // Oversized text.
  EXPECT_TRUE(send("kg-bishkek", {"--headline", "x", "--target", "country:TH", "--description",
                                  std::string(9000, 'a')}, &err, &code).is_null());
  EXPECT_NE(err.find("description"), std::string::npos) << err;
  // An update of an alert the broker does not hold.
  auto r = liaison({"alert", "update", "--site", site("kg-bishkek"), "00000000-0000-4000-8000-000000000000",
                    "--headline", "x"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("unknown reference"), std::string::npos) << r.err;
  // A cancel by anyone but the sender.
  auto sent = send("kg-bishkek", {"--headline", "Real one", "--target", "country:TH"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  r = liaison({"alert", "cancel", "--site", site("kz-almaty"), id});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("not the sender"), std::string::npos) << r.err;
  // An answer from a site that never received it.
  r = liaison({"alert", "ack", "--site", site("vn-hanoi"), id, "--by", "Nguyen"});
  EXPECT_EQ(r.exitCode, 1);
  EXPECT_NE(r.err.find("no alert"), std::string::npos) << r.err;
  // A person's name is required.
  EXPECT_NE(liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", ""}).exitCode, 0);
  // Unknown target kinds are a usage error before anything is sent.
  EXPECT_EQ(liaison({"alert", "send", "--site", site("kg-bishkek"), "--headline", "x", "--target", "planet:Mars"}).exitCode, 2);
  // Service continues: the real alert was delivered, and nothing refused was stored anywhere.
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 10s));
  EXPECT_EQ(listed("th-bangkok"), std::vector<std::string>{id});
  EXPECT_EQ(listed("kg-bishkek"), std::vector<std::string>{id});
  // The broker counted each refusal by its reason.
  broker->stop();
  auto log = testing::readText(tmp / "broker.log");
  for (auto reason : {"unknown target=1", "expired=1", "unknown reference=1", "not the sender=1"}) {
    EXPECT_NE(log.find(reason), std::string::npos) << reason;
  }
}

TEST_F(AlertTest, AnOfflineTargetReceivesTheAlertWhenItReturns) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  daemons["th-bangkok"]->stop();
  auto sent = send("kg-bishkek", {"--headline", "While you were away", "--target", "country:TH"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  EXPECT_EQ(targetState("kg-bishkek", id, "th-bangkok"), "queued");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(targetState("kg-bishkek", id, "th-bangkok"), "queued");
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok") == std::vector<std::string>{id}; }, 15s));
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 10s));
}

TEST_F(AlertTest, Kill9OfTheBrokerBetweenAcceptAndDeliveryStillDelivers) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  daemons["th-bangkok"]->stop();  // so the broker cannot deliver before it dies
  auto sent = send("kg-bishkek", {"--headline", "Custody across a crash", "--target", "site:th-bangkok",
                                  "--ack-required"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  broker->kill9();
  startBroker();  // same port, same data
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return listed("th-bangkok") == std::vector<std::string>{id}; }, 20s));
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 20s));
  // An acknowledgement made while the broker is down is kept and arrives after it returns.
  broker->kill9();
  auto ack = liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "Duty officer"});
  ASSERT_EQ(ack.exitCode, 0) << ack.err;
  EXPECT_NE(ack.out.find("will be sent"), std::string::npos) << ack.out;
  daemons["th-bangkok"]->kill9();  // and the site dies too before it could send it
  startBroker();
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "acknowledged"; }, 20s));
  EXPECT_EQ(listed("th-bangkok"), std::vector<std::string>{id});
}

TEST_F(AlertTest, ALostReceiptCausesAResendThatTheSiteShowsOnce) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  startBroker();
  initSite("kg-bishkek");
  initSite("th-bangkok");
  hookInto("th-bangkok", tmp / "hook.jsonl");
  startSite("kg-bishkek");
  startSite("th-bangkok");
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  // Bangkok is paused while the alert is accepted, and a copy of the broker's custody is taken
  // then: in it, Bangkok has not receipted.
  daemons["th-bangkok"]->pause();
  auto sent = send("kg-bishkek", {"--headline", "Receipt goes missing", "--target", "site:th-bangkok"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  std::filesystem::create_directories(tmp / "custody-copy");
  auto copy = testing::run({"/usr/bin/mdb_copy", tmp / "broker-data/alerts", tmp / "custody-copy"});
  ASSERT_EQ(copy.exitCode, 0) << copy.err;
  daemons["th-bangkok"]->resume();
  ASSERT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 15s));
  // The broker loses the receipt: it comes back with the custody as it was before it.
  broker->kill9();
  std::filesystem::copy_file(tmp / "custody-copy/data.mdb", tmp / "broker-data/alerts/data.mdb",
                             std::filesystem::copy_options::overwrite_existing);
  startBroker();
  // It delivers again; Bangkok stores nothing new, receipts again, and its people see it once.
  EXPECT_TRUE(waitFor([&] { return status("th-bangkok")["alerts"].value("duplicates", 0) >= 1; }, 20s));
  EXPECT_TRUE(waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 15s));
  EXPECT_EQ(listed("th-bangkok"), std::vector<std::string>{id});
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(countOf(testing::readText(tmp / "hook.jsonl"), id), 1u);
  EXPECT_NE(testing::readText(tmp / "broker.log").find("resent"), std::string::npos);
}

// A site drops an answer the broker accepted from its queue in LMDB with the next alerts or
// answers it stores, or on its own about a second later (AlertDesk::kDropDelayMs), not in a
// synced commit of its own. A kill -9 in between loses only the drop: after the restart the
// answer is sent once more, the broker takes it as the one it holds, and the sender shows it once.
TEST_F(AlertTest, AnAcceptedAnswerLostInACrashIsSentAgainAndShownOnce) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  auto sent = send("kg-bishkek", {"--headline", "Answer across a crash", "--target",
                                  "site:th-bangkok", "--ack-required"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  ASSERT_TRUE(
      waitFor([&] { return targetState("kg-bishkek", id, "th-bangkok") == "delivered"; }, 15s));
  // What Bangkok's inbox holds in its queue of answers, read from its LMDB file.
  auto queuedOnDisk = [&] {
    auto r = testing::run({"/usr/bin/mdb_stat", "-s", "outq", site("th-bangkok") + "/alerts"});
    auto at = r.out.find("Entries: ");
    return at == std::string::npos ? -1 : std::stoi(r.out.substr(at + 9));
  };
  // The receipt's drop is written on its own once its second has passed.
  EXPECT_TRUE(waitFor([&] { return queuedOnDisk() == 0; }, 10s));
  auto ack = liaison({"alert", "ack", "--site", site("th-bangkok"), id, "--by", "Duty officer"});
  ASSERT_EQ(ack.exitCode, 0) << ack.err;
  ASSERT_TRUE(
      waitFor([&] { return status("th-bangkok")["alerts"].value("answersQueued", -1) == 0; }, 10s));
  daemons["th-bangkok"]
      ->kill9();  // the broker has the acknowledgement; the drop is not written yet
  EXPECT_EQ(queuedOnDisk(), 1);
  startSite("th-bangkok");
  EXPECT_TRUE(
      waitFor([&] { return status("th-bangkok")["alerts"].value("answersQueued", -1) == 0; }, 15s));
  EXPECT_TRUE(waitFor([&] { return queuedOnDisk() == 0; }, 10s));
  EXPECT_EQ(targetState("kg-bishkek", id, "th-bangkok"), "acknowledged");
  EXPECT_TRUE(waitFor(
      [&] {
        auto x = show("kg-bishkek", id);
        return !x.is_null() && x["answers"].size() == 2;  // the receipt and the acknowledgement
      },
      10s));
  std::this_thread::sleep_for(500ms);
  auto x = show("kg-bishkek", id);
  ASSERT_FALSE(x.is_null());
  EXPECT_EQ(x["answers"].size(), 2u) << x.dump();
  // The broker took the acknowledgement sent again as the one it holds, not as a second answer.
  EXPECT_EQ(testing::readText(tmp / "th-bangkok.log").find("refused by the broker"),
            std::string::npos);
}

TEST_F(AlertTest, EscalationFiresOnceAtTheDeadline) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  enroll("kz-almaty", "KZ");
  startBroker();
  for (auto id : {"kg-bishkek", "th-bangkok", "kz-almaty"}) {
    initSite(id);
    startSite(id);
  }
  ASSERT_TRUE(waitFor([&] { return status("kz-almaty").value("connected", false); }, 10s));
  // Nobody acknowledges within 2 seconds: Almaty is added, once.
  auto sent = send("kg-bishkek", {"--headline", "Escalate me", "--target", "site:th-bangkok",
                                  "--ack-deadline", "PT2S", "--escalate-to", "site:kz-almaty"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  EXPECT_TRUE(listed("kz-almaty").empty());
  EXPECT_TRUE(waitFor([&] { return listed("kz-almaty") == std::vector<std::string>{id}; }, 15s));
  auto s = show("kg-bishkek", id);
  ASSERT_FALSE(s.is_null());
  EXPECT_EQ(s["custody"]["escalated"], true);
  EXPECT_EQ(s["custody"]["targets"]["kz-almaty"]["escalation"], true);
  // Acknowledged in time: no escalation.
  auto calm = send("kg-bishkek", {"--headline", "Answered in time", "--target", "site:th-bangkok",
                                  "--ack-deadline", "PT3S", "--escalate-to", "site:kz-almaty"});
  ASSERT_FALSE(calm.is_null());
  const std::string calmId = calm["id"];
  ASSERT_TRUE(waitFor([&] { return listed("th-bangkok").size() == 2; }, 10s));
  ASSERT_EQ(liaison({"alert", "ack", "--site", site("th-bangkok"), calmId, "--by", "Officer"}).exitCode, 0);
  std::this_thread::sleep_for(4s);
  // A restart of the broker does not escalate again.
  broker->stop();
  startBroker();
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(listed("kz-almaty"), std::vector<std::string>{id});
  EXPECT_FALSE(show("kg-bishkek", calmId)["custody"]["escalated"].get<bool>());
  broker->stop();
  EXPECT_EQ(countOf(testing::readText(tmp / "broker.log"), "escalated: nobody acknowledged"), 1u);
}

TEST_F(AlertTest, UpdateCancelAndExpiryStopDelivery) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  enroll("kz-almaty", "KZ");
  enroll("vn-hanoi", "VN");
  startBroker();
  for (auto id : {"kg-bishkek", "th-bangkok", "kz-almaty", "vn-hanoi"}) {
    initSite(id);
    startSite(id);
  }
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  daemons["th-bangkok"]->stop();
  // To Bangkok (offline) and Almaty; escalation to Hanoi in 3 s unless cancelled.
  auto sent = send("kg-bishkek", {"--headline", "Suspect at the border", "--target", "site:th-bangkok",
                                  "--target", "site:kz-almaty", "--ack-deadline", "PT3S",
                                  "--escalate-to", "site:vn-hanoi"});
  ASSERT_FALSE(sent.is_null());
  const std::string id = sent["id"];
  ASSERT_TRUE(waitFor([&] { return listed("kz-almaty") == std::vector<std::string>{id}; }, 10s));
  auto cancel = liaison({"alert", "cancel", "--site", site("kg-bishkek"), id, "--format", "json"});
  ASSERT_EQ(cancel.exitCode, 0) << cancel.err;
  auto cancelJson = json::parse(cancel.out);
  // The cancel goes where the alert went, not to Bangkok, which never had it.
  EXPECT_TRUE(cancelJson["custody"]["targets"].contains("kz-almaty"));
  EXPECT_FALSE(cancelJson["custody"]["targets"].contains("th-bangkok"));
  EXPECT_TRUE(waitFor([&] { return listed("kz-almaty").size() == 2; }, 10s));
  EXPECT_EQ(show("kz-almaty", id)["state"], "cancelled");
  // Bangkok returns after the deadline: it gets nothing, and nobody was escalated to.
  std::this_thread::sleep_for(4s);
  startSite("th-bangkok");
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(listed("th-bangkok").empty());
  EXPECT_TRUE(listed("vn-hanoi").empty());
  auto s = show("kg-bishkek", id);
  EXPECT_EQ(s["custody"]["state"], "cancelled");
  EXPECT_EQ(s["custody"]["targets"]["th-bangkok"]["state"], "cancelled");
  EXPECT_EQ(s["custody"]["escalated"], false);

  // An update supersedes: targets get the new text and see the old one as updated. What the
  // update does not say is the original's (its urgency, its acknowledgement and escalation), but
  // not the original's description: the update's text is its own.
  auto first = send("kg-bishkek", {"--headline", "Meeting at 10:00", "--target", "site:kz-almaty",
                                   "--urgency", "immediate", "--severity", "severe",
                                   "--description", "Room 4, bring the case file", "--ack-deadline",
                                   "PT30M", "--escalate-to", "site:vn-hanoi"});
  ASSERT_FALSE(first.is_null());
  const std::string firstId = first["id"];
  ASSERT_TRUE(waitFor([&] { return listed("kz-almaty").size() == 3; }, 10s));
  auto update = liaison({"alert", "update", "--site", site("kg-bishkek"), firstId, "--headline",
                         "Meeting moved to 11:00", "--severity", "moderate", "--format", "json"});
  ASSERT_EQ(update.exitCode, 0) << update.err;
  const std::string updateId = json::parse(update.out).value("id", "");
  EXPECT_TRUE(waitFor([&] { return listed("kz-almaty").size() == 4; }, 10s));
  EXPECT_EQ(show("kz-almaty", firstId)["state"], "updated");
  const auto got = show("kz-almaty", updateId)["alert"];
  EXPECT_EQ(got["headline"], "Meeting moved to 11:00");
  EXPECT_EQ(got["urgency"], "immediate");
  EXPECT_EQ(got["severity"], "moderate");
  EXPECT_EQ(got.value("ackRequired", false), true);
  EXPECT_EQ(got["ackDeadline"], "PT30M");
  EXPECT_EQ(got["escalateTo"]["sites"], json::array({"vn-hanoi"}));
  EXPECT_FALSE(got.contains("description"));
  EXPECT_EQ(got["references"], json::array({firstId}));

  // The list page by page: the newest 3, then what follows the third.
  const auto all = listed("kz-almaty");
  ASSERT_EQ(all.size(), 4u);
  auto page = liaison(
      {"alert", "list", "--site", site("kz-almaty"), "--limit", "3", "--format", "json"}, 30);
  ASSERT_EQ(page.exitCode, 0) << page.err;
  std::vector<std::string> ids;
  for (const auto& a : json::parse(page.out)) ids.push_back(a["id"]);
  EXPECT_EQ(ids, std::vector<std::string>(all.begin(), all.begin() + 3));
  EXPECT_NE(page.err.find("--limit 3 --before " + all[2]), std::string::npos) << page.err;
  page = liaison({"alert", "list", "--site", site("kz-almaty"), "--limit", "3", "--before", all[2]},
                 30);
  ASSERT_EQ(page.exitCode, 0) << page.err;
  EXPECT_NE(page.out.find(all[3]), std::string::npos) << page.out;
  EXPECT_EQ(page.out.find(all[0]), std::string::npos) << page.out;
  EXPECT_EQ(page.err.find("more follow"), std::string::npos) << page.err;
  page = liaison({"alert", "list", "--site", site("kz-almaty"), "--before", all[2]}, 30);
  EXPECT_NE(page.exitCode, 0);
  EXPECT_NE(page.err.find("--before goes with --limit"), std::string::npos) << page.err;

  // Expired before Bangkok came back: never delivered, shown as expired.
  daemons["th-bangkok"]->stop();
  auto brief = send("kg-bishkek", {"--headline", "Only for two seconds", "--target", "site:th-bangkok",
                                   "--expires", "PT2S"});
  ASSERT_FALSE(brief.is_null());
  const std::string briefId = brief["id"];
  std::this_thread::sleep_for(3s);
  startSite("th-bangkok");
  std::this_thread::sleep_for(2s);
  EXPECT_TRUE(listed("th-bangkok").empty());
  EXPECT_EQ(targetState("kg-bishkek", briefId, "th-bangkok"), "expired");
}

}  // namespace
}  // namespace liaison
