// liaison-bench-directory: the directory's figures on a synthetic directory, each beside the
// machine baseline it is bounded by, measured in the same run.
//
//   liaison-bench-directory [--records N] [--queries N] [--runs N] [--json] [--find-only]
//
// --find-only: only the structured find (country+role+topic), on a replica filled with the
// signatures checked on all cores first; no baselines (for profiling, e.g. under callgrind).
//
// Figures: raw Ed25519 verify rate; raw LMDB batched put and get; publish (verify + store) rate
// of pre-signed records; find by country+role+topic (p50/p99), with --available-now, as
// counterpart asks, and by name (p50/p99), in-process; the whole-process time of `liaison find`;
// bytes per record on disk. Medians over --runs.
#include <sodium.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <random>
#include <string>
#include <vector>

#include "common/lmdb.h"
#include "directory/directory.h"
#include "schemas/json.h"
#include "tests/support.h"
#include "trust/keys.h"

namespace {

using namespace liaison;
using Steady = std::chrono::steady_clock;

double seconds(Steady::time_point a, Steady::time_point b) {
  return std::chrono::duration<double>(b - a).count();
}

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t i = static_cast<size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

double median(std::vector<double> v) { return percentile(std::move(v), 0.5); }

struct Row {
  std::string name;
  double value;
  std::string unit;
  std::string baseline;  // what it is compared with
  double ratio;          // value / baseline value (0: none)
};

void print(const std::vector<Row>& rows, bool asJson) {
  if (asJson) {
    std::printf("[\n");
    for (size_t i = 0; i < rows.size(); ++i) {
      const auto& r = rows[i];
      std::printf("  {\"name\": \"%s\", \"value\": %.3f, \"unit\": \"%s\", \"baseline\": \"%s\", \"ratio\": %.3f}%s\n",
                  r.name.c_str(), r.value, r.unit.c_str(), r.baseline.c_str(), r.ratio,
                  i + 1 < rows.size() ? "," : "");
    }
    std::printf("]\n");
    return;
  }
  std::printf("%-44s %14s  %-10s %s\n", "figure", "median", "unit", "against baseline");
  for (const auto& r : rows) {
    std::printf("%-44s %14.2f  %-10s %s", r.name.c_str(), r.value, r.unit.c_str(), r.baseline.c_str());
    if (r.ratio > 0) std::printf(" (x%.2f)", r.ratio);
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  size_t records = 100000, queries = 2000, limit = 20;
  int runs = 3;
  bool asJson = false, findOnly = false;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "liaison-bench-directory: %s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--records") {
      records = std::stoul(next());
    } else if (a == "--queries") {
      queries = std::stoul(next());
    } else if (a == "--limit") {
      limit = std::stoul(next());
    } else if (a == "--runs") {
      runs = std::stoi(next());
    } else if (a == "--json") {
      asJson = true;
    } else if (a == "--find-only") {
      findOnly = true;
    } else {
      std::fprintf(stderr, "usage: liaison-bench-directory [--records N] [--queries N] [--runs N] [--json] [--find-only]\n");
      return 2;
    }
  }
  if (sodium_init() < 0) return 1;
  testing::TempDir tmp;
  const std::string bin = testing::binDir();
  const std::string countries = "KG,KZ,TJ,UZ,TM,AM,AZ,GE,TH,VN,KH,LA,MM,MY,ID,PH,BN";
  const int64_t now = 1'795'000'000;  // 2026-11-18

  // Input: synthetic JSON lines, parsed and signed outside the timed part.
  std::string file = tmp / "dir.jsonl";
  auto gen = testing::run({bin + "/liaison-gendir", "--count", std::to_string(records), "--seed",
                           "7", "--countries", countries, "--out", file});
  if (gen.exitCode != 0) {
    std::fprintf(stderr, "liaison-gendir failed: %s\n", gen.err.c_str());
    return 1;
  }
  auto text = testing::readText(file);
  auto parsed = json::parseInput(file, text);
  if (!parsed) {
    std::fprintf(stderr, "%s\n", parsed.error().message.c_str());
    return 1;
  }
  auto root = trust::generateKeyPair();
  auto site = trust::generateKeyPair();
  std::vector<std::string> cc;
  for (size_t s = 0; s < countries.size(); s += 3) cc.push_back(countries.substr(s, 2));
  auto cert = testing::certFor("bench-site", site, cc, "secretariat", now - 86400, now + 86400 * 365);
  auto signedCert = trust::sign(trust::memberItem(cert), "root", root);
  std::vector<SignedItem> items;
  items.reserve(parsed->size());
  for (auto& i : *parsed) items.push_back(trust::sign(std::move(std::get<OwnedItem>(i)), "bench-site", site));

  std::vector<Row> rows;

  // Baseline: raw Ed25519 verification of the same messages.
  std::vector<double> verifyRates;
  for (int r = 0; r < (findOnly ? 0 : runs); ++r) {
    size_t n = std::min<size_t>(items.size(), 20000);
    auto t0 = Steady::now();
    size_t ok = 0;
    for (size_t i = 0; i < n; ++i) ok += trust::signatureValid(items[i]) ? 1 : 0;
    auto t1 = Steady::now();
    if (ok != n) return 1;
    verifyRates.push_back(static_cast<double>(n) / seconds(t0, t1));
  }
  double verifyRate = findOnly ? 1 : median(verifyRates);
  if (!findOnly) rows.push_back({"ed25519 verify (libsodium, 1 core)", verifyRate, "/s", "baseline", 0});

  // Baseline: raw LMDB, batched puts of values the size of a stored record, then gets.
  std::vector<double> putRates, getRates;
  size_t avgValue = 0;
  for (const auto& i : items) avgValue += i.encode().size();
  avgValue /= std::max<size_t>(items.size(), 1);
  for (int r = 0; r < (findOnly ? 0 : runs); ++r) {
    std::string path = tmp / ("raw" + std::to_string(r));
    lmdb::Env::Options o;
    auto env = lmdb::Env::open(path, o);
    auto txn = lmdb::Txn::beginWrite(*env);
    auto dbi = lmdb::openDbi(*txn, "raw", 0);
    std::string value(avgValue, 'x');
    auto t0 = Steady::now();
    for (size_t i = 0; i < records; ++i) {
      (void)txn->put(*dbi, "gen-" + std::to_string(i), value);
    }
    (void)std::move(*txn).commit();
    auto t1 = Steady::now();
    putRates.push_back(static_cast<double>(records) / seconds(t0, t1));
    auto rtxn = lmdb::Txn::beginRead(*env);
    std::mt19937 rng(1);
    size_t found = 0;
    auto t2 = Steady::now();
    for (size_t i = 0; i < records; ++i) {
      auto v = rtxn->get(*dbi, "gen-" + std::to_string(rng() % records));
      found += v.ok() && v->has_value() ? 1 : 0;
    }
    auto t3 = Steady::now();
    getRates.push_back(static_cast<double>(found) / seconds(t2, t3));
  }
  if (!findOnly) {
    rows.push_back({"lmdb batched put (" + std::to_string(avgValue) + " B values)", median(putRates), "/s", "baseline", 0});
    rows.push_back({"lmdb random get", median(getRates), "/s", "baseline", 0});
  }

  // An empty replica that knows the root and the publishing site's certificate.
  auto freshDirectory = [&](const std::string& path) -> Result<std::unique_ptr<directory::Directory>> {
    auto d = directory::Directory::open(path, directory::Directory::Options{});
    if (!d) return d.error();
    auto b = (*d)->begin();
    if (!b) return b.error();
    LIAISON_TRY(b->setRoot(root.pub.sign));
    auto applied = b->apply(signedCert, now);
    if (!applied) return applied.error();
    LIAISON_TRY(std::move(*b).commit());
    return d;
  };

  // Publish: verify + store every record, one transaction (what `liaison publish` does).
  std::vector<double> publishRates;
  std::unique_ptr<directory::Directory> dir;
  std::string dbPath;
  for (int r = 0; r < (findOnly ? 0 : runs); ++r) {
    dbPath = tmp / ("db" + std::to_string(r));
    auto d = freshDirectory(dbPath);
    if (!d) return 1;
    auto t0 = Steady::now();
    auto batch = (*d)->begin();
    for (const auto& item : items) {
      auto res = batch->apply(item, now);
      if (!res || res->outcome != directory::Outcome::kApplied) {
        std::fprintf(stderr, "apply failed\n");
        return 1;
      }
    }
    if (!std::move(*batch).commit()) return 1;
    auto t1 = Steady::now();
    publishRates.push_back(static_cast<double>(items.size()) / seconds(t0, t1));
    dir = std::move(d).value();
  }
  double publishRate = findOnly ? 0 : median(publishRates);
  if (!findOnly) {
    rows.push_back({"publish: verify + store (1 core)", publishRate, "records/s",
                    "ed25519 verify", publishRate / verifyRate});
  }
  // The same with the signatures checked on every core first (what a site does on catch-up).
  {
    std::string path = tmp / "db-parallel";
    auto d = freshDirectory(path);
    if (!d) return 1;
    auto t0 = Steady::now();
    std::vector<const SignedItem*> pointers;
    for (const auto& item : items) pointers.push_back(&item);
    auto valid = trust::signaturesValid(pointers);
    auto batch = (*d)->begin();
    for (size_t i = 0; i < items.size(); ++i) {
      if (!valid[i]) return 1;
      auto res = batch->apply(items[i], now, /*signatureChecked=*/true);
      if (!res || res->outcome != directory::Outcome::kApplied) return 1;
    }
    if (!std::move(*batch).commit()) return 1;
    double rate = static_cast<double>(items.size()) / seconds(t0, Steady::now());
    if (findOnly) {
      dir = std::move(d).value();
    } else {
      rows.push_back({"publish: signatures on all cores, then store", rate, "records/s",
                      "ed25519 verify, 1 core", rate / verifyRate});
    }
  }

  // find by country + role + topic: random combinations, in-process.
  static const char* kRoles[] = {"prosecutor", "central-authority", "investigator", "interpol-ncb", "judge"};
  static const char* kTopics[] = {"trafficking-in-persons", "smuggling-of-migrants", "cybercrime", "money-laundering", "forced-labour"};
  // The 425 combinations repeat (as a directory's popular queries do), and a find keeps where
  // it found things in the replica's current state; so the same queries are also timed each
  // just after a commit (the cursor written), when nothing is kept.
  std::mt19937 rng(3);
  std::vector<double> structured, afterCommit;
  size_t hitsTotal = 0;
  auto structuredQuery = [&](std::mt19937& r) {
    directory::Query query;
    query.country = cc[r() % cc.size()];
    query.role = kRoles[r() % 5];
    query.topic = kTopics[r() % 5];
    query.limit = limit;
    return query;
  };
  for (size_t q = 0; q < queries; ++q) {
    auto query = structuredQuery(rng);
    auto t0 = Steady::now();
    auto hits = dir->find(query, now);
    auto t1 = Steady::now();
    if (!hits) return 1;
    hitsTotal += hits->size();
    structured.push_back(seconds(t0, t1) * 1e6);
  }
  std::mt19937 rngAfterCommit(4);  // (rng goes on to the queries below as before)
  for (size_t q = 0; q < std::min<size_t>(queries, 300); ++q) {
    auto query = structuredQuery(rngAfterCommit);
    auto batch = dir->begin();
    if (!batch || !batch->setCursor({1, q + 1}) || !std::move(*batch).commit()) return 1;
    auto t0 = Steady::now();
    auto hits = dir->find(query, now);
    auto t1 = Steady::now();
    if (!hits) return 1;
    afterCommit.push_back(seconds(t0, t1) * 1e6);
  }
  rows.push_back({"find country+role+topic p50 (limit " + std::to_string(limit) + ")", percentile(structured, 0.5), "us", "", 0});
  rows.push_back({"find country+role+topic p99", percentile(structured, 0.99), "us", "", 0});
  rows.push_back({"find country+role+topic p50, each after a commit", percentile(afterCommit, 0.5), "us", "", 0});
  if (findOnly) {
    std::fprintf(stderr, "%zu records, %zu structured queries (%.1f hits each)\n", records,
                 queries, static_cast<double>(hitsTotal) / static_cast<double>(queries));
    print(rows, asJson);
    return 0;
  }

  // The same with a post-filter (--available-now: a candidate's hours in its time zone decide),
  // and counterpart's query (the six focal-point roles, ranked by role, then languages).
  std::vector<double> availableNow, counterpart;
  for (size_t q = 0; q < queries / 4; ++q) {
    directory::Query query;
    query.country = cc[rng() % cc.size()];
    query.topic = kTopics[rng() % 5];
    query.limit = limit;
    query.availableNow = true;
    auto t0 = Steady::now();
    auto hits = dir->find(query, now);
    auto t1 = Steady::now();
    if (!hits) return 1;
    availableNow.push_back(seconds(t0, t1) * 1e6);
    query.availableNow = false;
    query.anyOfRoles = {"central-authority", "prosecutor",      "network-contact-point",
                        "interpol-ncb",      "liaison-officer", "investigator"};
    query.rolePreference = query.anyOfRoles;
    query.preferLanguages = {"ru", "en"};
    t0 = Steady::now();
    hits = dir->find(query, now);
    t1 = Steady::now();
    if (!hits) return 1;
    counterpart.push_back(seconds(t0, t1) * 1e6);
  }
  rows.push_back(
      {"find country+topic, available now, p50", percentile(availableNow, 0.5), "us", "", 0});
  rows.push_back(
      {"find counterpart (6 roles ranked) p50", percentile(counterpart, 0.5), "us", "", 0});

  // find by name: names of stored records, a third in original script, a third misspelt.
  std::vector<std::string> names;
  for (size_t i = 0; i < items.size() && names.size() < queries; i += items.size() / queries + 1) {
    auto c = items[i].item.reader().getRecord().getBody().getContact();
    std::string latin = c.getName().getLatin().cStr();
    std::string family = latin.substr(latin.rfind(' ') + 1);
    std::string original = c.getName().getOriginal().cStr();
    switch (names.size() % 3) {
      case 0: names.push_back(family); break;
      case 1:
        names.push_back(original.empty() ? family : original.substr(original.rfind(' ') + 1));
        break;
      default: {
        std::string typo = family;
        if (typo.size() > 5) std::swap(typo[2], typo[3]);  // a transposition
        names.push_back(typo);
      }
    }
  }
  // One query first so that the transliterator is built outside the timing (as in a daemon).
  {
    directory::Query warm;
    warm.name = "Кудаяров";
    (void)dir->find(warm, now);
  }
  std::vector<double> byName;
  size_t nameHits = 0;
  for (const auto& n : names) {
    directory::Query query;
    query.name = n;
    auto t0 = Steady::now();
    auto hits = dir->find(query, now);
    auto t1 = Steady::now();
    if (!hits) return 1;
    nameHits += hits->empty() ? 0 : 1;
    byName.push_back(seconds(t0, t1) * 1e6);
  }
  rows.push_back({"find by name p50 (any script, typos)", percentile(byName, 0.5), "us", "", 0});
  rows.push_back({"find by name p99", percentile(byName, 0.99), "us", "", 0});
  if (nameHits * 10 < names.size() * 9) {
    std::fprintf(stderr, "only %zu of %zu name queries found anyone\n", nameHits, names.size());
    return 1;
  }

  // Whole process: `liaison find` on a site holding this replica.
  {
    std::string siteDir = tmp / "site";
    std::filesystem::create_directories(siteDir);
    std::filesystem::rename(dbPath, siteDir + "/db");
    testing::writeText(siteDir + "/site.toml", "[site]\nid = \"bench-site\"\n");
    dir.reset();
    std::vector<double> proc, procName;
    for (int r = 0; r < 21; ++r) {
      auto t0 = Steady::now();
      auto res = testing::run({bin + "/liaison", "find", "--site", siteDir, "--country", "TH",
                               "--role", "central-authority", "--topic", "trafficking-in-persons"});
      auto t1 = Steady::now();
      if (res.exitCode != 0) {
        std::fprintf(stderr, "liaison find: %s\n", res.err.c_str());
        return 1;
      }
      proc.push_back(seconds(t0, t1) * 1e3);
      t0 = Steady::now();
      res = testing::run({bin + "/liaison", "find", "--site", siteDir, "--name", "Sadykov"});
      t1 = Steady::now();
      procName.push_back(seconds(t0, t1) * 1e3);
    }
    auto t0 = Steady::now();
    (void)testing::run({"/bin/true"});
    auto t1 = Steady::now();
    double spawn = seconds(t0, t1) * 1e3;
    rows.push_back({"`liaison find` process, structured", median(proc), "ms", "spawn of /bin/true", median(proc) / spawn});
    rows.push_back({"`liaison find` process, by name (ASCII)", median(procName), "ms", "spawn of /bin/true", median(procName) / spawn});
    auto d = directory::Directory::open(siteDir + "/db", {true, size_t{4} << 30, false});
    auto bytes = (*d)->diskBytes();
    rows.push_back({"replica on disk per record", static_cast<double>(*bytes) / static_cast<double>(records), "bytes",
                    "envelope size", static_cast<double>(*bytes) / static_cast<double>(records) / static_cast<double>(avgValue)});
  }
  std::fprintf(stderr, "%zu records, %zu structured queries (%.1f hits each), %zu name queries\n",
               records, queries, static_cast<double>(hitsTotal) / static_cast<double>(queries), names.size());
  print(rows, asJson);
  return 0;
}
