// A site's data directory: what `liaison init` makes and every command and daemon opens.
//
//   DIR/site.toml    configuration (id, network, key and certificate paths, API, broker or pair)
//   DIR/site.key     the site's secret keys (0600), copied from --key
//   DIR/site.pub     its public keys
//   DIR/site.member  its member certificate, signed by the network root (armoured)
//   DIR/root.pub     the network root's public keys
//   DIR/broker.pub   the broker's public keys (a pair sharing one key pair too); a pair with a key
//                    pair each: DIR/broker-1.pub, DIR/broker-2.pub, in the order of the endpoints
//   DIR/db/          the LMDB replica (data.mdb, lock.mdb)
//   DIR/api.token    the local HTTP API's token (0600): needed for anything that writes or sends
//   DIR/api.endpoint where the site daemon's API listens, written by the daemon while it runs
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "common/result.h"
#include "directory/directory.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison::directory {

// One broker a site may talk to.
struct BrokerAddress {
  std::string endpoint;  // its request socket, "tcp://HOST:PORT"
  std::string keyPath;   // its public keys
  bool operator==(const BrokerAddress&) const = default;
};

struct SiteConfig {
  std::string dir;
  std::string id;
  std::string network;
  std::string keyPath, memberPath, rootPath, dbPath;
  std::string api = "127.0.0.1:7480";
  // Empty: standalone. One: the network's broker. Several: a broker pair (DESIGN.md, "High
  // availability and operations"): one leads, the site daemon finds which and follows it.
  std::vector<BrokerAddress> brokers;
  size_t mapSize = size_t{4} << 30;
  std::string onNewAlert;     // [alerts] on_new
  std::string onRequestEvent;  // [requests] on_event: a new request, a step, a deadline reminder

  bool networked() const { return !brokers.empty(); }
  // The endpoints, ", " between them ("" when standalone).
  std::string brokerList() const;
};

// Reads DIR/site.toml. Relative paths in it are relative to DIR.
// [broker] names one broker (endpoint = "tcp://...", key = "broker.pub") or several
// (endpoints = ["tcp://A:7400", "tcp://B:7400"], keys = ["broker.pub"]: one key file shared by
// all, or one per endpoint in the same order). Anything else there is an error naming the file.
Result<SiteConfig> loadSiteConfig(const std::string& dir);
// The same from the text of a site.toml (named `path` in messages).
Result<SiteConfig> parseSiteConfig(const std::string& dir, const std::string& path, std::string_view text);

struct InitOptions {
  std::string dir, id, rootPub, key, member;
  // None: standalone. Several: a broker pair, with one key file shared by all (a pair sharing
  // one key pair) or one per broker, in the same order.
  std::vector<std::string> brokers, brokerKeys;
  std::string api = "127.0.0.1:7480";
};

// Makes a site directory: checks that the certificate is signed by the root, names this site
// and carries this key; copies the files in; creates the replica with the root and certificate.
// Refuses a directory that already holds a site, and brokers and keys that do not pair up
// (kInvalidInput naming the --broker / --broker-key options).
Status initSite(const InitOptions& options, int64_t now);

// Opens the replica of an initialised site.
Result<std::unique_ptr<Directory>> openSiteDirectory(const SiteConfig& config, bool readOnly);

}  // namespace liaison::directory
