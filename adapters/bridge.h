// The bridge (DESIGN.md, "Federation"): one process, a member of two networks, that carries
// between them what their peerings allow. `liaison-bridge --site DIR_A --site DIR_B` runs the two
// site daemons made by `liaison init` (each a replica of its own network, with its inbox and
// local API), each with a Bridge::Side extension.
//
// Operation, per direction (source → destination):
//  - Directory items: every entry of the source network's log reaches the source side's
//    replica; before the replica commits them (Extension::onEntries) the entries native to the
//    source network (signed by its root, or by a member its root enrolled) are written to the
//    direction's outbox in LMDB, in arrival order, envelopes untouched. Items that came into the
//    source network from elsewhere are never carried on, so nothing returns to where it came
//    from, also in a ring of three networks. A forwarder thread submits the outbox to the
//    destination's broker through the destination side (all or nothing, in batches) and deletes
//    what was accepted. A refusal that time can cure (the peerings are not both in force yet, a
//    peer root not yet trusted) holds the outbox and is retried; any other refusal drops that
//    one item, counted by reason and logged once per reason.
//  - Alerts: the source side is a target ("hop") of alerts its broker routes to the peer
//    network. The alert is stored in its inbox (custody), handed to the destination's broker as
//    it was signed, and only then receipted at the source, the receipt naming the sites the peer
//    resolved ("SEAJust:th-bangkok,th-oag"); a refusal there is answered "declined" with the
//    reason. Answers of the peer's sites come back to the destination side (the sender of record
//    there), are stored, then relayed, signed by their origin, into the source side's answer
//    queue, which holds them until the source broker accepted them.
// Kill -9 at any instant: the outbox is written before the replica's cursor moves (a replay
// rewrites it; the destination ignores what it holds already), items leave the outbox only after
// the destination accepted them, and at start the inboxes are read again for alerts not yet
// receipted and answers not yet relayed. Nothing is lost; what is carried twice is ignored as a
// replay (revisions decide).
//
// On disk (DIR/bridge/, an LMDB environment of the source side's directory):
//   out     u64-BE arrival number → envelope waiting for the destination's broker
//   native  site id → "" for each member the source network's root enrolled
//   meta    "next" → u64 next arrival number; "ended:" peering id → "" while a native peering
//           is ended (when it comes back, both sides rewind their replicas, so that what was
//           withdrawn on either side is carried again; the rest is ignored as replays)
// Threads: the two daemons' loops (onEntries, onNewAlert, onAnswer: none of them blocks), one
// forwarder per direction for items, one worker per direction for alerts and answers.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include "common/lmdb.h"
#include "schemas/json.h"
#include "site/extension.h"
#include "site/request_relay.h"

namespace liaison::adapters {

// Whether the bridge carries one item of the source network's log. Pure.
struct Carry {
  bool carry = false;
  std::optional<std::string> enrolled;  // a member certificate by the source root: a native site
};
Carry classify(const SignedItem& item, const SigningKey& sourceRoot,
               const std::function<bool(std::string_view)>& isNative);

// Whether a refusal by the destination broker may go away by itself (retry later) rather than
// being final for that item.
bool retryable(const std::string& refusal, const SignedItem& item);

class Bridge {
 public:
  class Side final : public site::Extension {
   public:
    Side(Bridge& bridge, int index) : bridge_(bridge), index_(index) {}
    Status start(site::SiteService& service, const directory::SiteConfig& config,
                 const trust::KeyPair& keys) override;
    void stop() override;
    void onNewAlert(const std::string& id) override;
    void onAnswer(const std::string& alertId, const Bytes& envelope) override;
    Status onEntries(const std::vector<bus::Entry>& entries) override;
    std::string statusJson() const override;
    bool autoReceipt() const override { return false; }

   private:
    friend class Bridge;
    Bridge& bridge_;
    int index_;
    site::SiteService* service_ = nullptr;
    directory::SiteConfig config_;
    SigningKey root_{};
    std::unique_ptr<lmdb::Env> env_;
    MDB_dbi out_ = 0, native_ = 0, meta_ = 0;
    std::mutex nativeMutex_;
    std::set<std::string> nativeCache_;
  };

  // `stop` is set when either side stops (the process then ends).
  explicit Bridge(std::atomic<bool>& stop);
  ~Bridge();
  Side& side(int index) { return *sides_[index]; }

 private:
  struct Direction {  // items and alerts from side `from` to side `to`
    int from = 0, to = 1;
    std::atomic<uint64_t> forwarded{0}, ignored{0}, queued{0};
    std::atomic<uint64_t> alertsForwarded{0}, alertsDeclined{0}, answersRelayed{0},
        answersRecovered{0};
    std::atomic<bool> recovered{false};  // recover() done since the start
    mutable std::mutex mutex;
    std::condition_variable cv;
    std::map<std::string, uint64_t> refused;  // by reason
    std::string waiting;                      // why the outbox is held, "" when flowing
    uint64_t itemsAdded = 0;                  // bumped when the outbox gains items
    std::deque<std::string> alerts;           // alert ids at `from` to hand to `to`
    std::deque<std::pair<std::string, Bytes>> answers;  // answers at `to` to relay to `from`
    std::set<std::string> loggedReasons;
    std::thread items, worker;
  };
  void started(int index);
  void forwardItems(Direction& d);
  void workAlerts(Direction& d);
  void recover(Direction& d);
  bool handAlert(Direction& d, const std::string& id);
  json::Json directionJson(const Direction& d) const;
  void wake(Direction& d) {
    std::lock_guard lock(d.mutex);
    d.cv.notify_all();
  }
  void itemsAdded(Direction& d) {
    std::lock_guard lock(d.mutex);
    ++d.itemsAdded;
    d.cv.notify_all();
  }
  bool stopping() const { return stop_.load() || stopped_.load(); }

  std::atomic<bool>& stop_;
  std::atomic<bool> stopped_{false};
  std::atomic<bool> rewind_{false};  // a peering came back: both sides replay their logs
  std::atomic<uint64_t> rewinds_{0};
  site::RequestRelay relay_;  // MLA requests, both ways
  std::unique_ptr<Side> sides_[2];
  Direction dirs_[2];  // dirs_[0]: A → B, dirs_[1]: B → A
  std::mutex startMutex_;
  int started_ = 0;
};

}  // namespace liaison::adapters
