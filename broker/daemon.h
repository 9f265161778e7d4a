// liaison-broker's event loop: one thread owns the ROUTER (requests), the PUB (fan-out) and the
// broker core; a ZAP handler thread admits members. Stops when `stop` becomes true (SIGTERM).
#pragma once

#include <atomic>
#include <string>
#include <vector>

#include "common/result.h"

namespace liaison::broker {

struct Options {
  std::string data;             // LMDB directory
  std::string rootPub;          // the network root's public keys
  std::string key;              // the broker's secret keys
  std::string network = "CASC";
  std::string listen = "tcp://127.0.0.1:7400";
  std::string fanout = "tcp://127.0.0.1:7401";
  std::vector<std::string> members;  // certificates to admit at start (armoured files)
  uint64_t logKeep = 0;              // log entries kept; older cursors get a snapshot (0: all)
  int heartbeatMs = 1000;
  size_t mapSize = size_t{8} << 30;
  int maxSnapshots = 4;              // sites taking a snapshot at once
  std::string metrics;               // HOST:PORT of the Prometheus endpoint (/metrics); "" off
  // The broker pair (all three, or none: a broker alone). See broker/pair.h.
  std::string etcd;                  // "http://HOST:PORT[,...]"
  std::string pairListen;            // where the standby connects; also this broker's name
  std::string pairPeer;              // the other broker's --pair-listen
  std::string pairPeerKey;           // the other broker's .pub ("" : the pair shares --key)
  int leaseSeconds = 2;
  bool paired() const { return !etcd.empty(); }
};

// Runs until `stop`; returns an error (one line) when it cannot start, and when a leader of a pair
// lost its lease (it stops at once; started again, it follows the new leader as its standby).
Status run(const Options& options, const std::atomic<bool>& stop);

}  // namespace liaison::broker
