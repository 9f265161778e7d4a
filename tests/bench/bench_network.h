// What the benchmarks with real processes share: a network on 127.0.0.1 made with the real
// `liaison` command (root, broker, enrolled sites), site daemons reached through their local
// API, percentiles, and the memory of a process.
#pragma once

#include <httplib.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <thread>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support.h"

namespace liaison::bench {

using namespace std::chrono_literals;
using testing::Process;

using Steady = std::chrono::steady_clock;
using testing::Process;

inline double secondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}
inline double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

// A field of /proc/PID/status in KiB: VmHWM (peak resident, LMDB's mapped pages included) or
// RssAnon (the process's own memory, without the mapped files).
inline long procKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}

// Samples the own memory (RssAnon) of processes every 10 ms on a thread of its own, for the
// whole life of the watch, and keeps each one's largest value: memory "at every moment", bursts
// included, not only at the end of a run.
class MemoryWatch {
 public:
  MemoryWatch() : thread_([this] { run(); }) {}
  ~MemoryWatch() {
    stop_ = true;
    thread_.join();
  }
  MemoryWatch(const MemoryWatch&) = delete;
  MemoryWatch& operator=(const MemoryWatch&) = delete;

  // Watches `pid` under `label` (several processes may share a label: the largest counts).
  void watch(const std::string& label, pid_t pid) {
    std::lock_guard lock(mutex_);
    pids_[pid] = label;
  }
  // The largest own memory seen for `label`, MiB.
  double peakMiB(const std::string& label) {
    std::lock_guard lock(mutex_);
    auto it = peakKiB_.find(label);
    return it == peakKiB_.end() ? 0 : static_cast<double>(it->second) / 1024.0;
  }

 private:
  void run() {
    while (!stop_) {
      {
        std::lock_guard lock(mutex_);
        for (const auto& [pid, label] : pids_) {
          long kib = procKiB(pid, "RssAnon");
          long& peak = peakKiB_[label];
          peak = std::max(peak, kib);
        }
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
  }
  std::mutex mutex_;
  std::map<pid_t, std::string> pids_;
  std::map<std::string, long> peakKiB_;
  std::atomic<bool> stop_{false};
  std::thread thread_;  // last: starts once the members above exist
};

// "2026-11-28T16:03:22.423" as the daemons log it (local time) → ms since the epoch.
inline int64_t logMs(const std::string& line) {
  std::tm tm{};
  int ms = 0;
  if (std::sscanf(line.c_str(), "%d-%d-%dT%d:%d:%d.%d", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &ms) != 7) {
    return -1;
  }
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  tm.tm_isdst = -1;
  return static_cast<int64_t>(std::mktime(&tm)) * 1000 + ms;
}

// For each alert id: the time of each log line of `file` that holds `marker` and "alert=ID".
inline std::map<std::string, std::vector<int64_t>> alertTimes(const std::string& file, const std::string& marker) {
  std::map<std::string, std::vector<int64_t>> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    if (line.find(marker) == std::string::npos) continue;
    auto at = line.find("alert=");
    if (at == std::string::npos) continue;
    auto end = line.find(' ', at);
    out[line.substr(at + 6, end - at - 6)].push_back(logMs(line));
  }
  return out;
}

struct Site {
  std::string id, dir;
  std::unique_ptr<Process> daemon;
  std::unique_ptr<httplib::Client> http;
  std::string token;
};

// One broker of a pair (DESIGN.md, "High availability and operations"): its own --data, --listen,
// --fanout and --pair-listen (its name) on ports chosen before it starts, so that a restart keeps
// them; its log is tmp/broker-a.log or tmp/broker-b.log.
struct PairBroker {
  std::string name, data, listen, fanout, log;
  std::unique_ptr<Process> process;
};

class Bench {
 public:
  testing::TempDir tmp;
  std::string bin = testing::binDir();
  std::unique_ptr<Process> broker;
  std::string listen, fanout;
  std::vector<std::string> brokerArgv;
  std::map<std::string, Site> sites;
  std::vector<std::string> members;
  int nextId = 1;
  // A broker pair instead of one broker: set `etcd` (http://127.0.0.1:PORT) before setup(),
  // which then starts pair[0] and pair[1] (leadership from that etcd, a `leaseSeconds` lease,
  // the same --key) instead of `broker`, and gives every site both brokers. Who leads is etcd's
  // to say (/liaison/CASC/leader holds the leader's name); the caller waits for it.
  std::string etcd;
  int leaseSeconds = 2;
  PairBroker pair[2];
  // Set before setup() to watch the own memory of every daemon this bench starts, restarts
  // included: brokers as "broker", liaison-site daemons as "site", the others (liaison-bridge,
  // liaison-interpol) by their program's name.
  MemoryWatch* memory = nullptr;

  int cli(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), bin + "/liaison");
    auto r = testing::run(args, "", 600);
    if (out != nullptr) *out = r.out;
    if (r.exitCode != 0) std::fprintf(stderr, "liaison %s: %s\n", args[1].c_str(), r.err.c_str());
    return r.exitCode;
  }

  // Enrols `ids` (role authority for KG, or the role given in `roles`), starts the broker and
  // makes each site's directory.
  bool setup(const std::vector<std::string>& ids, const std::map<std::string, std::string>& roles = {}) {
    if (cli({"keygen", "--out", tmp / "root"}) != 0 || cli({"keygen", "--out", tmp / "broker"}) != 0) return false;
    for (const auto& id : ids) {
      if (cli({"keygen", "--out", tmp / id}) != 0) return false;
      std::string cert;
      if (cli({"enroll", "--root", tmp / "root.key", "--site", id, "--public", tmp / (id + ".pub"),
               "--country", "KG", "--network", "CASC", "--role", roles.count(id) ? roles.at(id) : "authority"},
              &cert) != 0) return false;
      testing::writeText(tmp / (id + ".member"), cert);
      members.push_back(tmp / (id + ".member"));
    }
    std::vector<std::string> argv = {bin + "/liaison-broker", "--data", tmp / "broker-data", "--root",
                                     tmp / "root.pub", "--key", tmp / "broker.key", "--listen",
                                     "tcp://127.0.0.1:*", "--fanout", "tcp://127.0.0.1:*"};
    for (const auto& m : members) {
      argv.push_back("--member");
      argv.push_back(m);
    }
    brokerArgv = argv;
    if (!etcd.empty()) {
      if (!startPair()) return false;
    } else if (!startBroker()) {
      return false;
    }
    for (const auto& id : ids) {
      Site& s = sites[id];
      s.id = id;
      s.dir = tmp / id;
      std::vector<std::string> init = {"init", "--site", s.dir, "--id", id, "--root", tmp / "root.pub", "--key",
                                       tmp / (id + ".key"), "--member", tmp / (id + ".member")};
      if (etcd.empty()) init.insert(init.end(), {"--broker", listen});
      for (int i = 0; !etcd.empty() && i < 2; ++i) init.insert(init.end(), {"--broker", pair[i].listen});
      init.insert(init.end(), {"--broker-key", tmp / "broker.pub", "--api", "127.0.0.1:0"});
      if (cli(init) != 0) return false;
    }
    return true;
  }

  // The pair's ports and data directories, then both brokers started.
  bool startPair() {
    for (int i = 0; i < 2; ++i) {
      const std::string letter = i == 0 ? "a" : "b";
      pair[i].name = "tcp://127.0.0.1:" + std::to_string(testing::freePort());
      pair[i].data = tmp / ("broker-" + letter);
      pair[i].listen = "tcp://127.0.0.1:" + std::to_string(testing::freePort());
      pair[i].fanout = "tcp://127.0.0.1:" + std::to_string(testing::freePort());
      pair[i].log = tmp / ("broker-" + letter + ".log");
    }
    return startPairBroker(0) && startPairBroker(1);
  }

  // Starts pair[i] (again: same ports, same data) with brokerArgv's root, key and members.
  bool startPairBroker(int i) {
    PairBroker& b = pair[i];
    std::vector<std::string> argv = brokerArgv;
    for (size_t k = 0; k + 1 < argv.size(); ++k) {
      if (argv[k] == "--data") argv[k + 1] = b.data;
      if (argv[k] == "--listen") argv[k + 1] = b.listen;
      if (argv[k] == "--fanout") argv[k + 1] = b.fanout;
    }
    argv.insert(argv.end(), {"--etcd", etcd, "--pair-listen", b.name, "--pair-peer", pair[1 - i].name, "--lease",
                             std::to_string(leaseSeconds)});
    b.process = std::make_unique<Process>(argv, b.log);
    if (memory != nullptr) memory->watch("broker", b.process->pid());
    return b.process->running();
  }
  // The index of the pair's broker named `name` (its --pair-listen), -1 for none.
  int pairIndex(const std::string& name) const {
    for (int i = 0; i < 2; ++i) {
      if (pair[i].name == name) return i;
    }
    return -1;
  }

  // Starts the broker (again: on the ports it had, with the same data) and reads its endpoints.
  bool startBroker() {
    std::filesystem::remove(tmp / "broker-data/endpoints");
    std::vector<std::string> argv = brokerArgv;
    if (!listen.empty()) {
      for (size_t i = 0; i + 1 < argv.size(); ++i) {
        if (argv[i] == "--listen") argv[i + 1] = listen;
        if (argv[i] == "--fanout") argv[i + 1] = fanout;
      }
    }
    broker = std::make_unique<Process>(argv, tmp / "broker.log");
    if (memory != nullptr) memory->watch("broker", broker->pid());
    if (!testing::waitFor([&] { return std::filesystem::exists(tmp / "broker-data/endpoints"); }, 10s)) return false;
    std::ifstream in(tmp / "broker-data/endpoints");
    std::string word;
    in >> word >> listen >> word >> fanout;
    return true;
  }

  // Starts the site's daemon (liaison-site, or `program` with `extra` arguments) and waits until
  // it is connected.
  bool start(const std::string& id, const std::string& program = "liaison-site",
             const std::vector<std::string>& extra = {}) {
    Site& s = sites[id];
    std::filesystem::remove(s.dir + "/api.endpoint");
    std::vector<std::string> argv = {bin + "/" + program, "--site", s.dir};
    argv.insert(argv.end(), extra.begin(), extra.end());
    s.daemon = std::make_unique<Process>(argv, tmp / (id + ".log"));
    if (memory != nullptr)
      memory->watch(program == "liaison-site" ? "site" : program, s.daemon->pid());
    if (!testing::waitFor([&] { return std::filesystem::exists(s.dir + "/api.endpoint"); }, 10s)) return false;
    std::string endpoint = testing::readText(s.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    s.http = std::make_unique<httplib::Client>("http://" + endpoint);
    s.http->set_read_timeout(120, 0);
    s.http->set_tcp_nodelay(true);
    s.token = testing::readText(s.dir + "/api.token");
    while (!s.token.empty() && s.token.back() == '\n') s.token.pop_back();
    return testing::waitFor([&] { return cursor(id) >= 0 && connected(id); }, 10s);
  }

  nlohmann::json status(const std::string& id) {
    auto r = sites[id].http->Get("/v1/status");
    if (!r || r->status != 200) return {};
    return nlohmann::json::parse(r->body, nullptr, false);
  }
  long long cursor(const std::string& id) {
    auto s = status(id);
    return s.is_object() ? s.value("cursorSeq", -1LL) : -1;
  }
  bool connected(const std::string& id) {
    auto s = status(id);
    return s.is_object() && s.value("connected", false);
  }

  std::string generate(int count) {
    std::string file = tmp / ("g" + std::to_string(nextId) + ".jsonl");
    testing::run({bin + "/liaison-gendir", "--count", std::to_string(count), "--first",
                  std::to_string(nextId), "--seed", std::to_string(nextId), "--countries", "KG", "--out", file});
    nextId += count;
    return file;
  }

  // Publishes a file through `id`'s API; returns the last seq, or 0.
  long long publish(const std::string& id, const std::string& body) {
    Site& s = sites[id];
    httplib::Headers h = {{"Authorization", "Bearer " + s.token}};
    auto r = s.http->Post("/v1/publish?name=bench.jsonl", h, body, "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "publish: %s\n", r ? r->body.c_str() : "no answer");
      return 0;
    }
    return nlohmann::json::parse(r->body).value("lastSeq", 0LL);
  }

  // Sends an alert (its JSON form) through `id`'s API with `http` (a client of that API: one per
  // thread); the alert's id once the broker took it into custody, or "".
  std::string sendAlert(const std::string& id, httplib::Client& http, const std::string& body) {
    httplib::Headers h = {{"Authorization", "Bearer " + sites[id].token}};
    auto r = http.Post("/v1/alerts", h, body, "application/json");
    if (!r || r->status != 200) {
      std::fprintf(stderr, "send: %s\n", r ? r->body.c_str() : "no answer");
      return {};
    }
    return nlohmann::json::parse(r->body).value("id", "");
  }

  // A new client of `id`'s API (for a thread of its own; httplib's clients are not shared).
  std::unique_ptr<httplib::Client> client(const std::string& id) {
    std::string endpoint = testing::readText(sites[id].dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    auto http = std::make_unique<httplib::Client>("http://" + endpoint);
    http->set_read_timeout(120, 0);
    http->set_tcp_nodelay(true);
    return http;
  }

  bool allAt(const std::vector<std::string>& ids, long long seq) {
    for (const auto& id : ids) {
      if (cursor(id) < seq) return false;
    }
    return true;
  }
};


// One row of a benchmark's table: a figure and, where there is one, what it is measured against.
struct Row {
  std::string name;
  double value;
  std::string unit, against;
};

// One row per watched label: "WHAT memory: own, largest at any moment", in MiB, for the daemons
// a Bench watched under that label (Bench::memory).
inline void memoryRows(std::vector<Row>& rows, MemoryWatch& watch,
                       const std::vector<std::pair<std::string, std::string>>& labelAndWhat,
                       const std::string& note) {
  for (const auto& [label, what] : labelAndWhat) {
    rows.push_back({what + " memory: own, largest at any moment", watch.peakMiB(label), "MiB",
                    &label == &labelAndWhat.front().first ? note : ""});
  }
}

inline void printRows(const std::vector<Row>& rows, bool asJson) {
  if (asJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) out.push_back({{"name", r.name}, {"value", r.value}, {"unit", r.unit}, {"against", r.against}});
    std::printf("%s\n", out.dump(2).c_str());
    return;
  }
  std::printf("%-46s %12s  %-6s %s\n", "figure", "value", "unit", "note");
  for (const auto& r : rows) {
    std::printf("%-46s %12.2f  %-6s %s\n", r.name.c_str(), r.value, r.unit.c_str(), r.against.c_str());
  }
}

}  // namespace liaison::bench
