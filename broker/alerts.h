// The broker's custody of alerts (DESIGN.md, "Data → Alert" and "Bus").
//
// An alert is never broadcast. The router resolves its targets to sites (countries from member
// certificates; roles, networks and focal points from the provenance of active contacts; site
// ids directly; INTERPOL and forwardToInterpol to adapter members), stores the alert with one
// delivery state per target site, and only then answers the sender. It delivers to connected
// targets and resends with exponential backoff until each target's signed receipt arrives; a
// target that was offline is served as soon as it is heard from again. Targets' signed answers
// (receipt, acknowledged, declined) are carried back to the sender's site the same way, until
// that site says it stored them. When `ackRequired` and nobody acknowledged by the deadline, the
// `escalateTo` targets are added, once. An update or cancel (by the same sender only) goes to
// every site the original reached or was reaching; the original's undelivered copies are dropped
// and its escalation stops. After `expires` nothing more is delivered.
//
// Per target: queued → delivered (receipt) → acknowledged | declined; or expired, cancelled,
// superseded while still queued. Per alert: open | cancelled | superseded | expired, escalated.
//
// Federation (DESIGN.md, "Federation"): a target that resolves to a member of a peer network
// (its certificate came over a bridge) is not delivered from here: the alert goes to a bridge
// (a "hop" target) while both peerings let alerts pass, the bridge hands it to the peer's
// broker, which resolves the targets again and delivers them. The bridge's signed receipt names
// the sites the peer resolved; their signed answers come back through the bridge and are
// recorded and carried to the sender like home ones. An alert that came from a peer network (its
// signer is a foreign member, submitted by a bridge) goes to home sites only, so nothing loops.
//
// Pure: the store, the clock, and the broker core (trust and provenance) come in by reference;
// times for resends are steady milliseconds passed in. Changes are kept in memory and written by
// commit() in one transaction; the messages they produce (replies, deliveries) must be sent only
// after commit() succeeded (takeOutgoing()), so nothing is promised that is not durable.
// Concurrency: one thread (the broker's loop) calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "broker/core.h"
#include "bus/protocol.h"
#include "common/clock.h"
#include "schemas/json.h"

namespace liaison::broker {

struct TargetState {
  std::string state = "queued";
  int64_t queuedAt = 0, deliveredAt = 0, answeredAt = 0;  // Unix seconds
  std::string by, comment, reference;                     // of the acknowledgement or refusal
  uint32_t attempts = 0;                                  // deliveries sent
  bool escalation = false;                                // added by escalation
  int64_t nextAttemptMs = 0;                              // not durable: 0 = now
  // Federation: a target of a peer network (`network` set) is delivered by that network's
  // broker; a `hop` is a bridge that carries the alert there (its receipt lists the targets the
  // peer's broker resolved, and is not passed on to the sender).
  std::string network;
  bool hop = false;
};

struct Custody {
  std::string id, sender, msgType;
  Bytes envelope;
  std::vector<std::string> references;
  int64_t acceptedAt = 0, expiresAt = 0, deadlineAt = 0;  // 0: none
  std::string state = "open";
  bool escalated = false;
  std::map<std::string, TargetState> targets;
  struct Answer {
    std::string key;  // "answer/ALERT/SITE/KIND"
    Bytes envelope;
    bool stored = false;  // the sender's site stored it
    uint32_t attempts = 0;
    int64_t nextAttemptMs = 0;
  };
  std::vector<Answer> answers;
};

// The custody as JSON: what `alert show` prints, and (without envelopes, which the store keeps
// apart, written once) its durable form. custodyFromJson leaves absent envelopes empty.
json::Json custodyToJson(const Custody& c, bool withEnvelopes);
Result<Custody> custodyFromJson(const json::Json& j);

class AlertStore {
 public:
  virtual ~AlertStore() = default;
  // Calls `each` with every stored custody, one at a time (nothing is held for the caller).
  virtual Status load(const std::function<void(Custody&&)>& each) = 0;
  // One custody; nullopt when none is stored under `id`.
  virtual Result<std::optional<Custody>> get(const std::string& id) = 0;
  // Writes every given custody in one transaction; on error nothing was written.
  virtual Status put(const std::vector<const Custody*>& changed) = 0;
};

class AlertRouter {
 public:
  struct Outgoing {
    std::string site;  // to whom
    bus::Message message;
  };
  struct Counters {
    uint64_t accepted = 0, deliveries = 0, resends = 0, answers = 0, escalations = 0, expired = 0;
    std::map<std::string, uint64_t> refused;  // by reason
  };
  struct Timing {
    int64_t firstResendMs = 2000;  // a delivery not receipted after this is sent again
    int64_t maxResendMs = 60000;
    int64_t onlineMs = 5000;  // a site heard from within this is connected
  };

  AlertRouter(AlertStore& store, const Core& core, const Clock& clock, std::string network,
              Timing timing);
  AlertRouter(AlertStore& store, const Core& core, const Clock& clock, std::string network)
      : AlertRouter(store, core, clock, std::move(network), Timing{}) {}
  Status load();

  // Requests from `site` (the CURVE-authenticated member). Each queues its reply.
  void handle(const std::string& site, const bus::AlertRequest& request, int64_t nowMs);
  // Checks the signatures of the alerts and answers among `requests` on every core, ahead of
  // handle(), which then does not check them again (every other check still runs there). What
  // it learnt is forgotten at commit().
  void precheck(const std::vector<const bus::AlertRequest*>& requests);
  // Deliveries due, resends, escalations, expiries.
  void tick(int64_t nowMs);
  // A delivery from takeOutgoing() could not be handed to the site's connection: it does not
  // count as an attempt. `gone`: the site has no connection now (it is offline until heard from).
  void undeliverable(const std::string& site, const std::string& key, bool gone);
  // Writes what changed. On error the in-memory state is reloaded and the queued messages are
  // dropped (the senders will ask again).
  Status commit();
  std::vector<Outgoing> takeOutgoing();

  const Counters& counters() const { return counters_; }
  size_t pendingAlerts() const { return pending_.size(); }
  // Custodies held in memory: those with work left, and those touched since the last commit.
  size_t heldAlerts() const { return alerts_.size(); }
  // Alerts by state (open, cancelled, ...) and their targets by state (queued, delivered, ...),
  // every stored alert counted, as of the last commit.
  struct States {
    std::map<std::string, uint64_t> alerts, targets;
  };
  const States& states() const { return totals_; }
  // Sites heard from within Timing::onlineMs (every site pings while it runs).
  size_t sitesOnline(int64_t nowMs) const;
  // A copy of the custody, from memory or the store; nullopt when there is none.
  std::optional<Custody> find(const std::string& id);

 private:
  bus::AlertReply refuse(uint64_t requestId, const std::string& reason, const std::string& detail);
  bus::AlertReply send(const std::string& site, const bus::AlertRequest& r, int64_t nowMs);
  bus::AlertReply answer(const std::string& site, const bus::AlertRequest& r, int64_t nowMs);
  bus::AlertReply status(const std::string& site, const bus::AlertRequest& r);
  void stored(const std::string& site, const std::vector<std::string>& keys);
  void seen(const std::string& site, int64_t nowMs);
  // The sites a set of targets names; `unknown` receives each name that resolves to no site.
  std::set<std::string> resolve(schema::Targets::Reader targets, bool forwardToInterpol,
                                std::vector<std::string>* unknown) const;
  bool online(const std::string& site, int64_t nowMs) const;
  // Turns resolved sites into target states: home sites, peer-network sites and the hops
  // (bridges) for their networks when the peering lets alerts pass. `fromPeer`: the alert came
  // over a bridge, so only home sites are kept.
  // `closed` (optional) receives each peer network left out and why.
  std::map<std::string, TargetState> targetsFor(
      const std::set<std::string>& sites, bool fromPeer, int64_t now,
      std::map<std::string, std::string>* closed = nullptr) const;
  bool isBridge(const std::string& site) const;
  void deliverDue(Custody& c, int64_t nowMs);
  void touch(Custody& c);
  // The custody of `id` in memory, read from the store when it is not (nullptr: none, or the
  // store failed, which is logged). What is read is dropped again at the next commit unless
  // it is touched.
  Custody* lookup(const std::string& id);
  // Whether tick() has anything left to do for it: deliveries, answers to carry, a deadline.
  static bool hasWork(const Custody& c);
  // What a custody adds to states(); `sign` +1 adds it, -1 takes it away.
  struct Tally {
    std::string state;
    std::map<std::string, uint64_t> targets;
  };
  static Tally tallyOf(const Custody& c);
  void count(const Tally& t, int sign);
  void reply(const std::string& site, bus::AlertReply r) { out_.push_back({site, std::move(r)}); }

  AlertStore& store_;
  const Core& core_;
  const Clock& clock_;
  std::string network_;
  Timing timing_;
  // In memory: the custodies with work left, and those read or changed since the last commit;
  // the rest live in the store only, so memory follows the open work, not the history.
  std::map<std::string, Custody> alerts_;
  std::set<std::string> pending_;  // alerts with work left (deliveries, answers, timers)
  std::set<std::string> dirty_;
  std::set<std::string> idle_;            // held with no work left: dropped at the next commit
  std::map<std::string, Tally> tallied_;  // what totals_ holds of each custody in memory
  States totals_;
  std::set<Bytes> signatureOk_;  // envelopes precheck() found validly signed
  std::map<std::string, int64_t> lastSeenMs_;
  std::vector<Outgoing> out_;
  Counters counters_;
};

}  // namespace liaison::broker
