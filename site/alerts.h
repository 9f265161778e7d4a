// A site's side of alerts: its inbox and sent alerts in LMDB, the automatic receipt, people's
// answers, and the hook that tells local people about a new alert.
//
// Custody at the site: an alert the broker delivers is verified (signature and the sender's
// certificate, from this replica's trust state) and stored in the inbox together with this
// site's signed receipt in one transaction, and only then is the receipt sent. The same alert
// delivered again (a receipt was lost) is not stored or shown twice: the stored receipt is sent
// again. Answers this site makes (receipt, acknowledged, declined) wait in an outbound queue in
// LMDB until the broker has accepted them, and are resent with backoff, so a restart or an
// offline broker loses none. Answers to this site's own alerts arrive as deliveries too; they are
// stored and then confirmed to the broker ("stored").
//
// Store (DIR/alerts/data.mdb, its own environment):
//   alerts   alert id → JSON {direction in|out, receivedAt, state, replacedBy, replacedHow,
//            custody (out: the broker's last custody report)}
//   envelopes  alert id → the alert's signed envelope (written once)
//   answers  ALERT \0 SITE \0 KIND → signed Ack envelope (this site's and, for its own alerts,
//            the targets')
//   outq     "answer/ALERT/SITE/KIND" → signed Ack envelope not yet accepted by the broker
//
// Concurrency: AlertDesk belongs to the site daemon's loop thread. Inbox reads are safe from any
// thread (the local API reads them); writes happen on the loop thread only.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "bus/protocol.h"
#include "common/clock.h"
#include "common/lmdb.h"
#include "directory/directory.h"
#include "schemas/json.h"
#include "site/replica.h"
#include "trust/keys.h"

namespace liaison::site {

struct StoredAlert {
  std::string id;
  bool outbound = false;  // sent by this site
  Bytes envelope;
  int64_t receivedAt = 0;  // Unix seconds (for an outbound alert: when the broker accepted it)
  std::string state;       // in: new | acknowledged | declined;  out: sent
  std::string replacedBy, replacedHow;  // a later update or cancel of it
  json::Json custody;      // out: the broker's last report (null when none)
};

class Inbox {
 public:
  static Result<std::unique_ptr<Inbox>> open(const std::string& dir, size_t mapSize = size_t{1} << 30);

  Result<std::optional<StoredAlert>> get(const std::string& id) const;
  // How much of each alert a read gives: its state alone (id, direction, time, state,
  // replacement; the envelope and the custody report, most of an alert's bytes, left empty and
  // not read), or the whole.
  enum class Read { kState, kWhole };
  // Each alert in id order, from one read transaction, none held after `fn` returns (it may take
  // what it is given).
  Status visit(const std::function<void(StoredAlert&)>& fn, Read read) const;
  // The same, read whole, skipping what a reader holds already: each alert's stored record has a
  // digest that changes with any write to that alert (its envelope, kept apart, never changes);
  // an alert for which `held(id, digest)` is true is not read and not given to `fn`.
  Status visitChanged(const std::function<bool(std::string_view id, uint64_t digest)>& held,
                      const std::function<void(StoredAlert&, uint64_t digest)>& fn) const;
  // Changes with every write to the inbox (LMDB's last transaction id).
  uint64_t version() const;
  // The ids of the alerts this site received (`outbound` false) or sent (true), in id order.
  Result<std::vector<std::string>> ids(bool outbound) const;
  // Whether `site` stored an answer (of any kind) to the alert.
  Result<bool> answeredBy(const std::string& id, const std::string& site) const;
  // The signed answers stored for an alert.
  Result<std::vector<Bytes>> answers(const std::string& id) const;
  // The same, each with whose answer it is and its kind: {"SITE", "KIND"}.
  struct Answer {
    std::string site, kind;
    Bytes envelope;
  };
  Result<std::vector<Answer>> answersBy(const std::string& id) const;
  Result<std::vector<std::pair<std::string, Bytes>>> outbound() const;

  // One write transaction (loop thread only).
  class Writer {
   public:
    Status putAlert(const StoredAlert& a);
    Status putAnswer(const std::string& alertId, const std::string& site, const std::string& kind,
                     const Bytes& envelope);
    Status queue(const std::string& key, const Bytes& envelope);
    Status unqueue(const std::string& key);
    Result<std::optional<StoredAlert>> get(const std::string& id) const;
    Result<std::optional<Bytes>> answer(const std::string& alertId, const std::string& site,
                                        const std::string& kind) const;
    Status commit() &&;

   private:
    friend class Inbox;
    Writer(const Inbox& inbox, lmdb::Txn txn) : inbox_(inbox), txn_(std::move(txn)) {}
    const Inbox& inbox_;
    lmdb::Txn txn_;
  };
  Result<Writer> write();

 private:
  explicit Inbox(lmdb::Env env) : env_(std::move(env)) {}
  lmdb::Env env_;
  MDB_dbi alerts_ = 0, envelopes_ = 0, answers_ = 0, outq_ = 0;
};


// Runs the operator's `[alerts] on_new` command for each new alert, one at a time on its own
// thread: `/bin/sh -c COMMAND` with the alert's JSON on stdin and LIAISON_ALERT_ID set; killed
// after kTimeout. Its failure is logged and changes nothing else.
class HookRunner {
 public:
  static constexpr std::chrono::seconds kTimeout{60};
  static constexpr size_t kMaxQueued = 1000;
  // `idVariable`: the environment variable that names the item (LIAISON_ALERT_ID for alerts);
  // `what`: the item's name in logs.
  explicit HookRunner(std::string command, std::string idVariable = "LIAISON_ALERT_ID", std::string what = "alert");
  ~HookRunner();  // waits for the running hook (at most its timeout), drops the rest
  void enqueue(std::string alertId, std::string json);

 private:
  void run();
  std::string command_, idVariable_, what_;
  std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::pair<std::string, std::string>> queue_;
  bool stop_ = false;
  std::thread thread_;
};

class AlertDesk {
 public:
  struct Counters {
    uint64_t received = 0, duplicates = 0, answersReceived = 0, answersSent = 0;
    std::map<std::string, uint64_t> refused;  // deliveries this site refused, by reason
  };
  // Request ids of the desk's own requests have this bit set, so their replies find it.
  static constexpr uint64_t kRequestBit = uint64_t{1} << 63;

  // `onNew` is called (on the loop) for each new alert once it is stored; with `autoReceipt`
  // false the desk makes no receipt: whoever handles onNew answers with answer(..., "receipt").
  AlertDesk(Inbox& inbox, Transport& transport, const trust::KeyPair& keys, std::string site,
            const directory::Directory& dir, const Clock& clock, HookRunner* hook,
            bool autoReceipt = true, std::function<void(const std::string&)> onNew = {});
  Status load();

  // Buffers a delivery; flush() stores every buffered one in one transaction, then answers.
  void onDelivery(bus::Delivery delivery);
  struct Sent;
  // `sent`: alerts of this site the broker accepted, stored in the same transaction (one synced
  // commit for all a drain brought), before their senders hear "accepted".
  //
  // Answers the broker has accepted are dropped from the queue in LMDB by the next flush() that
  // stores deliveries or sent alerts. On their own (nothing stored with them) they wait until
  // kDropDelayMs has passed since the first of them or kDropBatch are waiting: a synced commit
  // per reply cost a target site about as much as storing the alerts. A drop lost in a crash
  // sends the answer again after the restart, and the broker takes it as the one it holds.
  Status flush(const std::vector<Sent>& sent);
  Status flush() { return flush({}); }
  static constexpr int64_t kDropDelayMs = 1000;
  static constexpr size_t kDropBatch = 512;
  // Drops every accepted answer now (the daemon's last flush when it stops).
  Status dropAccepted();
  // A reply to one of the desk's requests (requestId has kRequestBit).
  void onReply(const bus::AlertReply& reply);
  // Pings the broker each second; resends answers the broker has not accepted yet (at once when
  // the connection comes back).
  void tick(int64_t nowMs, bool connected);

  // An alert this site sent and the broker accepted, with the broker's custody report.
  struct Sent {
    Bytes envelope;
    std::string custody;
  };
  // The broker's custody report for one of this site's alerts.
  Status recordCustody(const std::string& id, const std::string& custody);
  // An answer to an alert in the inbox (a person's, or a receipt with a reference): stored and
  // queued, then sent. Returns its key.
  Result<std::string> answer(const std::string& alertId, std::string_view kind,
                             const std::string& by, const std::string& comment,
                             const std::string& reference = {});
  // An answer signed elsewhere (a bridge carrying a peer network's answer back): stored and
  // queued like this site's own. Returns its key.
  Result<std::string> relay(const Bytes& envelope);
  // Called (on the loop) for each answer to this site's own alerts once it is stored.
  void onAnswer(std::function<void(const std::string&, const Bytes&)> fn) { onAnswer_ = std::move(fn); }
  // The broker's verdict on a queued answer: nullopt while it waits; else refusal ("" = accepted).
  std::optional<std::string> outcome(const std::string& key) const;

  const Counters& counters() const { return counters_; }
  size_t queued() const { return outq_.size(); }

 private:
  struct Queued {
    Bytes envelope;
    uint32_t attempts = 0;
    int64_t nextAttemptMs = 0;
    uint64_t requestId = 0;
  };
  void refuse(const std::string& reason, const std::string& detail);
  Status putSent(Inbox::Writer& w, const std::vector<Sent>& sent);
  void sendAnswer(const std::string& key, Queued& q, int64_t nowMs);

  Inbox& inbox_;
  Transport& transport_;
  const trust::KeyPair& keys_;
  std::string site_;
  const directory::Directory& dir_;
  const Clock& clock_;
  HookRunner* hook_;
  bool autoReceipt_;
  std::function<void(const std::string&)> onNew_;
  std::function<void(const std::string&, const Bytes&)> onAnswer_;
  std::vector<bus::Delivery> buffered_;
  std::map<std::string, Queued> outq_;
  std::map<uint64_t, std::string> inFlight_;  // request id → outq key
  std::vector<std::string> unqueue_;           // accepted answers to drop from LMDB
  int64_t unqueueSinceMs_ = 0;                 // the tick when the first of them was accepted
  int64_t lastTickMs_ = 0;
  bool connected_ = false;
  mutable std::mutex outcomesMutex_;
  std::map<std::string, std::string> outcomes_;
  uint64_t nextRequest_ = 0;
  int64_t lastPingMs_ = 0;
  Counters counters_;
};

}  // namespace liaison::site
