// liaison-bench-interpol: the Interpol adapter's figures with real processes on 127.0.0.1 (a
// broker, a sending site, liaison-interpol) against a local fake NCB gateway and notices server.
//
//   liaison-bench-interpol [--alerts N] [--notices N] [--json]
//
// Figures:
//  - forward rate: N alerts for Interpol wait at the broker while the adapter is stopped; the
//    adapter starts and drains them (delivery from the broker, store, POST, signed receipt):
//    alerts per second until the gateway accepted the last one;
//  - ingest rate: a notices API holding N yellow notices for one nationality (pages of 160); from
//    the adapter's start until the sending site's replica holds all N;
//  - every daemon's own memory (the adapter, the broker, the sending site), largest at any moment.
// Baselines in the same run: a POST round trip to the same gateway with libcurl (one
// connection), and N contact records signed and published through a site (the path notices take).
#include <sodium.h>

#include <thread>

#include "adapters/http.h"
#include "tests/bench/bench_network.h"
#include "tests/fake_interpol.h"

namespace {

using namespace liaison;
using namespace liaison::bench;

}  // namespace

int main(int argc, char** argv) {
  int alerts = 1000, noticeCount = 10000;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto num = [&] { return i + 1 < argc ? std::stoi(argv[++i]) : 0; };
    if (a == "--alerts") {
      alerts = num();
    } else if (a == "--notices") {
      noticeCount = num();
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-interpol [--alerts N] [--notices N] [--json]\n");
      return 2;
    }
  }
  if (sodium_init() < 0 || !adapters::initHttp()) return 1;
  std::vector<Row> rows;
  testing::FakeGateway gateway;
  testing::FakeNotices notices;
  notices.perPage(160);

  // Baseline: libcurl POST round trips to the same gateway, one connection.
  {
    adapters::Http http(adapters::HttpOptions{});
    const int n = 500;
    auto t0 = Steady::now();
    for (int i = 0; i < n; ++i) {
      auto r = http.post(gateway.url() + "/ncb/alerts", "{}", {"Idempotency-Key: baseline-" + std::to_string(i)});
      if (!std::holds_alternative<adapters::HttpAnswer>(r)) return 1;
    }
    rows.push_back({"baseline: libcurl POST round trip, local", secondsSince(t0) / n * 1e6, "us", ""});
  }

  MemoryWatch memory;
  Bench b;
  b.memory = &memory;
  if (!b.setup({"sender", "adapter"}, {{"adapter", "adapter"}})) return 1;
  if (!b.start("sender")) return 1;
  const std::vector<std::string> adapterArgs = {"--gateway", gateway.url() + "/ncb/alerts", "--notices",
                                                notices.url(), "--nationalities", "KG", "--types", "yellow",
                                                "--interval", "3600"};
  // The adapter must have run once so the broker knows where it is; then it stops.
  if (!b.start("adapter", "liaison-interpol", adapterArgs)) return 1;
  b.sites["adapter"].daemon->stop();

  // Forward rate: a backlog of alerts for Interpol, drained when the adapter starts.
  {
    Site& s = b.sites["sender"];
    httplib::Headers h = {{"Authorization", "Bearer " + s.token}};
    nlohmann::json alert = {{"headline", "Benchmark alert for Interpol"}, {"description", std::string(600, 'd')}};
    alert["targets"]["roles"] = {"interpol-ncb"};
    std::vector<std::string> ids;
    for (int i = 0; i < alerts; ++i) {
      auto r = s.http->Post("/v1/alerts", h, alert.dump(), "application/json");
      if (!r || r->status != 200) {
        std::fprintf(stderr, "send: %s\n", r ? r->body.c_str() : "no answer");
        return 1;
      }
      ids.push_back(nlohmann::json::parse(r->body)["id"]);
    }
    auto t0 = Steady::now();
    if (!b.start("adapter", "liaison-interpol", adapterArgs)) return 1;
    bool done = testing::waitFor([&] {
      for (auto it = ids.rbegin(); it != ids.rend(); ++it) {
        if (gateway.accepted(*it) == 0) return false;
      }
      return true;
    }, 600s);
    if (!done) {
      std::fprintf(stderr, "the gateway did not get every alert\n");
      return 1;
    }
    double seconds = secondsSince(t0);
    rows.push_back({"adapter: alerts forwarded to the gateway", alerts / seconds, "/s",
                    std::to_string(alerts) + " waiting at the broker; includes the adapter's start"});
  }

  // Baseline: the same number of contact records signed and published through the sender's
  // API, until its replica holds them (the path the adapter's notices take).
  {
    std::string body = testing::readText(b.generate(noticeCount));
    auto t0 = Steady::now();
    long long seq = b.publish("sender", body);
    if (seq == 0 || !testing::waitFor([&] { return b.cursor("sender") >= seq; }, 600s)) return 1;
    rows.push_back({"baseline: records published through a site", noticeCount / secondsSince(t0), "/s",
                    std::to_string(noticeCount) + " contacts, one submission"});
  }

  // Ingest rate: N notices from the notices API into every replica.
  {
    b.sites["adapter"].daemon->stop();
    std::vector<nlohmann::json> all;
    for (int i = 0; i < noticeCount; ++i) {
      all.push_back(testing::notice("2026/" + std::to_string(100000 + i), "Forename" + std::to_string(i),
                                    "Surname" + std::to_string(i), {"KG"}));
    }
    notices.set("yellow/KG", all);
    auto held = [&] {
      auto st = b.status("sender");
      return st.is_object() ? st["counts"].value("notices", 0LL) : 0LL;
    };
    auto t0 = Steady::now();
    if (!b.start("adapter", "liaison-interpol", adapterArgs)) return 1;
    if (!testing::waitFor([&] { return held() >= noticeCount; }, 600s)) {
      std::fprintf(stderr, "notices: %lld of %d arrived\n", held(), noticeCount);
      return 1;
    }
    double seconds = secondsSince(t0);
    rows.push_back({"adapter: notices ingested into the replicas", noticeCount / seconds, "/s",
                    std::to_string(noticeCount) + " notices, pages of 160; includes the adapter's start"});
  }
  memoryRows(rows, memory,
             {{"liaison-interpol", "adapter (liaison-interpol)"},
              {"broker", "broker"},
              {"site", "sending site"}},
             "RssAnon sampled every 10 ms over the whole run");
  printRows(rows, asJson);
  return 0;
}
