// liaison-bench-desk: the desk's figures with a real site daemon on 127.0.0.1 holding --records
// synthetic contacts (1 broker, 1 site), each beside a baseline measured in the same run.
//
//   liaison-bench-desk [--records N] [--queries N] [--json]
//
// Figures: a search request answered by the site (the results fragment the page asks for as you
// type; by name in Cyrillic and in Latin, and by filters), p50/p99, against a GET of the desk's
// stylesheet (an HTTP round trip answered from memory) on the same kept-alive connection; a whole
// search page and a contact card; the site daemon's own memory (RssAnon) and peak resident memory
// before anyone used the desk and after, and its and the broker's own memory, largest at any
// moment; the first paint of the search page in headless Chromium (scripts/desk_paint.py, when
// chromium and python3-selenium are installed). Times are measured by the client over loopback, so
// they include HTTP; the server's own time is less.
#include <httplib.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/bench/bench_network.h"
#include "tests/support.h"

namespace {

using namespace liaison;
using namespace std::chrono_literals;
using namespace liaison::bench;

std::string urlEncode(const std::string& s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.') {
      out.push_back(static_cast<char>(c));
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Milliseconds of each GET of `paths` (round robin), `n` in all.
std::vector<double> timeGets(httplib::Client& http, const httplib::Headers& h,
                             const std::vector<std::string>& paths, int n, int* failures) {
  std::vector<double> ms;
  ms.reserve(static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string& p = paths[static_cast<size_t>(i) % paths.size()];
    auto t0 = Steady::now();
    auto r = http.Get(p.c_str(), h);
    ms.push_back(secondsSince(t0) * 1e3);
    if (!r || r->status != 200) ++*failures;
  }
  return ms;
}

}  // namespace

int main(int argc, char** argv) {
  int records = 100000, queries = 2000;
  bool asJson = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    if (a == "--records" && i + 1 < argc) {
      records = std::stoi(argv[++i]);
    } else if (a == "--queries" && i + 1 < argc) {
      queries = std::stoi(argv[++i]);
    } else if (a == "--json") {
      asJson = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-desk [--records N] [--queries N] [--json]\n");
      return 2;
    }
  }
  MemoryWatch memory;
  Bench b;
  b.memory = &memory;
  if (!b.setup({"s1"}) || !b.start("s1")) {
    std::fprintf(stderr, "bench: the network did not start\n");
    return 1;
  }
  // The records, and names to look for (Latin and Cyrillic spellings of generated people).
  std::vector<std::string> latin, cyrillic, ids;
  long long last = 0;
  for (int done = 0; done < records;) {
    int n = std::min(5000, records - done);
    std::string file = b.generate(n);
    std::string body = testing::readText(file);
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line) && latin.size() < 500) {
      auto j = nlohmann::json::parse(line, nullptr, false);
      if (!j.is_object() || !j.contains("name")) continue;
      std::string l = j["name"].value("latin", ""), o = j["name"].value("original", "");
      if (!l.empty()) latin.push_back(l.substr(l.rfind(' ') + 1));
      if (!o.empty()) cyrillic.push_back(o.substr(o.rfind(' ') + 1));
      ids.push_back(j.value("id", ""));
    }
    last = b.publish("s1", body);
    if (last == 0) return 1;
    done += n;
  }
  if (!testing::waitFor([&] { return b.cursor("s1") >= last; }, 900s)) {
    std::fprintf(stderr, "bench: the site did not catch up\n");
    return 1;
  }
  Site& s = b.sites["s1"];
  const pid_t pid = s.daemon->pid();
  std::vector<Row> rows;
  const std::string scale = std::to_string(records) + " records";
  rows.push_back({"site daemon own memory (RssAnon), desk not used",
                  procKiB(pid, "RssAnon") / 1024.0, "MiB", scale});

  // Sign in as a browser would.
  std::string out;
  if (b.cli({"desk", "--site", s.dir, "--format", "json"}, &out) != 0) return 1;
  std::string link = nlohmann::json::parse(out).value("link", "");
  std::string endpoint = testing::readText(s.dir + "/api.endpoint");
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  httplib::Client http("http://" + endpoint);
  http.set_keep_alive(true);
  http.set_tcp_nodelay(true);
  auto signin = http.Get(link.substr(link.find("/signin")).c_str());
  if (!signin || signin->status != 303) {
    std::fprintf(stderr, "bench: sign-in failed\n");
    return 1;
  }
  std::string cookie = signin->get_header_value("Set-Cookie");
  httplib::Headers h = {{"Cookie", cookie.substr(0, cookie.find(';'))}};

  int failures = 0;
  // The baseline: the same kept-alive connection answering from memory, with no lookup (the
  // desk's stylesheet; /v1/status counts the whole replica and takes longer than a search).
  (void)timeGets(http, h, {"/static/desk.css"}, 50, &failures);
  auto baseline = timeGets(http, h, {"/static/desk.css"}, queries, &failures);
  std::vector<std::string> byLatin, byCyrillic, byFilter, pages, cards;
  for (const auto& n : latin) byLatin.push_back("/search?fragment=1&name=" + urlEncode(n));
  for (const auto& n : cyrillic) byCyrillic.push_back("/search?fragment=1&name=" + urlEncode(n));
  for (const char* role : {"prosecutor", "central-authority", "investigator", "interpol-ncb"}) {
    byFilter.push_back(std::string("/search?fragment=1&country=KG&role=") + role + "&language=ru");
  }
  for (const auto& n : latin) pages.push_back("/search?name=" + urlEncode(n));
  for (const auto& id : ids) cards.push_back("/contact?id=" + urlEncode(id));
  (void)timeGets(http, h, byLatin, 50, &failures);  // warm the page cache and the readers
  auto latinMs = timeGets(http, h, byLatin, queries, &failures);
  auto cyrillicMs = timeGets(http, h, byCyrillic, queries, &failures);
  auto filterMs = timeGets(http, h, byFilter, queries, &failures);
  auto pageMs = timeGets(http, h, pages, queries / 4, &failures);
  auto cardMs = timeGets(http, h, cards, queries / 4, &failures);
  const std::string against =
      "stylesheet p50 " + std::to_string(percentile(baseline, 0.5)).substr(0, 5) + " ms";
  rows.push_back({"baseline: GET of the desk's stylesheet, p50", percentile(baseline, 0.5), "ms",
                  "an HTTP round trip from memory"});
  rows.push_back({"desk search by Latin name, p50", percentile(latinMs, 0.5), "ms", against});
  rows.push_back({"desk search by Latin name, p99", percentile(latinMs, 0.99), "ms", ""});
  rows.push_back({"desk search by Cyrillic name, p50", percentile(cyrillicMs, 0.5), "ms", against});
  rows.push_back({"desk search by Cyrillic name, p99", percentile(cyrillicMs, 0.99), "ms", ""});
  rows.push_back(
      {"desk search by country+role+language, p50", percentile(filterMs, 0.5), "ms", against});
  rows.push_back({"desk whole search page, p50", percentile(pageMs, 0.5), "ms", against});
  rows.push_back({"desk contact card, p50", percentile(cardMs, 0.5), "ms", against});
  rows.push_back({"site daemon own memory (RssAnon), desk in use", procKiB(pid, "RssAnon") / 1024.0,
                  "MiB", scale});
  rows.push_back({"site daemon peak resident (VmHWM)", procKiB(pid, "VmHWM") / 1024.0, "MiB",
                  "LMDB pages included"});
  rows.push_back({"desk requests that failed", static_cast<double>(failures), "", "must be 0"});
  memoryRows(rows, memory, {{"site", "site daemon"}, {"broker", "broker"}},
             "RssAnon sampled every 10 ms: the publishing of " + scale + " and the searches");

  // First paint in a real browser, when one is installed.
  std::string paintLink;
  if (b.cli({"desk", "--site", s.dir, "--format", "json"}, &out) == 0) {
    paintLink = nlohmann::json::parse(out).value("link", "");
  }
  auto paint = testing::run({"/usr/bin/python3", testing::sourceDir() + "/scripts/desk_paint.py",
                             paintLink, latin.empty() ? "a" : latin.front()},
                            "", 300);
  auto j = nlohmann::json::parse(paint.out, nullptr, false);
  if (paint.exitCode == 0 && j.is_object()) {
    rows.push_back({"baseline: first paint of a one-line page, p50", j.value("baseline", 0.0), "ms",
                    "headless Chromium, " + std::to_string(j.value("loads", 0)) + " loads"});
    rows.push_back(
        {"search page first contentful paint, p50", j.value("p50", 0.0), "ms",
         "one-line page " + std::to_string(j.value("baseline", 0.0)).substr(0, 5) + " ms"});
  } else {
    std::fprintf(stderr, "bench: no first-paint figure (%s)\n", paint.err.c_str());
  }
  printRows(rows, asJson);
  return failures == 0 ? 0 : 1;
}
