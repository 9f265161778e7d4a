// The fixture of the tests that run a real network on 127.0.0.1: liaison-broker and liaison-site
// processes, driven through the `liaison` command. Every process a test starts is stopped by it,
// by PID (the fixture's Process objects, on tear-down at the latest); logs of a failed test are
// printed.
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "tests/support.h"

namespace liaison::testing {

using namespace std::chrono_literals;


class NetworkTest : public ::testing::Test {
 protected:
  TempDir tmp;
  std::string bin = binDir();
  std::unique_ptr<Process> broker;
  std::map<std::string, std::unique_ptr<Process>> daemons;
  std::vector<std::string> memberFiles;
  std::string listen;
  std::vector<std::string> brokerExtra;
  int nextId_ = 1;

  RunResult liaison(std::vector<std::string> args, int timeout = 120) {
    args.insert(args.begin(), bin + "/liaison");
    return run(args, "", timeout);
  }
  std::string site(const std::string& id) { return tmp / id; }

  void SetUp() override {
    ASSERT_EQ(liaison({"keygen", "--out", tmp / "root"}).exitCode, 0);
    ASSERT_EQ(liaison({"keygen", "--out", tmp / "broker"}).exitCode, 0);
  }
  void TearDown() override {
    daemons.clear();
    broker.reset();
    if (HasFailure()) {
      for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
        if (entry.path().extension() == ".log") {
          std::cerr << "---- " << entry.path().filename() << "\n" << readText(entry.path()) << "\n";
        }
      }
    }
  }

  // Keys and a certificate for a site; the broker admits it at its next start.
  void enroll(const std::string& id, const std::string& countries,
              const std::string& role = "authority") {
    ASSERT_EQ(liaison({"keygen", "--out", tmp / id}).exitCode, 0);
    auto cert = liaison({"enroll", "--root", tmp / "root.key", "--site", id, "--public",
                         tmp / (id + ".pub"), "--country", countries, "--network", "CASC",
                         "--role", role});
    ASSERT_EQ(cert.exitCode, 0) << cert.err;
    writeText(tmp / (id + ".member"), cert.out);
    memberFiles.push_back(tmp / (id + ".member"));
  }

  void startBroker() {
    std::vector<std::string> argv = {bin + "/liaison-broker", "--data", tmp / "broker-data",
                                     "--root", tmp / "root.pub", "--key", tmp / "broker.key",
                                     "--listen", listen.empty() ? "tcp://127.0.0.1:*" : listen,
                                     "--fanout", "tcp://127.0.0.1:*", "--heartbeat-ms", "200"};
    for (const auto& m : memberFiles) {
      argv.push_back("--member");
      argv.push_back(m);
    }
    for (const auto& e : brokerExtra) argv.push_back(e);
    std::filesystem::remove(tmp / "broker-data/endpoints");
    broker = std::make_unique<Process>(argv, tmp / "broker.log");
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(tmp / "broker-data/endpoints"); }, 10s))
        << "broker did not start";
    std::ifstream in(tmp / "broker-data/endpoints");
    std::string word;
    in >> word >> listen;  // "listen tcp://127.0.0.1:PORT"; kept for restarts on the same port
  }

  void initSite(const std::string& id) {
    auto r = liaison({"init", "--site", site(id), "--id", id, "--root", tmp / "root.pub", "--key",
                      tmp / (id + ".key"), "--member", tmp / (id + ".member"), "--broker", listen,
                      "--broker-key", tmp / "broker.pub", "--api", "127.0.0.1:0"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }

  void startSite(const std::string& id, std::vector<std::string> extra = {}) {
    std::filesystem::remove(site(id) + "/api.endpoint");
    std::vector<std::string> argv = {bin + "/liaison-site", "--site", site(id)};
    argv.insert(argv.end(), extra.begin(), extra.end());
    daemons[id] = std::make_unique<Process>(argv, tmp / (id + ".log"));
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(site(id) + "/api.endpoint"); }, 10s))
        << id << " did not start";
  }

  nlohmann::json status(const std::string& id) {
    auto r = liaison({"status", "--site", site(id), "--format", "json"}, 10);
    if (r.exitCode != 0) return {};
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  std::string dump(const std::string& id) { return liaison({"export", "--site", site(id)}).out; }

  // Every listed site's export equals the first's, and the first's holds `records` records.
  bool converged(const std::vector<std::string>& ids, size_t records) {
    std::string first = dump(ids[0]);
    if (static_cast<size_t>(std::count(first.begin(), first.end(), '\n')) != records) return false;
    for (size_t i = 1; i < ids.size(); ++i) {
      if (dump(ids[i]) != first) return false;
    }
    return true;
  }

  // `count` records with ids distinct from every earlier call's.
  std::string generate(const std::string& name, int count, int seed, const std::string& country) {
    std::string file = tmp / name;
    auto r = run({bin + "/liaison-gendir", "--count", std::to_string(count), "--first",
                  std::to_string(nextId_), "--seed", std::to_string(seed), "--countries", country,
                  "--out", file});
    nextId_ += count;
    EXPECT_EQ(r.exitCode, 0) << r.err;
    return file;
  }

  RunResult publish(const std::string& id, const std::string& file) {
    return liaison({"publish", "--site", site(id), file});
  }

  // Enrols each (id, countries), starts the broker, makes each site and starts its daemon.
  void startSites(const std::vector<std::pair<std::string, std::string>>& sites) {
    for (const auto& [id, countries] : sites) enroll(id, countries);
    startBroker();
    for (const auto& [id, countries] : sites) {
      initSite(id);
      startSite(id);
    }
  }

  // Bishkek (KG), Almaty (KZ) and Bangkok (TH), enrolled, made and running.
  void startThreeSites() {
    enroll("kg-bishkek", "KG");
    enroll("kz-almaty", "KZ");
    enroll("th-bangkok", "TH");
    startBroker();
    for (auto id : {"kg-bishkek", "kz-almaty", "th-bangkok"}) {
      initSite(id);
      startSite(id);
    }
  }
};

}  // namespace liaison::testing
