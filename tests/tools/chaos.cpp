// liaison-chaos: a fault-injection run against a real network on 127.0.0.1 (1 broker, 4 site
// daemons), checked against a simple model of what was acknowledged.
//
//   liaison-chaos [--duration SECONDS] [--seed N] [--sites N]
//
// Load (one client, seeded): publishes of new revisions of a pool of contacts, retirements and
// alerts, each through a random live site's API. Every answer is recorded: acknowledged (the
// broker accepted), refused, or unknown (no answer: it may or may not have happened).
// Faults (seeded schedule): kill -9 and restart of the broker or a site, SIGSTOP/SIGCONT of a site
// (a slow subscriber), a site whose LMDB map is full for a few seconds (restarted with
// map_size_mb = 1, then without). A sampler reads records' revisions at random sites all along.
// At the end every process is brought back, and once the network has converged the model is
// checked: every acknowledged publish or retirement is at every replica with the same final
// revision (the highest acknowledged, or a higher one whose outcome was unknown); nothing that
// was never sent appears; no replica was ever seen to go back in revision; every acknowledged
// alert is in the inbox of each of its targets, once, with the broker's custody showing it
// delivered; escalations fired at most once. Prints the figures; the last line is
// "violations: N" and the exit status is non-zero when N > 0.
#include <signal.h>
#include <sodium.h>

#include <atomic>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <thread>

#include "tests/bench/bench_network.h"

namespace {

using namespace liaison;
using namespace liaison::bench;
using nlohmann::json;

struct Op {
  std::string kind;  // publish | retire | alert
  std::string site, id;
  uint64_t revision = 0;
  std::string outcome;  // acked | refused | unknown
};

class Chaos {
 public:
  Chaos(uint64_t seed, int siteCount) : rng_(seed), faultRng_(seed * 7919 + 1), sampleRng_(seed * 104729 + 3) {
    for (int i = 1; i <= siteCount; ++i) ids_.push_back("s" + std::to_string(i));
  }

  bool setup() {
    if (!b_.setup(ids_)) return false;
    for (const auto& id : ids_) {
      if (!b_.start(id)) return false;
      alive_[id] = true;
    }
    return true;
  }

  // What a client needs to call a site now; false when it is down.
  bool endpointOf(const std::string& id, std::string& endpoint, std::string& token) {
    std::lock_guard lock(mutex_);
    if (!alive_[id]) return false;
    auto& s = b_.sites[id];
    endpoint = testing::readText(s.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    token = s.token;
    return !endpoint.empty();
  }

  std::string randomSite(std::mt19937_64& rng) { return ids_[rng() % ids_.size()]; }

  void load(std::atomic<bool>& stop) {
    while (!stop) {
      std::string site = randomSite(rng_);
      std::string endpoint, token;
      if (!endpointOf(site, endpoint, token)) {
        std::this_thread::sleep_for(20ms);
        continue;
      }
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
        op.id = "chaos-" + std::to_string(rng_() % 200);
        op.revision = ++nextRevision_[op.id];
        std::string body = testing::contactJson(op.id, "\"revision\": " + std::to_string(op.revision) +
                                                          ", \"notes\": \"chaos " + std::to_string(op.revision) + "\"");
        auto r = http.Post("/v1/publish?name=chaos.json", h, body, "application/json");
        op.outcome = !r ? "unknown" : r->status == 200 ? "acked" : r->status == 422 || r->status == 400 ? "refused" : "unknown";
      } else if (dice < 80) {
        op.kind = "retire";
        std::lock_guard lock(historyMutex_);
        if (ackedMax_.empty()) continue;
        auto it = ackedMax_.begin();
        std::advance(it, static_cast<long>(rng_() % ackedMax_.size()));
        op.id = it->first;
      } else {
        op.kind = "alert";
        std::vector<std::string> others;
        for (const auto& s : ids_) {
          if (s != site) others.push_back(s);
        }
        std::shuffle(others.begin(), others.end(), rng_);
        json a = {{"headline", "chaos alert"}, {"ackRequired", true}, {"ackDeadline", "PT3S"}};
        a["targets"]["sites"] = {others[0], others[1]};
        a["escalateTo"]["sites"] = {others[2 % others.size()]};
        auto r = http.Post("/v1/alerts", h, a.dump(), "application/json");
        op.outcome = !r ? "unknown" : r->status == 200 ? "acked" : r->status == 422 ? "refused" : "unknown";
        if (r && r->status == 200) {
          auto j = json::parse(r->body, nullptr, false);
          op.id = j.value("id", "");
          std::lock_guard lock(historyMutex_);
          alerts_[op.id] = {others[0], others[1]};
          alertSender_[op.id] = site;
        }
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
      }
      record(op);
    }
  }

  void record(const Op& op) {
    std::lock_guard lock(historyMutex_);
    ++ops_[op.kind + " " + op.outcome];
    if (op.kind == "alert") return;
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
      if (dice < 20) {  // the broker dies and comes back
        b_.broker->kill9();
        ++faults_["kill -9 broker"];
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + faultRng_() % 1500));
        if (!b_.startBroker()) ++violations_;
      } else if (dice < 65) {  // a site dies and comes back
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        b_.sites[id].daemon->kill9();
        ++faults_["kill -9 site"];
        std::this_thread::sleep_for(std::chrono::milliseconds(200 + faultRng_() % 2500));
        restart(id);
      } else if (dice < 85) {  // a site's LMDB map is full: it can store nothing for a while
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        b_.sites[id].daemon->stop();
        setMapLimit(id, true);
        restart(id);
        ++faults_["LMDB map full"];
        std::this_thread::sleep_for(std::chrono::milliseconds(2000 + faultRng_() % 3000));
        {
          std::lock_guard lock(mutex_);
          alive_[id] = false;
        }
        b_.sites[id].daemon->stop();
        setMapLimit(id, false);
        restart(id);
      } else {  // a site stops reading for a while
        std::string id = randomSite(faultRng_);
        {
          std::lock_guard lock(mutex_);
          if (!alive_[id]) continue;
        }
        b_.sites[id].daemon->pause();
        ++faults_["SIGSTOP site"];
        std::this_thread::sleep_for(std::chrono::milliseconds(500 + faultRng_() % 2500));
        b_.sites[id].daemon->resume();
      }
    }
  }

  // map_size_mb = 1 in the site's site.toml: LMDB then maps no more than the file already
  // holds, so the next write that needs a page fails with MDB_MAP_FULL. `false` removes it.
  void setMapLimit(const std::string& id, bool full) {
    const std::string path = b_.sites[id].dir + "/site.toml";
    std::string toml = testing::readText(path);
    const std::string line = "map_size_mb = 1\n";
    auto at = toml.find(line);
    if (at != std::string::npos) toml.erase(at, line.size());
    if (full) toml.insert(toml.find("[site]\n") + 7, line);
    testing::writeText(path, toml);
  }

  void restart(const std::string& id) {
    if (!b_.start(id)) {
      // It may not connect while the broker is down; it is running, which is what matters.
      if (!b_.sites[id].daemon || !b_.sites[id].daemon->running()) ++violations_;
    }
    std::lock_guard lock(mutex_);
    alive_[id] = true;
  }

  // Reads a random record at a random site (from its LMDB files, with the command) and checks
  // that its revision never goes back there.
  void sample(std::atomic<bool>& stop) {
    while (!stop) {
      std::this_thread::sleep_for(50ms);
      std::string site = randomSite(sampleRng_);
      std::string id = "chaos-" + std::to_string(sampleRng_() % 200);
      std::string out;
      testing::RunResult r = testing::run({b_.bin + "/liaison", "show", "--site", b_.sites[site].dir, id, "--format", "json"}, "", 20);
      if (r.exitCode != 0) continue;
      auto j = json::parse(r.out, nullptr, false);
      if (!j.is_object()) continue;
      uint64_t rev = j.value("revision", uint64_t{0});
      std::lock_guard lock(historyMutex_);
      ++samples_;
      uint64_t& seen = seen_[site + "/" + id];
      if (rev < seen) {
        ++violations_;
        std::fprintf(stderr, "violation: %s at %s went back from revision %llu to %llu\n", id.c_str(),
                     site.c_str(), static_cast<unsigned long long>(seen), static_cast<unsigned long long>(rev));
      }
      seen = std::max(seen, rev);
    }
  }

  // Everything back up; waits until every replica is at the broker's head with equal exports.
  double converge() {
    auto t0 = Steady::now();
    if (!b_.broker->running()) b_.startBroker();
    for (const auto& id : ids_) {
      if (!b_.sites[id].daemon->running()) restart(id);
      b_.sites[id].daemon->resume();
    }
    std::string first;
    bool ok = testing::waitFor([&] {
      long long head = -1;
      for (const auto& id : ids_) {
        auto st = b_.status(id);
        if (!st.is_object() || !st.value("connected", false)) return false;
        long long h = st.value("brokerHead", -1LL), c = st.value("cursorSeq", -2LL);
        if (h != c || (head >= 0 && h != head)) return false;
        head = h;
      }
      return true;
    }, 180s);
    if (!ok) {
      std::fprintf(stderr, "violation: the network did not converge within 180 s\n");
      ++violations_;
    }
    return secondsSince(t0);
  }

  void check() {
    std::map<std::string, std::map<std::string, std::pair<uint64_t, bool>>> replicas;  // site → id → (rev, retired)
    for (const auto& id : ids_) {
      testing::RunResult r = testing::run({b_.bin + "/liaison", "export", "--site", b_.sites[id].dir}, "", 60);
      std::istringstream in(r.out);
      std::string line;
      while (std::getline(in, line)) {
        auto j = json::parse(line, nullptr, false);
        if (!j.is_object()) continue;
        replicas[id][j.value("id", "")] = {j.value("revision", uint64_t{0}), j.value("status", "") == "retired"};
      }
    }
    auto violation = [&](const std::string& what) {
      ++violations_;
      std::fprintf(stderr, "violation: %s\n", what.c_str());
    };
    const auto& reference = replicas[ids_[0]];
    for (const auto& id : ids_) {
      if (replicas[id] != reference) violation("replica " + id + " differs from " + ids_[0]);
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
      if (rid.rfind("chaos-", 0) != 0) continue;
      bool acked = ackedRevisions_.count(rid) && ackedRevisions_.at(rid).count(v.first);
      bool maybe = (unknown_.count(rid) && unknown_.at(rid).count(v.first)) || (unknownRetire_.count(rid) && v.second);
      if (!acked && !maybe) violation(rid + " revision " + std::to_string(v.first) + " appears but was never acknowledged or attempted");
    }
    // Alerts: the sender's custody (from the broker) shows every target served and at most one
    // escalation; each target holds the alert.
    auto get = [&](const std::string& site, const std::string& path) -> json {
      std::string endpoint, token;
      if (!endpointOf(site, endpoint, token)) return {};
      httplib::Client c("http://" + endpoint);
      c.set_read_timeout(10, 0);
      auto r = c.Get(path.c_str(), {{"Authorization", "Bearer " + token}});
      if (!r || r->status != 200) return {};
      return json::parse(r->body, nullptr, false);
    };
    // One budget for all of them: a systematic failure must not wait a minute per alert.
    const auto deadline = Steady::now() + 120s;
    for (const auto& [aid, targets] : alerts_) {
      json custody;
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Steady::now());
      bool served = testing::waitFor([&] {
        auto shown = get(alertSender_[aid], "/v1/alerts/" + aid);
        if (!shown.is_object() || !shown.value("live", false)) return false;
        custody = shown["custody"];
        for (const auto& [site, t] : custody["targets"].items()) {
          if (t.value("state", "") == "queued") return false;
        }
        return true;
      }, std::max(left, std::chrono::milliseconds(500)));
      if (!served) {
        violation("alert " + aid + " is not delivered to all its targets: " + custody.dump());
        continue;
      }
      size_t escalated = 0;
      for (const auto& [site, t] : custody["targets"].items()) {
        if (t.value("escalation", false)) ++escalated;
        if (!get(site, "/v1/alerts/" + aid).is_object()) violation("alert " + aid + " is not in the inbox of " + site);
      }
      for (const auto& t : targets) {
        if (!custody["targets"].contains(t)) violation("alert " + aid + " lost its target " + t);
      }
      if (escalated > 1) violation("alert " + aid + " escalated more than once");
      ++alertsChecked_;
    }
  }

  void report(double seconds, double convergeSeconds) {
    std::printf("chaos run: %.0f s, %zu sites, seed given on the command line\n", seconds, ids_.size());
    uint64_t total = 0;
    for (const auto& [k, n] : ops_) total += n;
    std::printf("operations: %llu\n", static_cast<unsigned long long>(total));
    for (const auto& [k, n] : ops_) std::printf("  %-20s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    uint64_t faults = 0;
    for (const auto& [k, n] : faults_) faults += n;
    std::printf("faults injected: %llu\n", static_cast<unsigned long long>(faults));
    for (const auto& [k, n] : faults_) std::printf("  %-20s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
    std::printf("revision samples: %llu\n", static_cast<unsigned long long>(samples_));
    std::printf("alerts checked: %llu\n", static_cast<unsigned long long>(alertsChecked_));
    std::printf("converged after the last fault in: %.1f s\n", convergeSeconds);
    std::printf("violations: %llu\n", static_cast<unsigned long long>(violations_.load()));
  }

  uint64_t violations() const { return violations_; }

 private:
  Bench b_;
  std::vector<std::string> ids_;
  std::mt19937_64 rng_, faultRng_, sampleRng_;
  std::mutex mutex_, historyMutex_;
  std::map<std::string, bool> alive_;
  std::map<std::string, uint64_t> nextRevision_;
  std::map<std::string, std::pair<uint64_t, bool>> ackedMax_;       // id → (revision, retired)
  std::map<std::string, std::set<uint64_t>> ackedRevisions_;
  std::map<std::string, std::map<uint64_t, bool>> unknown_;         // id → revision → retired
  std::map<std::string, std::vector<std::string>> alerts_;         // acknowledged alerts → targets
  std::map<std::string, std::string> alertSender_;
  std::set<std::string> unknownRetire_;  // retirements without an answer: revision not known
  std::map<std::string, uint64_t> ops_, faults_, seen_;
  uint64_t samples_ = 0, alertsChecked_ = 0;
  std::atomic<uint64_t> violations_{0};
};

}  // namespace

int main(int argc, char** argv) {
  int duration = 60, sites = 4;
  uint64_t seed = 0;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--duration") duration = std::stoi(argv[i + 1]);
    else if (a == "--seed") seed = std::stoull(argv[i + 1]);
    else if (a == "--sites") sites = std::stoi(argv[i + 1]);
    else {
      std::fprintf(stderr, "usage: liaison-chaos [--duration SECONDS] [--seed N] [--sites N]\n");
      return 2;
    }
  }
  if (seed == 0) seed = std::random_device{}() | 1;
  if (sites < 4) sites = 4;
  std::printf("liaison-chaos --duration %d --seed %llu --sites %d\n", duration, static_cast<unsigned long long>(seed), sites);
  std::fflush(stdout);
  signal(SIGPIPE, SIG_IGN);
  Chaos chaos(seed, sites);
  if (!chaos.setup()) {
    std::fprintf(stderr, "the network did not start\n");
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
  chaos.check();
  chaos.report(seconds, converge);
  return chaos.violations() == 0 ? 0 : 1;
}
