// A site's data directory: what `liaison init` makes and every command and daemon opens.
//
//   DIR/site.toml    configuration (id, network, key and certificate paths, API, broker)
//   DIR/site.key     the site's secret keys (0600), copied from --key
//   DIR/site.pub     its public keys
//   DIR/site.member  its member certificate, signed by the network root (armoured)
//   DIR/root.pub     the network root's public keys
//   DIR/db/          the LMDB replica (data.mdb, lock.mdb)
//   DIR/api.token    the local HTTP API's token (0600): needed for anything that writes or sends
//   DIR/api.endpoint where the site daemon's API listens, written by the daemon while it runs
#pragma once

#include <memory>
#include <string>

#include "common/result.h"
#include "directory/directory.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison::directory {

struct SiteConfig {
  std::string dir;
  std::string id;
  std::string network;
  std::string keyPath, memberPath, rootPath, dbPath;
  std::string api = "127.0.0.1:7480";
  std::string broker;         // empty: standalone
  std::string brokerKeyPath;  // the broker's public keys
  size_t mapSize = size_t{4} << 30;
  std::string onNewAlert;     // [alerts] on_new
};

// Reads DIR/site.toml. Relative paths in it are relative to DIR.
Result<SiteConfig> loadSiteConfig(const std::string& dir);
// The same from the text of a site.toml (named `path` in messages).
Result<SiteConfig> parseSiteConfig(const std::string& dir, const std::string& path, std::string_view text);

struct InitOptions {
  std::string dir, id, rootPub, key, member;
  std::string broker, brokerKey, api = "127.0.0.1:7480";
};

// Makes a site directory: checks that the certificate is signed by the root, names this site
// and carries this key; copies the files in; creates the replica with the root and certificate.
// Refuses a directory that already holds a site.
Status initSite(const InitOptions& options, int64_t now);

// Opens the replica of an initialised site.
Result<std::unique_ptr<Directory>> openSiteDirectory(const SiteConfig& config, bool readOnly);

}  // namespace liaison::directory
