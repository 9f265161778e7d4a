// The broker pair with real processes: a real etcd on 127.0.0.1, two liaison-broker processes
// (--etcd, --pair-listen, --pair-peer) and site daemons given both brokers. What a user relies
// on: either broker can die (kill -9) and the other takes over with the history continuing (same
// epoch, next seq, no snapshot at the sites); nothing acknowledged is lost; a standby that etcd
// does not show in sync never takes over; a returning broker becomes the standby and catches up.
#include <gtest/gtest.h>

#include <filesystem>
#include <thread>

#include "tests/etcd_fixture.h"
#include "tests/network_fixture.h"

namespace liaison::testing {
namespace {

class PairTest : public NetworkTest {
 protected:
  EtcdMember etcd;
  std::unique_ptr<ha::EtcdClient> etcdClient;
  struct Broker {
    std::string name, data, listen, fanout;  // name: its --pair-listen
    std::unique_ptr<Process> process;
  };
  Broker brokers[2];

  static void SetUpTestSuite() { ASSERT_TRUE(adapters::initHttp().ok()); }

  void SetUp() override {
    NetworkTest::SetUp();
    etcd = startEtcd(tmp / "etcd", tmp / "etcd.log");
    ASSERT_TRUE(etcd.process) << readText(tmp / "etcd.log");
    auto c = ha::EtcdClient::create({etcd.url});
    ASSERT_TRUE(c.ok());
    etcdClient = std::move(c).value();
    for (int i = 0; i < 2; ++i) {
      brokers[i].name = "tcp://127.0.0.1:" + std::to_string(freePort());
      brokers[i].data = tmp / (i == 0 ? "broker-a" : "broker-b");
      brokers[i].listen = "tcp://127.0.0.1:" + std::to_string(freePort());
      brokers[i].fanout = "tcp://127.0.0.1:" + std::to_string(freePort());
    }
  }

  void TearDown() override {
    daemons.clear();
    for (auto& b : brokers) b.process.reset();
    NetworkTest::TearDown();
  }

  void start(int i) {
    std::vector<std::string> argv = {bin + "/liaison-broker", "--data", brokers[i].data, "--root", tmp / "root.pub",
                                     "--key", tmp / "broker.key", "--listen", brokers[i].listen, "--fanout",
                                     brokers[i].fanout, "--heartbeat-ms", "200", "--etcd", etcd.url, "--pair-listen",
                                     brokers[i].name, "--pair-peer", brokers[1 - i].name, "--lease", "2"};
    for (const auto& m : memberFiles) {
      argv.push_back("--member");
      argv.push_back(m);
    }
    brokers[i].process = std::make_unique<Process>(argv, tmp / (i == 0 ? "broker-a.log" : "broker-b.log"));
  }

  std::string key(const std::string& which) {
    auto v = etcdClient->get("/liaison/CASC/" + which);
    return v.ok() && v->has_value() ? (*v)->value : std::string();
  }
  // The index of the broker etcd names as leader (-1: none).
  int leader() {
    const std::string name = key("leader");
    for (int i = 0; i < 2; ++i) {
      if (brokers[i].name == name) return i;
    }
    return -1;
  }
  bool inSync(const std::string& expected) { return key("sync") == expected; }
  std::string both(int leading) { return brokers[leading].name + " " + brokers[1 - leading].name; }

  void initPairSite(const std::string& id) {
    auto r = liaison({"init", "--site", site(id), "--id", id, "--root", tmp / "root.pub", "--key", tmp / (id + ".key"),
                      "--member", tmp / (id + ".member"), "--broker", brokers[0].listen, "--broker",
                      brokers[1].listen, "--broker-key", tmp / "broker.pub", "--api", "127.0.0.1:0"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }

  // Publishes `count` new records from `id`, retrying while the pair changes hands (a publish
  // said to have failed may be sent again: the broker ignores what it holds).
  void publishThrough(const std::string& id, int count, int seed, const std::string& country) {
    const std::string file = generate("batch-" + std::to_string(seed) + ".json", count, seed, country);
    RunResult r;
    ASSERT_TRUE(waitFor([&] { return (r = publish(id, file)).exitCode == 0; }, 30s)) << r.out << r.err;
  }

  std::string epochOf(const std::string& id) { return status(id).value("cursorEpoch", ""); }
};

TEST_F(PairTest, EitherBrokerDiesAndTheOtherContinuesTheHistoryWithNothingLost) {
  enroll("kg-bishkek", "KG");
  enroll("kz-almaty", "KZ");
  start(0);
  start(1);
  ASSERT_TRUE(waitFor([&] { return leader() >= 0; }, 15s)) << "no broker leads";
  const int first = leader();
  ASSERT_TRUE(waitFor([&] { return inSync(both(first)); }, 15s)) << "the standby never got in sync: " << key("sync");
  for (auto id : {"kg-bishkek", "kz-almaty"}) {
    initPairSite(id);
    startSite(id);
  }
  publishThrough("kg-bishkek", 30, 1, "KG");
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty"}, 30); }, 20s));
  const std::string epoch = epochOf("kz-almaty");
  ASSERT_FALSE(epoch.empty());
  // An alert, delivered and acknowledged: its custody is the broker's, and must survive too.
  auto sent = liaison({"alert", "send", "--site", site("kg-bishkek"), "--format", "json", "--headline",
                       "Suspect leaving tonight", "--target", "site:kz-almaty", "--ack-required"}, 60);
  ASSERT_EQ(sent.exitCode, 0) << sent.err;
  const std::string alertId = nlohmann::json::parse(sent.out)["id"];
  auto targetState = [&] {
    auto r = liaison({"alert", "show", "--site", site("kg-bishkek"), alertId, "--format", "json"}, 30);
    auto j = nlohmann::json::parse(r.out, nullptr, false);
    if (r.exitCode != 0 || j.is_discarded() || !j["custody"].is_object()) return std::string();
    return j["custody"]["targets"]["kz-almaty"].value("state", "");
  };
  ASSERT_TRUE(waitFor([&] { return targetState() == "delivered"; }, 20s)) << targetState();
  ASSERT_EQ(liaison({"alert", "ack", "--site", site("kz-almaty"), alertId, "--by", "Duty officer"}).exitCode, 0);
  ASSERT_EQ(targetState(), "acknowledged");

  // The leader dies: the standby leads, with the same epoch; the sites move on their own.
  brokers[first].process->kill9();
  ASSERT_TRUE(waitFor([&] { return leader() == 1 - first; }, 15s)) << "the standby did not take over";
  // The new leader holds the alert's custody as the old one acknowledged it.
  EXPECT_TRUE(waitFor([&] { return targetState() == "acknowledged"; }, 20s)) << targetState();
  publishThrough("kz-almaty", 30, 2, "KZ");
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty"}, 60); }, 30s));
  EXPECT_EQ(epochOf("kg-bishkek"), epoch) << "a takeover must continue the history, not start a new epoch";
  EXPECT_EQ(epochOf("kz-almaty"), epoch);
  EXPECT_EQ(status("kz-almaty").value("broker", ""), brokers[1 - first].listen);

  // The dead broker returns as the standby, gets a copy and is in sync again; then the other
  // leader dies, and the history still continues.
  start(first);
  ASSERT_TRUE(waitFor([&] { return inSync(both(1 - first)); }, 20s)) << key("sync");
  EXPECT_EQ(leader(), 1 - first);
  publishThrough("kg-bishkek", 30, 3, "KG");  // stored by both before it is acknowledged
  brokers[1 - first].process->kill9();
  ASSERT_TRUE(waitFor([&] { return leader() == first; }, 15s)) << "the returned broker did not take over";
  publishThrough("kz-almaty", 30, 4, "KZ");
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "kz-almaty"}, 120); }, 30s));
  EXPECT_EQ(epochOf("kg-bishkek"), epoch);
  // No snapshot was needed at a site: their logs say so.
  EXPECT_EQ(readText(tmp / "kz-almaty.log").find("snapshot"), std::string::npos);
}

TEST_F(PairTest, AStandbyNotShownInSyncNeverTakesOver) {
  enroll("kg-bishkek", "KG");
  start(0);
  start(1);
  ASSERT_TRUE(waitFor([&] { return leader() >= 0; }, 15s));
  const int first = leader(), second = 1 - first;
  ASSERT_TRUE(waitFor([&] { return inSync(both(first)); }, 15s)) << key("sync");
  initPairSite("kg-bishkek");
  startSite("kg-bishkek");

  // The standby dies; the leader goes on alone and says so in etcd; what it accepts then, only it
  // holds.
  brokers[second].process->kill9();
  ASSERT_TRUE(waitFor([&] { return inSync(brokers[first].name); }, 15s)) << key("sync");
  publishThrough("kg-bishkek", 20, 5, "KG");
  brokers[first].process->kill9();

  // The old standby alone must not lead: it would lose those 20 records and fork the history.
  start(second);
  std::this_thread::sleep_for(6s);  // three leases
  EXPECT_EQ(leader(), -1) << "a standby not in sync took over";
  EXPECT_NE(readText(tmp / (second == 0 ? "broker-a.log" : "broker-b.log")).find("standby until"), std::string::npos);
  const std::string file = generate("refused.json", 5, 6, "KG");
  auto r = publish("kg-bishkek", file);
  EXPECT_NE(r.exitCode, 0) << "a publish was accepted with no leader: " << r.out;

  // The broker that holds everything returns and leads; the standby follows it again.
  start(first);
  ASSERT_TRUE(waitFor([&] { return leader() == first; }, 15s));
  ASSERT_TRUE(waitFor([&] { return inSync(both(first)); }, 20s)) << key("sync");
  publishThrough("kg-bishkek", 5, 7, "KG");
  ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek"}, 25); }, 20s));
}

// Two brokers that each hold a log of their own (two single brokers made a pair by mistake, or a
// broker of another network): the one that does not lead keeps its log, says why, and is never
// shown in sync.
TEST_F(PairTest, ABrokerWithAnotherHistoryKeepsItsLogAndDoesNotFollow) {
  enroll("kg-bishkek", "KG");
  for (int i = 0; i < 2; ++i) {  // each alone first: a log with a certificate, an epoch of its own
    std::vector<std::string> argv = {bin + "/liaison-broker", "--data", brokers[i].data, "--root", tmp / "root.pub",
                                     "--key", tmp / "broker.key", "--listen", brokers[i].listen, "--fanout",
                                     brokers[i].fanout, "--member", memberFiles[0]};
    Process alone(argv, tmp / "alone.log");
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(brokers[i].data + "/endpoints"); }, 10s));
    alone.stop();
  }
  start(0);
  start(1);
  ASSERT_TRUE(waitFor([&] { return leader() >= 0; }, 15s));
  const int follower = 1 - leader();
  const std::string log = tmp / (follower == 0 ? "broker-a.log" : "broker-b.log");
  ASSERT_TRUE(waitFor([&] { return readText(log).find("another history") != std::string::npos; }, 15s))
      << readText(log);
  EXPECT_EQ(key("sync"), brokers[1 - follower].name);
  EXPECT_FALSE(std::filesystem::exists(brokers[follower].data + "/pair-incomplete"));
}

}  // namespace
}  // namespace liaison::testing
