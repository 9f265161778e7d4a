// liaison-bench-alerts: alerts with full custody on real processes on 127.0.0.1 (1 broker, a
// sending site and 8 target site daemons), each figure beside a baseline measured in the same run.
//
//   liaison-bench-alerts [--targets N] [--probes N] [--alerts N] [--senders N] [--json]
//
// Alerts are sent as a person sends them: POST /v1/alerts to the sending site's daemon, which
// signs, submits and stores; each target verifies, stores and receipts; the receipts travel back
// to the sending site. Figures:
//  - accepted → stored at all targets (p50/p99, light load: one alert at a time): from the
//    broker's "accepted" log line to the last target's "stored" log line (both ms, same clock);
//  - accepted → every receipt stored at the sender (p50/p99), same clocks;
//  - sustained alerts per second with full custody: --alerts alerts from --senders concurrent
//    API clients, until every receipt of every alert is stored at the sending site;
//  - GET /metrics and GET /v1/alerts at the sending site once it holds every alert of the run
//    (p50), and GET /v1/alerts (whole, and a page of 50) after one more alert, beside its
//    /v1/status;
//  - every daemon's own memory, largest at any moment (sampled every 10 ms) and peak resident.
// Baselines: Ed25519 sign and verify on one core, and LMDB commits per second with a sync on
// this file system (custody costs a synced commit at the broker and at each site per batch).
#include <lmdb.h>
#include <sodium.h>

#include <atomic>
#include <ctime>
#include <thread>

#include "tests/bench/bench_network.h"
#include "trust/keys.h"

namespace {

using namespace liaison;
using namespace liaison::bench;


// Synced LMDB commits per second, one small put each, in `dir`.
double lmdbSyncedCommits(const std::string& dir, int n) {
  std::filesystem::create_directories(dir);
  MDB_env* env = nullptr;
  mdb_env_create(&env);
  mdb_env_set_mapsize(env, size_t{64} << 20);
  if (mdb_env_open(env, dir.c_str(), 0, 0600) != 0) return 0;
  MDB_dbi dbi;
  MDB_txn* txn = nullptr;
  mdb_txn_begin(env, nullptr, 0, &txn);
  mdb_dbi_open(txn, nullptr, 0, &dbi);
  mdb_txn_commit(txn);
  std::string value(1500, 'x');
  auto t0 = Steady::now();
  for (int i = 0; i < n; ++i) {
    mdb_txn_begin(env, nullptr, 0, &txn);
    std::string key = "k" + std::to_string(i);
    MDB_val k{key.size(), key.data()}, v{value.size(), value.data()};
    mdb_put(txn, dbi, &k, &v, 0);
    mdb_txn_commit(txn);
  }
  double rate = n / secondsSince(t0);
  mdb_env_close(env);
  return rate;
}

}  // namespace

int main(int argc, char** argv) {
  int targets = 8, probes = 200, alerts = 5000, senders = 8;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
    if (a == "--targets") {
      targets = num();
    } else if (a == "--probes") {
      probes = num();
    } else if (a == "--alerts") {
      alerts = num();
    } else if (a == "--senders") {
      senders = num();
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-alerts [--targets N] [--probes N] [--alerts N] [--senders N] [--json]\n");
      return 2;
    }
  }
  if (sodium_init() < 0 || targets < 1 || senders < 1) return 1;
  std::vector<Row> rows;

  // Baselines.
  double verifyRate = 0;
  {
    auto keys = trust::generateKeyPair();
    std::vector<uint8_t> msg(1500, 7);
    uint8_t sig[64];
    const int n = 5000;
    auto t0 = Steady::now();
    for (int i = 0; i < n; ++i) crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), keys.signSecret.data());
    rows.push_back({"baseline: ed25519 sign, 1 core", n / secondsSince(t0), "/s", ""});
    t0 = Steady::now();
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += crypto_sign_verify_detached(sig, msg.data(), msg.size(), keys.pub.sign.data()) == 0;
    if (ok != n) return 1;
    verifyRate = n / secondsSince(t0);
    rows.push_back({"baseline: ed25519 verify, 1 core", verifyRate, "/s", ""});
  }

  Bench b;
  rows.push_back({"baseline: LMDB synced commits", lmdbSyncedCommits(b.tmp / "lmdb-baseline", 500), "/s",
                  "one 1.5 KB put per commit, this file system"});
  std::vector<std::string> ids = {"sender"};
  std::vector<std::string> targetIds;
  for (int i = 1; i <= targets; ++i) targetIds.push_back("t" + std::to_string(i));
  ids.insert(ids.end(), targetIds.begin(), targetIds.end());
  if (!b.setup(ids)) return 1;
  MemoryWatch memory;  // every daemon's own memory, sampled every 10 ms for the whole run
  if (b.broker) memory.watch("broker", b.broker->pid());
  for (const auto& id : ids) {
    if (!b.start(id)) {
      std::fprintf(stderr, "site %s did not start\n", id.c_str());
      return 1;
    }
    memory.watch(id == "sender" ? "sender" : "target", b.sites[id].daemon->pid());
  }
  nlohmann::json alert = {{"headline", "Benchmark alert"}, {"urgency", "immediate"}, {"description", std::string(600, 'd')}};
  alert["targets"]["sites"] = targetIds;
  const std::string body = alert.dump();

  auto receipts = [&] { return b.status("sender")["alerts"].value("answersReceived", 0LL); };
  auto sendOne = [&](httplib::Client& http, const std::string& token) -> std::string {
    httplib::Headers h = {{"Authorization", "Bearer " + token}};
    auto r = http.Post("/v1/alerts", h, body, "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "send: %s\n", r ? r->body.c_str() : "no answer");
      return {};
    }
    return nlohmann::json::parse(r->body).value("id", "");
  };

  // Light load: one alert at a time, each until all its receipts are stored at the sender.
  std::vector<std::string> probeIds;
  {
    Site& s = b.sites["sender"];
    for (int i = 0; i < probes; ++i) {
      std::string id = sendOne(*s.http, s.token);
      if (id.empty()) return 1;
      probeIds.push_back(id);
      long long want = static_cast<long long>(targets) * (i + 1);
      if (!testing::waitFor([&] { return receipts() >= want; }, 20s)) {
        std::fprintf(stderr, "receipts missing for alert %s\n", id.c_str());
        return 1;
      }
      std::this_thread::sleep_for(20ms);
    }
  }
  {
    auto accepted = alertTimes(b.tmp / "broker.log", " accepted for ");
    std::map<std::string, int64_t> stored;  // last target's store
    for (const auto& t : targetIds) {
      for (const auto& [id, times] : alertTimes(b.tmp / (t + ".log"), " stored: ")) {
        stored[id] = std::max(stored[id], times.front());
      }
    }
    auto receipted = alertTimes(b.tmp / "sender.log", " receipt by site=");
    std::vector<double> toStored, toReceipts;
    for (const auto& id : probeIds) {
      if (accepted[id].empty() || receipted[id].size() != static_cast<size_t>(targets)) continue;
      int64_t t0 = accepted[id].front();
      toStored.push_back(static_cast<double>(stored[id] - t0));
      toReceipts.push_back(static_cast<double>(*std::max_element(receipted[id].begin(), receipted[id].end()) - t0));
    }
    std::string at = std::to_string(targets) + " of " + std::to_string(targets);
    std::string n = std::to_string(toStored.size()) + " alerts, 1 at a time; log times (ms)";
    rows.push_back({"alert accepted -> stored at " + at + ", p50", percentile(toStored, 0.5), "ms", n});
    rows.push_back({"alert accepted -> stored at " + at + ", p99", percentile(toStored, 0.99), "ms", ""});
    rows.push_back({"alert accepted -> all receipts at sender, p50", percentile(toReceipts, 0.5), "ms", ""});
    rows.push_back({"alert accepted -> all receipts at sender, p99", percentile(toReceipts, 0.99), "ms", ""});
  }

  // Sustained: `alerts` alerts from `senders` concurrent API clients, full custody.
  {
    long long before = receipts();
    std::atomic<int> next{0}, failed{0};
    auto t0 = Steady::now();
    std::vector<std::thread> threads;
    Site& s = b.sites["sender"];
    std::string endpoint = testing::readText(s.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    for (int k = 0; k < senders; ++k) {
      threads.emplace_back([&] {
        httplib::Client http("http://" + endpoint);
        http.set_read_timeout(60, 0);
        http.set_tcp_nodelay(true);
        while (next.fetch_add(1) < alerts) {
          if (sendOne(http, s.token).empty()) ++failed;
        }
      });
    }
    for (auto& t : threads) t.join();
    double sendSeconds = secondsSince(t0);
    long long want = before + static_cast<long long>(targets) * alerts;
    bool done = testing::waitFor([&] { return receipts() >= want; }, 600s);
    double seconds = secondsSince(t0);
    if (failed > 0 || !done) {
      std::fprintf(stderr, "sustained: %d sends failed, receipts %lld of %lld\n", failed.load(), receipts(), want);
      return 1;
    }
    double rate = alerts / seconds;
    // Ed25519 work per alert: 1 sign (sender) + 1 verify (broker) + per target 1 verify and
    // 1 sign (receipt) + 2 verifies of the receipt (broker, sender).
    double perAlert = 2.0 + 4.0 * targets;
    rows.push_back({"alerts with full custody, sustained", rate, "/s",
                    std::to_string(alerts) + " alerts to " + std::to_string(targets) + " sites; x" +
                        std::to_string(rate * perAlert / (verifyRate * 2)).substr(0, 4) +
                        " of 2 cores' ed25519 bound (" + std::to_string(static_cast<int>(perAlert)) + " ops/alert)"});
    rows.push_back({"alerts accepted by the broker, sustained", alerts / sendSeconds, "/s",
                    std::to_string(senders) + " concurrent senders through the site API"});
  }

  {
    // A monitoring scrape of the sending site, which now holds every alert of the run (its
    // /metrics counts them by state), beside its status page (no alert read).
    Site& s = b.sites["sender"];
    httplib::Headers h = {{"Authorization", "Bearer " + s.token}};
    std::vector<double> scrape, status, list;
    for (int i = 0; i < 21; ++i) {
      auto t0 = Steady::now();
      auto m = s.http->Get("/metrics", h);
      auto t1 = Steady::now();
      auto st = s.http->Get("/v1/status", h);
      auto t2 = Steady::now();
      auto l = s.http->Get("/v1/alerts", h);
      auto t3 = Steady::now();
      if (!m || m->status != 200 || !st || st->status != 200 || !l || l->status != 200) {
        std::fprintf(stderr, "metrics, status or alert list not answered\n");
        return 1;
      }
      scrape.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
      status.push_back(std::chrono::duration<double, std::milli>(t2 - t1).count());
      list.push_back(std::chrono::duration<double, std::milli>(t3 - t2).count());
    }
    rows.push_back(
        {"GET /metrics at the sending site, p50", percentile(scrape, 0.5), "ms",
         std::to_string(probes + alerts) + " alerts held; x" +
             std::to_string(percentile(scrape, 0.5) / percentile(status, 0.5)).substr(0, 4) +
             " of its /v1/status"});
    // What the desk's alert page and its poll (every 2 s while a page is open) read: the first
    // request lists the inbox, the next ones find it unchanged.
    rows.push_back({"GET /v1/alerts (the whole list) at the sending site, first", list.front(),
                    "ms",
                    "x" + std::to_string(list.front() / percentile(status, 0.5)).substr(0, 4) +
                        " of its /v1/status"});
    rows.push_back(
        {"GET /v1/alerts, the inbox unchanged since, p50", percentile(list, 0.5), "ms",
         "x" + std::to_string(percentile(list, 0.5) / percentile(status, 0.5)).substr(0, 4) +
             " of its /v1/status"});
    // While alerts flow every poll finds the inbox changed: the list after one more alert and
    // its receipts (the alerts whose records did not change are not read again).
    // Then the same for a page of the newest 50 (?limit=50), as a program paging through them asks.
    std::vector<double> afterOne, pageAfterOne;
    for (auto [path, times] :
         {std::pair{"/v1/alerts", &afterOne}, std::pair{"/v1/alerts?limit=50", &pageAfterOne}}) {
      for (int i = 0; i < 9; ++i) {
        long long had = receipts();
        bool stored = !sendOne(*s.http, s.token).empty() &&
                      testing::waitFor([&] { return receipts() >= had + targets; }, 30s);
        auto t0 = Steady::now();
        auto l = s.http->Get(path, h);
        if (!stored || !l || l->status != 200) {
          std::fprintf(stderr, "one more alert not sent, receipted or listed (%s)\n", path);
          return 1;
        }
        times->push_back(std::chrono::duration<double, std::milli>(Steady::now() - t0).count());
      }
    }
    rows.push_back(
        {"GET /v1/alerts after one more alert, p50", percentile(afterOne, 0.5), "ms",
         "x" + std::to_string(percentile(afterOne, 0.5) / percentile(status, 0.5)).substr(0, 4) +
             " of its /v1/status; 9 rounds"});
    rows.push_back({"GET /v1/alerts?limit=50 after one more alert, p50",
                    percentile(pageAfterOne, 0.5), "ms",
                    "x" +
                        std::to_string(percentile(pageAfterOne, 0.5) / percentile(afterOne, 0.5))
                            .substr(0, 4) +
                        " of the whole list; 9 rounds"});
  }

  pid_t brokerPid = b.broker ? b.broker->pid() : 0;
  // The broker stores every alert it took; it keeps in memory only those with work left.
  const std::string sampled =
      "RssAnon sampled every 10 ms; " + std::to_string(probes + alerts) + " alerts taken in all";
  rows.push_back({"broker memory: own, largest at any moment", memory.peakMiB("broker"), "MiB",
                  sampled});
  rows.push_back({"broker memory: own at the end (RssAnon)", procKiB(brokerPid, "RssAnon") / 1024.0, "MiB", ""});
  rows.push_back({"broker memory: peak resident (VmHWM)", procKiB(brokerPid, "VmHWM") / 1024.0, "MiB",
                  "includes LMDB pages mapped from its files"});
  rows.push_back({"sending site memory: own, largest at any moment", memory.peakMiB("sender"), "MiB", ""});
  rows.push_back({"target site memory: own, largest at any moment", memory.peakMiB("target"), "MiB",
                  std::to_string(targets) + " targets, the largest"});
  long maxPeak = 0;
  for (auto& [id, s] : b.sites) {
    if (s.daemon) maxPeak = std::max(maxPeak, procKiB(s.daemon->pid(), "VmHWM"));
  }
  rows.push_back({"site daemon memory: peak resident (largest, VmHWM)", maxPeak / 1024.0, "MiB", ""});
  printRows(rows, asJson);
  return 0;
}
