// The Interpol liaison adapter (DESIGN.md, "Interpol liaison adapter"): a site daemon, enrolled
// with role `adapter`, whose extension
//  - forwards every alert it receives (the broker routes to it alerts for role interpol-ncb,
//    network INTERPOL, forwardToInterpol, and escalations that add them; updates and cancels of
//    those follow) to the NCB gateway: POST JSON, the alert id as Idempotency-Key; a 2xx answer
//    becomes the adapter's signed receipt carrying the gateway's reference; 5xx, 429 (honouring
//    Retry-After), timeouts and connection errors are retried with exponential backoff and
//    jitter; any other 4xx is final and answered as "declined" with the reason;
//  - polls a notices API shaped like Interpol's public one for the configured nationalities and
//    notice types, follows `_links.next` (relative ones resolved against their page; same host,
//    no loops, at most maxPages), and publishes new and changed notices as `notice` records
//    (unchanged ones are not published again).
// State in LMDB (DIR/interpol/): per alert its forwarding state (pending, forwarded with the
// gateway's reference, declined), attempts and last error; per notice the hash and revision
// published. The inbox is the source of truth for what must be forwarded: at start, every
// received alert without a final forwarding state is queued again, and a forwarded alert whose
// receipt is missing is receipted again, never posted again.
// Threads: one forwards, one polls; both stop on stop(). Neither ever blocks the daemon's loop.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <variant>
#include <vector>

#include "adapters/http.h"
#include "adapters/notices.h"
#include "common/lmdb.h"
#include "schemas/json.h"
#include "site/extension.h"

namespace liaison::adapters {

class InterpolAdapter final : public site::Extension {
 public:
  explicit InterpolAdapter(InterpolOptions options);
  ~InterpolAdapter() override;

  Status start(site::SiteService& service, const directory::SiteConfig& config,
               const trust::KeyPair& keys) override;
  void stop() override;
  void onNewAlert(const std::string& id) override;
  std::string statusJson() const override;
  bool autoReceipt() const override { return false; }

 private:
  struct Forward {
    std::string state = "pending";  // pending | forwarded | declined
    uint32_t attempts = 0;
    std::string reference, lastError;
    int64_t nextAttemptMs = 0;      // not durable
  };
  void forwardLoop();
  void pollLoop();
  void forwardOne(const std::string& id);
  void pollOnce();
  Status saveForward(const std::string& id, const Forward& f);
  // Records a failure of `where` (an alert, a notices query). Logged when its reason differs
  // from the last one logged for `where`; a retry failing for the same reason is counted only.
  void failure(const std::string& where, const std::string& message);
  // `where` works again: said once in the log if a failure was logged for it.
  void recovered(const std::string& where);

  InterpolOptions o_;
  site::SiteService* service_ = nullptr;
  directory::SiteConfig config_;
  const trust::KeyPair* keys_ = nullptr;
  std::unique_ptr<lmdb::Env> env_;
  MDB_dbi forwards_ = 0, notices_ = 0;

  mutable std::mutex mutex_;
  std::condition_variable cv_;
  bool stopping_ = false;
  std::map<std::string, Forward> pending_;  // alerts still to forward
  // Health, under mutex_.
  uint64_t forwarded_ = 0, declined_ = 0, retries_ = 0;
  uint64_t published_ = 0, unchanged_ = 0, skipped_ = 0, pollErrors_ = 0, polls_ = 0;
  std::string lastSuccess_, lastError_, lastErrorAt_, lastPoll_;
  std::map<std::string, std::string> logged_;  // where → the failure last logged for it
  uint64_t repeated_ = 0;                      // failures not logged again (same reason)
  std::thread forwarder_, poller_;
};

}  // namespace liaison::adapters
