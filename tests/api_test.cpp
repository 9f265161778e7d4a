// The site daemon's local HTTP API (site/api.h) on a real socket on 127.0.0.1, with a fake
// SiteService in place of the event loop and a real Directory in a temporary folder; and the
// `liaison` command's networked publish, retire and status (cli/api_client.h) against it.
#include "site/alerts.h"
#include "site/api.h"

// Debian's libcpp-httplib changes class layouts with these; the test must match the library.
#if !defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#error "compile with the flags of `pkg-config --cflags cpp-httplib`"
#endif
#include <capnp/message.h>
#include <gtest/gtest.h>
#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <mutex>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "common/clock.h"
#include "common/files.h"
#include "directory/directory.h"
#include "directory/site.h"
#include "schemas/json.h"
#include "site/service.h"
#include "tests/api_fixture.h"
#include "tests/support.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison {
namespace {

using directory::Directory;
using json::Json;
using site::ApiServer;
using site::PublishOutcome;
using site::SiteStatus;
using testing::contactJson;
using namespace apitest;  // NOLINT(google-build-using-namespace): the shared fixture


SiteStatus statusOf(const std::string& site) {
  SiteStatus s;
  s.site = site;
  return s;
}

// What a following site that heard its broker 250 ms ago reports.
SiteStatus following() {
  SiteStatus s = statusOf("kg-bishkek");
  s.network = "CASC";
  s.broker = "tcp://127.0.0.1:7400";
  s.connected = true;
  s.brokerEpoch = s.cursorEpoch = 0xabcdef;
  s.brokerHead = 42;
  s.cursorSeq = 40;
  s.lastHeardMsAgo = 250;
  s.applied = 17;
  s.refused = {{"bad-signature", 2}};
  s.state = "following";
  return s;
}

PublishOutcome refusedAt(uint32_t index, const std::string& refusal, const std::string& detail) {
  PublishOutcome o;
  o.accepted = false;
  o.refusal = refusal;
  o.detail = detail;
  o.index = index;
  return o;
}

Json body(const httplib::Result& res) { return Json::parse(res->body); }

class ApiTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  trust::KeyPair th = trust::generateKeyPair();
  int64_t now = SystemClock().nowSeconds();
  FakeService service;
  std::unique_ptr<Directory> dir;
  directory::SiteConfig config;
  std::unique_ptr<ApiServer> server;
  std::string host;
  int port = 0;

  void SetUp() override {
    dir = makeDirectory(tmp / "db", root, kg, th, now);
    config.dir = tmp.path();
    config.id = "kg-bishkek";
    config.network = "CASC";
    config.api = "127.0.0.1:0";
    auto started = ApiServer::start(config, service, kg, *dir, kToken);
    ASSERT_TRUE(started.ok()) << started.error().message;
    server = std::move(started).value();
    std::tie(host, port) = hostPort(testing::readText(tmp / "api.endpoint"));
  }

  httplib::Client client() {
    httplib::Client c(host, port);
    c.set_read_timeout(10, 0);
    return c;
  }

  httplib::Result publish(const std::string& text, const std::string& token = kToken,
                          const std::string& name = "contacts.json") {
    auto c = client();
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return c.Post(("/v1/publish?name=" + name).c_str(), headers, text, "application/json");
  }

  httplib::Result retire(const std::string& id, const std::string& token = kToken) {
    auto c = client();
    httplib::Headers headers;
    if (!token.empty()) headers.emplace("Authorization", "Bearer " + token);
    return c.Post(("/v1/retire/" + id).c_str(), headers, "", "text/plain");
  }
};

TEST_F(ApiTest, EndpointFileNamesTheBoundPortUntilStopped) {
  EXPECT_NE(port, 0);
  EXPECT_EQ(host, "127.0.0.1");
  EXPECT_EQ(testing::readText(tmp / "api.endpoint"), server->endpoint() + "\n");
  server->stop();
  EXPECT_FALSE(fileExists(tmp / "api.endpoint"));
  server->stop();  // idempotent
  auto res = client().Get("/v1/status");
  EXPECT_FALSE(res) << "nothing listens after stop()";
}

TEST_F(ApiTest, PublishWithoutTokenIsRefusedAndNothingIsSubmitted) {
  auto res = publish(contactJson("kg-a"), "");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(body(res)["error"].is_string());
  EXPECT_TRUE(service.submissions().empty());
  EXPECT_EQ(server->refusedRequests(), 1u);
}

TEST_F(ApiTest, PublishWithWrongTokenIsRefused) {
  std::string wrong = kToken;
  wrong.back() = 'b';
  for (const std::string& token : {wrong, kToken.substr(1), kToken + "a"}) {
    auto res = publish(contactJson("kg-a"), token);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401);
  }
  auto c = client();
  auto res = c.Post("/v1/publish?name=x.json", {{"Authorization", "Basic " + kToken}},
                    contactJson("kg-a"), "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  EXPECT_TRUE(service.submissions().empty());
  EXPECT_EQ(server->refusedRequests(), 4u);
}

TEST_F(ApiTest, PublishSignsEveryRecordAsTheSiteAndSubmitsThemTogether) {
  service.answer(acceptedOutcome(7, 8));
  auto res = publish("[" + contactJson("kg-a") + "," + contactJson("kg-b") + "]");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  Json b = body(res);
  EXPECT_EQ(b["accepted"], true);
  EXPECT_EQ(b["firstSeq"], 7);
  EXPECT_EQ(b["lastSeq"], 8);
  EXPECT_EQ(b["ignored"], 0);
  EXPECT_EQ(b["count"], 2);
  // It answered once this site's replica held seq 8: a search here finds both.
  EXPECT_EQ(b["applied"], true);
  EXPECT_EQ(service.waitedFor(), (std::vector<uint64_t>{8}));
  auto submissions = service.submissions();
  ASSERT_EQ(submissions.size(), 1u);
  ASSERT_EQ(submissions[0].size(), 2u);
  std::vector<std::string> ids;
  for (const auto& envelope : submissions[0]) {
    auto item = SignedItem::decode(envelope);
    ASSERT_TRUE(item.ok()) << item.error().message;
    EXPECT_TRUE(trust::signatureValid(*item));
    EXPECT_EQ(item->signer, "kg-bishkek");
    EXPECT_EQ(item->signerKey, kg.pub.sign);
    ids.push_back(itemId(item->item.reader()));
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"kg-a", "kg-b"}));
  EXPECT_EQ(server->refusedRequests(), 0u);
}

TEST_F(ApiTest, ArmouredItemsPassAsTheyAreBeforeRecords) {
  auto cert = testing::certFor("kz-almaty", th, {"KZ"}, "authority", now - 10, now + 86400);
  SignedItem signedCert = trust::sign(trust::memberItem(cert), "root", root);
  // A record first, the certificate second: the certificate is submitted first.
  auto c = client();
  httplib::MultipartFormDataItems parts = {
      {"file", contactJson("kg-a"), "a.json", "application/json"},
      {"file", json::armor(signedCert), "kz.member", "text/plain"}};
  auto res = c.Post("/v1/publish", {{"Authorization", "Bearer " + kToken}}, parts);
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  auto submissions = service.submissions();
  ASSERT_EQ(submissions.size(), 1u);
  ASSERT_EQ(submissions[0].size(), 2u);
  EXPECT_EQ(submissions[0][0], signedCert.encode()) << "the certificate, untouched";
  auto record = SignedItem::decode(submissions[0][1]);
  ASSERT_TRUE(record.ok());
  EXPECT_EQ(record->signer, "kg-bishkek");
}

TEST_F(ApiTest, MultipartIsOneSubmissionAndAllOrNothingAcrossFiles) {
  auto c = client();
  httplib::Headers auth = {{"Authorization", "Bearer " + kToken}};
  httplib::MultipartFormDataItems bad = {
      {"file", contactJson("kg-a"), "good.json", "application/json"},
      {"file", contactJson("kg-b", R"("role": "wizard")"), "bad.json", "application/json"}};
  auto res = c.Post("/v1/publish", auth, bad);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(body(res)["error"].get<std::string>().find("bad.json"), std::string::npos) << res->body;
  httplib::MultipartFormDataItems twice = {
      {"file", contactJson("kg-a"), "one.json", "application/json"},
      {"file", contactJson("kg-a"), "two.json", "application/json"}};
  res = c.Post("/v1/publish", auth, twice);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(body(res)["error"].get<std::string>().find("also in one.json"), std::string::npos);
  httplib::MultipartFormDataItems stray = {
      {"file", contactJson("kg-a"), "one.json", "application/json"},
      {"other", "x", "", "text/plain"}};
  res = c.Post("/v1/publish", auth, stray);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(service.submissions().empty());

  httplib::MultipartFormDataItems good = {
      {"file", contactJson("kg-a"), "one.json", "application/json"},
      {"file", contactJson("kg-b") + "\n" + contactJson("kg-c") + "\n", "two.jsonl",
       "application/json"}};
  res = c.Post("/v1/publish", auth, good);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200) << res->body;
  auto submissions = service.submissions();
  ASSERT_EQ(submissions.size(), 1u);
  EXPECT_EQ(submissions[0].size(), 3u);
}

TEST_F(ApiTest, InvalidJsonIs400NamingTheFieldAndNothingIsSubmitted) {
  auto res = publish(contactJson("kg-a", R"("channels": [{"kind": "email", "value": "nope"}])"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  std::string message = body(res)["error"];
  EXPECT_NE(message.find("contacts.json"), std::string::npos) << message;
  EXPECT_NE(message.find("channels[0].value"), std::string::npos) << message;

  res = publish(contactJson("kg-a", R"("availability": {"timezone": "Mars/Olympus_Mons"})"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  message = body(res)["error"];
  EXPECT_NE(message.find("availability.timezone"), std::string::npos) << message;

  res = publish("{not json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = publish("");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_TRUE(service.submissions().empty());
  EXPECT_EQ(server->refusedRequests(), 4u);
}

TEST_F(ApiTest, RefusalByTheBrokerIs422NamingTheItem) {
  service.answer(refusedAt(1, "out-of-scope", "kg-bishkek may not publish for TH"));
  auto res = publish(contactJson("kg-a") + "\n" + contactJson("th-a", R"("country": "TH")") + "\n",
                     kToken, "mixed.jsonl");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 422) << res->body;
  Json b = body(res);
  EXPECT_EQ(b["accepted"], false);
  EXPECT_EQ(b["refusal"], "out-of-scope");
  EXPECT_EQ(b["detail"], "kg-bishkek may not publish for TH");
  EXPECT_EQ(b["file"], "mixed.jsonl");
  EXPECT_EQ(b["index"], 1);
  EXPECT_EQ(b["id"], "th-a");
}

TEST_F(ApiTest, UnreachableBrokerIs503) {
  service.beUnavailable();
  auto res = publish(contactJson("kg-a"));
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  EXPECT_NE(body(res)["error"].get<std::string>().find("broker unreachable"), std::string::npos);
  EXPECT_EQ(service.submissions().size(), 1u);
}

TEST_F(ApiTest, RetireOfAnAbsentRecordIs404) {
  auto res = retire("kg-nobody");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_NE(body(res)["error"].get<std::string>().find("kg-nobody"), std::string::npos);
  EXPECT_TRUE(service.submissions().empty());
}

TEST_F(ApiTest, RetireSubmitsASignedTombstone) {
  storeContact(*dir, "kg-a", kg, now);
  auto unauthorized = retire("kg-a", "");
  ASSERT_TRUE(unauthorized);
  EXPECT_EQ(unauthorized->status, 401);
  EXPECT_TRUE(service.submissions().empty());

  service.answer(acceptedOutcome(12, 12));
  auto res = retire("kg-a");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  Json b = body(res);
  EXPECT_EQ(b["revision"], 2);
  EXPECT_EQ(b["firstSeq"], 12);
  auto submissions = service.submissions();
  ASSERT_EQ(submissions.size(), 1u);
  ASSERT_EQ(submissions[0].size(), 1u);
  auto item = SignedItem::decode(submissions[0][0]);
  ASSERT_TRUE(item.ok());
  EXPECT_TRUE(trust::signatureValid(*item));
  EXPECT_EQ(item->signer, "kg-bishkek");
  auto record = item->item.reader().getRecord();
  EXPECT_EQ(std::string(record.getId().cStr()), "kg-a");
  EXPECT_EQ(record.getRevision(), 2u);
  EXPECT_EQ(std::string(record.getStatus().cStr()), "retired");
}

TEST_F(ApiTest, StatusNeedsNoTokenAndCarriesTheServiceFields) {
  service.setStatus(following());
  auto res = client().Get("/v1/status");
  ASSERT_TRUE(res);
  ASSERT_EQ(res->status, 200) << res->body;
  Json b = body(res);
  EXPECT_EQ(b["site"], "kg-bishkek");
  EXPECT_EQ(b["network"], "CASC");
  EXPECT_EQ(b["broker"], "tcp://127.0.0.1:7400");
  EXPECT_EQ(b["connected"], true);
  EXPECT_EQ(b["brokerEpoch"], "0000000000abcdef");
  EXPECT_EQ(b["brokerHead"], 42);
  EXPECT_EQ(b["cursorEpoch"], "0000000000abcdef");
  EXPECT_EQ(b["cursorSeq"], 40);
  EXPECT_EQ(b["lag"], 2);
  EXPECT_EQ(b["lastHeardMsAgo"], 250);
  EXPECT_EQ(b["applied"], 17);
  EXPECT_EQ(b["refused"]["bad-signature"], 2);
  EXPECT_EQ(b["state"], "following");
  EXPECT_EQ(b["counts"]["members"], 2);
  EXPECT_EQ(b["counts"]["contacts"], 0);

  SiteStatus snapshot = statusOf("kg-bishkek");
  snapshot.brokerEpoch = 2;
  snapshot.cursorEpoch = 1;
  snapshot.lastHeardMsAgo = -1;
  snapshot.state = "snapshot";
  service.setStatus(snapshot);
  b = body(client().Get("/v1/status"));
  EXPECT_TRUE(b["lag"].is_null()) << "unknown across epochs";
  EXPECT_TRUE(b["lastHeardMsAgo"].is_null());
}

TEST_F(ApiTest, UnknownPathIs404WrongMethodIs405) {
  auto c = client();
  auto res = c.Get("/v1/nothing");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  EXPECT_TRUE(body(res)["error"].is_string());
  res = c.Get("/v1/publish");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(res->get_header_value("Allow"), "POST");
  res = c.Post("/v1/status", "", "text/plain");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  res = c.Delete("/v1/retire/kg-a");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
  EXPECT_EQ(server->refusedRequests(), 4u);
}

// Alerts are confidential: every alert endpoint needs the token, reads too.
TEST_F(ApiTest, AlertEndpointsNeedTheTokenAndCheckTheirInput) {
  auto c = client();
  for (auto path : {"/v1/alerts", "/v1/alerts/7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10"}) {
    auto res = c.Get(path);
    ASSERT_TRUE(res);
    EXPECT_EQ(res->status, 401) << path;
  }
  auto res = c.Post("/v1/alerts", R"({"headline": "x", "targets": {"countries": ["TH"]}})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  res = c.Post("/v1/alerts/7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10/answer", R"({"by": "X"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 401);
  httplib::Headers auth = {{"Authorization", "Bearer " + kToken}};
  // Malformed alerts are 400 naming the field; nothing reaches the broker.
  res = c.Post("/v1/alerts", auth, "{not json", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  res = c.Post("/v1/alerts", auth, R"({"headline": "x", "targets": {"planets": ["Mars"]}})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  EXPECT_NE(body(res)["error"].get<std::string>().find("targets.planets"), std::string::npos) << res->body;
  // The broker unreachable: 503 with the reason.
  res = c.Post("/v1/alerts", auth, R"({"headline": "x", "targets": {"countries": ["TH"]}})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 503);
  // An answer to an alert this site does not hold is 404; an answer without a person is 400.
  res = c.Post("/v1/alerts/7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10/answer", auth, R"({"by": "X"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = c.Post("/v1/alerts/7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10/answer", auth, R"({"comment": "x"})", "application/json");
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 400);
  // An empty inbox lists nothing; an unknown alert is 404; the wrong method is 405.
  res = c.Get("/v1/alerts", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
  EXPECT_TRUE(body(res)["alerts"].empty());
  res = c.Get("/v1/alerts/7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 404);
  res = c.Delete("/v1/alerts", auth);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 405);
}

TEST_F(ApiTest, RequestsForAnotherHostNameAreRefused) {
  // What a browser sends after DNS rebinding evil.example to 127.0.0.1.
  auto c = client();
  auto res = c.Get("/v1/status", {{"Host", "evil.example:" + std::to_string(port)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 403);
  res = c.Get("/v1/status", {{"Host", "localhost:" + std::to_string(port)}});
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 200);
}

TEST_F(ApiTest, BodyOverTheLimitIs413) {
  std::string big(site::kMaxBodyBytes + 1, ' ');
  auto res = publish(big);
  ASSERT_TRUE(res);
  EXPECT_EQ(res->status, 413);
  EXPECT_TRUE(service.submissions().empty());
}

TEST_F(ApiTest, OnlyLoopbackAddressesAreListenedOn) {
  testing::TempDir other;
  for (std::string address : {"0.0.0.0:0", "192.168.1.10:7480", "example.org:7480", "[::]:0",
                              "127.0.0.1", "127.0.0.1:x"}) {
    directory::SiteConfig c = config;
    c.dir = other.path();
    c.api = address;
    auto started = ApiServer::start(c, service, kg, *dir, kToken);
    ASSERT_FALSE(started.ok()) << address;
    EXPECT_EQ(started.error().code, Errc::kInvalidInput);
    EXPECT_NE(started.error().message.find(address), std::string::npos) << started.error().message;
    EXPECT_FALSE(fileExists(other / "api.endpoint"));
  }
  directory::SiteConfig c = config;
  c.dir = other.path();
  c.api = "localhost:0";
  auto started = ApiServer::start(c, service, kg, *dir, kToken);
  ASSERT_TRUE(started.ok()) << started.error().message;
  EXPECT_TRUE((*started)->endpoint().starts_with("127.0.0.1:"));
}

TEST_F(ApiTest, APortInUseAndAShortTokenAreErrors) {
  testing::TempDir other;
  directory::SiteConfig c = config;
  c.dir = other.path();
  c.api = server->endpoint();
  auto started = ApiServer::start(c, service, kg, *dir, kToken);
  ASSERT_FALSE(started.ok());
  EXPECT_EQ(started.error().code, Errc::kUnavailable);
  EXPECT_NE(started.error().message.find("in use"), std::string::npos) << started.error().message;
  c.api = "127.0.0.1:0";
  started = ApiServer::start(c, service, kg, *dir, "short");
  ASSERT_FALSE(started.ok());
}

TEST(ApiToken, MadeOnceWithMode0600) {
  testing::TempDir tmp;
  auto token = site::loadOrCreateApiToken(tmp.path());
  ASSERT_TRUE(token.ok()) << token.error().message;
  EXPECT_EQ(token->size(), 64u);
  EXPECT_EQ(token->find_first_not_of("0123456789abcdef"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "api.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = site::loadOrCreateApiToken(tmp.path());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *token);
  testing::writeText(tmp / "api.token", "short\n");
  EXPECT_FALSE(site::loadOrCreateApiToken(tmp.path()).ok());
}

// The `liaison` command on a networked site made by `liaison init`, with an ApiServer standing
// in for the site daemon. The server reads a replica of its own (not the site's), so this process
// never opens one LMDB environment twice.
class NetworkedCliTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  trust::KeyPair th = trust::generateKeyPair();
  SystemClock clock;
  int64_t now = clock.nowSeconds();
  FakeService service;
  std::unique_ptr<Directory> daemonDir;
  directory::SiteConfig config;
  std::unique_ptr<ApiServer> server;
  cli::Context ctx;

  void SetUp() override {
    // The server logs to stdout, which these tests capture to check what the command printed.
    spdlog::set_level(spdlog::level::off);
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "root", root).ok());
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "kg", kg).ok());
    ASSERT_TRUE(trust::writeKeyFiles(tmp / "broker", th).ok());
    auto cert =
        testing::certFor("kg-bishkek", kg, {"KG"}, "authority", now - 86400, now + 400 * 86400);
    testing::writeText(tmp / "kg.member",
                       json::armor(trust::sign(trust::memberItem(cert), "root", root)));
    directory::InitOptions o{tmp / "site",   "kg-bishkek",       tmp / "root.pub",
                             tmp / "kg.key", tmp / "kg.member",  {"tcp://127.0.0.1:7400"},
                             {tmp / "broker.pub"}, "127.0.0.1:0"};
    auto st = directory::initSite(o, now);
    ASSERT_TRUE(st.ok()) << st.error().message;
    auto loaded = directory::loadSiteConfig(tmp / "site");
    ASSERT_TRUE(loaded.ok()) << loaded.error().message;
    config = *loaded;
    daemonDir = makeDirectory(tmp / "daemon-db", root, kg, th, now);
    ctx.siteDir = tmp / "site";
    ctx.format = "table";
    ctx.clock = &clock;
    service.setStatus(statusOf("kg-bishkek"));
    startServer();
  }

  void TearDown() override { spdlog::set_level(spdlog::level::info); }

  void startServer() {
    auto token = site::loadOrCreateApiToken(config.dir);
    ASSERT_TRUE(token.ok()) << token.error().message;
    auto started = ApiServer::start(config, service, kg, *daemonDir, *token);
    ASSERT_TRUE(started.ok()) << started.error().message;
    server = std::move(started).value();
  }

  struct Output {
    int exit = -1;
    std::string out, err;
  };
  template <typename Fn>
  Output run(Fn fn) {
    ::testing::internal::CaptureStdout();
    ::testing::internal::CaptureStderr();
    Output o;
    o.exit = fn();
    o.out = ::testing::internal::GetCapturedStdout();
    o.err = ::testing::internal::GetCapturedStderr();
    return o;
  }
};

TEST_F(NetworkedCliTest, InitMadeAnApiTokenReadableByTheOperatorOnly) {
  std::string token = testing::readText(tmp / "site/api.token");
  ASSERT_EQ(token.size(), 65u);
  EXPECT_EQ(token.back(), '\n');
  EXPECT_EQ(token.find_first_not_of("0123456789abcdef\n"), std::string::npos);
  struct stat st {};
  ASSERT_EQ(::stat((tmp / "site/api.token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

TEST_F(NetworkedCliTest, PublishSendsEveryFileInOneSubmission) {
  testing::writeText(tmp / "a.json", contactJson("kg-a"));
  testing::writeText(tmp / "b.jsonl", contactJson("kg-b") + "\n" + contactJson("kg-c") + "\n");
  service.answer(acceptedOutcome(5, 7));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json", tmp / "b.jsonl"}); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_EQ(o.out, "published 3 (accepted as seq 5..7)\n");
  auto submissions = service.submissions();
  ASSERT_EQ(submissions.size(), 1u);
  EXPECT_EQ(submissions[0].size(), 3u);

  service.answer(acceptedOutcome(0, 0, 3));
  o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json", tmp / "b.jsonl"}); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_EQ(o.out, "published 0, ignored 3 already stored at that revision or later\n");

  // Accepted, but this site's replica is still catching up when the daemon answers.
  service.answer(acceptedOutcome(8, 10));
  service.holdUpTo(9);
  o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json", tmp / "b.jsonl"}); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_EQ(o.out,
            "published 3 (accepted as seq 8..10); this site's replica does not hold it yet (it is "
            "catching up): searches here show it once it does\n");
}

TEST_F(NetworkedCliTest, PublishChecksEveryFileBeforeSendingAny) {
  testing::writeText(tmp / "a.json", contactJson("kg-a"));
  testing::writeText(tmp / "bad.json", contactJson("kg-b", R"("role": "wizard")"));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json", tmp / "bad.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_NE(o.err.find("bad.json"), std::string::npos) << o.err;
  EXPECT_EQ(std::count(o.err.begin(), o.err.end(), '\n'), 1) << "one line";
  testing::writeText(tmp / "dup.json", contactJson("kg-a"));
  o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json", tmp / "dup.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_NE(o.err.find("also in"), std::string::npos) << o.err;
  EXPECT_TRUE(service.submissions().empty());
}

TEST_F(NetworkedCliTest, PublishRefusedByTheBrokerPrintsWhyAndExits2) {
  testing::writeText(tmp / "a.json", "[" + contactJson("kg-a") + "," + contactJson("kg-b") + "]");
  service.answer(refusedAt(1, "out-of-scope", "not for KG"));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_EQ(o.err,
            "liaison: " + tmp / "a.json" +
                ": item 2 (kg-b): refused (out-of-scope): not for KG; nothing was published\n");
  EXPECT_EQ(o.out, "");
}

TEST_F(NetworkedCliTest, WithTheDaemonStoppedPublishSaysSo) {
  server->stop();
  testing::writeText(tmp / "a.json", contactJson("kg-a"));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_EQ(o.err, "liaison: the site daemon is not running (start liaison-site --site " +
                       tmp / "site" + ")\n");
  o = run([&] { return cli::cmdRetire(ctx, "kg-a"); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_NE(o.err.find("not running"), std::string::npos);
}

TEST_F(NetworkedCliTest, AStaleEndpointOfAnotherSiteIsNotTrusted) {
  // Another site's daemon now answers where this site's endpoint file points.
  service.setStatus(statusOf("th-bangkok"));
  testing::writeText(tmp / "a.json", contactJson("kg-a"));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_NE(o.err.find("th-bangkok"), std::string::npos) << o.err;
  EXPECT_TRUE(service.submissions().empty());
}

TEST_F(NetworkedCliTest, ATokenTheDaemonDoesNotKnowIsReported) {
  server.reset();
  auto started = ApiServer::start(config, service, kg, *daemonDir, std::string(64, 'f'));
  ASSERT_TRUE(started.ok());
  server = std::move(started).value();
  service.setStatus(statusOf("kg-bishkek"));
  testing::writeText(tmp / "a.json", contactJson("kg-a"));
  auto o = run([&] { return cli::cmdPublish(ctx, {tmp / "a.json"}); });
  EXPECT_EQ(o.exit, cli::kExitUsage);
  EXPECT_NE(o.err.find("refused the API token"), std::string::npos) << o.err;
}

TEST_F(NetworkedCliTest, RetireGoesThroughTheDaemon) {
  service.setStatus(statusOf("kg-bishkek"));
  storeContact(*daemonDir, "kg-a", kg, now);
  service.answer(acceptedOutcome(9, 9));
  auto o = run([&] { return cli::cmdRetire(ctx, "kg-a"); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_EQ(o.out, "retired kg-a (revision 2, accepted as seq 9)\n");
  ASSERT_EQ(service.submissions().size(), 1u);

  o = run([&] { return cli::cmdRetire(ctx, "kg-nobody"); });
  EXPECT_EQ(o.exit, cli::kExitNoMatch);
  EXPECT_EQ(o.err, "liaison: no record kg-nobody\n");
}

TEST_F(NetworkedCliTest, StatusShowsTheDaemonsViewOrThatItIsNotRunning) {
  service.setStatus(following());
  auto o = run([&] { return cli::cmdStatus(ctx); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_NE(o.out.find("mode:         networked, broker tcp://127.0.0.1:7400"), std::string::npos)
      << o.out;
  EXPECT_NE(o.out.find("connected:    yes (last heard 250 ms ago)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("seq 40 (lag 2)"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("refused:      2 bad-signature"), std::string::npos) << o.out;
  EXPECT_NE(o.out.find("applied:      17"), std::string::npos) << o.out;

  ctx.format = "json";
  o = run([&] { return cli::cmdStatus(ctx); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  Json j = Json::parse(o.out);
  EXPECT_EQ(j["daemon"], "running");
  EXPECT_EQ(j["mode"], "networked");
  EXPECT_EQ(j["lag"], 2);
  EXPECT_EQ(j["brokerEpoch"], "0000000000abcdef");

  server->stop();
  o = run([&] { return cli::cmdStatus(ctx); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  j = Json::parse(o.out);
  EXPECT_NE(j["daemon"].get<std::string>().find("not running"), std::string::npos);
  EXPECT_EQ(j["counts"]["members"], 1) << "the local replica's counts";
  ctx.format = "table";
  o = run([&] { return cli::cmdStatus(ctx); });
  EXPECT_EQ(o.exit, cli::kExitOk) << o.err;
  EXPECT_NE(o.out.find("\ndaemon:       not running (start liaison-site --site "),
            std::string::npos)
      << o.out;
}

}  // namespace
}  // namespace liaison
