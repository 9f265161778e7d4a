// A real network on 127.0.0.1: liaison-broker and liaison-site processes, driven through the
// `liaison` command. Every process a test starts is stopped by it, by PID. Convergence is checked
// by comparing full exports (every record and revision), not counts.
#include <gtest/gtest.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <future>
#include <nlohmann/json.hpp>
#include <thread>

#include "bus/protocol.h"
#include "bus/zap.h"
#include "bus/zmq.h"
#include "schemas/json.h"
#include <arpa/inet.h>
#include <httplib.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <random>

#include "tests/network_fixture.h"
#include "tests/support.h"
#include "trust/keys.h"
#include "trust/verify.h"

extern char** environ;

namespace liaison {
namespace {

using testing::NetworkTest;
using testing::run;
using testing::writeText;
using namespace std::chrono_literals;
using testing::Process;
using testing::waitFor;

TEST_F(NetworkTest, APublishedRecordReachesEverySiteVerified) {
  startThreeSites();
  auto r = publish("kg-bishkek", generate("kg.jsonl", 50, 1, "KG"));
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("published 50"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("does not hold it yet"), std::string::npos) << r.out;
  // The publishing site held the records when publish answered: found there at once.
  auto here = liaison({"show", "--site", site("kg-bishkek"), "gen-kg-50"});
  EXPECT_EQ(here.exitCode, 0) << here.err;
  EXPECT_NE(here.out.find("signed by: kg-bishkek"), std::string::npos) << here.out;
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty", "th-bangkok"}, 50); }, 20s));
  // Each replica verified the items itself: the signer is the Bishkek site.
  auto show = liaison({"show", "--site", site("th-bangkok"), "gen-kg-1"});
  EXPECT_NE(show.out.find("signed by: kg-bishkek"), std::string::npos) << show.out;
  // Out-of-scope is refused by the broker with its reason, and nothing changes anywhere.
  auto bad = publish("kz-almaty", generate("kg2.jsonl", 3, 2, "KG"));
  EXPECT_EQ(bad.exitCode, 2);
  EXPECT_NE(bad.err.find("may not publish for KG"), std::string::npos) << bad.err;
  auto st = status("th-bangkok");
  ASSERT_FALSE(st.is_null());
  EXPECT_EQ(st["connected"], true);
  EXPECT_EQ(st["lag"], 0);
  EXPECT_EQ(st["cursorSeq"], st["brokerHead"]);
}

TEST_F(NetworkTest, ASiteThatWasDownAndALateJoinerCatchUp) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  enroll("kz-almaty", "KZ");
  startBroker();
  for (auto id : {"kg-bishkek", "th-bangkok", "kz-almaty"}) initSite(id);
  startSite("kg-bishkek");
  startSite("th-bangkok");
  ASSERT_EQ(publish("kg-bishkek", generate("a.jsonl", 200, 1, "KG")).exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 200); }, 20s));
  daemons["th-bangkok"]->stop();
  // 10,000 more updates while Bangkok is down and Almaty has never run.
  ASSERT_EQ(publish("kg-bishkek", generate("b.jsonl", 5000, 2, "KG")).exitCode, 0);
  ASSERT_EQ(publish("kg-bishkek", generate("c.jsonl", 5000, 3, "KG")).exitCode, 0);
  // Both come back while updates keep flowing.
  std::thread more([&] {
    for (int i = 0; i < 5; ++i) publish("kg-bishkek", generate("d" + std::to_string(i) + ".jsonl", 100, 10 + i, "KG"));
  });
  startSite("kz-almaty");
  startSite("th-bangkok");
  more.join();
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok", "kz-almaty"}, 10700); }, 90s));
}

TEST_F(NetworkTest, ASlowSubscriberOverflowingItsQueueRepairsTheGaps) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  startBroker();
  initSite("kg-bishkek");
  initSite("th-bangkok");
  startSite("kg-bishkek");
  startSite("th-bangkok", {"--rcvhwm", "20"});  // ZeroMQ drops what does not fit
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 10s));
  daemons["th-bangkok"]->pause();  // SIGSTOP: a subscriber that does not read
  for (int i = 0; i < 4; ++i) {
    ASSERT_EQ(publish("kg-bishkek", generate("b" + std::to_string(i) + ".jsonl", 500, i, "KG")).exitCode, 0);
  }
  daemons["th-bangkok"]->resume();
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 2000); }, 60s));
}

TEST_F(NetworkTest, ASiteBehindTheLogHorizonGetsASnapshot) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  brokerExtra = {"--log-keep", "100"};
  startBroker();
  initSite("kg-bishkek");
  initSite("th-bangkok");
  startSite("kg-bishkek");
  for (int i = 0; i < 5; ++i) {
    ASSERT_EQ(publish("kg-bishkek", generate("p" + std::to_string(i) + ".jsonl", 300, i, "KG")).exitCode, 0);
  }
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 1500); }, 60s));
  EXPECT_NE(testing::readText(tmp / "th-bangkok.log").find("taking a snapshot"), std::string::npos);
}

TEST_F(NetworkTest, Kill9OfTheBrokerLosesNoAcceptedItem) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  // A stream of publishes; the broker is killed in the middle and restarted.
  std::vector<std::string> files;
  for (int i = 0; i < 12; ++i) files.push_back(generate("s" + std::to_string(i) + ".jsonl", 100, 100 + i, "KG"));
  std::vector<bool> acknowledged(files.size(), false);
  std::thread publisher([&] {
    for (size_t i = 0; i < files.size(); ++i) acknowledged[i] = publish("kg-bishkek", files[i]).exitCode == 0;
  });
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("cursorSeq", 0) > 250; }, 30s));
  broker->kill9();
  std::this_thread::sleep_for(500ms);
  startBroker();
  publisher.join();
  // Every acknowledged publish is at both sites; both converge on the broker's state.
  size_t expected = 0;
  for (size_t i = 0; i < files.size(); ++i) expected += acknowledged[i] ? 100 : 0;
  ASSERT_GT(expected, 0u);
  std::string missing;
  EXPECT_TRUE(waitFor([&] {
    std::string kg = dump("kg-bishkek");
    return kg == dump("th-bangkok") &&
           static_cast<size_t>(std::count(kg.begin(), kg.end(), '\n')) >= expected;
  }, 60s));
  std::string th = dump("th-bangkok");
  for (size_t i = 0; i < files.size(); ++i) {
    if (!acknowledged[i]) continue;
    std::ifstream in(files[i]);
    std::string line;
    while (std::getline(in, line)) {
      auto id = nlohmann::json::parse(line)["id"].get<std::string>();
      if (th.find("\"id\":\"" + id + "\"") == std::string::npos) missing += id + " ";
    }
  }
  EXPECT_TRUE(missing.empty()) << "acknowledged but missing: " << missing;
}

TEST_F(NetworkTest, Kill9OfASiteLeavesAConsistentReplica) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_EQ(publish("kg-bishkek", generate("big.jsonl", 6000, 9, "KG")).exitCode, 0);
  // Kill Bangkok while it applies, then restart it: it converges.
  waitFor([&] { return status("th-bangkok").value("cursorSeq", 0) > 1; }, 20s);
  daemons["th-bangkok"]->kill9();
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 6000); }, 60s));
}

TEST_F(NetworkTest, ASiteTheBrokerDoesNotKnowGetsNothing) {
  enroll("kg-bishkek", "KG");
  startBroker();  // knows only Bishkek
  enroll("xx-stranger", "KG");
  initSite("kg-bishkek");
  initSite("xx-stranger");
  // Its certificate is replaced by one another root signed: it presents it, and is refused.
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "other-root"}).exitCode, 0);
  auto cert = liaison({"enroll", "--root", tmp / "other-root.key", "--site", "xx-stranger", "--public",
                       tmp / "xx-stranger.pub", "--country", "KG", "--network", "CASC"});
  ASSERT_EQ(cert.exitCode, 0) << cert.err;
  writeText(site("xx-stranger") + "/site.member", cert.out);
  startSite("kg-bishkek");
  startSite("xx-stranger");
  ASSERT_EQ(publish("kg-bishkek", generate("a.jsonl", 20, 1, "KG")).exitCode, 0);
  std::this_thread::sleep_for(2s);
  auto st = status("xx-stranger");
  ASSERT_FALSE(st.is_null());
  EXPECT_EQ(st["connected"], false);
  EXPECT_EQ(st["brokerHead"], 0) << "not even a heartbeat";
  EXPECT_EQ(st["cursorSeq"], 0);
  EXPECT_EQ(dump("xx-stranger"), "");
  EXPECT_EQ(st["certificate"].get<std::string>().rfind("refused (unknown signer)", 0), 0u) << st.dump();
  auto r = publish("xx-stranger", generate("b.jsonl", 1, 2, "KG"));
  EXPECT_NE(r.exitCode, 0);
}

TEST_F(NetworkTest, BadInputFromAnEnrolledSiteIsRefusedAndServiceContinues) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  enroll("kz-almaty", "KZ");  // its keys drive a raw client that misbehaves
  startBroker();
  initSite("kg-bishkek");
  initSite("th-bangkok");
  startSite("kg-bishkek");
  startSite("th-bangkok");
  ASSERT_EQ(publish("kg-bishkek", generate("a.jsonl", 30, 1, "KG")).exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 30); }, 20s));
  const std::string before = dump("th-bangkok");

  auto keys = trust::loadKeyPair(tmp / "kz-almaty.key");
  auto brokerKeys = trust::loadPublicKeys(tmp / "broker.pub");
  ASSERT_TRUE(keys.ok() && brokerKeys.ok());
  auto ctx = bus::Context::create();
  ASSERT_TRUE(ctx.ok());
  auto dealer = bus::Socket::open(*ctx, ZMQ_DEALER);
  ASSERT_TRUE(dealer.ok());
  ASSERT_TRUE(dealer->setCurveClient(*keys, brokerKeys->curve).ok());
  ASSERT_TRUE(dealer->connect(listen).ok());
  auto ask = [&](const std::vector<std::string>& frames) -> std::optional<bus::Message> {
    if (!dealer->send(frames).ok()) return std::nullopt;
    std::vector<zmq_pollitem_t> items{dealer->pollItem()};
    auto ready = bus::poll(items, 5s);
    if (!ready || *ready == 0) return std::nullopt;
    auto reply = dealer->recv(4);
    if (!reply || reply->size() != 1) return std::nullopt;
    auto decoded = bus::decode((*reply)[0]);
    if (!decoded) return std::nullopt;
    return *decoded;
  };
  auto refusalOf = [&](const std::vector<Bytes>& envelopes) -> std::string {
    auto m = ask({bus::encode(bus::SubmitRequest{1, envelopes})});
    if (!m) return "no answer";
    auto* r = std::get_if<bus::SubmitResult>(&*m);
    if (r == nullptr) return "not a result";
    return r->accepted ? "accepted" : r->refusal;
  };
  // Garbage, a wrong message type, too many frames: a protocol error each, no crash.
  for (const std::string& junk : {std::string("hello"), std::string(64, '\xff'),
                                  bus::encode(bus::Heartbeat{1, 2, 3})}) {
    auto m = ask({junk});
    ASSERT_TRUE(m.has_value());
    EXPECT_NE(std::get_if<bus::ProtocolError>(&*m), nullptr);
  }
  auto many = ask({"a", "b", "c", "d", "e"});
  EXPECT_TRUE(!many.has_value() || std::get_if<bus::ProtocolError>(&*many) != nullptr);
  // Forged, out of scope, a replay: refused with the reason (a replay is dropped as stale).
  auto items = json::parseInput("t", testing::contactJson("kz-1", R"("country": "KZ")"));
  Bytes good = trust::sign(std::move(std::get<OwnedItem>(items->front())), "kz-almaty", *keys).encode();
  Bytes forged = good;
  forged[forged.size() - 80] ^= 1;
  EXPECT_EQ(refusalOf({forged}), "bad signature");
  auto th = json::parseInput("t", testing::contactJson("th-x", R"("country": "TH")"));
  EXPECT_EQ(refusalOf({trust::sign(std::move(std::get<OwnedItem>(th->front())), "kz-almaty", *keys).encode()}),
            "out of scope");
  EXPECT_EQ(refusalOf({Bytes(100, 7)}), "malformed");
  // An oversized message is cut by ZeroMQ's limit: the connection drops, the broker goes on.
  (void)dealer->send({std::string(bus::kMaxFrameBytes + 1024, 'x')}, true);
  // Nothing of that entered the log; the good sites are served as before.
  EXPECT_EQ(dump("th-bangkok"), before);
  ASSERT_EQ(publish("kg-bishkek", generate("b.jsonl", 10, 2, "KG")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 40); }, 20s));
  EXPECT_TRUE(broker->running());
}

TEST_F(NetworkTest, ARevocationTakesEffectEverywhere) {
  startThreeSites();
  ASSERT_EQ(publish("kz-almaty", generate("kz.jsonl", 5, 1, "KZ")).exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty", "th-bangkok"}, 5); }, 20s));
  auto revocation = liaison({"revoke", "--root", tmp / "root.key", "--site", "kz-almaty"});
  ASSERT_EQ(revocation.exitCode, 0);
  writeText(tmp / "kz.revocation", revocation.out);
  ASSERT_EQ(publish("kg-bishkek", tmp / "kz.revocation").exitCode, 0);
  // Almaty is cut off: no more heartbeats, its submissions go nowhere.
  EXPECT_TRUE(waitFor([&] { return status("kz-almaty").value("connected", true) == false; }, 20s));
  auto r = publish("kz-almaty", generate("kz2.jsonl", 1, 2, "KZ"));
  EXPECT_NE(r.exitCode, 0);
  // The others go on, and their replicas know the revocation.
  ASSERT_EQ(publish("kg-bishkek", generate("kg.jsonl", 3, 3, "KG")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 8); }, 20s));
  EXPECT_EQ(status("th-bangkok")["counts"]["revoked"], 1);
}


// Writes `bytes` to 127.0.0.1:port on a fresh TCP connection and closes it; what comes back is
// read for a moment (to let the peer react) and dropped.
void spray(int port, const std::string& bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0) {
    (void)!::write(fd, bytes.data(), bytes.size());
    timeval tv{0, 200000};
    ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    char buf[4096];
    while (::read(fd, buf, sizeof buf) > 0) {
    }
  }
  ::close(fd);
}

int portOf(const std::string& endpoint) { return std::stoi(endpoint.substr(endpoint.rfind(':') + 1)); }

// The bad-input battery from outside the network: random bytes on every port, clients without
// CURVE or with a key the broker does not know, malformed HTTP and missing or wrong API tokens.
// Each is refused (and counted where a counter exists), nothing changes, service goes on.
TEST_F(NetworkTest, StrangersAndGarbageOnEveryPortChangeNothing) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_EQ(publish("kg-bishkek", generate("a.jsonl", 20, 1, "KG")).exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 20); }, 20s));
  const std::string before = dump("th-bangkok");
  std::string fanout;
  {
    std::ifstream in(tmp / "broker-data/endpoints");
    std::string word;
    in >> word >> word >> word >> fanout;
  }
  const int api = portOf(testing::readText(site("th-bangkok") + "/api.endpoint"));
  std::mt19937 rng(42);
  auto random = [&](size_t n) {
    std::string s(n, '\0');
    for (auto& c : s) c = static_cast<char>(rng());
    return s;
  };
  // Random bytes, a ZMTP greeting with garbage after it, and an HTTP request, on every port.
  const std::string zmtpGreeting = std::string("\xff\0\0\0\0\0\0\0\x01\x7f", 10) + "\x03\x00CURVE" + std::string(15, '\0');
  for (int port : {portOf(listen), portOf(fanout), api}) {
    for (int i = 0; i < 5; ++i) spray(port, random(1 + rng() % 65536));
    spray(port, zmtpGreeting + random(4096));
    spray(port, "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");
  }
  // Malformed HTTP, and requests without or with a wrong token, at the site API.
  spray(api, "BREW /coffee HTCPCP/1.0\r\n\r\n");
  spray(api, "POST /v1/publish HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 99999999999999\r\n\r\n");
  httplib::Client http("127.0.0.1", api);
  auto post = http.Post("/v1/publish?name=x.json", testing::contactJson("th-evil", R"("country": "TH")"), "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  post = http.Post("/v1/alerts", {{"Authorization", "Bearer wrong-token-wrong-token-wrong-token"}},
                   R"({"headline": "x", "targets": {"countries": ["KG"]}})", "application/json");
  ASSERT_TRUE(post);
  EXPECT_EQ(post->status, 401);
  auto get = http.Get("/v1/alerts");
  ASSERT_TRUE(get);
  EXPECT_EQ(get->status, 401);
  // ZeroMQ clients: without CURVE, and with a CURVE key no certificate names. No answer at all.
  auto ctx = bus::Context::create();
  ASSERT_TRUE(ctx.ok());
  auto brokerKeys = trust::loadPublicKeys(tmp / "broker.pub");
  ASSERT_TRUE(brokerKeys.ok());
  auto stranger = trust::generateKeyPair();
  for (int mode = 0; mode < 2; ++mode) {
    auto dealer = bus::Socket::open(*ctx, ZMQ_DEALER);
    ASSERT_TRUE(dealer.ok());
    if (mode == 1) {
      ASSERT_TRUE(dealer->setCurveClient(stranger, brokerKeys->curve).ok());
    }
    ASSERT_TRUE(dealer->setInt(ZMQ_LINGER, 0).ok());
    ASSERT_TRUE(dealer->connect(listen).ok());
    (void)dealer->send({bus::encode(bus::InfoRequest{1})}, true);
    (void)dealer->send({bus::encode(bus::FetchRequest{2, 0, 1, 100})}, true);
    std::vector<zmq_pollitem_t> items{dealer->pollItem()};
    auto ready = bus::poll(items, 1500ms);
    EXPECT_TRUE(ready && *ready == 0) << "a stranger got an answer (mode " << mode << ")";
  }
  // Refused and counted; nothing changed; the network serves its members as before.
  auto st = status("th-bangkok");
  ASSERT_FALSE(st.is_null());
  EXPECT_GE(st["api"]["refusedRequests"].get<int>(), 3);
  EXPECT_EQ(dump("th-bangkok"), before);
  EXPECT_EQ(dump("kg-bishkek"), before);
  ASSERT_EQ(publish("kg-bishkek", generate("b.jsonl", 5, 2, "KG")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 25); }, 20s));
  auto alert = liaison({"alert", "send", "--site", site("kg-bishkek"), "--headline", "Still working", "--target", "country:TH"});
  EXPECT_EQ(alert.exitCode, 0) << alert.err;
  EXPECT_TRUE(broker->running());
  EXPECT_TRUE(daemons["th-bangkok"]->running());
  broker->stop();
  auto log = testing::readText(tmp / "broker.log");
  // The unknown key may connect to present a certificate (enrolment in one step); what it asked
  // instead was dropped, unanswered, and counted.
  auto at = log.rfind("zap_unenrolled=");
  ASSERT_NE(at, std::string::npos);
  EXPECT_GE(std::stoi(log.substr(at + 15)), 1) << "the unknown key was not counted";
  at = log.rfind("not enrolled=");
  ASSERT_NE(at, std::string::npos) << log;
  EXPECT_GE(std::stoi(log.substr(at + 13)), 2) << "its requests were not counted";
}


// A site whose LMDB map is full (map_size_mb = 1 in its site.toml: no room to grow) cannot
// apply what arrives: it says so, keeps running and loses nothing; given room again it catches up.
TEST_F(NetworkTest, ASiteWhoseLmdbMapIsFullKeepsRunningAndCatchesUpLater) {
  startSites({{"kg-bishkek", "KG"}, {"th-bangkok", "TH"}});
  ASSERT_EQ(publish("kg-bishkek", generate("a.jsonl", 100, 1, "KG")).exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 100); }, 20s));
  daemons["th-bangkok"]->stop();
  const std::string toml = testing::readText(site("th-bangkok") + "/site.toml");
  std::string full = toml;
  full.insert(full.find("[site]\n") + 7, "map_size_mb = 1\n");
  testing::writeText(site("th-bangkok") + "/site.toml", full);
  startSite("th-bangkok");
  ASSERT_EQ(publish("kg-bishkek", generate("b.jsonl", 3000, 2, "KG")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return testing::readText(tmp / "th-bangkok.log").find("MDB_MAP_FULL") != std::string::npos; }, 20s))
      << "the map never filled";
  EXPECT_TRUE(daemons["th-bangkok"]->running());
  auto st = status("th-bangkok");
  ASSERT_FALSE(st.is_null());
  EXPECT_LT(st.value("cursorSeq", 0), st.value("brokerHead", 0));
  // What it held is intact and still served.
  EXPECT_EQ(liaison({"show", "--site", site("th-bangkok"), "gen-kg-1"}).exitCode, 0);
  daemons["th-bangkok"]->stop();
  testing::writeText(site("th-bangkok") + "/site.toml", toml);
  startSite("th-bangkok");
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 3100); }, 60s));
}

// The value of the sample `key` (name with its labels, as written) in a Prometheus text; -1 when
// it is not there.
double sample(const std::string& text, const std::string& key) {
  size_t at = 0;
  while ((at = text.find(key + " ", at)) != std::string::npos) {
    if (at == 0 || text[at - 1] == '\n') return std::stod(text.substr(at + key.size() + 1));
    at += key.size();
  }
  return -1;
}

std::string scrape(const std::string& hostPort) {
  auto colon = hostPort.rfind(':');
  httplib::Client c(hostPort.substr(0, colon), std::stoi(hostPort.substr(colon + 1)));
  c.set_read_timeout(10, 0);
  auto r = c.Get("/metrics");
  if (!r || r->status != 200) return {};
  EXPECT_EQ(r->get_header_value("Content-Type"), "text/plain; version=0.0.4; charset=utf-8");
  return r->body;
}

TEST_F(NetworkTest, MetricsAtTheBrokerAndTheSitesSayWhatHappened) {
  brokerExtra = {"--metrics", "127.0.0.1:0"};
  startThreeSites();
  std::string brokerAt;
  {
    std::ifstream in(tmp / "broker-data/endpoints");
    std::string word, value;
    while (in >> word >> value) {
      if (word == "metrics") brokerAt = value;
    }
  }
  ASSERT_FALSE(brokerAt.empty()) << testing::readText(tmp / "broker-data/endpoints");
  ASSERT_EQ(publish("kg-bishkek", generate("kg.jsonl", 20, 1, "KG")).exitCode, 0);
  // Out of scope, three times: refused and counted each time, logged once.
  const std::string outOfScope = generate("kg2.jsonl", 3, 2, "KG");
  for (int i = 0; i < 3; ++i) EXPECT_EQ(publish("kz-almaty", outOfScope).exitCode, 2);
  auto sent = liaison({"alert", "send", "--site", site("kg-bishkek"), "--headline", "Victims moved to Almaty",
                       "--target", "country:KZ"});
  ASSERT_EQ(sent.exitCode, 0) << sent.err;
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty", "th-bangkok"}, 20); }, 20s));

  // A site: connected, caught up, what it holds, the alert in its inbox, its timings.
  const std::string almaty = testing::readText(site("kz-almaty") + "/api.endpoint");
  std::string m;
  EXPECT_TRUE(waitFor([&] {
    m = scrape(almaty.substr(0, almaty.find('\n')));
    return sample(m, R"(liaison_site_alerts{direction="in",state="new"})") == 1;
  }, 20s)) << m;
  EXPECT_EQ(sample(m, "liaison_site_connected"), 1) << m;
  EXPECT_EQ(sample(m, "liaison_site_lag"), 0);
  EXPECT_EQ(sample(m, R"(liaison_site_state{state="following"})"), 1);
  EXPECT_EQ(sample(m, R"(liaison_site_records{kind="contact"})"), 20);
  EXPECT_EQ(sample(m, R"(liaison_site_records{kind="member"})"), 3);
  EXPECT_EQ(sample(m, R"(liaison_site_info{site="kz-almaty",network="CASC"})"), 1);
  EXPECT_GE(sample(m, "liaison_site_verify_seconds_count"), 23);  // 3 certificates, 20 records
  EXPECT_GE(sample(m, "liaison_site_commit_seconds_count"), 1);
  EXPECT_EQ(sample(m, R"(liaison_site_verify_seconds_bucket{le="+Inf"})"), sample(m, "liaison_site_verify_seconds_count"));

  // The broker: what it accepted and refused and why, who is connected, the alert's custody.
  m = scrape(brokerAt);
  ASSERT_FALSE(m.empty());
  EXPECT_EQ(sample(m, "liaison_broker_leader"), 1);
  EXPECT_EQ(sample(m, "liaison_broker_head"), 23) << m;
  EXPECT_EQ(sample(m, R"(liaison_broker_items_refused_total{reason="out of scope"})"), 3) << m;
  const std::string log = testing::readText(tmp / "broker.log");
  size_t said = 0;
  for (size_t at = 0; (at = log.find("site=kz-almaty submission refused (out of scope)", at)) != std::string::npos; ++at) {
    ++said;
  }
  EXPECT_EQ(said, 1u) << log;
  EXPECT_EQ(sample(m, R"(liaison_broker_members{state="admitted"})"), 3);
  EXPECT_EQ(sample(m, "liaison_broker_sites_connected"), 3) << m;
  EXPECT_EQ(sample(m, R"(liaison_broker_alerts{state="open"})"), 1) << m;
  EXPECT_EQ(sample(m, "liaison_broker_alerts_accepted_total"), 1);
  EXPECT_GE(sample(m, R"(liaison_broker_commit_seconds_count{store="log"})"), 2);
  EXPECT_GE(sample(m, R"(liaison_broker_commit_seconds_count{store="alerts"})"), 1);
  EXPECT_GE(sample(m, "liaison_broker_verify_seconds_count"), 2);
  // Another path or method: refused, the daemon goes on.
  auto colon = brokerAt.rfind(':');
  httplib::Client c(brokerAt.substr(0, colon), std::stoi(brokerAt.substr(colon + 1)));
  auto missing = c.Get("/nothing");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->status, 404);
  EXPECT_FALSE(scrape(brokerAt).empty());
}

// Enrolment in one step: a site the broker never heard of presents its certificate when it
// connects, and is admitted (and its certificate enters the log) when the root signed it.
TEST_F(NetworkTest, ASiteJoinsByPresentingItsCertificateAndBadOnesGetNothing) {
  brokerExtra = {"--metrics", "127.0.0.1:0"};
  enroll("kg-bishkek", "KG");
  enroll("kz-old", "KZ");
  startBroker();
  initSite("kg-bishkek");
  startSite("kg-bishkek");
  ASSERT_TRUE(waitFor([&] { return status("kg-bishkek")["counts"]["members"] == 2; }, 10s));
  // The root revokes kz-old (admitted at the broker's start) before its site ever runs.
  auto revocation = liaison({"revoke", "--root", tmp / "root.key", "--site", "kz-old"});
  ASSERT_EQ(revocation.exitCode, 0);
  writeText(tmp / "kz-old.revocation", revocation.out);
  ASSERT_EQ(publish("kg-bishkek", tmp / "kz-old.revocation").exitCode, 0);

  // A new site: enrolled by the root, its certificate given to nobody but itself.
  enroll("uz-tashkent", "UZ");
  initSite("uz-tashkent");
  startSite("uz-tashkent");
  EXPECT_TRUE(waitFor([&] { return status("uz-tashkent").value("certificate", nlohmann::json()) == "admitted"; }, 20s))
      << status("uz-tashkent").dump();
  EXPECT_TRUE(waitFor([&] { return status("kg-bishkek")["counts"]["members"] == 3; }, 20s));
  auto text = liaison({"status", "--site", site("uz-tashkent")});
  EXPECT_NE(text.out.find("certificate:  admitted\n"), std::string::npos) << text.out;
  ASSERT_EQ(publish("uz-tashkent", generate("uz.jsonl", 5, 1, "UZ")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "uz-tashkent"}, 5); }, 20s));
  EXPECT_TRUE(waitFor([&] { return status("uz-tashkent").value("connected", false); }, 20s));
  // A restart presents it again: the broker holds it, nothing changes.
  daemons.erase("uz-tashkent");
  startSite("uz-tashkent");
  EXPECT_TRUE(waitFor([&] { return status("uz-tashkent").value("certificate", nlohmann::json()) == "held"; }, 20s));

  // Bad certificates, each for a site of its own: refused with the reason, and nothing else.
  auto root = trust::loadKeyPair(tmp / "root.key");
  ASSERT_TRUE(root.ok());
  auto certificate = [&](const std::string& id, const std::string& keysOf, const trust::KeyPair& signer,
                         int64_t notBefore, int64_t notAfter) {
    auto keys = trust::loadKeyPair(tmp / (keysOf + ".key"));
    EXPECT_TRUE(keys.ok());
    auto cert = testing::certFor(id, *keys, {"UZ"}, "authority", notBefore, notAfter);
    return json::armor(trust::sign(trust::memberItem(cert), std::string(trust::kRootSigner), signer));
  };
  const int64_t now = std::time(nullptr);
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "mallory"}).exitCode, 0);
  auto mallory = trust::loadKeyPair(tmp / "mallory.key");
  ASSERT_TRUE(mallory.ok());
  struct Bad {
    std::string id, reason;
    std::function<std::string()> cert;  // what the site presents
  };
  std::vector<Bad> bad = {
      {"uz-forged", "unknown signer", [&] { return certificate("uz-forged", "uz-forged", *mallory, now, now + 86400); }},
      {"uz-expired", "certificate expired",
       [&] { return certificate("uz-expired", "uz-expired", *root, now - 10 * 86400, now - 86400); }},
      {"uz-borrowed", "certificate for another key",
       [&] { return certificate("uz-borrowed", "uz-tashkent", *root, now, now + 86400); }},
      {"kz-old", "certificate revoked", [&] { return testing::readText(tmp / "kz-old.member"); }},
  };
  for (const auto& b : bad) {
    if (b.id != "kz-old") enroll(b.id, "UZ");  // a valid certificate for init; replaced below
    initSite(b.id);
    writeText(site(b.id) + "/site.member", b.cert());
    startSite(b.id);
    EXPECT_TRUE(waitFor([&] {
      auto c = status(b.id).value("certificate", nlohmann::json());
      return c.is_string() && c.get<std::string>().starts_with("refused (" + b.reason + ")");
    }, 20s)) << b.id << " " << status(b.id).dump();
  }
  // They heard nothing: no entry of the log reached them, and the broker's log did not grow.
  std::this_thread::sleep_for(2s);
  for (const auto& b : bad) {
    auto st = status(b.id);
    EXPECT_EQ(st["cursorSeq"], 0) << b.id << st.dump();
    EXPECT_EQ(st["connected"], false) << b.id;
  }
  EXPECT_EQ(status("kg-bishkek")["counts"]["members"], 3);
  std::string brokerAt;
  std::ifstream in(tmp / "broker-data/endpoints");
  for (std::string word, value; in >> word >> value;) {
    if (word == "metrics") brokerAt = value;
  }
  auto m = scrape(brokerAt);
  EXPECT_EQ(sample(m, R"(liaison_broker_enrolments_total{outcome="admitted"})"), 1) << m;
  for (const auto& b : bad) {
    EXPECT_GE(sample(m, R"(liaison_broker_enrolments_total{outcome=")" + b.reason + R"("})"), 1) << b.reason << m;
  }
  EXPECT_GE(sample(m, R"(liaison_broker_enrolments_total{outcome="not enrolled"})"), 4) << m;
  EXPECT_GE(sample(m, R"(liaison_broker_connections_total{outcome="unenrolled"})"), 5) << m;
  EXPECT_TRUE(daemons["kg-bishkek"]->running());
}

// A member revoked while connected is told why, once, and then hears nothing.
TEST_F(NetworkTest, ARevokedSiteStillConnectedIsToldOnceThenHearsNothing) {
  brokerExtra = {"--metrics", "127.0.0.1:0"};
  startThreeSites();
  auto revocation = liaison({"revoke", "--root", tmp / "root.key", "--site", "kz-almaty"});
  ASSERT_EQ(revocation.exitCode, 0);
  writeText(tmp / "kz.revocation", revocation.out);
  ASSERT_EQ(publish("kg-bishkek", tmp / "kz.revocation").exitCode, 0);
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok")["counts"]["revoked"] == 1; }, 20s));
  // Its daemon keeps asking (the fan-out is closed to it, so it asks the broker for its state);
  // the broker says why once, and counts the rest.
  auto told = [&] {
    std::string log = testing::readText(tmp / "kz-almaty.log");
    size_t n = 0;
    for (size_t at = 0; (at = log.find("kz-almaty was revoked by the network's root", at)) != std::string::npos; ++at) ++n;
    return n;
  };
  EXPECT_TRUE(waitFor([&] { return told() == 1; }, 20s)) << testing::readText(tmp / "kz-almaty.log");
  std::string brokerAt;
  std::ifstream in(tmp / "broker-data/endpoints");
  for (std::string word, value; in >> word >> value;) {
    if (word == "metrics") brokerAt = value;
  }
  const std::string refused = R"(liaison_broker_requests_refused_total{reason="not admitted"})";
  EXPECT_TRUE(waitFor([&] { return sample(scrape(brokerAt), refused) >= 3; }, 30s)) << scrape(brokerAt);
  EXPECT_TRUE(waitFor([&] { return status("kz-almaty")["connected"] == false; }, 20s)) << status("kz-almaty").dump();
  EXPECT_EQ(told(), 1u);
}

TEST_F(NetworkTest, ABrokerRefusesAMetricsAddressItCannotUse) {
  enroll("kg-bishkek", "KG");
  for (const std::string bad : {"7403", "127.0.0.1:port", "127.0.0.1:99999"}) {
    auto r = run({bin + "/liaison-broker", "--data", tmp / "broker-data", "--root", tmp / "root.pub", "--key",
                  tmp / "broker.key", "--listen", "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*",
                  "--metrics", bad},
                 "", 20);
    EXPECT_EQ(r.exitCode, 1) << bad;
    EXPECT_NE(r.err.find("expected HOST:PORT"), std::string::npos) << r.err;
  }
}

// A broker of a pair that does not lead, as a site sees it: a CURVE ROUTER holding a broker key,
// admitting the given members, that answers every request with "not the leader", on a thread of
// its own until destroyed.
class StandbyBroker {
 public:
  static std::unique_ptr<StandbyBroker> start(const trust::KeyPair& keys, bus::ZapHandler::Members members) {
    auto ctx = bus::Context::create();
    if (!ctx) return nullptr;
    auto standby = std::unique_ptr<StandbyBroker>(new StandbyBroker(std::move(ctx).value()));
    auto zap = bus::ZapHandler::start(standby->ctx_, "liaison", std::move(members));
    auto router = bus::Socket::open(standby->ctx_, ZMQ_ROUTER);
    if (!zap || !router) return nullptr;
    standby->zap_ = std::move(zap).value();
    if (!bus::makeCurveServer(*router, keys, "liaison").ok() || !router->bind("tcp://127.0.0.1:*").ok()) {
      return nullptr;
    }
    auto endpoint = router->lastEndpoint();
    if (!endpoint) return nullptr;
    standby->endpoint_ = *endpoint;
    standby->thread_ = std::thread([s = standby.get(), r = std::move(router).value()]() mutable { s->run(r); });
    return standby;
  }
  ~StandbyBroker() {
    stop_ = true;
    if (thread_.joinable()) thread_.join();
    zap_.reset();
  }
  const std::string& endpoint() const { return endpoint_; }
  uint64_t answered() const { return answered_.load(); }

 private:
  explicit StandbyBroker(bus::Context ctx) : ctx_(std::move(ctx)) {}
  void run(bus::Socket& router) {
    const std::string refusal = bus::encode(bus::ProtocolError{"not the leader: this broker is the standby"});
    while (!stop_) {
      std::vector<zmq_pollitem_t> items{router.pollItem()};
      auto ready = bus::poll(items, std::chrono::milliseconds(50));
      if (!ready || *ready == 0) continue;
      auto msg = router.recv(4, /*dontWait=*/true);
      if (!msg || msg->size() < 2) continue;
      if (router.send({(*msg)[0], refusal}, /*dontWait=*/true).ok()) ++answered_;
    }
  }

  bus::Context ctx_;  // first: outlives the handler and the router
  std::unique_ptr<bus::ZapHandler> zap_;
  std::string endpoint_;
  std::atomic<bool> stop_{false};
  std::atomic<uint64_t> answered_{0};
  std::thread thread_;
};

// How often `text` occurs in the log of a test's process.
size_t logged(const std::string& log, const std::string& text) {
  size_t n = 0;
  for (size_t at = 0; (at = log.find(text, at)) != std::string::npos; at += text.size()) ++n;
  return n;
}

// A site given a broker pair whose first broker is the standby (it says "not the leader" to
// everything) and whose second leads, with a key pair each (--broker-key once per --broker): the
// site moves to the leader on its own, presents its certificate there, replicates what is
// published there and publishes through it; `liaison status` names the broker it follows.
TEST_F(NetworkTest, ASiteOfABrokerPairFollowsTheBrokerThatLeads) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  startBroker();
  initSite("kg-bishkek");
  startSite("kg-bishkek");
  ASSERT_EQ(publish("kg-bishkek", generate("kg.jsonl", 20, 1, "KG")).exitCode, 0);

  ASSERT_EQ(liaison({"keygen", "--out", tmp / "standby"}).exitCode, 0);
  auto standbyKeys = trust::loadKeyPair(tmp / "standby.key");
  auto th = trust::loadPublicKeys(tmp / "th-bangkok.pub");
  ASSERT_TRUE(standbyKeys.ok() && th.ok());
  auto standby = StandbyBroker::start(*standbyKeys, {{th->curve, "th-bangkok"}});
  ASSERT_NE(standby, nullptr);
  auto r = liaison({"init", "--site", site("th-bangkok"), "--id", "th-bangkok", "--root", tmp / "root.pub", "--key",
                    tmp / "th-bangkok.key", "--member", tmp / "th-bangkok.member", "--broker", standby->endpoint(),
                    "--broker", listen, "--broker-key", tmp / "standby.pub", "--broker-key", tmp / "broker.pub",
                    "--api", "127.0.0.1:0"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  EXPECT_NE(r.out.find("(brokers " + standby->endpoint() + ", " + listen + ")"), std::string::npos) << r.out;
  startSite("th-bangkok");

  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 20); }, 20s));
  auto st = status("th-bangkok");
  EXPECT_EQ(st.value("broker", ""), listen) << st.dump();
  EXPECT_EQ(st["brokers"], nlohmann::json::array({standby->endpoint(), listen})) << st.dump();
  EXPECT_EQ(st["connected"], true);
  // Presented first to the standby (no answer that counts), then again to the leader.
  EXPECT_TRUE(waitFor([&] { return status("th-bangkok").value("certificate", nlohmann::json()) == "held"; }, 10s))
      << status("th-bangkok").dump();
  EXPECT_GT(standby->answered(), 0u);
  ASSERT_EQ(publish("th-bangkok", generate("th.jsonl", 5, 2, "TH")).exitCode, 0);
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 25); }, 20s));

  auto text = liaison({"status", "--site", site("th-bangkok")});
  EXPECT_NE(text.out.find("mode:         networked, brokers " + standby->endpoint() + ", " + listen + "\n"),
            std::string::npos)
      << text.out;
  EXPECT_NE(text.out.find("broker:       " + listen + ", epoch"), std::string::npos) << text.out;
  const std::string log = testing::readText(tmp / "th-bangkok.log");
  EXPECT_EQ(logged(log, "site=th-bangkok broker now " + listen + " ("), 1u) << log;
  // Still where it is after many probes of the standby.
  std::this_thread::sleep_for(2s);
  EXPECT_EQ(status("th-bangkok").value("broker", ""), listen);
  EXPECT_EQ(logged(testing::readText(tmp / "th-bangkok.log"), "broker now"), 1u);
}

// The broker a pair's site follows falls silent (SIGSTOP) with a publish in flight: the site moves
// to the other broker, which answers (here: "not the leader"), and back when the first answers
// again as the leader; the publish is sent again each time and completes, once.
TEST_F(NetworkTest, APublishInFlightWhenThePairsBrokerFallsSilentIsSentAgainAndCompletes) {
  enroll("kg-bishkek", "KG");
  enroll("th-bangkok", "TH");
  startBroker();
  initSite("kg-bishkek");
  startSite("kg-bishkek");
  auto th = trust::loadPublicKeys(tmp / "th-bangkok.pub");
  auto brokerKeys = trust::loadKeyPair(tmp / "broker.key");
  ASSERT_TRUE(th.ok() && brokerKeys.ok());
  // The pair shares one key pair: --broker-key once.
  auto standby = StandbyBroker::start(*brokerKeys, {{th->curve, "th-bangkok"}});
  ASSERT_NE(standby, nullptr);
  auto r = liaison({"init", "--site", site("th-bangkok"), "--id", "th-bangkok", "--root", tmp / "root.pub", "--key",
                    tmp / "th-bangkok.key", "--member", tmp / "th-bangkok.member", "--broker", listen, "--broker",
                    standby->endpoint(), "--broker-key", tmp / "broker.pub", "--api", "127.0.0.1:0"});
  ASSERT_EQ(r.exitCode, 0) << r.err;
  startSite("th-bangkok");
  ASSERT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 20s));
  EXPECT_EQ(status("th-bangkok").value("broker", ""), listen);

  broker->pause();
  const std::string file = generate("th.jsonl", 5, 1, "TH");
  auto published = std::async(std::launch::async, [&] { return publish("th-bangkok", file); });
  const std::string away = "site=th-bangkok broker now " + standby->endpoint() + " (" + listen + " silent for 3 s)";
  EXPECT_TRUE(waitFor([&] { return logged(testing::readText(tmp / "th-bangkok.log"), away) == 1; }, 15s))
      << testing::readText(tmp / "th-bangkok.log");
  broker->resume();
  auto p = published.get();
  EXPECT_EQ(p.exitCode, 0) << p.out << p.err;
  EXPECT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 5); }, 20s));
  const std::string log = testing::readText(tmp / "th-bangkok.log");
  // Back as soon as it answers (that it leads, or first with the publish's result).
  EXPECT_EQ(logged(log, "site=th-bangkok broker now " + listen + " ("), 1u) << log;
  EXPECT_EQ(status("th-bangkok").value("broker", ""), listen);
  EXPECT_TRUE(waitFor([&] { return status("th-bangkok").value("connected", false); }, 20s));
}

// `liaison init` takes --broker-key once (a pair sharing a key pair) or once per --broker.
TEST_F(NetworkTest, InitTakesOneBrokerKeyOrOnePerBroker) {
  enroll("kg-bishkek", "KG");
  auto init = [&](std::vector<std::string> brokerArgs) {
    std::vector<std::string> args = {"init", "--site", site("kg-bishkek"), "--id", "kg-bishkek", "--root",
                                     tmp / "root.pub", "--key", tmp / "kg-bishkek.key", "--member",
                                     tmp / "kg-bishkek.member"};
    args.insert(args.end(), brokerArgs.begin(), brokerArgs.end());
    return liaison(args);
  };
  const std::string key = tmp / "broker.pub";
  auto three = init({"--broker", "tcp://a:7400", "--broker", "tcp://b:7400", "--broker-key", key, "--broker-key", key,
                     "--broker-key", key});
  EXPECT_NE(three.exitCode, 0);
  EXPECT_NE(three.err.find("--broker-key is given 3 times for 2 --broker"), std::string::npos) << three.err;
  auto twice = init({"--broker", "tcp://a:7400", "--broker", "tcp://a:7400", "--broker-key", key});
  EXPECT_NE(twice.exitCode, 0);
  EXPECT_NE(twice.err.find("--broker tcp://a:7400 is given twice"), std::string::npos) << twice.err;
  EXPECT_FALSE(std::filesystem::exists(site("kg-bishkek") + "/site.toml"));
  auto ok = init({"--broker", "tcp://a:7400", "--broker", "tcp://b:7400", "--broker-key", key});
  ASSERT_EQ(ok.exitCode, 0) << ok.err;
  auto text = liaison({"status", "--site", site("kg-bishkek"), "--format", "json"});
  auto st = nlohmann::json::parse(text.out, nullptr, false);
  EXPECT_EQ(st["brokers"], nlohmann::json::array({"tcp://a:7400", "tcp://b:7400"})) << text.out;
}

}  // namespace
}  // namespace liaison
