// The fixture of the tests that run two networks on 127.0.0.1: CASC and SEAJust, each with its
// own root, broker and sites, and liaison-bridge between them, driven through the `liaison`
// command. Every process a test starts is stopped by it, by PID; logs of a failed test are
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

class FederationTest : public ::testing::Test {
 protected:
  struct Network {
    std::unique_ptr<Process> broker;
    std::string listen;
    std::vector<std::string> members;
  };
  TempDir tmp;
  std::string bin = binDir();
  std::map<std::string, Network> nets;
  std::map<std::string, std::unique_ptr<Process>> daemons;  // sites, and "bridge"
  std::map<std::string, std::string> networkOf;             // site id → network
  int nextId_ = 1;

  RunResult liaison(std::vector<std::string> args, int timeout = 120) {
    args.insert(args.begin(), bin + "/liaison");
    return run(args, "", timeout);
  }
  std::string site(const std::string& id) { return tmp / id; }

  void SetUp() override {
    for (std::string net : {"CASC", "SEAJust"}) {
      ASSERT_EQ(liaison({"keygen", "--out", tmp / (net + "-root")}).exitCode, 0);
      ASSERT_EQ(liaison({"keygen", "--out", tmp / (net + "-broker")}).exitCode, 0);
    }
  }
  void TearDown() override {
    daemons.clear();
    for (auto& [name, n] : nets) n.broker.reset();
    if (HasFailure()) {
      for (const auto& entry : std::filesystem::directory_iterator(tmp.path())) {
        if (entry.path().extension() == ".log") {
          std::cerr << "---- " << entry.path().filename() << "\n" << readText(entry.path()) << "\n";
        }
      }
    }
  }

  // Keys (named `keyName`, made once) and a certificate of `net`'s root for a site.
  void enroll(const std::string& net, const std::string& id, const std::string& countries,
              const std::string& role = "authority", std::string keyName = "") {
    if (keyName.empty()) keyName = id;
    if (!std::filesystem::exists(tmp / (keyName + ".key"))) {
      ASSERT_EQ(liaison({"keygen", "--out", tmp / keyName}).exitCode, 0);
    }
    std::vector<std::string> argv = {"enroll", "--root", tmp / (net + "-root.key"), "--site", id,
                                     "--public", tmp / (keyName + ".pub"), "--network", net, "--role", role};
    if (!countries.empty()) {
      argv.push_back("--country");
      argv.push_back(countries);
    }
    auto cert = liaison(argv);
    ASSERT_EQ(cert.exitCode, 0) << cert.err;
    writeText(tmp / (id + ".member"), cert.out);
    nets[net].members.push_back(tmp / (id + ".member"));
    networkOf[id] = net;
  }

  void startBroker(const std::string& net) {
    Network& n = nets[net];
    const std::string data = tmp / (net + "-broker-data");
    std::vector<std::string> argv = {bin + "/liaison-broker", "--data", data, "--root", tmp / (net + "-root.pub"),
                                     "--key", tmp / (net + "-broker.key"), "--network", net,
                                     "--listen", n.listen.empty() ? "tcp://127.0.0.1:*" : n.listen,
                                     "--fanout", "tcp://127.0.0.1:*", "--heartbeat-ms", "200"};
    for (const auto& m : n.members) {
      argv.push_back("--member");
      argv.push_back(m);
    }
    std::filesystem::remove(data + "/endpoints");
    n.broker = std::make_unique<Process>(argv, tmp / (net + "-broker.log"));
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(data + "/endpoints"); }, 10s)) << net << " broker";
    std::ifstream in(data + "/endpoints");
    std::string word;
    in >> word >> n.listen;
  }

  void initSite(const std::string& id, std::string keyName = "") {
    if (keyName.empty()) keyName = id;
    const std::string net = networkOf[id];
    auto r = liaison({"init", "--site", site(id), "--id", id, "--root", tmp / (net + "-root.pub"), "--key",
                      tmp / (keyName + ".key"), "--member", tmp / (id + ".member"), "--broker",
                      nets[net].listen, "--broker-key", tmp / (net + "-broker.pub"), "--api", "127.0.0.1:0"});
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }

  void startSite(const std::string& id) {
    std::filesystem::remove(site(id) + "/api.endpoint");
    daemons[id] = std::make_unique<Process>(std::vector<std::string>{bin + "/liaison-site", "--site", site(id)},
                                            tmp / (id + ".log"));
    ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(site(id) + "/api.endpoint"); }, 10s))
        << id << " did not start";
  }

  void startBridge() {
    for (auto id : {"casc-bridge", "seajust-bridge"}) std::filesystem::remove(site(id) + "/api.endpoint");
    daemons["bridge"] = std::make_unique<Process>(
        std::vector<std::string>{bin + "/liaison-bridge", "--site", site("casc-bridge"), "--site",
                                 site("seajust-bridge")},
        tmp / "bridge.log");
    for (auto id : {"casc-bridge", "seajust-bridge"}) {
      ASSERT_TRUE(waitFor([&] { return std::filesystem::exists(site(id) + "/api.endpoint"); }, 10s))
          << "bridge side " << id << " did not start";
    }
  }

  // A peering signed by `net`'s root with `peer`, written to a file.
  std::string peering(const std::string& net, const std::string& peer, std::vector<std::string> extra = {}) {
    std::vector<std::string> argv = {"peer", "--root", tmp / (net + "-root.key"), "--network", net,
                                     "--peer", peer, "--peer-root", tmp / (peer + "-root.pub")};
    argv.insert(argv.end(), extra.begin(), extra.end());
    auto r = liaison(argv);
    EXPECT_EQ(r.exitCode, 0) << r.err;
    std::string file = tmp / (net + "~" + peer + "-" + std::to_string(nextId_++) + ".peering");
    writeText(file, r.out);
    return file;
  }

  RunResult publish(const std::string& id, const std::string& file) {
    return liaison({"publish", "--site", site(id), file});
  }

  nlohmann::json status(const std::string& id) {
    auto r = liaison({"status", "--site", site(id), "--format", "json"}, 10);
    if (r.exitCode != 0) return {};
    return nlohmann::json::parse(r.out, nullptr, false);
  }

  // The ids `find` returns at `at` for these extra flags (empty when nothing matched).
  std::vector<std::string> found(const std::string& at, std::vector<std::string> flags) {
    std::vector<std::string> argv = {"find", "--site", site(at), "--format", "json", "--limit", "1000"};
    argv.insert(argv.end(), flags.begin(), flags.end());
    auto r = liaison(argv, 30);
    std::vector<std::string> ids;
    if (r.exitCode != 0) return ids;
    for (const auto& h : nlohmann::json::parse(r.out)) ids.push_back(h["id"]);
    return ids;
  }

  // CASC: Bishkek (KG), Almaty (KZ), the CASC secretariat; SEAJust: Bangkok (TH), the SEAJust
  // secretariat; the bridge, enrolled in both with one key pair. Everything running, peered
  // both ways with the default policy (`cascPeering` and `seajustPeering` extra flags).
  void startTwoNetworks(std::vector<std::string> cascPeering = {}, std::vector<std::string> seajustPeering = {},
                        bool peer = true) {
    enroll("CASC", "kg-bishkek", "KG");
    enroll("CASC", "kz-almaty", "KZ");
    enroll("CASC", "casc-secretariat", "", "secretariat");
    enroll("CASC", "casc-bridge", "", "bridge", "bridge");
    enroll("SEAJust", "th-bangkok", "TH");
    enroll("SEAJust", "seajust-secretariat", "", "secretariat");
    enroll("SEAJust", "seajust-bridge", "", "bridge", "bridge");
    startBroker("CASC");
    startBroker("SEAJust");
    for (auto id : {"kg-bishkek", "kz-almaty", "casc-secretariat", "th-bangkok", "seajust-secretariat"}) {
      initSite(id);
      startSite(id);
    }
    initSite("casc-bridge", "bridge");
    initSite("seajust-bridge", "bridge");
    startBridge();
    if (!peer) return;
    auto r = publish("casc-secretariat", peering("CASC", "SEAJust", cascPeering));
    ASSERT_EQ(r.exitCode, 0) << r.err;
    r = publish("seajust-secretariat", peering("SEAJust", "CASC", seajustPeering));
    ASSERT_EQ(r.exitCode, 0) << r.err;
  }

  std::string contactFile(const std::string& name, const std::string& id, const std::string& extra) {
    std::string file = tmp / name;
    writeText(file, contactJson(id, extra));
    return file;
  }
};

}  // namespace liaison::testing
