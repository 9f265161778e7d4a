// A real etcd (Debian's etcd-server) on 127.0.0.1 for the tests of the broker pair: one member on
// free ports, its data in `dir`, stopped by its Process (by PID).
#pragma once

#include <memory>
#include <string>

#include "ha/etcd.h"
#include "tests/support.h"

namespace liaison::testing {

struct EtcdMember {
  std::unique_ptr<Process> process;
  std::string url;  // http://127.0.0.1:PORT
};

// Starts the member and waits (20 s at most) until it answers; process is null when it did not.
inline EtcdMember startEtcd(const std::string& dir, const std::string& log) {
  using namespace std::chrono_literals;
  EtcdMember m;
  const int client = freePort(), peer = freePort();
  m.url = "http://127.0.0.1:" + std::to_string(client);
  const std::string peerUrl = "http://127.0.0.1:" + std::to_string(peer);
  m.process = std::make_unique<Process>(
      std::vector<std::string>{"/usr/bin/etcd", "--name", "t", "--data-dir", dir, "--listen-client-urls", m.url,
                               "--advertise-client-urls", m.url, "--listen-peer-urls", peerUrl,
                               "--initial-advertise-peer-urls", peerUrl, "--initial-cluster", "t=" + peerUrl},
      log);
  auto probe = ha::EtcdClient::create({m.url});
  if (!probe.ok() || !waitFor([&] { return (*probe)->get("probe").ok(); }, 20s)) m.process.reset();
  return m;
}

}  // namespace liaison::testing
