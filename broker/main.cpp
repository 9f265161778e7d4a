// liaison-broker: one per network. See DESIGN.md, "Bus" and "The daemons".
#include <CLI/CLI.hpp>
#include <spdlog/spdlog.h>
#include <toml++/toml.h>

#include <iostream>

#include "broker/daemon.h"
#include "common/daemon.h"

int main(int argc, char** argv) {
  liaison::broker::Options o;
  std::string config;
  CLI::App app{"liaison-broker: sequences and distributes a Liaison network's items"};
  app.add_option("--config", config, "TOML file (flags win over it)");
  app.add_option("--data", o.data, "the broker's data directory (LMDB)");
  app.add_option("--root", o.rootPub, "the network root's .pub file");
  app.add_option("--key", o.key, "the broker's .key file");
  app.add_option("--network", o.network, "network name");
  app.add_option("--listen", o.listen, "requests endpoint (ROUTER)");
  app.add_option("--fanout", o.fanout, "fan-out endpoint (PUB)");
  app.add_option("--member", o.members, "admit this member certificate at start (repeatable)");
  app.add_option("--log-keep", o.logKeep, "log entries to keep; older cursors get a snapshot (0: all)");
  app.add_option("--heartbeat-ms", o.heartbeatMs, "heartbeat interval")->check(CLI::Range(50, 60000));
  app.add_option("--metrics", o.metrics, "serve Prometheus metrics at http://HOST:PORT/metrics (off by default)");
  app.add_option("--etcd", o.etcd, "a broker pair: etcd's client URLs, comma-separated (http://HOST:2379[,...])");
  app.add_option("--pair-listen", o.pairListen, "a broker pair: where the other broker connects (also this broker's name)");
  app.add_option("--pair-peer", o.pairPeer, "a broker pair: the other broker's --pair-listen");
  app.add_option("--pair-peer-key", o.pairPeerKey, "a broker pair: the other broker's .pub (default: the pair shares --key)");
  app.add_option("--lease", o.leaseSeconds, "a broker pair: the leadership lease in seconds")->check(CLI::Range(1, 60));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "liaison-broker: " << e.what() << "\n";
    return 2;
  }
  if (!config.empty()) {
    try {
      auto t = toml::parse_file(config);
      auto fill = [&](std::string& field, const char* key) {
        if (app.count(std::string("--") + key) == 0) {
          if (auto v = t["broker"][key].value<std::string>()) field = *v;
        }
      };
      fill(o.data, "data");
      fill(o.rootPub, "root");
      fill(o.key, "key");
      fill(o.network, "network");
      fill(o.listen, "listen");
      fill(o.fanout, "fanout");
      fill(o.metrics, "metrics");
      fill(o.etcd, "etcd");
      fill(o.pairListen, "pair_listen");
      fill(o.pairPeer, "pair_peer");
      fill(o.pairPeerKey, "pair_peer_key");
      if (app.count("--lease") == 0) o.leaseSeconds = t["broker"]["lease"].value_or(o.leaseSeconds);
      if (app.count("--log-keep") == 0) o.logKeep = t["broker"]["log_keep"].value_or(o.logKeep);
      if (app.count("--member") == 0) {
        if (auto* arr = t["broker"]["members"].as_array()) {
          for (auto& m : *arr) {
            if (auto s = m.value<std::string>()) o.members.push_back(*s);
          }
        }
      }
    } catch (const toml::parse_error& e) {
      std::cerr << "liaison-broker: " << config << ": " << e.description() << "\n";
      return 2;
    }
  }
  if (o.data.empty() || o.rootPub.empty() || o.key.empty()) {
    std::cerr << "liaison-broker: --data, --root and --key are required\n";
    return 2;
  }
  liaison::setupDaemonLogging("liaison-broker");
  liaison::boundAllocator();
  static std::atomic<bool> stop{false};
  liaison::installStopSignals(stop);
  auto st = liaison::broker::run(o, stop);
  if (!st) {
    std::cerr << "liaison-broker: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}
