// What a program built on the site daemon adds to it: the Interpol adapter (adapters/) is a
// site daemon with an extension that forwards the alerts it receives and publishes notices.
#pragma once

#include <string>

#include "bus/protocol.h"
#include "common/result.h"
#include "directory/site.h"
#include "site/service.h"
#include "trust/keys.h"

namespace liaison::site {

class Extension {
 public:
  virtual ~Extension() = default;
  // Called once the daemon is ready, before its loop runs. `service`, `config` and `keys` stay
  // valid until stop() returns. An error stops the daemon with that reason.
  virtual Status start(SiteService& service, const directory::SiteConfig& config,
                       const trust::KeyPair& keys) = 0;
  // Stops the extension's threads; called once the daemon's loop has stopped (calls into the
  // service then fail fast with Errc::kUnavailable).
  virtual void stop() = 0;
  // A new alert is stored in this site's inbox. Called on the daemon's loop: must not block.
  virtual void onNewAlert(const std::string& id) = 0;
  // An answer to one of this site's own alerts is stored. Called on the daemon's loop.
  virtual void onAnswer(const std::string& alertId, const Bytes& envelope) {
    (void)alertId;
    (void)envelope;
  }
  // Entries of the broker's log (or a snapshot) about to be applied to the replica, in the order
  // they arrived, before the replica's transaction commits: an error stops that commit (and
  // the entries are fetched again). Called on the daemon's loop.
  virtual Status onEntries(const std::vector<bus::Entry>& entries) {
    (void)entries;
    return {};
  }
  // The extension's state as a JSON object, shown by GET /v1/status and `liaison status`.
  // Any thread.
  virtual std::string statusJson() const = 0;
  // Whether the site receipts alerts as soon as they are stored (true), or the extension makes
  // the receipt itself (an adapter receipts once the alert is handed on).
  virtual bool autoReceipt() const { return true; }
};

}  // namespace liaison::site
