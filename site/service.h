// What the site daemon's event loop offers the rest of the daemon (the local HTTP API).
// Implemented by the loop in site/daemon.cpp; every method is safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"
#include "directory/directory.h"

namespace liaison {
class MetricsText;
}

namespace liaison::site {

// The broker's answer to a submission (all or nothing).
struct PublishOutcome {
  bool accepted = false;
  uint64_t firstSeq = 0, lastSeq = 0;  // when accepted (both 0 when every item was a replay)
  uint32_t ignored = 0;                // replays dropped (already stored at that revision)
  std::string refusal, detail;         // when refused
  uint32_t index = 0;                  // which envelope was refused
};

struct SiteStatus {
  std::string site, network;
  std::string broker;                // the broker the daemon follows now
  std::vector<std::string> brokers;  // every broker of its configuration (a pair: two)
  uint64_t brokerSwitches = 0;       // moves from one broker to another since start
  bool connected = false;          // heard from the broker within the last few heartbeats
  uint64_t brokerEpoch = 0, brokerHead = 0;
  uint64_t cursorEpoch = 0, cursorSeq = 0;
  int64_t lastHeardMsAgo = -1;     // -1: never
  uint64_t applied = 0;            // items applied since start
  std::map<std::string, uint64_t> refused;  // items this replica refused, by reason
  std::string state;               // "following", "fetching", "snapshot", "connecting"
  // Alerts at this site.
  uint64_t alertsReceived = 0;     // new alerts stored since start
  uint64_t alertDuplicates = 0;    // deliveries of an alert already stored (receipt resent)
  uint64_t answersQueued = 0;      // this site's answers the broker has not accepted yet
  uint64_t answersReceived = 0;    // answers to this site's own alerts stored since start
  std::map<std::string, uint64_t> alertsRefused;  // deliveries refused, by reason
  uint64_t catchUpApplied = 0;     // entries applied since the current catch-up began (0: following)
  // What the broker said of this site's certificate, presented at start: "admitted", "held"
  // (it had it), "refused (reason): detail"; "" before it answers.
  std::string certificate;
};

// The broker's answer to an alert request (send or status).
struct AlertOutcome {
  bool accepted = false;
  std::string refusal, detail;
  std::string custody;  // JSON: the alert's state at every target
};

class AlertListCache;
class Inbox;
class RequestDesk;

class SiteService {
 public:
  virtual ~SiteService() = default;
  // Sends signed envelopes to the broker as one all-or-nothing submission and waits for its
  // answer. Errc::kUnavailable when the broker did not answer within `timeout`.
  virtual Result<PublishOutcome> submit(std::vector<Bytes> envelopes,
                                        std::chrono::milliseconds timeout) = 0;
  virtual SiteStatus status() const = 0;
  // Waits at most `timeout` until this site's replica holds the broker's log up to `seq` of its
  // current epoch (a submission's lastSeq), so what a publish answered is found here; whether it
  // does. False at once when the daemon stops. Any thread.
  virtual bool waitApplied(uint64_t seq, std::chrono::milliseconds timeout) const = 0;
  // Adds the daemon's own metrics (timings) to a /metrics answer. Any thread.
  virtual void addMetrics(MetricsText& out) const { (void)out; }

  // Sends a signed alert (or update, cancel) and waits for the broker's answer; when accepted the
  // alert is in this site's store before this returns.
  virtual Result<AlertOutcome> sendAlert(Bytes envelope, std::chrono::milliseconds timeout) = 0;
  // Asks the broker for an alert's custody (and keeps the report for offline viewing).
  virtual Result<AlertOutcome> alertStatus(const std::string& id, std::chrono::milliseconds timeout) = 0;
  // An answer to an alert in the inbox: a person's "acknowledged" or "declined", or (from an
  // extension that receipts itself) a "receipt" with a `reference`. Stored and queued for the
  // broker. Returns the answer's key for answerOutcome().
  virtual Result<std::string> answerAlert(const std::string& id, const std::string& kind,
                                          const std::string& by, const std::string& comment,
                                          const std::string& reference = {}) = 0;
  // nullopt while the broker has not answered; "" accepted; else the refusal.
  virtual std::optional<std::string> answerOutcome(const std::string& key) const = 0;
  virtual const Inbox& inbox() const = 0;
  // The inbox as the API and the desk list it (site/alert_ops.h), one for the daemon.
  virtual AlertListCache& alertList() = 0;
  // An answer signed by another site, carried back over a bridge: stored and queued for the
  // broker like this site's own answers. Returns its key.
  virtual Result<std::string> relayAnswer(Bytes envelope) {
    (void)envelope;
    return makeError(Errc::kUnavailable, "this site does not relay answers");
  }
  // Applies the broker's log again from its start (see ReplicaCore::rewind).
  virtual Status rewind() { return makeError(Errc::kUnavailable, "this site does not rewind"); }
  // MLA requests at this site (site/requests.h; thread-safe), or nullptr.
  virtual RequestDesk* requests() { return nullptr; }
  // The site's replica (read-only use), or nullptr.
  virtual const directory::Directory* replica() const { return nullptr; }
  // The extension's state (a JSON object as text), or "" when the daemon has none.
  virtual std::string extensionStatus() const { return {}; }
};

}  // namespace liaison::site
