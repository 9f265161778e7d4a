// The Interpol adapter as a real process (liaison-interpol) on a real network, against a fake NCB
// gateway and a fake notices server run by the test on 127.0.0.1 (cpp-httplib). The gateway
// counts what it accepted by Idempotency-Key, so "sent once" is checked where it matters.
#include <httplib.h>

#include <atomic>
#include <deque>
#include <mutex>
#include <thread>

#include "tests/network_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

// An HTTP server on 127.0.0.1 with a free port, serving until destroyed.
class FakeServer {
 public:
  FakeServer() = default;
  void start() {
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Server& server() { return server_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// What the gateway does with the next request; when the script is empty it accepts.
struct Reply {
  int status = 200;
  std::string body;
  int delayMs = 0;
  bool drop = false;  // close the connection mid-answer
  std::string retryAfter;
};
Reply reply(int status, std::string body, int delayMs = 0, bool drop = false, std::string retryAfter = {}) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.delayMs = delayMs;
  r.drop = drop;
  r.retryAfter = std::move(retryAfter);
  return r;
}

class FakeGateway : public FakeServer {
 public:
  FakeGateway() {
    server().Post("/ncb/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      Reply r;
      std::string key = req.get_header_value("Idempotency-Key");
      {
        std::lock_guard lock(mutex_);
        ++attempts_[key];
        bodies_[key] = req.body;
        times_[key].push_back(std::chrono::steady_clock::now());
        if (!script_.empty()) {
          r = script_.front();
          script_.pop_front();
        } else if (down_) {
          r.status = 503;
        }
      }
      if (r.delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.delayMs));
      if (r.drop) {
        res.set_content_provider(1000, "application/json",
                                 [](size_t, size_t, httplib::DataSink& sink) {
                                   sink.write("{\"ref", 5);
                                   return false;  // the connection is cut
                                 });
        return;
      }
      if (r.status == 200) {
        std::lock_guard lock(mutex_);
        // Idempotent like a real gateway: the same key is accepted once, answered the same after.
        if (accepted_[key]++ == 0) ++unique_;
        r.body = R"({"reference": "NCB-)" + std::to_string(unique_) + "-" + key.substr(0, 8) + R"("})";
      }
      if (!r.retryAfter.empty()) res.set_header("Retry-After", r.retryAfter);
      res.status = r.status;
      res.set_content(r.body, "application/json");
    });
    start();
  }
  void script(std::vector<Reply> replies) {
    std::lock_guard lock(mutex_);
    script_.assign(replies.begin(), replies.end());
  }
  void setDown(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  int attempts(const std::string& key) {
    std::lock_guard lock(mutex_);
    return attempts_[key];
  }
  int accepted(const std::string& key) {
    std::lock_guard lock(mutex_);
    return accepted_[key];
  }
  std::string body(const std::string& key) {
    std::lock_guard lock(mutex_);
    return bodies_[key];
  }
  std::vector<std::chrono::steady_clock::time_point> times(const std::string& key) {
    std::lock_guard lock(mutex_);
    return times_[key];
  }

 private:
  std::mutex mutex_;
  std::deque<Reply> script_;
  bool down_ = false;
  int unique_ = 0;
  std::map<std::string, int> attempts_, accepted_;
  std::map<std::string, std::string> bodies_;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> times_;
};

// A notices API shaped like Interpol's public one, with ways to misbehave.
class FakeNotices : public FakeServer {
 public:
  enum class Mode { kGood, kMalformed, kHtml, kTruncated, kLoop, kGigantic, kError, kForeignNext };

  FakeNotices() {
    server().Get(R"(/notices/v1/(yellow|red))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string type = req.matches[1];
      std::string nat = req.get_param_value("nationality");
      int page = req.has_param("page") ? std::stoi(req.get_param_value("page")) : 1;
      Mode mode;
      std::vector<json> notices;
      {
        std::lock_guard lock(mutex_);
        ++requests_;
        mode = mode_;
        notices = notices_[type + "/" + nat];
      }
      switch (mode) {
        case Mode::kMalformed:
          return res.set_content(R"({"total": 3, "_embedded": {"notices": [{"entity_id": )", "application/json");
        case Mode::kHtml:
          return res.set_content("<html><body>Service temporarily unavailable</body></html>", "text/html");
        case Mode::kTruncated:
          res.set_content_provider(5000, "application/json", [](size_t, size_t, httplib::DataSink& sink) {
            sink.write(R"({"total": 1, "_embed)", 20);
            return false;
          });
          return;
        case Mode::kGigantic:
          res.set_content(std::string(20u << 20, ' ') + "{}", "application/json");
          return;
        case Mode::kError:
          res.status = 500;
          return res.set_content("{}", "application/json");
        default:
          break;
      }
      const int perPage = 3;
      json out;
      out["total"] = notices.size();
      out["_embedded"]["notices"] = json::array();
      for (size_t i = static_cast<size_t>((page - 1) * perPage); i < notices.size() && i < static_cast<size_t>(page * perPage); ++i) {
        out["_embedded"]["notices"].push_back(notices[i]);
      }
      std::string base = url() + "/notices/v1/" + type + "?nationality=" + nat + "&resultPerPage=160&page=";
      if (mode == Mode::kLoop && page == 2) {
        out["_links"]["next"]["href"] = base + "1";  // back to the first page
      } else if (mode == Mode::kForeignNext) {
        out["_links"]["next"]["href"] = "http://198.51.100.7/notices/v1/" + type + "?page=2";
      } else if (static_cast<size_t>(page * perPage) < notices.size()) {
        out["_links"]["next"]["href"] = base + std::to_string(page + 1);
      }
      res.set_content(out.dump(), "application/json");
    });
    start();
  }
  void set(const std::string& typeNat, std::vector<json> notices) {
    std::lock_guard lock(mutex_);
    notices_[typeNat] = std::move(notices);
  }
  void mode(Mode m) {
    std::lock_guard lock(mutex_);
    mode_ = m;
  }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }

 private:
  std::mutex mutex_;
  Mode mode_ = Mode::kGood;
  int requests_ = 0;
  std::map<std::string, std::vector<json>> notices_;
};

json notice(const std::string& id, const std::string& forename, const std::string& name,
            std::vector<std::string> nationalities) {
  return json{{"entity_id", id},
              {"forename", forename},
              {"name", name},
              {"date_of_birth", "1990/01/02"},
              {"nationalities", nationalities},
              {"_links", {{"self", {{"href", "https://ws-public.interpol.int/notices/v1/yellow/" + id}}}}}};
}

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
                    FakeNotices::Mode::kForeignNext}) {
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

}  // namespace
}  // namespace liaison
