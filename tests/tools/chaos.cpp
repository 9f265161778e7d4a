// liaison-chaos: a fault-injection run against real processes on 127.0.0.1, checked against a
// simple model of what was acknowledged.
//
//   liaison-chaos [--duration SECONDS] [--seed N] [--sites N] [--networks 1|2] [--pair] [--keep-logs DIR]
//
// Topology. --networks 2 (the default): two networks federated as DESIGN.md ("Federation") has
// it: CASC (root, broker started with --network CASC, the first half of the sites s1.. with
// countries KG and KZ in turn, a secretariat) and SEAJust (its own root and broker, the other
// half with TH and VN, a secretariat); each secretariat publishes its network's peering (the
// default policy: contacts, instruments, notices and alerts both ways) and is stopped again; one
// liaison-bridge process, enrolled in both networks with role bridge and one key pair (ids
// casc-bridge and seajust-bridge). Site ids are unique across the networks. --networks 1: one
// broker and the sites, all KG (the run as it was before federation).
//
// Load (one client, seeded): publishes of new revisions of a pool of contacts per country (each
// published by a site of that country, so records of both networks), retirements, and alerts,
// each through a random live site's API. Alerts name their targets by site id (of the sender's
// network only, or of either) or by a country of the other network (plus a site of the
// sender's), need an acknowledgement within 3 s that nobody gives, and escalate to one more site
// (of either network) where one is left. With two networks, about one operation in twenty (at
// most one a second) is an MLA request with one file of random bytes (up to two chunks) to a
// site of either network, created and uploaded through the sender's API (the peerings let
// requests pass both ways; CASC's secretariat publishes the instruments). Every answer is recorded: acknowledged (the broker accepted), refused, or unknown (no
// answer: it may or may not have happened). Alert ids are chosen by the client, so that even an
// alert without an answer is known by id.
// Faults (seeded schedule): kill -9 and restart of either broker, of the bridge or of a site,
// SIGSTOP/SIGCONT of a site or of the bridge (a slow subscriber), a site whose LMDB map is full
// for a few seconds (restarted with map_size_mb = 1, then without). A sampler reads records'
// revisions at random sites of both networks all along.
// At the end every process is brought back, and once both networks have converged (every site
// and both sides of the bridge at their broker's head, the bridge's outboxes empty) the model is
// checked: every acknowledged publish or retirement is at every replica of both networks with
// the same final revision (the highest acknowledged, or a higher one whose outcome was unknown),
// the other network's records included; the replicas of a network are equal; nothing that was
// never sent appears; no replica was ever seen to go back in revision; every acknowledged alert is
// in the inbox of each of its targets and of its escalation target (in either network) exactly
// once, with the sender's custody (as `alert show` gets it from the broker) showing each of them
// delivered, the bridge's hop delivered, escalation fired once and no site it was not meant for;
// no inbox holds an alert that was refused, never sent, or not meant for it; every acknowledged
// request is delivered at its recipient (its file's SHA-256 as signed, "delivered" back at the
// sender, the same verified trail at both ends) and no site holds a request not sent to it; the two brokers'
// logs hold the same number of items (each network's items once in each). Prints the figures;
// the last line is "violations: N" and the exit status is non-zero when N > 0. The processes'
// logs and a journal of the faults (chaos.log) are kept in --keep-logs DIR, or in
// $TMPDIR/liaison-chaos-SEED-PID when there were violations.
//
// --pair (one network: it implies --networks 1): the broker is a pair (DESIGN.md, "High
// availability and operations"): a 3-member etcd cluster on 127.0.0.1 (Debian's etcd,
// /usr/bin/etcd), two liaison-broker processes sharing the key pair (--etcd with the three
// members, --pair-listen/--pair-peer, --lease 2), the sites given both. Faults added to the
// schedule: kill -9 of the leader (etcd's leader key names it), of the standby, of both one after
// the other, SIGSTOP of the leader for longer than its lease then SIGCONT (it must stop leading:
// it exits, and is started again), kill -9 of an etcd member (started again on its data); each
// killed process comes back after a few seconds, and a broker that exits by itself (a leader
// that lost its lease) is started again at once. Checks added: no seq is acknowledged (in the
// answers to publishes and retirements) for two different items, and every replica's epoch stays
// the run's (a takeover continues the history) — both sampled during the run; at the end, once
// etcd shows both brokers in sync, both brokers' logs (read read-only from their LMDB files
// beside the running brokers) hold the run's epoch, the sites' head, and the same entry at every
// seq, and each acknowledged seq holds the item it was acknowledged for.
#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sodium.h>
#include <unistd.h>

#include <array>
#include <atomic>
#include <cstring>
#include <ctime>
#include <functional>
#include <iomanip>
#include <cstdlib>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "adapters/http.h"
#include "common/encoding.h"
#include "common/lmdb.h"
#include "ha/etcd.h"
#include "tests/bench/bench_network.h"

namespace {

using namespace liaison;
using namespace liaison::bench;
using nlohmann::json;

constexpr const char* kBridgeA = "casc-bridge";
constexpr const char* kBridgeB = "seajust-bridge";

struct Op {
  std::string kind;  // publish | retire | alert
  std::string site, id;
  uint64_t revision = 0;
  std::string outcome;  // acked | refused | unknown
};

// A site of the run: which network (index into nets_) and country.
struct Node {
  int net = 0;
  std::string country;
};

// An alert the client tried to send: where it should go.
struct AlertPlan {
  std::string sender;
  std::set<std::string> targets;  // sites it must reach (resolved from site ids and countries)
  std::string escalateTo;         // "" when none
  bool crossing = false;          // a target or the escalation is in the other network
  std::string outcome;
};

// An MLA request the client tried to send (two networks): one file of random bytes.
struct RequestPlan {
  std::string sender, recipient, sha256;
  uint64_t size = 0;
  std::string outcome;  // acked (created and every chunk stored at the sender) | refused | unknown
};

struct Member {
  std::string id, country, role, key;  // key: path without .key/.pub
};

// --pair: one broker of the pair. `name` is its --pair-listen (what etcd's keys hold).
struct PairedBroker {
  std::string label, name, data, listen, fanout;
  std::unique_ptr<Process> process;
  bool held = false;  // down or paused on purpose by a fault: the keeper leaves it alone
};

// --pair: one member of the etcd cluster.
struct EtcdNode {
  std::string name, dir, client, peer;
  std::unique_ptr<Process> process;
};

// --pair: the item an acknowledged publish or retirement says it got at a seq.
struct SeqItem {
  std::string kind, id, site;
  uint64_t revision = 0;
};

// A port on 127.0.0.1 that nothing holds now, below the kernel's ephemeral range (32768 and up
// here): a broker or etcd member started again on it must find it free, and a port of that
// range may meanwhile be the local end of some connection.
int quietPort(std::set<int>& taken) {
  static std::mt19937 rng(std::random_device{}());
  for (int attempt = 0; attempt < 1000; ++attempt) {
    const int port = 20000 + static_cast<int>(rng() % 12000);
    if (taken.count(port) != 0) continue;
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    const bool free = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
    ::close(fd);
    if (free) {
      taken.insert(port);
      return port;
    }
  }
  return testing::freePort();
}

uint64_t hashOf(std::string_view v) { return std::hash<std::string_view>{}(v); }

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

class Chaos {
 public:
  Chaos(uint64_t seed, int siteCount, int networks, bool pair)
      : networks_(networks), pair_(pair), rng_(seed), faultRng_(seed * 7919 + 1), sampleRng_(seed * 104729 + 3) {
    for (int i = 1; i <= siteCount; ++i) ids_.push_back("s" + std::to_string(i));
    const int first = networks_ == 2 ? (siteCount + 1) / 2 : siteCount;  // CASC's share
    for (int i = 0; i < siteCount; ++i) {
      Node n;
      n.net = i < first ? 0 : 1;
      if (networks_ == 1) {
        n.country = "KG";
      } else if (n.net == 0) {
        n.country = i % 2 == 0 ? "KG" : "KZ";
      } else {
        n.country = (i - first) % 2 == 0 ? "TH" : "VN";
      }
      nodes_[ids_[i]] = n;
      if (std::find(countries_.begin(), countries_.end(), n.country) == countries_.end()) countries_.push_back(n.country);
    }
    nets_[0] = std::make_unique<Bench>();
    if (networks_ == 2) nets_[1] = std::make_unique<Bench>();
  }

  ~Chaos() {
    // The pair's brokers and etcd before the folder that holds their data goes.
    stopKeeper();
    for (auto& b : brokers_) b.process.reset();
    for (auto& e : etcd_) e.process.reset();
    // The bridge first (it lives in CASC's folder and reads SEAJust's), then SEAJust, then CASC.
    if (networks_ == 2) nets_[0]->sites[kBridgeA].daemon.reset();
    nets_[1].reset();
    nets_[0].reset();
  }

  Bench& benchOf(const std::string& id) {
    if (id == kBridgeB) return *nets_[1];
    if (id == kBridgeA) return *nets_[0];
    return *nets_[nodes_.at(id).net];
  }
  Site& siteOf(const std::string& id) { return benchOf(id).sites[id]; }
  static const char* networkName(int net) { return net == 0 ? "CASC" : "SEAJust"; }

  bool setup() {
    if (pair_) return setupPair();
    if (networks_ == 1) {
      if (!nets_[0]->setup(ids_)) return false;
      for (const auto& id : ids_) {
        if (!nets_[0]->start(id)) return false;
        alive_[id] = true;
      }
      return true;
    }
    if (!std::filesystem::exists(nets_[0]->bin + "/liaison-bridge")) {
      std::fprintf(stderr, "%s/liaison-bridge is missing: build it (cmake --build build --target liaison-bridge)\n",
                   nets_[0]->bin.c_str());
      return false;
    }
    const std::string bridgeKey = nets_[0]->tmp / "bridge";
    for (int net = 0; net < 2; ++net) {
      std::vector<Member> members;
      for (const auto& id : ids_) {
        if (nodes_.at(id).net == net) members.push_back({id, nodes_.at(id).country, "authority", ""});
      }
      members.push_back({net == 0 ? "casc-secretariat" : "seajust-secretariat", "", "secretariat", ""});
      members.push_back({net == 0 ? kBridgeA : kBridgeB, "", "bridge", bridgeKey});
      if (!makeNetwork(*nets_[net], networkName(net), members)) {
        std::fprintf(stderr, "%s did not start\n", networkName(net));
        return false;
      }
      memberCount_ += members.size();
    }
    for (const auto& id : ids_) {
      if (!siteOf(id).daemon && !benchOf(id).start(id)) {
        std::fprintf(stderr, "site %s did not start\n", id.c_str());
        return false;
      }
      alive_[id] = true;
    }
    if (!startBridge()) {
      std::fprintf(stderr, "the bridge did not start\n");
      return false;
    }
    // Each secretariat publishes its network's peering with the other, signed by its root; it is
    // then stopped (by PID): it is not one of the replicas the run checks.
    for (int net = 0; net < 2; ++net) {
      Bench& b = *nets_[net];
      Bench& peer = *nets_[1 - net];
      const std::string secretariat = net == 0 ? "casc-secretariat" : "seajust-secretariat";
      std::string peering;
      const std::string kinds = "kinds=contact,instrument,notice,alert,request";
      if (b.cli({"peer", "--root", b.tmp / "root.key", "--network", networkName(net), "--peer",
                 networkName(1 - net), "--peer-root", peer.tmp / "root.pub", "--offer", kinds, "--accept", kinds},
                &peering) != 0) {
        return false;
      }
      const std::string file = b.tmp / (std::string(networkName(net)) + "~" + networkName(1 - net) + ".peering");
      testing::writeText(file, peering);
      if (!b.start(secretariat)) return false;
      // CASC's secretariat publishes the instruments (requests name one both countries are party
      // to), before its peering: they cross with everything else.
      if (net == 0 && b.cli({"publish", "--site", b.sites[secretariat].dir,
                             testing::sourceDir() + "/config/sample/instruments.json"}) != 0) {
        std::fprintf(stderr, "CASC: instruments not published\n");
        return false;
      }
      if (b.cli({"publish", "--site", b.sites[secretariat].dir, file}) != 0) {
        std::fprintf(stderr, "%s: peering not published\n", networkName(net));
        return false;
      }
      b.sites[secretariat].daemon.reset();
    }
    // Both peerings in force and every member certificate across: every site holds the members
    // of both networks (before that, an alert for a site of the other network is refused).
    bool crossed = testing::waitFor([&] {
      for (const auto& id : ids_) {
        auto st = benchOf(id).status(id);
        if (!st.is_object() || st["counts"].value("members", uint64_t{0}) < memberCount_) return false;
        if (st["counts"].value("instruments", uint64_t{0}) == 0) return false;  // requests name one
      }
      return true;
    }, 60s);
    if (!crossed) {
      std::fprintf(stderr, "the networks did not exchange their members within 60 s\n");
      return false;
    }
    return true;
  }

  // --pair: the sites enrolled in CASC (KG), a 3-member etcd cluster, the two brokers (the
  // first to lead gets the other in sync), and the sites given both brokers.
  bool setupPair() {
    Bench& b = *nets_[0];
    if (!std::filesystem::exists(kEtcd)) {
      std::fprintf(stderr, "--pair needs etcd at %s (Debian's etcd-server)\n", kEtcd);
      return false;
    }
    if (auto st = adapters::initHttp(); !st) {
      std::fprintf(stderr, "libcurl: %s\n", st.error().message.c_str());
      return false;
    }
    if (b.cli({"keygen", "--out", b.tmp / "root"}) != 0 || b.cli({"keygen", "--out", b.tmp / "broker"}) != 0) return false;
    for (const auto& id : ids_) {
      std::string cert;
      if (b.cli({"keygen", "--out", b.tmp / id}) != 0 ||
          b.cli({"enroll", "--root", b.tmp / "root.key", "--site", id, "--public", b.tmp / (id + ".pub"), "--country",
                 "KG", "--network", "CASC", "--role", "authority"}, &cert) != 0) {
        return false;
      }
      testing::writeText(b.tmp / (id + ".member"), cert);
      b.members.push_back(b.tmp / (id + ".member"));
    }
    std::set<int> taken;
    for (int i = 0; i < 3; ++i) {
      EtcdNode& e = etcd_[i];
      e.name = "etcd-" + std::to_string(i);
      e.dir = b.tmp / e.name;
      e.client = "http://127.0.0.1:" + std::to_string(quietPort(taken));
      e.peer = "http://127.0.0.1:" + std::to_string(quietPort(taken));
      etcdCluster_ += (i == 0 ? "" : ",") + e.name + "=" + e.peer;
      etcdUrls_ += (i == 0 ? "" : ",") + e.client;
    }
    for (int i = 0; i < 3; ++i) startEtcd(i);
    auto client = ha::EtcdClient::create(splitList(etcdUrls_));
    auto keeperClient = ha::EtcdClient::create(splitList(etcdUrls_));
    if (!client || !keeperClient) return false;
    etcdClient_ = std::move(client).value();
    keeperEtcd_ = std::move(keeperClient).value();
    if (!testing::waitFor([&] { return etcdClient_->get(leaderKey()).ok(); }, 30s)) {
      std::fprintf(stderr, "the etcd cluster (%s) did not answer within 30 s\n", etcdUrls_.c_str());
      return false;
    }
    for (int i = 0; i < 2; ++i) {
      PairedBroker& pb = brokers_[i];
      pb.label = i == 0 ? "broker-a" : "broker-b";
      pb.data = b.tmp / pb.label;
      pb.name = "tcp://127.0.0.1:" + std::to_string(quietPort(taken));
      pb.listen = "tcp://127.0.0.1:" + std::to_string(quietPort(taken));
      pb.fanout = "tcp://127.0.0.1:" + std::to_string(quietPort(taken));
    }
    {
      std::lock_guard lock(pairMutex_);
      startPairBroker(0);
      startPairBroker(1);
    }
    int first = -1;
    if (!testing::waitFor([&] { return (first = leaderOf(*etcdClient_)) >= 0 && syncOf(*etcdClient_) == both(first); },
                          40s)) {
      std::fprintf(stderr, "the pair did not get a leader with its standby in sync within 40 s (sync \"%s\")\n",
                   syncOf(*etcdClient_).c_str());
      return false;
    }
    journal("pair: " + brokers_[first].label + " leads, sync \"" + both(first) + "\"");
    for (const auto& id : ids_) {
      Site& s = b.sites[id];
      s.id = id;
      s.dir = b.tmp / id;
      if (b.cli({"init", "--site", s.dir, "--id", id, "--root", b.tmp / "root.pub", "--key", b.tmp / (id + ".key"),
                 "--member", b.tmp / (id + ".member"), "--broker", brokers_[0].listen, "--broker", brokers_[1].listen,
                 "--broker-key", b.tmp / "broker.pub", "--api", "127.0.0.1:0"}) != 0) {
        return false;
      }
      if (!b.start(id)) {
        std::fprintf(stderr, "site %s did not start\n", id.c_str());
        return false;
      }
      alive_[id] = true;
    }
    // The run's epoch, as the sites hold it: it must be theirs (and the brokers') to the end.
    if (!testing::waitFor([&] {
          auto st = b.status(ids_[0]);
          epoch0_ = st.is_object() ? st.value("cursorEpoch", "") : "";
          return !epoch0_.empty() && epoch0_ != kNoEpoch;
        }, 20s)) {
      std::fprintf(stderr, "%s holds no epoch\n", ids_[0].c_str());
      return false;
    }
    journal("pair: the run's epoch is " + epoch0_);
    keeper_ = std::thread([this] { keep(); });
    return true;
  }

  static constexpr const char* kEtcd = "/usr/bin/etcd";
  static constexpr const char* kNoEpoch = "0000000000000000";
  static std::string leaderKey() { return "/liaison/CASC/leader"; }
  static std::string syncKey() { return "/liaison/CASC/sync"; }

  // The sync key's value when broker `leading` leads with the other in sync.
  std::string both(int leading) const { return brokers_[leading].name + " " + brokers_[1 - leading].name; }

  // The index of the broker etcd names as leader; -1 when none (or etcd did not answer).
  int leaderOf(ha::EtcdClient& etcd) {
    auto v = etcd.get(leaderKey());
    if (!v.ok() || !v->has_value()) return -1;
    for (int i = 0; i < 2; ++i) {
      if (brokers_[i].name == (*v)->value) return i;
    }
    return -1;
  }
  std::string syncOf(ha::EtcdClient& etcd) {
    auto v = etcd.get(syncKey());
    return v.ok() && v->has_value() ? (*v)->value : std::string();
  }

  // Starts etcd member i (on its data: a member started again rejoins the cluster).
  void startEtcd(int i) {
    EtcdNode& e = etcd_[i];
    e.process = std::make_unique<Process>(
        std::vector<std::string>{kEtcd, "--name", e.name, "--data-dir", e.dir, "--listen-client-urls", e.client,
                                 "--advertise-client-urls", e.client, "--listen-peer-urls", e.peer,
                                 "--initial-advertise-peer-urls", e.peer, "--initial-cluster", etcdCluster_,
                                 "--initial-cluster-state", "new", "--initial-cluster-token", "liaison-chaos"},
        nets_[0]->tmp / (e.name + ".log"));
  }

  // Starts broker i (again: same ports, same data). The caller holds pairMutex_.
  void startPairBroker(int i) {
    Bench& b = *nets_[0];
    PairedBroker& pb = brokers_[i];
    std::vector<std::string> argv = {b.bin + "/liaison-broker", "--data", pb.data, "--root", b.tmp / "root.pub",
                                     "--key", b.tmp / "broker.key", "--listen", pb.listen, "--fanout", pb.fanout,
                                     "--etcd", etcdUrls_, "--pair-listen", pb.name, "--pair-peer",
                                     brokers_[1 - i].name, "--lease", "2"};
    for (const auto& m : b.members) {
      argv.push_back("--member");
      argv.push_back(m);
    }
    pb.process = std::make_unique<Process>(argv, b.tmp / (pb.label + ".log"));
    ++brokerStarts_;
  }

  // --pair: a thread of its own, all along the run. A broker that exited by itself (a leader
  // that lost its lease: status 1) and that no fault holds down is started again at once; the
  // leader key is watched (changes of leader, the longest time without one).
  void keep() {
    std::string last;
    bool leaderless = false;
    Steady::time_point since = Steady::now();  // without a leader since (when leaderless)
    while (!keeperStop_) {
      std::this_thread::sleep_for(250ms);
      {
        std::lock_guard lock(pairMutex_);
        for (int i = 0; i < 2; ++i) {
          PairedBroker& pb = brokers_[i];
          if (pb.held || (pb.process && pb.process->running())) continue;
          const int code = pb.process ? pb.process->stop() : -1;
          ++selfExits_;
          journal(pb.label + " exited by itself (status " + std::to_string(code) + "); started again");
          startPairBroker(i);
        }
      }
      auto v = keeperEtcd_->get(leaderKey());
      if (!v.ok()) continue;  // etcd has no quorum, or no member answered: unknown
      const std::string name = v->has_value() ? (*v)->value : "";
      const auto now = Steady::now();
      if (name.empty()) {
        if (!leaderless) since = now;
        leaderless = true;
        continue;
      }
      if (leaderless) {
        noLeaderLongest_ = std::max(noLeaderLongest_, std::chrono::duration<double>(now - since).count());
        leaderless = false;
      }
      if (name != last) {
        if (!last.empty()) ++leaderChanges_;
        const int faulted = leaderFaulted_.load();
        const int64_t at = faulted >= 0 && brokers_[faulted].name != name ? leaderFaultAt_.exchange(0) : 0;
        if (at != 0) {  // the other broker took over after a kill -9 or SIGSTOP of the leader
          const double took = static_cast<double>(nowMs() - at) / 1000.0;
          ++takeovers_;
          takeoverMax_ = std::max(takeoverMax_, took);
          takeoverSum_ += took;
        }
        std::string label = name;
        for (const auto& pb : brokers_) {
          if (pb.name == name) label = pb.label;
        }
        journal("etcd: the leader is " + label);
        last = name;
      }
    }
  }
  void stopKeeper() {
    keeperStop_ = true;
    if (keeper_.joinable()) keeper_.join();
  }

  // One network made with the real `liaison` command in b.tmp: root, broker (started, on
  // 127.0.0.1, with --network), and a site directory (`liaison init`) for each member.
  static bool makeNetwork(Bench& b, const std::string& network, const std::vector<Member>& members) {
    if (b.cli({"keygen", "--out", b.tmp / "root"}) != 0 || b.cli({"keygen", "--out", b.tmp / "broker"}) != 0) return false;
    for (const auto& m : members) {
      const std::string key = m.key.empty() ? b.tmp / m.id : m.key;
      if (!std::filesystem::exists(key + ".key") && b.cli({"keygen", "--out", key}) != 0) return false;
      std::vector<std::string> args = {"enroll", "--root", b.tmp / "root.key", "--site", m.id, "--public",
                                       key + ".pub", "--network", network, "--role", m.role};
      if (!m.country.empty()) {
        args.push_back("--country");
        args.push_back(m.country);
      }
      std::string cert;
      if (b.cli(args, &cert) != 0) return false;
      testing::writeText(b.tmp / (m.id + ".member"), cert);
      b.members.push_back(b.tmp / (m.id + ".member"));
    }
    b.brokerArgv = {b.bin + "/liaison-broker", "--data", b.tmp / "broker-data", "--root", b.tmp / "root.pub",
                    "--key", b.tmp / "broker.key", "--network", network, "--listen", "tcp://127.0.0.1:*",
                    "--fanout", "tcp://127.0.0.1:*"};
    for (const auto& m : b.members) {
      b.brokerArgv.push_back("--member");
      b.brokerArgv.push_back(m);
    }
    if (!b.startBroker()) return false;
    for (const auto& m : members) {
      Site& s = b.sites[m.id];
      s.id = m.id;
      s.dir = b.tmp / m.id;
      const std::string key = m.key.empty() ? b.tmp / m.id : m.key;
      if (b.cli({"init", "--site", s.dir, "--id", m.id, "--root", b.tmp / "root.pub", "--key", key + ".key",
                 "--member", b.tmp / (m.id + ".member"), "--broker", b.listen, "--broker-key",
                 b.tmp / "broker.pub", "--api", "127.0.0.1:0"}) != 0) return false;
    }
    return true;
  }

  // One liaison-bridge process for both sides (kept as CASC's casc-bridge daemon; its SEAJust
  // side's API client set up beside it). True when both sides are up and connected; a bridge that
  // runs but cannot reach a broker that is down is the caller's to judge.
  bool startBridge() {
    Site& b = nets_[1]->sites[kBridgeB];
    std::filesystem::remove(b.dir + "/api.endpoint");
    bool ok = nets_[0]->start(kBridgeA, "liaison-bridge", {"--site", b.dir});
    if (!testing::waitFor([&] { return std::filesystem::exists(b.dir + "/api.endpoint"); }, 10s)) return false;
    std::string endpoint = testing::readText(b.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    b.http = std::make_unique<httplib::Client>("http://" + endpoint);
    b.http->set_read_timeout(120, 0);
    b.http->set_tcp_nodelay(true);
    b.token = testing::readText(b.dir + "/api.token");
    while (!b.token.empty() && b.token.back() == '\n') b.token.pop_back();
    return ok && testing::waitFor([&] { return nets_[1]->connected(kBridgeB); }, 10s);
  }
  bool bridgeRunning() {
    auto& d = nets_[0]->sites[kBridgeA].daemon;
    return d && d->running();
  }

  // What a client needs to call a site now; false when it is down.
  bool endpointOf(const std::string& id, std::string& endpoint, std::string& token) {
    std::lock_guard lock(mutex_);
    if (!alive_[id]) return false;
    auto& s = siteOf(id);
    endpoint = testing::readText(s.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    token = s.token;
    return !endpoint.empty();
  }

  std::string randomSite(std::mt19937_64& rng) { return ids_[rng() % ids_.size()]; }

  // The pool of record ids a country's sites publish: "chaos-N" (one network, as before) or
  // "chaos-kg-N".
  int poolSize() const { return networks_ == 1 ? 200 : 100; }
  std::string recordPrefix(const std::string& country) const {
    return networks_ == 1 ? "chaos-" : "chaos-" + lower(country) + "-";
  }
  std::string recordExtra(const std::string& country) const {
    if (networks_ == 1) return "";
    return ", \"country\": \"" + country + "\", \"networks\": [\"" +
           (country == "TH" || country == "VN" ? "SEAJust" : "CASC") + "\"]";
  }

  void load(std::atomic<bool>& stop) {
    while (!stop) {
      std::string site = randomSite(rng_);
      std::string endpoint, token;
      if (!endpointOf(site, endpoint, token)) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
      const Node node = nodes_.at(site);
      httplib::Client http("http://" + endpoint);
      http.set_connection_timeout(2, 0);
      http.set_read_timeout(35, 0);
      http.set_tcp_nodelay(true);
      httplib::Headers h = {{"Authorization", "Bearer " + token}};
      int dice = static_cast<int>(rng_() % 100);
      Op op;
      op.site = site;
      if (dice < 70) {
        op.kind = "publish";
        op.id = recordPrefix(node.country) + std::to_string(rng_() % static_cast<uint64_t>(poolSize()));
        op.revision = ++nextRevision_[op.id];
        std::string body = testing::contactJson(op.id, "\"revision\": " + std::to_string(op.revision) +
                                                          ", \"notes\": \"chaos " + std::to_string(op.revision) +
                                                          "\"" + recordExtra(node.country));
        auto r = http.Post("/v1/publish?name=chaos.json", h, body, "application/json");
        op.outcome = !r ? "unknown" : r->status == 200 ? "acked" : r->status == 422 || r->status == 400 ? "refused" : "unknown";
        if (pair_ && op.outcome == "acked") noteSeq(json::parse(r->body, nullptr, false), op);
      } else if (dice < 80) {
        op.kind = "retire";
        std::lock_guard lock(historyMutex_);
        // A record this site may speak for (its country's).
        const std::string prefix = recordPrefix(node.country);
        std::vector<std::string> mine;
        for (auto it = ackedMax_.lower_bound(prefix); it != ackedMax_.end() && it->first.rfind(prefix, 0) == 0; ++it) {
          mine.push_back(it->first);
        }
        if (mine.empty()) continue;
        op.id = mine[rng_() % mine.size()];
      } else if (networks_ == 2 && dice >= 88 && nowMs() - lastRequestMs_ >= 1000) {
        lastRequestMs_ = nowMs();
        sendRequest(http, h, site, op);
      } else {
        op.kind = "alert";
        AlertPlan plan = planAlert(site);
        op.id = "chaos-alert-" + std::to_string(++alertCounter_);
        json a = {{"id", op.id}, {"headline", "chaos alert"}, {"ackRequired", true}, {"ackDeadline", "PT3S"}};
        std::vector<std::string> sites;
        for (const auto& t : plan.targets) {
          if (!planCountry_.empty() && nodes_.at(t).country == planCountry_ && nodes_.at(t).net != node.net) continue;
          sites.push_back(t);
        }
        if (!planCountry_.empty()) a["targets"]["countries"] = {planCountry_};
        if (!sites.empty()) a["targets"]["sites"] = sites;
        if (!plan.escalateTo.empty()) a["escalateTo"]["sites"] = {plan.escalateTo};
        {
          std::lock_guard lock(historyMutex_);
          plans_[op.id] = plan;  // before sending: an alert without an answer may still arrive
        }
        auto r = http.Post("/v1/alerts", h, a.dump(), "application/json");
        op.outcome = !r ? "unknown" : r->status == 200 ? "acked" : r->status == 422 ? "refused" : "unknown";
        if (op.outcome == "refused" && r) {
          std::lock_guard lock(historyMutex_);
          auto j = json::parse(r->body, nullptr, false);
          ++alertRefusals_[j.is_object() ? j.value("refusal", "?") : "?"];
        }
        std::lock_guard lock(historyMutex_);
        plans_[op.id].outcome = op.outcome;
      }
      if (op.kind == "retire") {
        auto r = http.Post(("/v1/retire/" + op.id).c_str(), h, "", "text/plain");
        op.outcome = !r ? "unknown" : r->status == 200 ? "acked" : r->status == 422 || r->status == 404 ? "refused" : "unknown";
        if (r && r->status == 200) {
          auto j = json::parse(r->body, nullptr, false);
          op.revision = j.value("revision", uint64_t{0});
          if (j.value("alreadyRetired", false)) op.outcome = "refused";
          if (j.value("ignored", 0) > 0) op.outcome = "refused";  // the broker held a newer revision
        }
        if (op.revision > 0) {
          uint64_t& next = nextRevision_[op.id];
          next = std::max(next, op.revision);
        }
        if (pair_ && op.outcome == "acked") noteSeq(json::parse(r->body, nullptr, false), op);
      }
      record(op);
    }
  }

  // An MLA request from `sender` to another site of either network, with one file (up to two
  // chunks): created through the site's API, then its chunks uploaded. Acknowledged once the
  // last chunk is stored at the sender (it then sends it by itself).
  void sendRequest(httplib::Client& http, const httplib::Headers& h, const std::string& sender, Op& op) {
    op.kind = "request";
    std::string to = sender;
    while (to == sender) to = randomSite(rng_);
    std::string bytes(20'000 + rng_() % 1'600'000, '\0');
    for (auto& c : bytes) c = static_cast<char>(rng_());
    std::array<uint8_t, crypto_hash_sha256_BYTES> sha{};
    crypto_hash_sha256(sha.data(), reinterpret_cast<const unsigned char*>(bytes.data()), bytes.size());
    RequestPlan plan{sender, to, toHex(sha), bytes.size(), "unknown"};
    json body = {{"to", to},
                 {"legalBasis", "UNTOC"},
                 {"measures", {"bank-records"}},
                 {"case", "CHAOS-" + std::to_string(++requestCounter_)},
                 {"summary", "chaos request"},
                 {"files", {{{"name", "statement.bin"}, {"size", bytes.size()}, {"sha256", plan.sha256}}}}};
    auto r = http.Post("/v1/requests", h, body.dump(), "application/json");
    if (!r || (r->status != 201 && r->status != 400 && r->status != 409)) {
      op.outcome = "unknown";  // perhaps created, never uploaded: it never leaves the sender
      return;
    }
    auto answer = json::parse(r->body, nullptr, false);
    if (r->status != 201 || !answer.is_object() || !answer.contains("id")) {
      op.outcome = "refused";
      std::lock_guard lock(historyMutex_);
      ++requestRefusals_[answer.is_object() ? answer.value("error", "?").substr(0, 60) : "?"];
      return;
    }
    op.id = answer["id"];
    const size_t chunk = answer.value("chunkBytes", size_t{1} << 20);
    op.outcome = "acked";
    for (size_t at = 0, i = 0; at < bytes.size(); at += chunk, ++i) {
      auto put = http.Put(("/v1/requests/" + op.id + "/files/0/chunks/" + std::to_string(i)).c_str(), h,
                          bytes.substr(at, chunk), "application/octet-stream");
      if (!put || put->status != 200) {
        op.outcome = "unknown";
        break;
      }
    }
    plan.outcome = op.outcome;
    std::lock_guard lock(historyMutex_);
    requestPlans_[op.id] = plan;
  }

  // Targets of an alert from `sender`. One network: two other sites, escalating to a third.
  // Two networks, one of three kinds: two other sites of either network, escalating to a third;
  // up to two other sites of the sender's network (escalating to a third one if there is one);
  // a country of the other network (every site of it) and a site of the sender's network,
  // escalating to a site left over. Sets planCountry_ ("" when the targets are sites only).
  AlertPlan planAlert(const std::string& sender) {
    AlertPlan p;
    p.sender = sender;
    planCountry_.clear();
    std::vector<std::string> others;
    for (const auto& s : ids_) {
      if (s != sender) others.push_back(s);
    }
    std::shuffle(others.begin(), others.end(), rng_);
    const int home = nodes_.at(sender).net;
    const int kind = networks_ == 1 ? 0 : static_cast<int>(rng_() % 3);
    if (kind == 0) {
      p.targets = {others[0], others[1]};
      p.escalateTo = others[2 % others.size()];
      if (p.targets.count(p.escalateTo) != 0) p.escalateTo.clear();
    } else if (kind == 1) {  // within the sender's network only
      std::vector<std::string> mine;
      for (const auto& s : others) {
        if (nodes_.at(s).net == home) mine.push_back(s);
      }
      if (mine.empty()) mine.push_back(others[0]);  // a network of one site: across, then
      for (size_t i = 0; i < mine.size() && i < 2; ++i) p.targets.insert(mine[i]);
      if (mine.size() > 2) p.escalateTo = mine[2];
    } else {
      std::vector<std::string> peers, mine;
      for (const auto& s : others) (nodes_.at(s).net == home ? mine : peers).push_back(s);
      planCountry_ = nodes_.at(peers[rng_() % peers.size()]).country;
      for (const auto& s : others) {
        if (nodes_.at(s).country == planCountry_) p.targets.insert(s);
      }
      if (!mine.empty()) p.targets.insert(mine[rng_() % mine.size()]);
      for (const auto& s : others) {
        if (p.targets.count(s) == 0) {
          p.escalateTo = s;
          break;
        }
      }
    }
    for (const auto& t : p.targets) p.crossing = p.crossing || nodes_.at(t).net != home;
    if (!p.escalateTo.empty()) p.crossing = p.crossing || nodes_.at(p.escalateTo).net != home;
    return p;
  }

  // --pair: the seq an acknowledged publish or retirement of one item got (none when the broker
  // ignored it as held already). Two different items acknowledged at one seq: two histories.
  void noteSeq(const json& answer, const Op& op) {
    if (!answer.is_object() || answer.value("ignored", 0) != 0 || answer.value("count", 0) != 1) return;
    const uint64_t first = answer.value("firstSeq", uint64_t{0}), last = answer.value("lastSeq", uint64_t{0});
    if (first == 0 || first != last) return;
    std::lock_guard lock(historyMutex_);
    auto [it, added] = ackedSeqs_.emplace(last, SeqItem{op.kind, op.id, op.site, op.revision});
    if (!added && (it->second.id != op.id || it->second.revision != op.revision)) {
      violation("seq " + std::to_string(last) + " of epoch " + epoch0_ + " was acknowledged for two items: " +
                it->second.kind + " " + it->second.id + " revision " + std::to_string(it->second.revision) + " (from " +
                it->second.site + ") and " + op.kind + " " + op.id + " revision " + std::to_string(op.revision) +
                " (from " + op.site + ")");
    }
  }

  void record(const Op& op) {
    std::lock_guard lock(historyMutex_);
    ++ops_[op.kind + " " + op.outcome];
    if (op.kind == "alert" || op.kind == "request") return;
    if (op.outcome == "acked") {
      auto& m = ackedMax_[op.id];
      if (op.revision > m.first) m = {op.revision, op.kind == "retire"};
      ackedRevisions_[op.id].insert(op.revision);
    } else if (op.outcome == "unknown" && op.revision > 0) {
      unknown_[op.id][op.revision] = op.kind == "retire";
    } else if (op.outcome == "unknown" && op.kind == "retire") {
      unknownRetire_.insert(op.id);
    }
  }

  void faults(std::atomic<bool>& stop) {
    while (!stop) {
      std::this_thread::sleep_for(std::chrono::milliseconds(700 + faultRng_() % 2500));
      if (stop) break;
      int dice = static_cast<int>(faultRng_() % 100);
      // One network: 20 broker, 45 site, 20 map full, 15 SIGSTOP. Two: 10 + 10 brokers, 15
      // bridge, 27 site, 18 map full, 20 SIGSTOP (of a site, or of the bridge one time in four).
      // A pair: 35 of the pair (pairFault), then 30 site, 20 map full, 15 SIGSTOP.
      if (pair_ && dice < 35) {
        pairFault(dice);
        continue;
      }
      const bool two = networks_ == 2;
      if (dice < 20) {  // a broker dies and comes back
        const int net = two && dice >= 10 ? 1 : 0;
        const std::string name = two ? std::string(networkName(net)) + " broker" : "broker";
        journal("kill -9 " + name);
        nets_[net]->broker->kill9();
        ++faults_["kill -9 " + name];
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + faultRng_() % 1500));
        journal("start " + name);
        if (!nets_[net]->startBroker()) violation("the " + name + " did not start again");
        journal(name + " started");
      } else if (two && dice < 35) {  // the bridge dies and comes back
        journal("kill -9 bridge");
        nets_[0]->sites[kBridgeA].daemon->kill9();
        ++faults_["kill -9 bridge"];
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + faultRng_() % 2500));
        journal("start bridge");
        restartBridge();
        journal("bridge started");
      } else if (dice < (two ? 62 : 65)) {  // a site dies and comes back
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        journal("kill -9 " + id);
        siteOf(id).daemon->kill9();
        ++faults_["kill -9 site"];
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + faultRng_() % 2500));
        journal("start " + id);
        restart(id);
        journal(id + " started");
      } else if (dice < (two ? 80 : 85)) {  // a site's LMDB map is full: it can store nothing for a while
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        journal("stop " + id + " (to fill its LMDB map)");
        siteOf(id).daemon->stop();
        setMapLimit(id, true);
        restart(id);
        journal(id + " started with map_size_mb = 1");
        ++faults_["LMDB map full"];
        std::this_thread::sleep_for(std::chrono::milliseconds(2000 + faultRng_() % 3000));
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        journal("stop " + id + " (to lift the limit)");
        siteOf(id).daemon->stop();
        setMapLimit(id, false);
        restart(id);
        journal(id + " started without the limit");
      } else if (two && faultRng_() % 4 == 0) {  // the bridge stops reading for a while
        if (!bridgeRunning()) continue;
        journal("SIGSTOP bridge");
        nets_[0]->sites[kBridgeA].daemon->pause();
        ++faults_["SIGSTOP bridge"];
        std::this_thread::sleep_for(std::chrono::milliseconds(500 + faultRng_() % 2500));
        nets_[0]->sites[kBridgeA].daemon->resume();
        journal("SIGCONT bridge");
      } else {  // a site stops reading for a while
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          if (!alive_[id]) continue;
        }
        journal("SIGSTOP " + id);
        siteOf(id).daemon->pause();
        ++faults_["SIGSTOP site"];
        std::this_thread::sleep_for(std::chrono::milliseconds(500 + faultRng_() % 2500));
        siteOf(id).daemon->resume();
        journal("SIGCONT " + id);
      }
    }
  }

  // --pair faults, by `dice` (0..34): kill -9 of the leader (10), of the standby (7), of both one
  // after the other (5); SIGSTOP of the leader for longer than its lease (7); kill -9 of an etcd
  // member (6). The leader is the one etcd's leader key names; with none, the fault is skipped.
  void pairFault(int dice) {
    auto wait = [&](int base, int spread) {
      std::this_thread::sleep_for(std::chrono::milliseconds(base + static_cast<int>(faultRng_() % spread)));
    };
    if (dice >= 29) {  // an etcd member dies and comes back on its data
      const int i = static_cast<int>(faultRng_() % 3);
      journal("kill -9 " + etcd_[i].name);
      etcd_[i].process->kill9();
      ++faults_["kill -9 etcd member"];
      wait(1000, 3000);
      journal("start " + etcd_[i].name);
      startEtcd(i);
      return;
    }
    const int leader = leaderOf(*etcdClient_);
    const char* what = dice < 10 ? "leader" : dice < 17 ? "standby" : dice < 22 ? "both brokers" : "SIGSTOP leader";
    if (leader < 0) {
      journal(std::string("etcd names no leader now: fault on the ") + what + " skipped");
      ++pairSkipped_;
      return;
    }
    if (dice < 22) {  // kill -9, then started again after a few seconds
      const int first = dice >= 10 && dice < 17 ? 1 - leader : leader;
      if (dice < 10) timeTakeover(leader);
      killBroker(first, first == leader ? "leader" : "standby");
      ++faults_[dice < 10 ? "kill -9 leader" : dice < 17 ? "kill -9 standby" : "kill -9 both brokers"];
      if (dice >= 17) {  // the other one too: before it can take over, or once it leads
        wait(200, 3000);
        killBroker(1 - first, leaderOf(*etcdClient_) == 1 - first ? "the new leader" : "the other");
      }
      wait(1000, 3000);
      const bool otherFirst = dice >= 17 && faultRng_() % 2 == 0;
      restartBroker(otherFirst ? 1 - first : first);
      if (dice >= 17) {
        wait(0, 1000);
        restartBroker(otherFirst ? first : 1 - first);
      }
      return;
    }
    // SIGSTOP of the leader for longer than its lease: on SIGCONT it must stop leading (it exits;
    // started again, it follows the new leader).
    PairedBroker& pb = brokers_[leader];
    timeTakeover(leader);
    {
      std::lock_guard lock(pairMutex_);
      pb.held = true;
      journal("SIGSTOP " + pb.label + " (leader)");
      pb.process->pause();
    }
    ++faults_["SIGSTOP leader"];
    wait(3000, 1000);
    {
      std::lock_guard lock(pairMutex_);
      pb.process->resume();
      journal("SIGCONT " + pb.label);
    }
    const bool exited = testing::waitFor([&] {
      std::lock_guard lock(pairMutex_);
      return !pb.process->running();
    }, 10s);
    std::lock_guard lock(pairMutex_);
    if (exited) {
      const int code = pb.process->stop();
      ++exitsAfterPause_;
      journal(pb.label + " exited after SIGCONT (status " + std::to_string(code) + "); started again");
      if (leaderFaulted_ == leader) leaderFaultAt_ = 0;
      startPairBroker(leader);
    } else {
      ++pausedKeptRunning_;
      const int now = leaderOf(*etcdClient_);
      journal(pb.label + " still runs 10 s after SIGCONT (etcd's leader: " + (now < 0 ? "none" : brokers_[now].label) + ")");
    }
    pb.held = false;
  }

  static int64_t nowMs() {
    return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
  }

  // A takeover is timed from a kill -9 (alone) or a SIGSTOP of the leader to etcd naming the
  // other broker; not when the leader is back (started again) before that.
  void timeTakeover(int leader) {
    leaderFaulted_ = leader;
    leaderFaultAt_ = nowMs();
  }

  void killBroker(int i, const std::string& as) {
    std::lock_guard lock(pairMutex_);
    journal("kill -9 " + brokers_[i].label + " (" + as + ")");
    if (brokers_[i].process) brokers_[i].process->kill9();
    brokers_[i].held = true;
  }
  void restartBroker(int i) {
    if (leaderFaulted_ == i) leaderFaultAt_ = 0;
    std::lock_guard lock(pairMutex_);
    journal("start " + brokers_[i].label);
    startPairBroker(i);
    brokers_[i].held = false;
  }

  // map_size_mb = 1 in the site's site.toml: LMDB then maps no more than the file already
  // holds, so the next write that needs a page fails with MDB_MAP_FULL. `false` removes it.
  void setMapLimit(const std::string& id, bool full) {
    const std::string path = siteOf(id).dir + "/site.toml";
    std::string toml = testing::readText(path);
    const std::string line = "map_size_mb = 1\n";
    auto at = toml.find(line);
    if (at != std::string::npos) toml.erase(at, line.size());
    if (full) toml.insert(toml.find("[site]\n") + 7, line);
    testing::writeText(path, toml);
  }

  void restart(const std::string& id) {
    if (!benchOf(id).start(id)) {
      // It may not connect while the broker is down; it is running, which is what matters.
      if (!siteOf(id).daemon || !siteOf(id).daemon->running()) violation("site " + id + " did not start again");
    }
    std::lock_guard lock(mutex_);
    alive_[id] = true;
  }

  void restartBridge() {
    if (!startBridge() && !bridgeRunning()) violation("the bridge did not start again");
  }

  // Reads a random record at a random site (from its LMDB files, with the command) and checks
  // that its revision never goes back there.
  void sample(std::atomic<bool>& stop) {
    uint64_t tick = 0;
    while (!stop) {
      std::this_thread::sleep_for(50ms);
      if (pair_ && ++tick % 20 == 0) checkEpochAt(randomSite(sampleRng_), false);
      std::string site = randomSite(sampleRng_);
      const std::string& country = countries_[sampleRng_() % countries_.size()];
      std::string id = recordPrefix(country) + std::to_string(sampleRng_() % static_cast<uint64_t>(poolSize()));
      testing::RunResult r = testing::run({nets_[0]->bin + "/liaison", "show", "--site", siteOf(site).dir, id,
                                           "--format", "json"}, "", 20);
      if (r.exitCode != 0) continue;
      auto j = json::parse(r.out, nullptr, false);
      if (!j.is_object()) continue;
      uint64_t rev = j.value("revision", uint64_t{0});
      std::lock_guard lock(historyMutex_);
      ++samples_;
      if (nodes_.at(site).country != country) ++foreignSamples_;
      uint64_t& seen = seen_[site + "/" + id];
      if (rev < seen) {
        violation(id + " at " + site + " went back from revision " + std::to_string(seen) + " to " + std::to_string(rev));
      }
      seen = std::max(seen, rev);
    }
  }

  // --pair: the site's cursor (and the broker it last heard) are in the run's epoch: a takeover
  // continues the history. A site that does not answer is not judged, unless `final`.
  void checkEpochAt(const std::string& site, bool final) {
    auto st = get(site, "/v1/status", 5);
    if (!st.is_object()) {
      if (final) violation("the status of " + site + " could not be read");
      return;
    }
    for (const char* key : {"cursorEpoch", "brokerEpoch"}) {
      const std::string e = st.value(key, "");
      if (!e.empty() && e != kNoEpoch && e != epoch0_) {
        violation(site + "'s " + key + " is " + e + ", not the run's epoch " + epoch0_);
      }
    }
    std::lock_guard lock(historyMutex_);
    ++epochSamples_;
  }

  // The sites whose replicas are checked for convergence: the run's, and both sides of the bridge.
  std::vector<std::string> replicaSites() const {
    std::vector<std::string> all = ids_;
    if (networks_ == 2) {
      all.push_back(kBridgeA);
      all.push_back(kBridgeB);
    }
    return all;
  }

  // Whether every replica of each network is at its broker's head (one head per network) and the
  // bridge has nothing left to carry; `heads` gets the heads.
  bool settled(std::vector<long long>& heads) {
    heads.assign(2, -1);
    for (const auto& id : replicaSites()) {
      Bench& b = benchOf(id);
      const int net = &b == nets_[0].get() ? 0 : 1;
      auto st = b.status(id);
      if (!st.is_object() || !st.value("connected", false)) {
        waitingFor_ = id + " not connected";
        return false;
      }
      long long h = st.value("brokerHead", -1LL), c = st.value("cursorSeq", -2LL);
      if (h != c || (heads[net] >= 0 && h != heads[net])) {
        waitingFor_ = id + " at " + std::to_string(c) + " of " + std::to_string(h);
        return false;
      }
      heads[net] = h;
      if (id == kBridgeA || id == kBridgeB) {
        const auto& ext = st["extension"];
        if (!ext.is_object()) {
          waitingFor_ = id + " without its bridge status";
          return false;
        }
        for (const char* dir : {"outbound", "inbound"}) {
          const auto& d = ext[dir];
          if (!d.is_object() || d.value("queued", uint64_t{1}) != 0 || !d.value("waiting", std::string("?")).empty() ||
              d.value("alertsPending", uint64_t{1}) != 0) {
            waitingFor_ = "the bridge (" + id + " " + dir + ": " + d.dump() + ")";
            return false;
          }
        }
      }
    }
    return true;
  }

  // Everything back up; waits until every replica is at its broker's head with the bridge idle,
  // twice in a row with the same heads (what the bridge handed over last has been sequenced).
  double converge() {
    auto t0 = Steady::now();
    journal("load and faults stopped; everything back up, converging");
    if (pair_) {  // the keeper starts again any broker that is down; etcd's members here
      for (int i = 0; i < 3; ++i) {
        if (!etcd_[i].process->running()) startEtcd(i);
      }
    } else {
      for (int net = 0; net < networks_; ++net) {
        if (!nets_[net]->broker->running()) nets_[net]->startBroker();
      }
    }
    if (networks_ == 2) {
      nets_[0]->sites[kBridgeA].daemon->resume();
      if (!bridgeRunning()) restartBridge();
    }
    for (const auto& id : ids_) {
      if (!siteOf(id).daemon->running()) restart(id);
      siteOf(id).daemon->resume();
    }
    std::vector<long long> before;
    auto said = Steady::now();
    bool ok = testing::waitFor([&] {
      std::vector<long long> heads;
      if (!settled(heads)) {
        before.clear();
        if (Steady::now() - said > 10s) {  // slow: say what it waits for
          said = Steady::now();
          std::fprintf(stderr, "converging (%.0f s): waiting for %s\n", secondsSince(t0), waitingFor_.c_str());
          journal("converging: waiting for " + waitingFor_);
        }
        return false;
      }
      if (heads == before) return true;
      before = heads;
      std::this_thread::sleep_for(1s);
      return false;
    }, 180s);
    if (!ok) {
      violation(std::string("the network") + (networks_ == 2 ? "s" : "") + " did not converge within 180 s; waiting for " +
                waitingFor_);
      for (const auto& id : replicaSites()) {
        std::fprintf(stderr, "  %s: %s\n", id.c_str(), benchOf(id).status(id).dump().c_str());
      }
    }
    heads_ = before;
    journal(ok ? "converged" : "not converged");
    return secondsSince(t0);
  }

  json get(const std::string& site, const std::string& path, int timeout = 10) {
    std::string endpoint, token;
    if (!endpointOf(site, endpoint, token)) return {};
    httplib::Client c("http://" + endpoint);
    c.set_read_timeout(timeout, 0);
    auto r = c.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
    if (!r || r->status != 200) return {};
    return json::parse(r->body, nullptr, false);
  }

  // The fault journal (chaos.log beside the processes' logs, kept with them): what was done
  // when, stamped like the daemons' lines.
  void journal(const std::string& what) {
    auto now = std::chrono::system_clock::now();
    std::time_t t = std::chrono::system_clock::to_time_t(now);
    int ms = static_cast<int>(std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000);
    std::tm tm{};
    localtime_r(&t, &tm);
    char stamp[40];
    std::strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);
    std::lock_guard lock(journalMutex_);
    std::ofstream out(nets_[0]->tmp / "chaos.log", std::ios::app);
    out << stamp << "." << std::setw(3) << std::setfill('0') << ms << " " << what << "\n";
  }

  void violation(const std::string& what) {
    ++violations_;
    std::fprintf(stderr, "violation: %s\n", what.c_str());
    journal("violation: " + what);
  }

  void check() {
    checkRecords();
    checkAlerts();
    if (networks_ == 2) checkRequests();
    // Each network's log holds its own items and, carried by the bridge, the other's (members,
    // peerings, records, retirements; with the default peering all of them cross): both logs
    // then hold the same number of items. A difference is an item sequenced twice in one of
    // them (a replay not recognised) or one that never crossed.
    if (networks_ == 2 && heads_.size() == 2 && heads_[0] != heads_[1]) {
      violation("the CASC broker's log holds " + std::to_string(heads_[0]) + " items and SEAJust's " +
                std::to_string(heads_[1]) + ": some item is in one of them twice, or not at all");
    }
    if (pair_) checkPair();
  }

  // A broker's log as its LMDB files hold it now, read (read-only) beside the running broker:
  // the epoch and head from `meta`, and each entry (seq, [i64 acceptedAt][envelope]) to `each`
  // (none when null). False, with `error`, when it cannot be read.
  static bool readBrokerLog(const std::string& dir, uint64_t& epoch, uint64_t& head,
                            const std::function<void(uint64_t, std::string_view)>& each, std::string& error) {
    lmdb::Env::Options options;
    options.readOnly = true;
    options.mapSize = size_t{8} << 30;  // the broker's map (address space only)
    auto env = lmdb::Env::open(dir, options);
    if (!env) {
      error = env.error().message;
      return false;
    }
    auto txn = lmdb::Txn::beginRead(*env);
    if (!txn) {
      error = txn.error().message;
      return false;
    }
    auto meta = lmdb::openDbi(*txn, "meta", 0);
    auto log = lmdb::openDbi(*txn, "log", 0);
    if (!meta || !log) {
      error = "no meta or log database";
      return false;
    }
    auto u64 = [&](const char* key) {
      auto v = txn->get(*meta, key);
      uint64_t out = 0;
      if (v && *v && (*v)->size() == 8) std::memcpy(&out, (*v)->data(), 8);
      return out;
    };
    epoch = u64("epoch");
    head = u64("head");
    if (!each) return true;
    auto cursor = lmdb::Cursor::open(*txn, *log);
    if (!cursor) {
      error = cursor.error().message;
      return false;
    }
    std::string_view key, value;
    for (bool at = cursor->seek({}, MDB_FIRST, &key, &value); at; at = cursor->seek({}, MDB_NEXT, &key, &value)) {
      uint64_t seq = 0;
      for (size_t i = 0; i < key.size() && i < 8; ++i) seq = (seq << 8) | static_cast<unsigned char>(key[i]);
      each(seq, value);
    }
    return true;
  }

  static std::string hex(uint64_t v) {
    char buf[17];
    std::snprintf(buf, sizeof buf, "%016llx", static_cast<unsigned long long>(v));
    return buf;
  }

  // --pair, at the end (nothing stopped): once etcd shows a leader with its standby in sync and
  // both brokers' logs at the sites' head, both logs are in the run's epoch and hold the same
  // entry at every seq; each acknowledged seq holds the item it was acknowledged for (its id,
  // and a publish's revision, in the envelope's text); every site is in the run's epoch.
  void checkPair() {
    int leader = -1;
    std::string sync, waiting;
    uint64_t epochs[2] = {0, 0}, heads[2] = {0, 0};
    const long long sitesHead = heads_.empty() ? -1 : heads_[0];
    bool settledPair = testing::waitFor([&] {
      leader = leaderOf(*etcdClient_);
      sync = syncOf(*etcdClient_);
      if (leader < 0 || sync != both(leader)) {
        waiting = "etcd's leader " + std::string(leader < 0 ? "none" : brokers_[leader].label) + ", sync \"" + sync + "\"";
        return false;
      }
      for (int i = 0; i < 2; ++i) {
        std::string error;
        if (!readBrokerLog(brokers_[i].data, epochs[i], heads[i], nullptr, error)) {
          waiting = brokers_[i].label + "'s log: " + error;
          return false;
        }
      }
      if (heads[0] != heads[1] || static_cast<long long>(heads[leader]) != sitesHead) {
        waiting = "heads " + std::to_string(heads[0]) + " (broker-a) and " + std::to_string(heads[1]) +
                  " (broker-b), the sites at " + std::to_string(sitesHead);
        return false;
      }
      return true;
    }, 90s);
    if (!settledPair) violation("the pair did not settle within 90 s: " + waiting);
    pairLeaderEnd_ = leader < 0 ? "none" : brokers_[leader].label;
    pairSyncEnd_ = sync;
    for (int i = 0; i < 2; ++i) {
      if (hex(epochs[i]) != epoch0_) {
        violation(brokers_[i].label + "'s log is in epoch " + hex(epochs[i]) + ", not the run's epoch " + epoch0_);
      }
    }
    // Entry by entry: broker-a's (a hash per seq), then broker-b's against it.
    std::map<uint64_t, uint64_t> hashes;
    uint64_t counted[2] = {0, 0}, differ = 0;
    std::set<uint64_t> ackedSeen[2];
    auto checkAcked = [&](int i, uint64_t seq, std::string_view entry) {
      auto it = ackedSeqs_.find(seq);
      if (it == ackedSeqs_.end()) return;
      ackedSeen[i].insert(seq);
      const SeqItem& a = it->second;
      const std::string id = a.id + std::string(1, '\0');
      const std::string notes = "chaos " + std::to_string(a.revision) + std::string(1, '\0');
      if (entry.find(id) == std::string_view::npos || (a.kind == "publish" && entry.find(notes) == std::string_view::npos)) {
        violation("seq " + std::to_string(seq) + " was acknowledged for " + a.kind + " " + a.id + " revision " +
                  std::to_string(a.revision) + " (from " + a.site + ") but " + brokers_[i].label +
                  "'s log holds another item there");
      }
    };
    for (int i = 0; i < 2; ++i) {
      std::string error;
      uint64_t epoch = 0, head = 0;
      bool read = readBrokerLog(brokers_[i].data, epoch, head, [&](uint64_t seq, std::string_view entry) {
        ++counted[i];
        checkAcked(i, seq, entry);
        const uint64_t h = hashOf(entry);
        if (i == 0) {
          hashes[seq] = h;
          return;
        }
        auto it = hashes.find(seq);
        if (it == hashes.end() || it->second != h) {
          if (++differ <= 20) {
            violation("seq " + std::to_string(seq) + ": broker-b's entry " +
                      (it == hashes.end() ? "is not in broker-a's log" : "differs from broker-a's"));
          }
        }
        if (it != hashes.end()) hashes.erase(it);
      }, error);
      if (!read) violation(brokers_[i].label + "'s log could not be read: " + error);
    }
    for (const auto& [seq, h] : hashes) {
      if (++differ <= 20) violation("seq " + std::to_string(seq) + " is in broker-a's log, not in broker-b's");
    }
    if (differ > 20) violation(std::to_string(differ) + " seqs differ between the two brokers' logs in all");
    for (int i = 0; i < 2; ++i) {
      for (const auto& [seq, a] : ackedSeqs_) {
        if (ackedSeen[i].count(seq) == 0) {
          violation("seq " + std::to_string(seq) + " (acknowledged for " + a.kind + " " + a.id + ") is not in " +
                    brokers_[i].label + "'s log");
        }
      }
    }
    pairLogItems_[0] = counted[0];
    pairLogItems_[1] = counted[1];
    for (const auto& id : ids_) checkEpochAt(id, true);
    stopKeeper();  // its figures are the report's now
  }

  void checkRecords() {
    using Replica = std::map<std::string, std::pair<uint64_t, bool>>;  // id → (rev, retired)
    std::map<std::string, Replica> replicas;
    for (const auto& id : ids_) {
      testing::RunResult r = testing::run({nets_[0]->bin + "/liaison", "export", "--site", siteOf(id).dir}, "", 60);
      if (r.exitCode != 0) violation("export at " + id + " failed: " + r.err);
      std::istringstream in(r.out);
      std::string line;
      while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_object()) continue;
        replicas[id][j.value("id", "")] = {j.value("revision", uint64_t{0}), j.value("status", "") == "retired"};
      }
    }
    auto chaosOnly = [](const Replica& r) {
      Replica out;
      for (const auto& [k, v] : r) {
        if (k.rfind("chaos-", 0) == 0) out[k] = v;
      }
      return out;
    };
    // Within a network every replica is the same; across the networks, the run's records are.
    std::string firstOf[2];
    for (const auto& id : ids_) {
      const int net = nodes_.at(id).net;
      if (firstOf[net].empty()) {
        firstOf[net] = id;
      } else if (replicas[id] != replicas[firstOf[net]]) {
        violation("replica " + id + " differs from " + firstOf[net]);
      }
    }
    const Replica reference = chaosOnly(replicas[ids_[0]]);
    if (networks_ == 2 && chaosOnly(replicas[firstOf[1]]) != reference) {
      const Replica other = chaosOnly(replicas[firstOf[1]]);
      size_t shown = 0;
      for (const auto& id : [&] {
             std::set<std::string> u;
             for (const auto& [k, v] : reference) u.insert(k);
             for (const auto& [k, v] : other) u.insert(k);
             return u;
           }()) {
        auto a = reference.find(id), b = other.find(id);
        if (a != reference.end() && b != other.end() && a->second == b->second) continue;
        auto desc = [](const Replica& r, Replica::const_iterator it) {
          return it == r.end() ? std::string("missing")
                               : "revision " + std::to_string(it->second.first) + (it->second.second ? " retired" : "");
        };
        violation(id + ": " + desc(reference, a) + " at " + ids_[0] + " (CASC) but " + desc(other, b) + " at " +
                  firstOf[1] + " (SEAJust)");
        if (++shown == 20) break;
      }
    }
    for (const auto& [rid, m] : ackedMax_) {
      auto it = reference.find(rid);
      if (it == reference.end()) {
        violation(rid + ": acknowledged revision " + std::to_string(m.first) + " is missing");
        continue;
      }
      uint64_t rev = it->second.first;
      bool fromUnknown = (unknown_.count(rid) && unknown_.at(rid).count(rev)) ||
                         (unknownRetire_.count(rid) && it->second.second);
      if (rev < m.first) violation(rid + ": revision " + std::to_string(rev) + " is below the acknowledged " + std::to_string(m.first));
      if (rev > m.first && !fromUnknown) violation(rid + ": revision " + std::to_string(rev) + " was never sent");
      if (rev == m.first && it->second.second != m.second && !fromUnknown) {
        violation(rid + ": retired state differs from the acknowledged operation");
      }
    }
    for (const auto& [rid, v] : reference) {
      bool acked = ackedRevisions_.count(rid) && ackedRevisions_.at(rid).count(v.first);
      bool maybe = (unknown_.count(rid) && unknown_.at(rid).count(v.first)) || (unknownRetire_.count(rid) && v.second);
      if (!acked && !maybe) violation(rid + " revision " + std::to_string(v.first) + " appears but was never acknowledged or attempted");
    }
    records_ = reference.size();
    for (const auto& [rid, v] : reference) {
      bool seajust = rid.rfind("chaos-th-", 0) == 0 || rid.rfind("chaos-vn-", 0) == 0;
      ++(seajust ? recordsOf_[1] : recordsOf_[0]);
    }
  }

  // Alerts: the sender's custody (from its broker) shows every target and the escalation target
  // served and nobody else; each of them holds the alert in its inbox once; no inbox holds an
  // alert that was not meant for it.
  void checkAlerts() {
    std::vector<std::string> acked;
    for (const auto& [aid, p] : plans_) {
      if (p.outcome == "acked") acked.push_back(aid);
    }
    // One budget for all of them: a systematic failure must not wait a minute per alert.
    const auto deadline = Steady::now() + 120s + std::chrono::milliseconds(20 * acked.size());
    std::map<std::string, json> custodies;
    std::set<std::string> unserved;
    for (const auto& aid : acked) {
      const AlertPlan& p = plans_[aid];
      json custody;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      bool served = testing::waitFor([&] {
        auto shown = get(p.sender, "/v1/alerts/" + aid);
        if (!shown.is_object() || !shown.value("live", false)) return false;
        custody = shown["custody"];
        const json& targets = custody["targets"];
        if (!targets.is_object()) return false;
        for (const auto& [site, t] : targets.items()) {
          if (t.value("state", "") == "queued") return false;
        }
        for (const auto& t : p.targets) {
          if (!targets.contains(t)) return false;
        }
        return p.escalateTo.empty() || targets.contains(p.escalateTo);
      }, std::max(left, std::chrono::milliseconds(500)));
      custodies[aid] = custody;
      if (!served) unserved.insert(aid);
    }
    // Every inbox, once everything is served: which alerts it holds, and how many times.
    std::map<std::string, std::map<std::string, int>> inbox;  // site → alert → times listed
    for (const auto& id : ids_) {
      auto list = get(id, "/v1/alerts", 60);
      if (!list.is_object() || !list["alerts"].is_array()) {
        violation("the inbox of " + id + " could not be read");
        continue;
      }
      for (const auto& a : list["alerts"]) {
        if (a.value("direction", "") == "in") ++inbox[id][a.value("id", "")];
      }
    }
    for (const auto& [site, held] : inbox) {
      for (const auto& [aid, n] : held) {
        ++delivered_;
        if (n > 1) violation("alert " + aid + " is " + std::to_string(n) + " times in the inbox of " + site);
        auto it = plans_.find(aid);
        if (it == plans_.end()) {
          violation("alert " + aid + " in the inbox of " + site + " was never sent");
        } else if (it->second.outcome == "refused") {
          violation("alert " + aid + " was refused to its sender yet is in the inbox of " + site);
        } else if (it->second.targets.count(site) == 0 && it->second.escalateTo != site) {
          violation("alert " + aid + " from " + it->second.sender + " is in the inbox of " + site + ", not one of its targets");
        }
      }
    }
    for (const auto& aid : acked) {
      const AlertPlan& p = plans_[aid];
      const json& custody = custodies[aid];
      std::string shown = custody.dump();
      if (shown.size() > 1500) shown = shown.substr(0, 1500) + "...";
      if (unserved.count(aid) != 0) {
        violation("alert " + aid + " from " + p.sender + " is not delivered to all its targets" +
                  (p.escalateTo.empty() ? "" : " and its escalation target " + p.escalateTo) + ": " + shown);
      }
      const json targets = custody.is_object() && custody["targets"].is_object() ? custody["targets"] : json::object();
      size_t escalated = 0;
      for (const auto& [site, t] : targets.items()) {
        if (t.value("hop", false)) {
          if (t.value("state", "") != "delivered" && unserved.count(aid) == 0) {
            violation("alert " + aid + ": the bridge " + site + " is " + t.value("state", "?") + ": " + shown);
          }
          continue;
        }
        if (t.value("escalation", false)) ++escalated;
        if (p.targets.count(site) == 0 && p.escalateTo != site) {
          violation("alert " + aid + " from " + p.sender + " went to " + site + ", not one of its targets: " + shown);
        }
      }
      auto served = [&](const std::string& site, const char* what) {
        if (!targets.contains(site)) {
          if (unserved.count(aid) == 0) violation("alert " + aid + " lost its " + what + " " + site + ": " + shown);
          return;
        }
        std::string state = targets[site].value("state", "");
        if (state != "delivered" && state != "acknowledged" && unserved.count(aid) == 0) {
          violation("alert " + aid + ": " + what + " " + site + " is " + state + " in the sender's custody");
        }
        if (!inbox.count(site) || !inbox[site].count(aid)) {
          violation("alert " + aid + " from " + p.sender + " is not in the inbox of its " + what + " " + site +
                    " (custody: " + state + ")");
        }
      };
      for (const auto& t : p.targets) served(t, "target");
      if (!p.escalateTo.empty()) served(p.escalateTo, "escalation target");
      if (escalated > 1) violation("alert " + aid + " escalated more than once: " + shown);
      ++alertsChecked_;
      if (p.crossing) ++alertsCrossing_;
    }
  }

  // Every acknowledged request is delivered at its recipient, once: stored whole with its file's
  // SHA-256 as the sender signed it, "delivered" signed there and back at the sender, the same
  // trail at both ends and verified at each; no site holds a request it was not sent.
  void checkRequests() {
    const auto deadline = Steady::now() + 120s;
    auto trailOf = [&](const std::string& site, const std::string& id) {
      auto shown = get(site, "/v1/requests/" + id, 30);
      return shown.is_object() && shown["trail"].is_array() ? shown : json{};
    };
    std::set<std::string> acked;
    for (const auto& [id, p] : requestPlans_) {
      if (p.outcome == "acked") acked.insert(id);
    }
    for (const auto& id : acked) {
      const RequestPlan& p = requestPlans_[id];
      json atSender, atRecipient;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      bool delivered = testing::waitFor([&] {
        atRecipient = trailOf(p.recipient, id);
        atSender = trailOf(p.sender, id);
        return atRecipient.is_object() && atRecipient["trail"].size() >= 3 && atSender.is_object() &&
               atSender["trail"].size() >= 3;
      }, std::max(left, std::chrono::milliseconds(500)));
      const std::string what = "request " + id + " from " + p.sender + " to " + p.recipient;
      if (!delivered) {
        violation(what + " is not delivered: at the recipient " +
                  (atRecipient.is_object() ? atRecipient["request"].value("state", "?") : std::string("absent")) +
                  ", at the sender " + (atSender.is_object() ? atSender["request"].value("state", "?") : std::string("absent")));
        continue;
      }
      for (const auto& [side, shown] : {std::pair{"recipient", &atRecipient}, std::pair{"sender", &atSender}}) {
        if (!shown->value("verified", false)) violation(what + ": its trail does not verify at the " + side + ": " + shown->dump());
      }
      const json& files = atRecipient["request"]["files"];
      if (!files.is_array() || files.size() != 1 || files[0].value("sha256", "") != p.sha256 ||
          files[0].value("size", uint64_t{0}) != p.size) {
        violation(what + ": the recipient holds other files than were sent: " + files.dump());
      }
      for (size_t i = 0; i < 3; ++i) {
        if (atRecipient["trail"][i].value("signature", "") != atSender["trail"][i].value("signature", "")) {
          violation(what + ": step " + std::to_string(i + 1) + " differs between its two ends");
        }
      }
      ++requestsChecked_;
      if (nodes_.at(p.sender).net != nodes_.at(p.recipient).net) ++requestsCrossing_;
    }
    for (const auto& site : ids_) {
      auto list = get(site, "/v1/requests?direction=incoming", 60);
      if (!list.is_object() || !list["requests"].is_array()) {
        violation("the requests of " + site + " could not be read");
        continue;
      }
      for (const auto& r : list["requests"]) {
        const std::string id = r.value("id", "");
        auto it = requestPlans_.find(id);
        if (it == requestPlans_.end()) {
          violation("request " + id + " at " + site + " was never sent (or its sender never knew it)");
        } else if (it->second.recipient != site) {
          violation("request " + id + " for " + it->second.recipient + " is at " + site);
        }
      }
    }
  }

  void report(double seconds, double convergeSeconds, double checkSeconds, uint64_t seed) {
    std::printf("chaos run: %.0f s, seed %llu, %d network%s, %zu sites%s", seconds,
                static_cast<unsigned long long>(seed), networks_, networks_ == 2 ? "s" : "", ids_.size(),
                pair_ ? ", a broker pair" : "");
    if (networks_ == 2) {
      std::printf(" (CASC:");
      for (const auto& id : ids_) {
        if (nodes_.at(id).net == 0) std::printf(" %s/%s", id.c_str(), nodes_.at(id).country.c_str());
      }
      std::printf("; SEAJust:");
      for (const auto& id : ids_) {
        if (nodes_.at(id).net == 1) std::printf(" %s/%s", id.c_str(), nodes_.at(id).country.c_str());
      }
      std::printf(") and the bridge");
    }
    std::printf("\n");
    uint64_t total = 0;
    for (const auto& [k, n] : ops_) total += n;
    std::printf("operations: %llu\n", static_cast<unsigned long long>(total));
    for (const auto& [k, n] : ops_) std::printf("  %-24s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    for (const auto& [k, n] : alertRefusals_) {
      std::printf("    alert refused: %-14s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    }
    uint64_t faults = 0;
    for (const auto& [k, n] : faults_) faults += n;
    std::printf("faults injected: %llu\n", static_cast<unsigned long long>(faults));
    for (const auto& [k, n] : faults_) std::printf("  %-24s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    std::printf("revision samples: %llu", static_cast<unsigned long long>(samples_));
    if (networks_ == 2) std::printf(" (%llu of records of another country)", static_cast<unsigned long long>(foreignSamples_));
    std::printf("\n");
    if (pair_) {
      std::printf("broker pair (etcd of 3 members, lease 2 s):\n");
      std::printf("  pair faults skipped (no leader in etcd): %llu\n", static_cast<unsigned long long>(pairSkipped_));
      std::printf("  broker starts: %llu; exits by themselves: %llu, and after SIGCONT: %llu; paused leaders still "
                  "running 10 s after SIGCONT: %llu\n",
                  static_cast<unsigned long long>(brokerStarts_), static_cast<unsigned long long>(selfExits_),
                  static_cast<unsigned long long>(exitsAfterPause_), static_cast<unsigned long long>(pausedKeptRunning_));
      std::printf("  changes of leader seen in etcd: %llu; longest time without a leader key: %.1f s\n",
                  static_cast<unsigned long long>(leaderChanges_), noLeaderLongest_);
      std::printf("  takeovers after a kill -9 or SIGSTOP of the leader: %llu, in %.1f s at most (%.1f s mean)\n",
                  static_cast<unsigned long long>(takeovers_), takeoverMax_,
                  takeovers_ == 0 ? 0.0 : takeoverSum_ / static_cast<double>(takeovers_));
      std::printf("  acknowledged seqs checked: %zu; epoch samples: %llu (epoch %s)\n", ackedSeqs_.size(),
                  static_cast<unsigned long long>(epochSamples_), epoch0_.c_str());
      std::printf("  at the end: leader %s, sync \"%s\"; log entries broker-a %llu, broker-b %llu; sites at %lld\n",
                  pairLeaderEnd_.c_str(), pairSyncEnd_.c_str(), static_cast<unsigned long long>(pairLogItems_[0]),
                  static_cast<unsigned long long>(pairLogItems_[1]), heads_.empty() ? -1LL : heads_[0]);
    }
    if (networks_ == 2) {
      std::printf("records at every replica of both networks: %zu (%zu published in CASC, %zu in SEAJust)\n", records_,
                  recordsOf_[0], recordsOf_[1]);
      if (heads_.size() == 2) {
        std::printf("broker heads at the end: CASC %lld, SEAJust %lld\n", heads_[0], heads_[1]);
      }
      auto st = nets_[0]->status(kBridgeA);
      if (st.is_object() && st["extension"].is_object()) {
        for (const char* dir : {"outbound", "inbound"}) {
          const auto& d = st["extension"][dir];
          std::printf("bridge %s since its last start: %llu item(s) forwarded, %llu ignored as replays, "
                      "%llu alert(s) handed on, %llu declined, %llu answer(s) relayed\n",
                      std::string(dir) == "outbound" ? "CASC -> SEAJust" : "SEAJust -> CASC",
                      static_cast<unsigned long long>(d.value("forwarded", uint64_t{0})),
                      static_cast<unsigned long long>(d.value("ignored", uint64_t{0})),
                      static_cast<unsigned long long>(d.value("alertsForwarded", uint64_t{0})),
                      static_cast<unsigned long long>(d.value("alertsDeclined", uint64_t{0})),
                      static_cast<unsigned long long>(d.value("answersRelayed", uint64_t{0})));
        }
      }
    }
    std::printf("alerts checked: %llu", static_cast<unsigned long long>(alertsChecked_));
    if (networks_ == 2) std::printf(" (%llu crossing the bridge)", static_cast<unsigned long long>(alertsCrossing_));
    std::printf("; held in inboxes: %llu\n", static_cast<unsigned long long>(delivered_));
    if (networks_ == 2) {
      std::printf("requests delivered and checked: %llu (%llu crossing the bridge)\n",
                  static_cast<unsigned long long>(requestsChecked_), static_cast<unsigned long long>(requestsCrossing_));
      for (const auto& [k, n] : requestRefusals_) {
        std::printf("    request refused: %s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
      }
    }
    std::printf("converged after the last fault in: %.1f s; checked in %.1f s\n", convergeSeconds, checkSeconds);
    std::printf("violations: %llu\n", static_cast<unsigned long long>(violations_.load()));
  }

  uint64_t violations() const { return violations_; }

  // Copies every process's log (brokers, sites, bridge) into `dir`; returns how many.
  int keepLogs(const std::string& dir) {
    std::filesystem::create_directories(dir);
    int n = 0;
    for (int net = 0; net < networks_; ++net) {
      for (const auto& entry : std::filesystem::directory_iterator(nets_[net]->tmp.path())) {
        if (entry.path().extension() != ".log") continue;
        std::string name = entry.path().filename().string();
        if (networks_ == 2 && name == "broker.log") name = std::string(networkName(net)) + "-broker.log";
        std::error_code ec;
        std::filesystem::copy_file(entry.path(), dir + "/" + name, std::filesystem::copy_options::overwrite_existing, ec);
        if (!ec) ++n;
      }
    }
    return n;
  }

 private:
  int networks_;
  bool pair_ = false;
  std::unique_ptr<Bench> nets_[2];  // CASC (or the one network), SEAJust
  // --pair: the brokers, etcd, a client of etcd for the fault thread (then the checks) and one
  // for the keeper; pairMutex_ guards the brokers' processes and `held`.
  PairedBroker brokers_[2];
  EtcdNode etcd_[3];
  std::string etcdCluster_, etcdUrls_, epoch0_;
  std::unique_ptr<ha::EtcdClient> etcdClient_, keeperEtcd_;
  std::mutex pairMutex_;
  std::thread keeper_;
  std::atomic<bool> keeperStop_{false};
  std::map<uint64_t, SeqItem> ackedSeqs_;  // seq → the item acknowledged at it
  uint64_t brokerStarts_ = 0, selfExits_ = 0, exitsAfterPause_ = 0, pausedKeptRunning_ = 0, pairSkipped_ = 0;
  uint64_t leaderChanges_ = 0, epochSamples_ = 0, pairLogItems_[2] = {0, 0};
  double noLeaderLongest_ = 0, takeoverMax_ = 0, takeoverSum_ = 0;
  uint64_t takeovers_ = 0;
  std::atomic<int64_t> leaderFaultAt_{0};  // steady ms of the last kill or SIGSTOP of the leader (0: none pending)
  std::atomic<int> leaderFaulted_{-1};     // which broker that was
  std::string pairLeaderEnd_, pairSyncEnd_;
  std::vector<std::string> ids_;
  std::map<std::string, Node> nodes_;
  std::vector<std::string> countries_;
  size_t memberCount_ = 0;
  std::mt19937_64 rng_, faultRng_, sampleRng_;
  std::mutex mutex_, historyMutex_, journalMutex_;
  std::map<std::string, bool> alive_;
  std::map<std::string, uint64_t> nextRevision_;
  std::map<std::string, std::pair<uint64_t, bool>> ackedMax_;       // id → (revision, retired)
  std::map<std::string, std::set<uint64_t>> ackedRevisions_;
  std::map<std::string, std::map<uint64_t, bool>> unknown_;         // id → revision → retired
  std::map<std::string, AlertPlan> plans_;                          // every alert tried, by id
  std::string planCountry_;
  uint64_t alertCounter_ = 0;
  std::map<std::string, RequestPlan> requestPlans_;  // every request created, by id
  std::map<std::string, uint64_t> requestRefusals_;
  uint64_t requestCounter_ = 0, requestsChecked_ = 0, requestsCrossing_ = 0;
  int64_t lastRequestMs_ = 0;
  std::set<std::string> unknownRetire_;  // retirements without an answer: revision not known
  std::map<std::string, uint64_t> ops_, faults_, seen_, alertRefusals_;
  uint64_t samples_ = 0, foreignSamples_ = 0, alertsChecked_ = 0, alertsCrossing_ = 0, delivered_ = 0;
  size_t records_ = 0, recordsOf_[2] = {0, 0};
  std::vector<long long> heads_;
  std::string waitingFor_;  // what convergence waits for, last seen
  std::atomic<uint64_t> violations_{0};
};

}  // namespace

int main(int argc, char** argv) {
  int duration = 60, sites = 4, networks = 2;
  uint64_t seed = 0;
  std::string keep;
  bool pair = false, networksGiven = false, bad = false;
  for (int i = 1; i < argc && !bad; ++i) {
    std::string a = argv[i];
    if (a == "--pair") {
      pair = true;
      continue;
    }
    if (i + 1 >= argc) {
      bad = true;
      break;
    }
    std::string v = argv[++i];
    if (a == "--duration") duration = std::stoi(v);
    else if (a == "--seed") seed = std::stoull(v);
    else if (a == "--sites") sites = std::stoi(v);
    else if (a == "--networks") networks = std::stoi(v), networksGiven = true;
    else if (a == "--keep-logs") keep = v;
    else bad = true;
  }
  if (pair && networksGiven && networks != 1) {
    std::fprintf(stderr, "liaison-chaos: --pair runs one network (its broker a pair): --networks 1 or nothing\n");
    return 2;
  }
  if (pair) networks = 1;
  if (bad || (networks != 1 && networks != 2)) {
    std::fprintf(stderr, "usage: liaison-chaos [--duration SECONDS] [--seed N] [--sites N] [--networks 1|2] [--pair] "
                         "[--keep-logs DIR]\n");
    return 2;
  }
  if (seed == 0) seed = std::random_device{}() | 1;
  if (sites < 4) sites = 4;
  std::printf("liaison-chaos --duration %d --seed %llu --sites %d --networks %d%s\n", duration,
              static_cast<unsigned long long>(seed), sites, networks, pair ? " --pair" : "");
  std::fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  Chaos chaos(seed, sites, networks, pair);
  auto logDir = [&] {
    if (!keep.empty()) return keep;
    const char* tmp = std::getenv("TMPDIR");
    return std::string(tmp != nullptr && *tmp != '\0' ? tmp : "/tmp") + "/liaison-chaos-" + std::to_string(seed) + "-" +
           std::to_string(getpid());
  };
  if (!chaos.setup()) {
    std::fprintf(stderr, "the network%s did not start; %d log(s) kept in %s\n", networks == 2 ? "s" : "",
                 chaos.keepLogs(logDir()), logDir().c_str());
    std::printf("violations: 1\n");
    return 1;
  }
  std::atomic<bool> stop{false};
  auto t0 = Steady::now();
  std::thread load([&] { chaos.load(stop); });
  std::thread faults([&] { chaos.faults(stop); });
  std::thread sampler([&] { chaos.sample(stop); });
  std::this_thread::sleep_for(std::chrono::seconds(duration));
  stop = true;
  faults.join();
  load.join();
  sampler.join();
  double seconds = secondsSince(t0);
  double converge = chaos.converge();
  auto t1 = Steady::now();
  chaos.check();
  const double checkSeconds = secondsSince(t1);
  // The processes' logs outlive the run when asked, and always when something was wrong.
  if (!keep.empty() || chaos.violations() > 0) {
    keep = logDir();
    int n = chaos.keepLogs(keep);
    std::fprintf(stderr, "%d log(s) kept in %s\n", n, keep.c_str());
  }
  std::fflush(stderr);
  chaos.report(seconds, converge, checkSeconds, seed);
  return chaos.violations() == 0 ? 0 : 1;
}
