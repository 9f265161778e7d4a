// liaison-bench-federation: federation's figures with real processes on 127.0.0.1 — two networks,
// CASC and SEAJust, each with its own root and broker, and liaison-bridge between them — each
// figure across the bridge beside the same figure within one network, measured in the same run.
//
//   liaison-bench-federation [--probes N] [--records N] [--alerts N] [--json]
//
// Topology: CASC: kg-bishkek (KG), kz-almaty (KZ); SEAJust: th-bangkok (TH), vn-hanoi (VN); one
// liaison-bridge process (casc-bridge / seajust-bridge, one key pair, role bridge in both). Each
// network's secretariat is enrolled too; its daemon runs only to publish the network's peering
// (default policy) and is then stopped, so that 2 site daemons per network apply the records.
//
// Figures (records are published through kg-bishkek's local API, as `liaison publish` does):
//  - a record accepted by the CASC broker (the publish call returned) → applied at the last of
//    kg-bishkek and kz-almaty (within one network) and at the last of th-bangkok and vn-hanoi
//    (across the bridge), p50/p99, one record at a time (--probes). "Applied" is seen by polling
//    each site's LMDB replica read-only (the record is there once the site's transaction
//    committed). Between probes the benchmark waits a random 20–520 ms, so that probes fall at
//    random phases of any periodic timer on the path rather than locking onto one;
//  - sustained: --records records in batches of 2,000, until the last is applied at the last
//    CASC site and at the last SEAJust site (then every record is checked to be there);
//  - an alert accepted by the CASC broker → stored at its target: `country:KZ` (kz-almaty,
//    within CASC) and `country:TH` (th-bangkok, across the bridge), p50/p99, one at a time
//    (--alerts of each, interleaved), from the broker's "accepted" log line to the target's
//    "stored" log line (both ms, same clock), as liaison-bench-alerts measures it;
//  - every daemon's own memory, largest at any moment (the brokers, the sites, the bridge).
#include <ctime>
#include <random>
#include <sstream>
#include <thread>

#include "directory/directory.h"
#include "tests/bench/bench_network.h"

namespace {

using namespace liaison;
using namespace liaison::bench;

struct Member {
  Member(std::string id_, std::string country_, std::string role_ = "authority", std::string key_ = "")
      : id(std::move(id_)), country(std::move(country_)), role(std::move(role_)), key(std::move(key_)) {}
  std::string id, country, role;
  std::string key;  // path without .key/.pub; empty: its own, in the network's folder
};

// One network made with the real `liaison` command in b.tmp: root, broker (started, on
// 127.0.0.1), and a site directory (`liaison init`) for each member.
bool setupNetwork(Bench& b, const std::string& network, const std::vector<Member>& members) {
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
               "--member", b.tmp / (m.id + ".member"), "--broker", b.listen, "--broker-key", b.tmp / "broker.pub",
               "--api", "127.0.0.1:0"}) != 0) return false;
  }
  return true;
}

// Read-only views of sites' LMDB replicas, beside their daemons.
class Replicas {
 public:
  bool open(const std::string& site, const std::string& dir) {
    directory::Directory::Options o;
    o.readOnly = true;
    auto d = directory::Directory::open(dir + "/db", o);
    if (!d) {
      std::fprintf(stderr, "%s: replica not opened: %s\n", site.c_str(), d.error().message.c_str());
      return false;
    }
    views_[site] = std::move(d).value();
    return true;
  }
  // Whether the site's replica holds record `id` (committed).
  bool has(const std::string& site, const std::string& id) const {
    auto r = views_.at(site)->get(id);
    return r && r->has_value();
  }
  bool hasMember(const std::string& site, const std::string& member) const {
    auto r = views_.at(site)->member(member);
    return r && r->has_value();
  }
  // Polls (every 200 us, leaving the cores to the daemons) until each of `sites` holds `id`;
  // when each was first seen there, or an empty map after `timeout`.
  std::map<std::string, Steady::time_point> whenApplied(const std::vector<std::string>& sites, const std::string& id,
                                                        std::chrono::milliseconds timeout) const {
    std::map<std::string, Steady::time_point> seen;
    auto t0 = Steady::now();
    while (seen.size() < sites.size()) {
      for (const auto& s : sites) {
        if (!seen.count(s) && has(s, id)) seen[s] = Steady::now();
      }
      if (seen.size() == sites.size()) break;
      if (Steady::now() - t0 > timeout) return {};
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
    return seen;
  }

 private:
  std::map<std::string, std::unique_ptr<directory::Directory>> views_;
};

double msBetween(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}
Steady::time_point lastOf(const std::map<std::string, Steady::time_point>& seen,
                          const std::vector<std::string>& sites) {
  Steady::time_point t{};
  for (const auto& s : sites) t = std::max(t, seen.at(s));
  return t;
}

std::vector<std::string> idsOf(const std::string& jsonl) {
  std::vector<std::string> ids;
  std::istringstream in(jsonl);
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty()) ids.push_back(nlohmann::json::parse(line).value("id", ""));
  }
  return ids;
}


}  // namespace

int main(int argc, char** argv) {
  int probes = 200, records = 20000, alerts = 200;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
    if (a == "--probes") {
      probes = num();
    } else if (a == "--records") {
      records = num();
    } else if (a == "--alerts") {
      alerts = num();
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-federation [--probes N] [--records N] [--alerts N] [--json]\n");
      return 2;
    }
  }
  if (probes < 1 || records < 1 || alerts < 1) return 2;
  std::vector<Row> rows;

  // Two networks, each in its own folder; the bridge's key pair is made once (in CASC's folder).
  MemoryWatch memory;
  Bench casc, seajust;
  casc.memory = &memory;
  seajust.memory = &memory;
  const std::string bridgeKey = casc.tmp / "bridge";
  if (!setupNetwork(casc, "CASC", {{"kg-bishkek", "KG"}, {"kz-almaty", "KZ"}, {"casc-secretariat", "", "secretariat"},
                                   {"casc-bridge", "", "bridge", bridgeKey}}) ||
      !setupNetwork(seajust, "SEAJust", {{"th-bangkok", "TH"}, {"vn-hanoi", "VN"},
                                         {"seajust-secretariat", "", "secretariat"},
                                         {"seajust-bridge", "", "bridge", bridgeKey}})) {
    return 1;
  }
  const std::vector<std::string> cascSites = {"kg-bishkek", "kz-almaty"}, seaSites = {"th-bangkok", "vn-hanoi"};
  for (auto* net : {&casc, &seajust}) {
    for (const auto& id : net == &casc ? cascSites : seaSites) {
      if (!net->start(id)) {
        std::fprintf(stderr, "site %s did not start\n", id.c_str());
        return 1;
      }
    }
  }
  // One liaison-bridge process for both sides; it is stopped with the CASC side's daemons.
  std::filesystem::remove(seajust.sites["seajust-bridge"].dir + "/api.endpoint");
  if (!casc.start("casc-bridge", "liaison-bridge", {"--site", seajust.sites["seajust-bridge"].dir}) ||
      !testing::waitFor([&] { return std::filesystem::exists(seajust.sites["seajust-bridge"].dir + "/api.endpoint"); },
                        10s)) {
    std::fprintf(stderr, "the bridge did not start\n");
    return 1;
  }
  // Each secretariat publishes its network's peering with the other (signed by its root).
  struct Peer {
    Bench* net;
    Bench* peer;
    std::string network, peerNetwork, secretariat;
  };
  for (const Peer& p : {Peer{&casc, &seajust, "CASC", "SEAJust", "casc-secretariat"},
                        Peer{&seajust, &casc, "SEAJust", "CASC", "seajust-secretariat"}}) {
    std::string peering;
    if (p.net->cli({"peer", "--root", p.net->tmp / "root.key", "--network", p.network, "--peer", p.peerNetwork,
                    "--peer-root", p.peer->tmp / "root.pub"}, &peering) != 0) return 1;
    const std::string file = p.net->tmp / (p.network + "~" + p.peerNetwork + ".peering");
    testing::writeText(file, peering);
    if (!p.net->start(p.secretariat) || p.net->cli({"publish", "--site", p.net->sites[p.secretariat].dir, file}) != 0) {
      std::fprintf(stderr, "%s: peering not published\n", p.network.c_str());
      return 1;
    }
    p.net->sites[p.secretariat].daemon.reset();  // stopped (by PID): it only published the peering
  }

  Replicas replicas;
  for (const auto& id : cascSites) {
    if (!replicas.open(id, casc.sites[id].dir)) return 1;
  }
  for (const auto& id : seaSites) {
    if (!replicas.open(id, seajust.sites[id].dir)) return 1;
  }
  const std::vector<std::string> all = {"kg-bishkek", "kz-almaty", "th-bangkok", "vn-hanoi"};

  // Warm-up (not measured): a record crosses, each network holds the other's certificates.
  {
    std::string body = testing::readText(casc.generate(1));
    if (casc.publish("kg-bishkek", body) == 0) return 1;
    if (replicas.whenApplied(all, idsOf(body).front(), 60s).empty() ||
        !testing::waitFor([&] { return replicas.hasMember("kg-bishkek", "th-bangkok"); }, 30s)) {
      std::fprintf(stderr, "warm-up: nothing crossed the bridge in 60 s\n");
      return 1;
    }
  }
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> gapMs(20, 520);

  // 1. Light load: one record at a time, accepted → applied at the last site of each network.
  {
    std::vector<double> within, across;
    std::istringstream lines(testing::readText(casc.generate(probes)));
    std::string line;
    while (std::getline(lines, line)) {
      const std::string id = nlohmann::json::parse(line).value("id", "");
      if (casc.publish("kg-bishkek", line) == 0) return 1;
      auto accepted = Steady::now();
      auto seen = replicas.whenApplied(all, id, 10s);
      if (seen.empty()) {
        std::fprintf(stderr, "record %s not applied at all 4 sites in 10 s\n", id.c_str());
        return 1;
      }
      within.push_back(msBetween(accepted, lastOf(seen, cascSites)));
      across.push_back(msBetween(accepted, lastOf(seen, seaSites)));
      std::this_thread::sleep_for(std::chrono::milliseconds(gapMs(rng)));
    }
    const std::string n = std::to_string(within.size()) + " records, 1 at a time";
    rows.push_back({"record -> applied at last CASC site, p50", percentile(within, 0.5), "ms",
                    "baseline: within one network; " + n});
    rows.push_back({"record -> applied at last CASC site, p99", percentile(within, 0.99), "ms", "baseline"});
    rows.push_back({"record -> applied at last SEAJust site, p50", percentile(across, 0.5), "ms",
                    "across the bridge; " + n});
    rows.push_back({"record -> applied at last SEAJust site, p99", percentile(across, 0.99), "ms",
                    "across the bridge; goal < 20 ms"});
  }

  // 2. Sustained: batches of 2,000, until the last record is applied at the last site of each
  // network (a thread watches the replicas while the batches are published).
  {
    std::vector<std::string> bodies, ids;
    for (int done = 0; done < records; done += 2000) {
      bodies.push_back(testing::readText(casc.generate(std::min(2000, records - done))));
      for (auto& id : idsOf(bodies.back())) ids.push_back(std::move(id));
    }
    std::map<std::string, Steady::time_point> seen;
    bool failed = false;
    auto t0 = Steady::now();
    std::thread watcher([&] { seen = replicas.whenApplied(all, ids.back(), 600s); });
    for (const auto& body : bodies) {
      if (casc.publish("kg-bishkek", body) == 0) failed = true;
    }
    double publishSeconds = secondsSince(t0);
    watcher.join();
    if (failed || seen.empty()) {
      std::fprintf(stderr, "sustained: %s\n", failed ? "a batch was not published" : "not applied in 600 s");
      return 1;
    }
    // Everything is there, not only the last one.
    for (const auto& site : all) {
      size_t missing = 0;
      for (const auto& id : ids) missing += !replicas.has(site, id);
      if (missing > 0) {
        std::fprintf(stderr, "sustained: %zu of %zu records missing at %s\n", missing, ids.size(), site.c_str());
        return 1;
      }
    }
    const std::string n = std::to_string(records) + " records in batches of 2,000";
    rows.push_back({"records applied at last CASC site, sustained", records / msBetween(t0, lastOf(seen, cascSites)) * 1e3,
                    "/s", "baseline: within one network; " + n});
    rows.push_back({"records applied at last SEAJust site, sustained",
                    records / msBetween(t0, lastOf(seen, seaSites)) * 1e3, "/s", "across the bridge; goal >= 2,000/s"});
    rows.push_back({"records accepted by the CASC broker, sustained", records / publishSeconds, "/s",
                    "the publishing alone, through kg-bishkek's API"});
  }

  // 3. Alerts, one at a time, interleaved: country:KZ (within CASC) and country:TH (across).
  {
    Site& sender = casc.sites["kg-bishkek"];
    auto answers = [&] { return casc.status("kg-bishkek")["alerts"].value("answersReceived", 0LL); };
    auto sendOne = [&](const std::string& country) -> std::string {
      nlohmann::json alert = {{"headline", "Benchmark alert"}, {"urgency", "immediate"},
                              {"description", std::string(600, 'd')}};
      alert["targets"]["countries"] = {country};
      httplib::Headers h = {{"Authorization", "Bearer " + sender.token}};
      auto r = sender.http->Post("/v1/alerts", h, alert.dump(), "application/json");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "send: %s\n", r ? r->body.c_str() : "no answer");
        return {};
      }
      return nlohmann::json::parse(r->body).value("id", "");
    };
    std::vector<std::string> withinIds, acrossIds;
    // The target's receipt reaching the sender closes each alert before the next (across the
    // bridge it is relayed back by the bridge).
    for (int i = 0; i < alerts; ++i) {
      for (const std::string country : {"KZ", "TH"}) {
        long long before = answers();
        std::string id = sendOne(country);
        if (id.empty()) return 1;
        (country == "KZ" ? withinIds : acrossIds).push_back(id);
        if (!testing::waitFor([&] { return answers() > before; }, 20s)) {
          std::fprintf(stderr, "no receipt for alert %s (country:%s) in 20 s\n", id.c_str(), country.c_str());
          return 1;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(gapMs(rng)));
      }
    }
    auto accepted = alertTimes(casc.tmp / "broker.log", " accepted for ");
    auto delays = [&](const std::vector<std::string>& ids, const std::string& targetLog) {
      auto stored = alertTimes(targetLog, " stored: ");
      std::vector<double> out;
      for (const auto& id : ids) {
        if (accepted[id].empty() || stored[id].empty()) continue;
        out.push_back(static_cast<double>(stored[id].front() - accepted[id].front()));
      }
      return out;
    };
    auto within = delays(withinIds, casc.tmp / "kz-almaty.log");
    auto across = delays(acrossIds, seajust.tmp / "th-bangkok.log");
    if (within.size() != withinIds.size() || across.size() != acrossIds.size()) {
      std::fprintf(stderr, "alerts: log lines found for %zu of %zu within, %zu of %zu across\n", within.size(),
                   withinIds.size(), across.size(), acrossIds.size());
      return 1;
    }
    const std::string n = std::to_string(alerts) + " alerts, 1 at a time; log times (ms)";
    rows.push_back({"alert -> stored at target in CASC, p50", percentile(within, 0.5), "ms",
                    "baseline: country:KZ within one network; " + n});
    rows.push_back({"alert -> stored at target in CASC, p99", percentile(within, 0.99), "ms", "baseline"});
    rows.push_back({"alert -> stored at target in SEAJust, p50", percentile(across, 0.5), "ms",
                    "country:TH across the bridge; " + n});
    rows.push_back({"alert -> stored at target in SEAJust, p99", percentile(across, 0.99), "ms",
                    "across the bridge; goal < 20 ms"});
  }

  pid_t bridgePid = casc.sites["casc-bridge"].daemon->pid();
  rows.push_back({"bridge memory: own (RssAnon)", procKiB(bridgePid, "RssAnon") / 1024.0, "MiB", "both sides, one process"});
  memoryRows(rows, memory,
             {{"liaison-bridge", "bridge"},
              {"broker", "broker (the larger of 2)"},
              {"site", "site daemon (the largest of 6)"}},
             "RssAnon sampled every 10 ms over the whole run");
  printRows(rows, asJson);
  return 0;
}
