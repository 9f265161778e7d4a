// liaison-bench-bus: the bus's figures with real processes on 127.0.0.1 (1 broker, 4 site
// daemons), each beside a baseline measured in the same run.
//
//   liaison-bench-bus [--updates N] [--catchup N] [--probes N] [--json]
//
// Figures: sustained rate of signed updates durably applied at all 4 sites; time for a fresh
// site to catch up on a network of --catchup records; accepted → applied at the last site
// (p50/p99) under light load; peak memory of the daemons. Baselines: Ed25519 verify, raw
// ZeroMQ PUB/SUB with CURVE over loopback (messages/s) and DEALER/ROUTER round trip.
#include <httplib.h>
#include <sodium.h>
#include <zmq.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <nlohmann/json.hpp>
#include <thread>

#include "bus/zmq.h"
#include "tests/support.h"
#include "trust/keys.h"

namespace {

using namespace liaison;
using namespace std::chrono_literals;
using Steady = std::chrono::steady_clock;
using testing::Process;

double secondsSince(Steady::time_point t) {
  return std::chrono::duration<double>(Steady::now() - t).count();
}
double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5))];
}

// A field of /proc/PID/status in KiB: VmHWM (peak resident, LMDB's mapped pages included) or
// RssAnon (the process's own memory, without the mapped files).
long procKiB(pid_t pid, const std::string& field) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind(field + ":", 0) == 0) return std::stol(line.substr(field.size() + 1));
  }
  return 0;
}

struct Site {
  std::string id, dir;
  std::unique_ptr<Process> daemon;
  std::unique_ptr<httplib::Client> http;
  std::string token;
};

class Bench {
 public:
  testing::TempDir tmp;
  std::string bin = testing::binDir();
  std::unique_ptr<Process> broker;
  std::string listen;
  std::map<std::string, Site> sites;
  std::vector<std::string> members;
  int nextId = 1;

  int cli(std::vector<std::string> args, std::string* out = nullptr) {
    args.insert(args.begin(), bin + "/liaison");
    auto r = testing::run(args, "", 600);
    if (out != nullptr) *out = r.out;
    if (r.exitCode != 0) std::fprintf(stderr, "liaison %s: %s\n", args[1].c_str(), r.err.c_str());
    return r.exitCode;
  }

  bool setup(const std::vector<std::string>& ids) {
    if (cli({"keygen", "--out", tmp / "root"}) != 0 || cli({"keygen", "--out", tmp / "broker"}) != 0) return false;
    for (const auto& id : ids) {
      if (cli({"keygen", "--out", tmp / id}) != 0) return false;
      std::string cert;
      if (cli({"enroll", "--root", tmp / "root.key", "--site", id, "--public", tmp / (id + ".pub"),
               "--country", "KG", "--network", "CASC"}, &cert) != 0) return false;
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
    broker = std::make_unique<Process>(argv, tmp / "broker.log");
    if (!testing::waitFor([&] { return std::filesystem::exists(tmp / "broker-data/endpoints"); }, 10s)) return false;
    std::ifstream in(tmp / "broker-data/endpoints");
    std::string word;
    in >> word >> listen;
    for (const auto& id : ids) {
      Site& s = sites[id];
      s.id = id;
      s.dir = tmp / id;
      if (cli({"init", "--site", s.dir, "--id", id, "--root", tmp / "root.pub", "--key", tmp / (id + ".key"),
               "--member", tmp / (id + ".member"), "--broker", listen, "--broker-key", tmp / "broker.pub",
               "--api", "127.0.0.1:0"}) != 0) return false;
    }
    return true;
  }

  bool start(const std::string& id) {
    Site& s = sites[id];
    s.daemon = std::make_unique<Process>(std::vector<std::string>{bin + "/liaison-site", "--site", s.dir},
                                         tmp / (id + ".log"));
    if (!testing::waitFor([&] { return std::filesystem::exists(s.dir + "/api.endpoint"); }, 10s)) return false;
    std::string endpoint = testing::readText(s.dir + "/api.endpoint");
    while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
    s.http = std::make_unique<httplib::Client>("http://" + endpoint);
    s.http->set_read_timeout(120, 0);
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

  bool allAt(const std::vector<std::string>& ids, long long seq) {
    for (const auto& id : ids) {
      if (cursor(id) < seq) return false;
    }
    return true;
  }
};

// Raw ZeroMQ: PUB/SUB messages per second with CURVE over loopback, 1 KiB messages.
double zmqPubSubRate(size_t messages) {
  auto ctx = bus::Context::create();
  auto server = trust::generateKeyPair();
  auto client = trust::generateKeyPair();
  auto pub = bus::Socket::open(*ctx, ZMQ_PUB);
  auto sub = bus::Socket::open(*ctx, ZMQ_SUB);
  (void)pub->setCurveServer(server);
  (void)pub->setInt(ZMQ_SNDHWM, 0);
  (void)pub->bind("tcp://127.0.0.1:*");
  (void)sub->setCurveClient(client, server.pub.curve);
  (void)sub->setInt(ZMQ_RCVHWM, 0);
  (void)sub->subscribe("");
  (void)sub->connect(*pub->lastEndpoint());
  std::string body(1024, 'x');
  // Wait until the subscription is through.
  for (int i = 0; i < 200; ++i) {
    (void)pub->send({"w"}, true);
    if (sub->recv(2, true).ok()) break;
    std::this_thread::sleep_for(10ms);
  }
  while (sub->recv(2, true).ok()) {
  }
  auto t0 = Steady::now();
  std::thread sender([&] {
    for (size_t i = 0; i < messages; ++i) (void)pub->send({"E", body});
  });
  size_t got = 0;
  while (got < messages) {
    std::vector<zmq_pollitem_t> items{sub->pollItem()};
    auto ready = bus::poll(items, 2000ms);
    if (!ready || *ready == 0) break;
    while (sub->recv(2, true).ok()) ++got;
  }
  sender.join();
  return static_cast<double>(got) / secondsSince(t0);
}

// Raw ZeroMQ DEALER/ROUTER round trip with CURVE (no ZAP), microseconds, median.
double zmqRoundTripUs(int rounds) {
  auto ctx = bus::Context::create();
  auto server = trust::generateKeyPair();
  auto client = trust::generateKeyPair();
  auto router = bus::Socket::open(*ctx, ZMQ_ROUTER);
  auto dealer = bus::Socket::open(*ctx, ZMQ_DEALER);
  (void)router->setCurveServer(server);
  (void)router->bind("tcp://127.0.0.1:*");
  (void)dealer->setCurveClient(client, server.pub.curve);
  (void)dealer->connect(*router->lastEndpoint());
  std::thread echo([&] {
    for (int i = 0; i < rounds + 1; ++i) {
      auto m = router->recv(3);
      if (!m) return;
      (void)router->send(*m);
    }
  });
  std::vector<double> us;
  for (int i = 0; i < rounds + 1; ++i) {
    auto t0 = Steady::now();
    (void)dealer->send({std::string(200, 'r')});
    (void)dealer->recv(2);
    if (i > 0) us.push_back(secondsSince(t0) * 1e6);
  }
  echo.join();
  return percentile(us, 0.5);
}

}  // namespace

int main(int argc, char** argv) {
  int updates = 20000, catchup = 100000, probes = 200;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
    if (a == "--updates") {
      updates = num();
    } else if (a == "--catchup") {
      catchup = num();
    } else if (a == "--probes") {
      probes = num();
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-bus [--updates N] [--catchup N] [--probes N] [--json]\n");
      return 2;
    }
  }
  if (sodium_init() < 0) return 1;
  struct Row {
    std::string name;
    double value;
    std::string unit, against;
  };
  std::vector<Row> rows;

  // Baselines.
  {
    auto keys = trust::generateKeyPair();
    std::vector<uint8_t> msg(1100, 7);
    uint8_t sig[64];
    crypto_sign_detached(sig, nullptr, msg.data(), msg.size(), keys.signSecret.data());
    auto t0 = Steady::now();
    int n = 5000;
    int ok = 0;
    for (int i = 0; i < n; ++i) ok += crypto_sign_verify_detached(sig, msg.data(), msg.size(), keys.pub.sign.data()) == 0;
    if (ok != n) return 1;
    rows.push_back({"baseline: ed25519 verify, 1 core", n / secondsSince(t0), "/s", ""});
  }
  double pubsub = zmqPubSubRate(100000);
  rows.push_back({"baseline: zeromq PUB/SUB, CURVE, 1 KiB", pubsub, "msg/s", ""});
  rows.push_back({"baseline: zeromq DEALER/ROUTER round trip", zmqRoundTripUs(2000), "us", ""});

  Bench b;
  std::vector<std::string> four = {"s1", "s2", "s3", "s4"};
  if (!b.setup({"s1", "s2", "s3", "s4", "late"})) return 1;
  for (const auto& id : four) {
    if (!b.start(id)) {
      std::fprintf(stderr, "site %s did not start\n", id.c_str());
      return 1;
    }
  }

  // Accepted → applied at the last of 4 sites, light load: one record at a time.
  std::vector<double> delays;
  {
    std::string file = b.generate(probes);
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      long long seq = b.publish("s1", line);
      auto accepted = Steady::now();
      if (seq == 0) return 1;
      while (!b.allAt(four, seq)) {
        if (secondsSince(accepted) > 10) return 1;
      }
      delays.push_back(secondsSince(accepted) * 1e3);
      std::this_thread::sleep_for(20ms);
    }
  }
  rows.push_back({"accepted -> applied at 4 of 4 sites, p50", percentile(delays, 0.5), "ms", "light load, 1 update at a time"});
  rows.push_back({"accepted -> applied at 4 of 4 sites, p99", percentile(delays, 0.99), "ms", ""});

  // Sustained: batches of 2,000 signed updates, until all 4 sites applied them durably.
  {
    std::vector<std::string> bodies;
    for (int done = 0; done < updates; done += 2000) {
      bodies.push_back(testing::readText(b.generate(std::min(2000, updates - done))));
    }
    auto t0 = Steady::now();
    long long last = 0;
    for (const auto& body : bodies) last = b.publish("s1", body);
    if (last == 0) return 1;
    testing::waitFor([&] { return b.allAt(four, last); }, 600s);
    double rate = updates / secondsSince(t0);
    rows.push_back({"updates applied at all 4 sites, sustained", rate, "/s",
                    "x" + std::to_string(rate * 5 / (rows[0].value * 2)).substr(0, 4) +
                        " of 2 cores' ed25519 bound (5 verifies/update)"});
  }

  // A fresh site catching up on a network of `catchup` records.
  {
    int have = b.nextId - 1;
    std::vector<std::string> bodies;
    for (int done = have; done < catchup; done += 5000) {
      bodies.push_back(testing::readText(b.generate(std::min(5000, catchup - done))));
    }
    long long last = 0;
    for (const auto& body : bodies) last = b.publish("s1", body);
    testing::waitFor([&] { return b.allAt(four, last); }, 600s);
    auto head = b.status("s1").value("brokerHead", 0LL);
    auto t0 = Steady::now();
    if (!b.start("late")) return 1;
    testing::waitFor([&] { return b.cursor("late") >= head; }, 600s);
    rows.push_back({"fresh site catches up on " + std::to_string(b.nextId - 1) + " records", secondsSince(t0), "s",
                    "includes the daemon's start"});
  }

  pid_t brokerPid = b.broker ? b.broker->pid() : 0;
  rows.push_back({"broker memory: own (RssAnon)", procKiB(brokerPid, "RssAnon") / 1024.0, "MiB", ""});
  rows.push_back({"broker memory: peak resident (VmHWM)", procKiB(brokerPid, "VmHWM") / 1024.0, "MiB",
                  "includes LMDB pages mapped from its file"});
  long maxAnon = 0, maxPeak = 0;
  for (auto& [id, s] : b.sites) {
    if (!s.daemon) continue;
    maxAnon = std::max(maxAnon, procKiB(s.daemon->pid(), "RssAnon"));
    maxPeak = std::max(maxPeak, procKiB(s.daemon->pid(), "VmHWM"));
  }
  rows.push_back({"site daemon memory: own (RssAnon, largest)", maxAnon / 1024.0, "MiB", ""});
  rows.push_back({"site daemon memory: peak resident (largest)", maxPeak / 1024.0, "MiB",
                  "includes LMDB pages mapped from its file"});

  if (asJson) {
    nlohmann::json out = nlohmann::json::array();
    for (const auto& r : rows) out.push_back({{"name", r.name}, {"value", r.value}, {"unit", r.unit}, {"against", r.against}});
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("%-46s %12s  %-6s %s\n", "figure", "value", "unit", "note");
    for (const auto& r : rows) {
      std::printf("%-46s %12.2f  %-6s %s\n", r.name.c_str(), r.value, r.unit.c_str(), r.against.c_str());
    }
  }
  return 0;
}
