// liaison-bench-pair: the broker pair's figures with real processes on 127.0.0.1 (a real etcd,
// Debian's; two liaison-broker processes; --sites site daemons given both brokers), beside the
// same network with one broker (no --etcd) measured in the same run.
//
//   liaison-bench-pair [--sites N] [--failovers N] [--records N] [--bulks N] [--bulk N]
//                      [--probes N] [--lease S] [--json]
//
// Figures:
//  - failover, --failovers times, alternating which broker leads: from the kill -9 of the leader
//    to etcd naming the other, to the first publish the other accepted (a client publishes one
//    record at a time in a loop through a site's API; an answer counts once that site follows
//    the other broker, so an answer the dead one gave just before its death does not), and to
//    every site connected and following the new leader (their /v1/status, polled every 10 ms);
//    median and max. The killed broker is then started again and the next kill waits until
//    etcd's sync key lists both: how long that takes (the returning broker receives a whole copy)
//    is a figure too, with the longest publish of the client, still publishing, meanwhile.
//  - what the synchronous copy costs: publishes of one record at a time (--records) and bulks of
//    --bulk records (--bulks), records/s; alerts one at a time (--probes) to the other sites,
//    from the send to the last target's "stored" log line and to the send's answer (the broker's
//    custody: with a pair, the standby stored it too), p50/p99. The single broker and the pair
//    are measured alternately, block by block, so that the machine's load falls on both; ratio
//    pair / single.
//  - every daemon's own memory, largest at any moment, for the pair and for the single broker.
#include <atomic>
#include <thread>

#include "adapters/http.h"
#include "tests/bench/bench_network.h"
#include "tests/etcd_fixture.h"

namespace {

using namespace liaison;
using namespace liaison::bench;

int64_t wallMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> lines(const std::string& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    if (!line.empty()) out.push_back(line);
  }
  return out;
}

double median(const std::vector<double>& v) { return percentile(v, 0.5); }
double maximum(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

// One network of the comparison: the single broker or the pair.
struct Side {
  std::string label;
  Bench* b = nullptr;
  double oneSeconds = 0, bulkSeconds = 0;
  long long oneRecords = 0, bulkRecords = 0;
  std::map<std::string, int64_t> alertSent;  // alert id → wall ms of the send
  std::vector<double> answered;              // the sends' answers, ms
};

// The pair's etcd keys.
class PairView {
 public:
  explicit PairView(std::unique_ptr<ha::EtcdClient> etcd) : etcd_(std::move(etcd)) {}
  std::string key(const std::string& which) {
    auto v = etcd_->get("/liaison/CASC/" + which);
    return v.ok() && v->has_value() ? (*v)->value : std::string();
  }

 private:
  std::unique_ptr<ha::EtcdClient> etcd_;
};

}  // namespace

int main(int argc, char** argv) {
  int siteCount = 4, failovers = 5, records = 1000, bulks = 10, bulk = 1000, probes = 100, lease = 2;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
    if (a == "--sites") {
      siteCount = num();
    } else if (a == "--failovers") {
      failovers = num();
    } else if (a == "--records") {
      records = num();
    } else if (a == "--bulks") {
      bulks = num();
    } else if (a == "--bulk") {
      bulk = num();
    } else if (a == "--probes") {
      probes = num();
    } else if (a == "--lease") {
      lease = num();
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr,
                   "usage: liaison-bench-pair [--sites N] [--failovers N] [--records N] [--bulks N] [--bulk N] "
                   "[--probes N] [--lease S] [--json]\n");
      return 2;
    }
  }
  if (!adapters::initHttp().ok() || siteCount < 2 || failovers < 0 || records < 1 ||
      bulks < 1 || bulk < 1 || probes < 1 || lease < 1) {
    return 1;
  }
  std::vector<Row> rows;
  // Where the time goes, for whoever reads the run (stderr).
  auto phaseStart = Steady::now();
  auto phase = [&](const char* what) {
    std::fprintf(stderr, "pair bench: %s took %.1f s\n", what, secondsSince(phaseStart));
    phaseStart = Steady::now();
  };
  std::vector<std::string> ids, targets;
  for (int i = 1; i <= siteCount; ++i) ids.push_back("s" + std::to_string(i));
  targets.assign(ids.begin() + 1, ids.end());
  const std::string publisher = ids.front();

  // etcd outlives the pair (declared first, stopped last).
  testing::TempDir etcdDir;
  testing::EtcdMember etcd = testing::startEtcd(etcdDir / "data", etcdDir / "etcd.log");
  if (!etcd.process) {
    std::fprintf(stderr, "etcd did not start: %s\n", testing::readText(etcdDir / "etcd.log").c_str());
    return 1;
  }
  auto etcdClient = ha::EtcdClient::create({etcd.url});
  if (!etcdClient.ok()) return 1;
  PairView view(std::move(etcdClient).value());

  MemoryWatch singleMemory, pairMemory;
  Bench single, pair;
  single.memory = &singleMemory;
  pair.memory = &pairMemory;
  pair.etcd = etcd.url;
  pair.leaseSeconds = lease;
  if (!single.setup(ids) || !pair.setup(ids)) return 1;
  auto leader = [&] { return pair.pairIndex(view.key("leader")); };
  auto both = [&](int leading) { return pair.pair[leading].name + " " + pair.pair[1 - leading].name; };
  if (!testing::waitFor([&] { return leader() >= 0 && view.key("sync") == both(leader()); }, 30s)) {
    std::fprintf(stderr, "the pair never led in sync: leader \"%s\", sync \"%s\"\n", view.key("leader").c_str(),
                 view.key("sync").c_str());
    return 1;
  }
  for (Bench* b : {&single, &pair}) {
    for (const auto& id : ids) {
      if (!b->start(id)) {
        std::fprintf(stderr, "site %s did not start\n", id.c_str());
        return 1;
      }
    }
  }
  phase("setup (etcd, 2 networks, the pair in sync, the sites connected)");
  Side sides[2];
  sides[0].label = "single broker";
  sides[0].b = &single;
  sides[1].label = "pair";
  sides[1].b = &pair;

  // Publishes of one record at a time, in blocks, the two networks in turn.
  {
    const int blocks = std::min(records, 5);
    for (int k = 0; k < blocks; ++k) {
      const int n = records / blocks + (k < records % blocks ? 1 : 0);
      for (Side& side : sides) {
        auto one = lines(side.b->generate(n));
        auto t0 = Steady::now();
        for (const auto& line : one) {
          if (side.b->publish(publisher, line) == 0) return 1;
        }
        side.oneSeconds += secondsSince(t0);
        side.oneRecords += static_cast<long long>(one.size());
      }
    }
  }
  phase("publishes of 1 record");
  // Bulks, the two networks in turn.
  for (int k = 0; k < bulks; ++k) {
    for (Side& side : sides) {
      const std::string body = testing::readText(side.b->generate(bulk));
      auto t0 = Steady::now();
      if (side.b->publish(publisher, body) == 0) return 1;
      side.bulkSeconds += secondsSince(t0);
      side.bulkRecords += bulk;
    }
  }
  phase("bulks");
  // Alerts one at a time, the two networks in turn, each until every receipt is at the sender.
  {
    nlohmann::json alert = {{"headline", "Benchmark alert"}, {"urgency", "immediate"},
                            {"description", std::string(600, 'd')}};
    alert["targets"]["sites"] = targets;
    const std::string body = alert.dump();
    for (int k = 0; k < probes; ++k) {
      for (Side& side : sides) {
        Bench& b = *side.b;
        auto receipts = [&] { return b.status(publisher)["alerts"].value("answersReceived", 0LL); };
        const long long want = receipts() + static_cast<long long>(targets.size());
        const int64_t sent = wallMs();
        auto t0 = Steady::now();
        std::string id = b.sendAlert(publisher, *b.sites[publisher].http, body);
        if (id.empty()) return 1;
        side.answered.push_back(secondsSince(t0) * 1e3);
        side.alertSent[id] = sent;
        while (receipts() < want) {
          if (secondsSince(t0) > 20) {
            std::fprintf(stderr, "%s: receipts missing for alert %s\n", side.label.c_str(), id.c_str());
            return 1;
          }
          std::this_thread::sleep_for(5ms);
        }
      }
    }
  }
  phase("alerts");
  {
    double rate[2], bulkRate[2], stored50[2], stored99[2], answered50[2], answered99[2];
    for (int s = 0; s < 2; ++s) {
      Side& side = sides[s];
      rate[s] = static_cast<double>(side.oneRecords) / side.oneSeconds;
      bulkRate[s] = static_cast<double>(side.bulkRecords) / side.bulkSeconds;
      std::map<std::string, std::vector<int64_t>> stored;  // id → each target's first store
      for (const auto& t : targets) {
        for (const auto& [id, times] : alertTimes(side.b->tmp / (t + ".log"), " stored: ")) {
          stored[id].push_back(times.front());
        }
      }
      std::vector<double> toStored;
      for (const auto& [id, sent] : side.alertSent) {
        if (stored[id].size() != targets.size()) continue;
        toStored.push_back(static_cast<double>(*std::max_element(stored[id].begin(), stored[id].end()) - sent));
      }
      if (toStored.size() != side.alertSent.size()) {
        std::fprintf(stderr, "%s: %zu of %zu alerts found stored at every target in the logs\n", side.label.c_str(),
                     toStored.size(), side.alertSent.size());
      }
      stored50[s] = percentile(toStored, 0.5);
      stored99[s] = percentile(toStored, 0.99);
      answered50[s] = percentile(side.answered, 0.5);
      answered99[s] = percentile(side.answered, 0.99);
    }
    auto ratio = [](double pairValue, double singleValue) { return singleValue > 0 ? pairValue / singleValue : 0; };
    const std::string turns = "the single broker and the pair in turn, same run";
    rows.push_back({"publish 1 record at a time: single broker", rate[0], "/s",
                    std::to_string(records) + " records each through a site's API; " + turns});
    rows.push_back({"publish 1 record at a time: pair", rate[1], "/s", "answered once the standby stored it"});
    rows.push_back({"publish 1 record at a time: pair / single", ratio(rate[1], rate[0]), "x", ""});
    const std::string ofBulk = "bulk of " + std::to_string(bulk);
    rows.push_back({"publish " + ofBulk + ": single broker", bulkRate[0], "/s",
                    std::to_string(bulks) + (bulks == 1 ? " bulk" : " bulks") + " each, records/s"});
    rows.push_back({"publish " + ofBulk + ": pair", bulkRate[1], "/s", ""});
    rows.push_back({"publish " + ofBulk + ": pair / single", ratio(bulkRate[1], bulkRate[0]), "x", ""});
    const std::string at = std::to_string(targets.size()) + " of " + std::to_string(targets.size());
    rows.push_back({"alert sent -> stored at " + at + ", p50: single", stored50[0], "ms",
                    std::to_string(probes) + " alerts each, 1 at a time; log times (ms)"});
    rows.push_back({"alert sent -> stored at " + at + ", p50: pair", stored50[1], "ms", ""});
    rows.push_back({"alert sent -> stored at " + at + ", p99: single", stored99[0], "ms", ""});
    rows.push_back({"alert sent -> stored at " + at + ", p99: pair", stored99[1], "ms", ""});
    rows.push_back({"alert sent -> stored at " + at + ", p99: pair / single", ratio(stored99[1], stored99[0]), "x", ""});
    rows.push_back({"alert send answered (custody), p50: single", answered50[0], "ms", "the sending site's API answer"});
    rows.push_back({"alert send answered (custody), p50: pair", answered50[1], "ms", ""});
    rows.push_back({"alert send answered (custody), p99: single", answered99[0], "ms", ""});
    rows.push_back({"alert send answered (custody), p99: pair", answered99[1], "ms", ""});
    rows.push_back({"alert send answered (custody), p99: pair / single", ratio(answered99[1], answered99[0]), "x", ""});
  }

  // The single broker's network is not needed any more: stopped, so that it costs the failovers
  // nothing.
  for (auto& [id, s] : single.sites) s.daemon.reset();
  single.broker.reset();

  // Failovers.
  std::vector<double> toEtcd, toPublish, toSites, toSync, duringReturn, usual;
  long long errors = 0;
  for (int k = 0; k < failovers; ++k) {
    const int killed = leader(), next = 1 - killed;
    if (killed < 0 || view.key("sync") != both(killed)) {
      std::fprintf(stderr, "failover %d: the pair is not in sync: leader \"%s\", sync \"%s\"\n", k + 1,
                   view.key("leader").c_str(), view.key("sync").c_str());
      return 1;
    }
    // The client: one record at a time, in a loop, from before the kill until the killed broker
    // is back in sync as the standby; each publish's start and end.
    auto pool = lines(pair.generate(4000));
    std::atomic<int64_t> killedAtNs{0}, acceptedAtNs{0};
    std::atomic<long long> failed{0};
    std::atomic<bool> stop{false}, exhausted{false};
    std::vector<std::pair<int64_t, int64_t>> done;  // the client's, read after it stopped
    const std::string nextListen = pair.pair[next].listen;
    auto ns = [](Steady::time_point t) { return static_cast<int64_t>(t.time_since_epoch().count()); };
    std::thread client([&] {
      auto http = pair.client(publisher);
      httplib::Headers h = {{"Authorization", "Bearer " + pair.sites[publisher].token}};
      for (size_t i = 0; !stop;) {
        if (i == pool.size()) {
          exhausted = true;
          return;
        }
        const int64_t sent = ns(Steady::now());
        auto r = http->Post("/v1/publish?name=bench.jsonl", h, pool[i], "application/json");
        const int64_t now = ns(Steady::now());
        if (!r || r->status != 200) {
          if (killedAtNs != 0) ++failed;
          std::this_thread::sleep_for(10ms);
          continue;
        }
        ++i;
        done.emplace_back(sent, now);
        if (killedAtNs == 0 || now < killedAtNs || acceptedAtNs != 0) continue;
        // Accepted after the kill: by the other broker once the site follows it.
        auto st = http->Get("/v1/status");
        if (!st || st->status != 200) continue;
        auto j = nlohmann::json::parse(st->body, nullptr, false);
        if (j.is_object() && j.value("broker", "") == nextListen) acceptedAtNs = now;
      }
    });
    struct Joiner {  // the client stops on every way out
      std::atomic<bool>& stop;
      std::thread& thread;
      ~Joiner() {
        stop = true;
        if (thread.joinable()) thread.join();
      }
    } joiner{stop, client};
    std::this_thread::sleep_for(500ms);
    const auto killedAt = Steady::now();
    killedAtNs = ns(killedAt);
    pair.pair[killed].process->kill9();
    double etcdS = -1, publishS = -1, sitesS = -1;
    while (secondsSince(killedAt) < 30 && (etcdS < 0 || publishS < 0 || sitesS < 0) &&
           !(exhausted && acceptedAtNs == 0)) {
      if (etcdS < 0 && leader() == next) etcdS = secondsSince(killedAt);
      if (publishS < 0 && acceptedAtNs != 0) publishS = static_cast<double>(acceptedAtNs - killedAtNs) / 1e9;
      if (sitesS < 0) {
        bool all = true;
        for (const auto& id : ids) {
          auto s = pair.status(id);
          all = all && s.is_object() && s.value("connected", false) && s.value("broker", "") == nextListen;
          if (!all) break;
        }
        if (all) sitesS = secondsSince(killedAt);
      }
      std::this_thread::sleep_for(10ms);
    }
    if (etcdS < 0 || publishS < 0 || sitesS < 0) {
      std::fprintf(stderr, "failover %d: after %.1f s, etcd names the other: %s, a publish accepted: %s, every site "
                   "moved: %s%s\n", k + 1, secondsSince(killedAt), etcdS < 0 ? "no" : "yes",
                   publishS < 0 ? "no" : "yes", sitesS < 0 ? "no" : "yes",
                   exhausted ? " (the client published all its records)" : "");
      return 1;
    }
    toEtcd.push_back(etcdS);
    toPublish.push_back(publishS);
    toSites.push_back(sitesS);
    // The killed broker returns as the standby (the leader makes it a copy on its loop thread,
    // then sends it); the client goes on publishing meanwhile.
    const auto restarted = Steady::now();
    bool synced = pair.startPairBroker(killed);
    while (synced && view.key("sync") != both(next)) {
      if (secondsSince(restarted) > 120) synced = false;
      std::this_thread::sleep_for(20ms);
    }
    if (!synced) {
      std::fprintf(stderr, "failover %d: the restarted broker never got in sync: leader \"%s\", sync \"%s\"\n",
                   k + 1, view.key("leader").c_str(), view.key("sync").c_str());
      return 1;
    }
    const auto syncedAt = Steady::now();
    toSync.push_back(secondsSince(restarted));
    stop = true;
    client.join();
    errors += failed;
    // The longest publish that overlapped the return, beside the usual one before the kill.
    std::vector<double> before;
    double longest = 0;
    for (const auto& [sent, end] : done) {
      if (end < killedAtNs) before.push_back(static_cast<double>(end - sent) / 1e6);
      if (end >= ns(restarted) && sent <= ns(syncedAt)) longest = std::max(longest, static_cast<double>(end - sent) / 1e6);
    }
    duringReturn.push_back(longest);
    usual.insert(usual.end(), before.begin(), before.end());
    std::fprintf(stderr,
                 "failover %d (%s killed): etcd %.2f s, first publish %.2f s, all sites %.2f s; back in sync %.2f s, "
                 "longest publish meanwhile %.0f ms (%zu published)\n",
                 k + 1, killed == 0 ? "a" : "b", etcdS, publishS, sitesS, toSync.back(), longest, done.size());
  }

  phase("failovers");
  // Why each site moved, from their logs.
  for (const auto& id : ids) {
    std::ifstream in(pair.tmp / (id + ".log"));
    for (std::string line; std::getline(in, line);) {
      if (line.find(" broker now ") != std::string::npos) std::fprintf(stderr, "%s\n", line.c_str());
    }
  }
  // Nothing lost on the way: every site reaches the publisher's broker head.
  {
    long long head = 0;
    bool converged = testing::waitFor([&] {
      head = pair.status(publisher).value("brokerHead", 0LL);
      return head > 0 && pair.allAt(ids, head);
    }, 60s);
    if (!converged) {
      std::fprintf(stderr, "after the failovers the sites did not reach the broker's head %lld\n", head);
      return 1;
    }
  }

  phase("the check that every site has everything");
  if (failovers > 0) {
    const std::string n = std::to_string(failovers) + " kill -9 of the leader, alternately a and b; lease " +
                          std::to_string(lease) + " s";
    rows.push_back({"failover: kill -9 -> etcd names the other, median", median(toEtcd), "s", n});
    rows.push_back({"failover: kill -9 -> etcd names the other, max", maximum(toEtcd), "s", ""});
    rows.push_back({"failover: kill -> first publish accepted, median", median(toPublish), "s",
                    "by the other broker; goal < 3 s; 1 record at a time in a loop through a site's API"});
    rows.push_back({"failover: kill -> first publish accepted, max", maximum(toPublish), "s", ""});
    rows.push_back({"failover: kill -> " + std::to_string(siteCount) + " sites on the new leader, median",
                    median(toSites), "s", "every site's /v1/status: connected, broker = the new leader"});
    rows.push_back({"failover: kill -> " + std::to_string(siteCount) + " sites on the new leader, max",
                    maximum(toSites), "s", ""});
    rows.push_back({"failover: publishes answered with an error", static_cast<double>(errors), "",
                    "all failovers together; the site resends, so a move should cost a delay only"});
    // The size of the last copy the leader sent ("sending it a copy of LOG + ALERTS bytes"), from its log.
    double copyMiB = 0;
    int64_t copyAt = 0;
    for (const auto& b : pair.pair) {
      std::ifstream in(b.log);
      for (std::string line; std::getline(in, line);) {
        auto at = line.find("sending it a copy of ");
        unsigned long long logBytes = 0, alertBytes = 0;
        if (at != std::string::npos && logMs(line) >= copyAt &&
            std::sscanf(line.c_str() + at, "sending it a copy of %llu + %llu", &logBytes, &alertBytes) == 2) {
          copyMiB = static_cast<double>(logBytes + alertBytes) / (1 << 20);
          copyAt = logMs(line);
        }
      }
    }
    char note[128];
    std::snprintf(note, sizeof note, "etcd's sync key lists both; the last copy sent whole: %.1f MiB", copyMiB);
    rows.push_back({"failover: restarted broker in sync again, median", median(toSync), "s", note});
    rows.push_back({"failover: restarted broker in sync again, max", maximum(toSync), "s", ""});
    rows.push_back({"failover: longest publish while it returns, max", maximum(duringReturn), "ms",
                    "1 record, from its restart until in sync; median publish before the kills " +
                        std::to_string(static_cast<int>(median(usual) + 0.5)) + " ms"});
  }
  memoryRows(rows, pairMemory,
             {{"broker", "pair: broker (the larger, restarts included)"},
              {"site", "pair: site daemon (the largest)"}},
             "RssAnon sampled every 10 ms over the whole run");
  memoryRows(rows, singleMemory,
             {{"broker", "single: broker"}, {"site", "single: site daemon (the largest)"}}, "");
  printRows(rows, asJson);
  return 0;
}
