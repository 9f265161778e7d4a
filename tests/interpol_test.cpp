// The Interpol adapter as a real process (liaison-interpol) on a real network, against a fake NCB
// gateway and a fake notices server run by the test on 127.0.0.1 (cpp-httplib). The gateway
// counts what it accepted by Idempotency-Key, so "sent once" is checked where it matters.
#include <httplib.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "tests/fake_interpol.h"
#include "tests/network_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;
using testing::FakeGateway;
using testing::FakeNotices;
using testing::notice;
using testing::reply;

class InterpolTest : public testing::NetworkTest {
 protected:
  FakeGateway gateway;
  FakeNotices notices;

  // Bishkek (KG) and the adapter (role adapter), broker, both daemons.
  void startNetwork() {
    enroll("kg-bishkek", "KG");
    enroll("ip-adapter", "KG", "adapter");
    startBroker();
    initSite("kg-bishkek");
    initSite("ip-adapter");
    startSite("kg-bishkek");
  }

  void startAdapter(std::vector<std::string> extra = {}) {
    std::filesystem::remove(site("ip-adapter") + "/api.endpoint");
    std::vector<std::string> argv = {bin + "/liaison-interpol", "--site", site("ip-adapter"),
                                     "--gateway", gateway.url() + "/ncb/alerts", "--first-retry-ms", "200",
                                     "--max-retry-ms", "1000", "--timeout-ms", "1000"};
    argv.insert(argv.end(), extra.begin(), extra.end());
    daemons["ip-adapter"] = std::make_unique<testing::Process>(argv, tmp / "ip-adapter.log");
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(site("ip-adapter") + "/api.endpoint"); }, 10s));
    ASSERT_TRUE(waitFor([&] { return status("ip-adapter").value("connected", false); }, 10s));
  }

  std::string sendToInterpol(const std::string& headline) {
    auto r = liaison({"alert", "send", "--site", site("kg-bishkek"), "--format", "json", "--headline", headline,
                      "--target", "role:interpol-ncb"});
    EXPECT_EQ(r.exitCode, 0) << r.err;
    if (r.exitCode != 0) return {};
    return json::parse(r.out)["id"];
  }

  json target(const std::string& id) {
    auto r = liaison({"alert", "show", "--site", site("kg-bishkek"), id, "--format", "json"}, 30);
    if (r.exitCode != 0) return {};
    auto j = json::parse(r.out, nullptr, false);
    if (!j.is_object() || !j["custody"].is_object()) return {};
    return j["custody"]["targets"].value("ip-adapter", json());
  }
  std::string targetState(const std::string& id) {
    auto t = target(id);
    return t.is_object() ? t.value("state", "") : "";
  }
  json adapterStatus() { return status("ip-adapter").value("extension", json()); }
};

TEST_F(InterpolTest, AlertsForInterpolAreForwardedOnceAndReceiptedWithTheGatewaysReference) {
  startNetwork();
  startAdapter();
  const std::string id = sendToInterpol("Suspect boarding flight to Istanbul");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitFor([&] { return gateway.accepted(id) == 1; }, 15s));
  auto body = json::parse(gateway.body(id));
  EXPECT_EQ(body["id"], id);
  EXPECT_EQ(body["headline"], "Suspect boarding flight to Istanbul");
  EXPECT_EQ(body["senderSite"], "kg-bishkek");
  ASSERT_TRUE(waitFor([&] { return targetState(id) == "delivered"; }, 15s));
  EXPECT_EQ(target(id)["reference"].get<std::string>().rfind("NCB-1-", 0), 0u) << target(id).dump();
  // A cancel of it is forwarded too.
  auto cancel = liaison({"alert", "cancel", "--site", site("kg-bishkek"), id, "--format", "json"});
  ASSERT_EQ(cancel.exitCode, 0) << cancel.err;
  std::string cancelId = json::parse(cancel.out)["id"];
  EXPECT_TRUE(waitFor([&] { return gateway.accepted(cancelId) == 1; }, 15s));
  EXPECT_EQ(json::parse(gateway.body(cancelId))["msgType"], "cancel");
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(gateway.attempts(id), 1);
  auto st = adapterStatus();
  EXPECT_EQ(st["forwarded"], 2);
  EXPECT_EQ(st["queueDepth"], 0);
  // `liaison status` at the adapter's site shows its state.
  auto text = liaison({"status", "--site", site("ip-adapter")});
  EXPECT_NE(text.out.find("interpol"), std::string::npos) << text.out;
}

TEST_F(InterpolTest, TransientFailuresAreRetriedWithBackoffAndHonourRetryAfter) {
  startNetwork();
  startAdapter();
  gateway.script({reply(500, "{\"error\": \"down\"}"), reply(429, "{}", 0, false, "1"),
                  reply(200, "", 1500),        // slower than the adapter's 1 s timeout
                  reply(200, "", 0, true),     // the connection is cut mid-answer
                  reply(502, "<html>bad gateway</html>")});
  const std::string id = sendToInterpol("Retry me");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitFor([&] { return targetState(id) == "delivered"; }, 30s));
  // Five failures (one of them a 200 that came too late: the gateway's idempotency key makes
  // the retry harmless), then the answer that arrived; nothing after it.
  EXPECT_EQ(gateway.attempts(id), 6);
  std::this_thread::sleep_for(1500ms);
  EXPECT_EQ(gateway.attempts(id), 6);
  auto times = gateway.times(id);
  ASSERT_GE(times.size(), 3u);
  EXPECT_GE(times[2] - times[1], 950ms) << "Retry-After: 1 was not honoured";
  auto st = adapterStatus();
  EXPECT_GE(st["retries"].get<int>(), 5);
  EXPECT_FALSE(st["lastError"].get<std::string>().empty());
  EXPECT_EQ(st["queueDepth"], 0);
  EXPECT_TRUE(daemons["ip-adapter"]->running());
}

TEST_F(InterpolTest, RetriesFailingForTheSameReasonAreLoggedOnce) {
  startNetwork();
  startAdapter();
  gateway.script({reply(503, "{}"), reply(503, "{}"), reply(503, "{}"), reply(503, "{}")});
  const std::string id = sendToInterpol("Logged once");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitFor([&] { return targetState(id) == "delivered"; }, 30s));
  EXPECT_EQ(gateway.attempts(id), 5);
  size_t failures = 0, recovered = 0;
  std::istringstream log(testing::readText(tmp / "ip-adapter.log"));
  for (std::string line; std::getline(log, line);) {
    if (line.find("interpol alert=" + id + ": ") == std::string::npos) continue;
    ++(line.find("works again") != std::string::npos ? recovered : failures);
  }
  EXPECT_EQ(failures, 1u) << testing::readText(tmp / "ip-adapter.log");
  EXPECT_EQ(recovered, 1u);
  EXPECT_GE(adapterStatus()["repeatedFailures"].get<int>(), 3);
}

TEST_F(InterpolTest, AClientErrorIsDeclinedWithTheReasonAndNotRetried) {
  startNetwork();
  startAdapter();
  gateway.script({reply(400, "{\"error\": \"unsupported alert category\"}")});
  const std::string id = sendToInterpol("The gateway will refuse this");
  ASSERT_FALSE(id.empty());
  ASSERT_TRUE(waitFor([&] { return targetState(id) == "declined"; }, 15s));
  EXPECT_NE(target(id)["comment"].get<std::string>().find("HTTP 400"), std::string::npos) << target(id).dump();
  EXPECT_NE(target(id)["comment"].get<std::string>().find("unsupported alert category"), std::string::npos);
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(gateway.attempts(id), 1);
  EXPECT_EQ(adapterStatus()["declined"], 1);
}

TEST_F(InterpolTest, ARestartWithAQueueDeliversEachAlertExactlyOnce) {
  startNetwork();
  startAdapter();
  gateway.setDown(true);
  std::vector<std::string> ids;
  for (int i = 0; i < 3; ++i) ids.push_back(sendToInterpol("Queued " + std::to_string(i)));
  for (const auto& id : ids) ASSERT_TRUE(waitFor([&] { return gateway.attempts(id) >= 1; }, 15s)) << id;
  EXPECT_EQ(adapterStatus()["queueDepth"], 3);
  daemons["ip-adapter"]->stop();
  gateway.setDown(false);
  startAdapter();
  for (const auto& id : ids) {
    EXPECT_TRUE(waitFor([&] { return targetState(id) == "delivered"; }, 20s)) << id;
    EXPECT_EQ(gateway.accepted(id), 1) << id;
  }
  // Another restart, even a kill -9, sends nothing again.
  std::map<std::string, int> before;
  for (const auto& id : ids) before[id] = gateway.attempts(id);
  daemons["ip-adapter"]->kill9();
  startAdapter();
  std::this_thread::sleep_for(2s);
  for (const auto& id : ids) EXPECT_EQ(gateway.attempts(id), before[id]) << id;
}

TEST_F(InterpolTest, NoticesArePublishedOnceAndBadAnswersAreSurvived) {
  notices.set("yellow/KG", {notice("2026/101", "Aida", "Bekova", {"KG"}), notice("2026/102", "Nurlan", "Osmonov", {"KG"}),
                            notice("2026/103", "Aigul", "Tashieva", {"KG", "KZ"}), notice("2026/104", "Bakyt", "Usenov", {"KG"}),
                            notice("2026/105", "Cholpon", "Abdyrakhmanova", {"KG"}),
                            json{{"entity_id", "not-an-id"}, {"name", "Broken"}}});
  notices.set("red/KG", {notice("2025/77", "Temir", "Kasymov", {"KG"})});
  startNetwork();
  startAdapter({"--notices", notices.url(), "--nationalities", "KG", "--interval", "1"});
  auto count = [&](const std::string& type) {
    auto r = liaison({"notices", "--site", site("kg-bishkek"), "--type", type, "--nationality", "KG", "--format", "json"});
    if (r.exitCode != 0) return size_t{0};
    return json::parse(r.out).size();
  };
  ASSERT_TRUE(waitFor([&] { return count("yellow") == 5 && count("red") == 1; }, 20s));
  // Names in notices are found like contacts' names, across scripts.
  auto found = liaison({"find", "--site", site("kg-bishkek"), "--name", "Осмонов", "--format", "json"});
  EXPECT_NE(found.out.find("notice-yellow-2026-102"), std::string::npos) << found.out << found.err;
  // Later polls publish nothing unchanged.
  int polls = adapterStatus()["notices"]["polls"];
  ASSERT_TRUE(waitFor([&] { return adapterStatus()["notices"]["polls"].get<int>() >= polls + 2; }, 10s));
  auto st = adapterStatus()["notices"];
  EXPECT_EQ(st["published"], 6);
  EXPECT_GE(st["unchanged"].get<int>(), 6);
  EXPECT_GE(st["skipped"].get<int>(), 1);  // the broken one
  // A changed notice is published again with a higher revision.
  notices.set("red/KG", {notice("2025/77", "Temir", "Kasymov-Uulu", {"KG"})});
  ASSERT_TRUE(waitFor([&] {
    auto r = liaison({"show", "--site", site("kg-bishkek"), "notice-red-2025-77", "--format", "json"});
    return r.exitCode == 0 && json::parse(r.out).value("revision", 0) == 2;
  }, 15s));
  // Every kind of bad answer: logged and counted, the adapter keeps running, nothing is lost.
  for (auto mode : {FakeNotices::Mode::kMalformed, FakeNotices::Mode::kHtml, FakeNotices::Mode::kTruncated,
                    FakeNotices::Mode::kLoop, FakeNotices::Mode::kGigantic, FakeNotices::Mode::kError,
                    FakeNotices::Mode::kForeignNext, FakeNotices::Mode::kForeignRelativeNext}) {
    int errors = adapterStatus()["notices"]["errors"];
    notices.mode(mode);
    EXPECT_TRUE(waitFor([&] { return adapterStatus()["notices"]["errors"].get<int>() > errors; }, 15s))
        << static_cast<int>(mode);
    EXPECT_TRUE(daemons["ip-adapter"]->running());
  }
  notices.mode(FakeNotices::Mode::kGood);
  EXPECT_EQ(count("yellow"), 5u);
  EXPECT_EQ(count("red"), 1u);
  EXPECT_FALSE(adapterStatus()["lastError"].get<std::string>().empty());
}

TEST_F(InterpolTest, RelativeNextLinksAreFollowedOnTheSameServer) {
  // Three pages of two, linked by relative references ("/notices/v1/yellow?...", then "?...").
  notices.perPage(2);
  notices.mode(FakeNotices::Mode::kRelativeNext);
  notices.set("yellow/KG", {notice("2026/201", "Aida", "Bekova", {"KG"}), notice("2026/202", "Nurlan", "Osmonov", {"KG"}),
                            notice("2026/203", "Aigul", "Tashieva", {"KG"}), notice("2026/204", "Bakyt", "Usenov", {"KG"}),
                            notice("2026/205", "Cholpon", "Abdyrakhmanova", {"KG"})});
  startNetwork();
  startAdapter({"--notices", notices.url(), "--nationalities", "KG", "--types", "yellow", "--interval", "1"});
  auto yellow = [&] {
    auto r = liaison({"notices", "--site", site("kg-bishkek"), "--type", "yellow", "--nationality", "KG", "--format", "json"});
    return r.exitCode == 0 ? json::parse(r.out).size() : size_t{0};
  };
  EXPECT_TRUE(waitFor([&] { return yellow() == 5; }, 20s)) << yellow();
  auto st = adapterStatus()["notices"];
  EXPECT_EQ(st["errors"], 0) << st.dump();
  EXPECT_EQ(st["published"], 5);
}

}  // namespace
}  // namespace liaison
