// The broker's custody of MLA requests (DESIGN.md, "MLA requests"; requests/request.h).
//
// A broker carries ciphertext and routing only: the sealed request (which it cannot open), the
// encrypted chunks of its files, and the signed steps of its trail. The sender puts the sealed
// request with its signed "sent" step, then its chunks (in any order, again after a cut: the
// answer to a put names the chunks still missing). When the last chunk is stored the broker signs
// "accepted" (as "broker:NETWORK") and offers the request to the recipient, which fetches the
// chunks (get), checks them and answers with its signed "delivered"; then "opened" and statuses.
// Evidence going back with a status is a parcel of its own (requests::evidenceId), put by the recipient once
// the status naming its hash is stored, and offered to the requesting site with that status.
// Every step is checked against the trail so far (requests::verifyTrail: signer, key, order,
// chain) before it is stored, and carried to the other side, resent until that site says it
// stored it. Nothing is answered before it is stored (writes are committed before the daemon
// sends what takeOutgoing() returns).
//
// Across a peering (DESIGN.md, "Federation"; the peerings of both networks must let "request"
// pass): the sender's home broker holds the request, signs "accepted" and offers it to a bridge
// to the recipient's network; the bridge puts it, with "sent" and that "accepted", to the peer
// broker, which checks both and holds it in turn (it signs no second "accepted": the trail is the
// same at every hop). What the custody meant for the party across (offers, steps, evidence) goes
// to the bridge (`hop`), which is also the only one that may speak for that party here.
//
// Store (in the alert custody's environment, so the broker pair copies it too):
//   requests  id → JSON {from, to, chunks [per file], state, steps (count), deliveries {key: site},
//             reply, replyStep (a parcel of evidence: the request and status step that name it),
//             hop, foreign, broker, brokerKey (across a peering)}
//   rblobs    "h/ID" sealed request | "s/ID/NNNN" signed step | "c/ID/F/I" encrypted chunk
//
// Concurrency: one thread (the broker's loop) calls everything.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "broker/core.h"
#include "bus/protocol.h"
#include "common/clock.h"
#include "common/lmdb.h"
#include "requests/request.h"
#include "trust/keys.h"

namespace liaison::broker {

class RequestRouter {
 public:
  struct Outgoing {
    std::string site;
    bus::RequestMsg message;
  };
  struct Counters {
    uint64_t accepted = 0, relayed = 0, chunks = 0, chunkBytes = 0, chunksServed = 0, steps = 0, deliveries = 0;
    std::map<std::string, uint64_t> refused;  // by reason
  };

  // `requests` and `blobs`: databases of `env` (opened by LmdbAlertStore).
  RequestRouter(lmdb::Env& env, MDB_dbi requests, MDB_dbi blobs, const Core& core, const trust::KeyPair& keys,
                const Clock& clock, std::string network);
  Status load();

  void handle(const std::string& site, const bus::RequestMsg& m, int64_t nowMs);
  // Deliveries due (offers and steps not yet stored by their site).
  void tick(int64_t nowMs);
  // Writes what the handled messages changed (one synced transaction). On error the queued
  // messages are dropped and the custody reloaded (the sites ask again). The transaction is open
  // from the first handle() or tick() that reads or changes the custody until then: commit before
  // anything else writes to `env` on this thread (the alert custody), or LMDB waits for ever.
  Status commit();
  std::vector<Outgoing> takeOutgoing();
  // A delivery could not be handed to the site's connection: tried again later.
  void undeliverable(const std::string& key);

  const Counters& counters() const { return counters_; }
  size_t inCustody() const { return custody_.size(); }
  size_t pendingDeliveries() const { return deliveries_.size(); }

 private:
  struct Custody {
    std::string from, to;
    std::vector<uint32_t> chunks;  // per file
    uint32_t have = 0;             // chunks stored
    uint32_t steps = 0;            // signed steps stored
    std::string state = "receiving";  // receiving | accepted
    // A parcel of evidence sent back with status step `replyStep` of request `reply`.
    std::string reply;
    uint32_t replyStep = 0;
    // Across a peering: `foreign` is the party of the peer network, reached through the bridge
    // `hop` (which carries what is meant for it, and what it sends). `broker`: the signer of
    // "accepted" when it is the peer network's broker (the request came from there), with its key.
    std::string hop, foreign, broker;
    SigningKey brokerKey{};
    // Where what is meant for `party` goes: the party itself, or the bridge to it.
    const std::string& reach(const std::string& party) const { return party == foreign ? hop : party; }
  };
  struct Pending {
    std::string site, id;
    uint32_t step = 0;  // offer: 0; else the step's number (1-based)
    uint32_t attempts = 0;
    int64_t nextMs = 0;
  };

  Result<lmdb::Txn*> txn();
  bus::RequestMsg refuse(const bus::RequestMsg& m, const std::string& reason, const std::string& detail);
  bus::RequestMsg put(const std::string& site, const bus::RequestMsg& m);
  // The put of a parcel of evidence: m.keys = {request}, m.index = its status step.
  bus::RequestMsg putEvidence(const std::string& site, const bus::RequestMsg& m, const requests::Sealed& sealed);
  bus::RequestMsg chunk(const std::string& site, const bus::RequestMsg& m);
  bus::RequestMsg get(const std::string& site, const bus::RequestMsg& m);
  bus::RequestMsg step(const std::string& site, const bus::RequestMsg& m);
  void stored(const std::string& site, const std::vector<std::string>& keys);
  Result<std::vector<Bytes>> trail(const std::string& id);
  // Why requests may not pass to (`outgoing`) or from the peer network `network` now, or nullopt.
  std::optional<std::string> peeringClosed(const std::string& network, bool outgoing) const;
  requests::TrailKeys trailKeys(const Custody& c, const SigningKey& fromKey, const SigningKey& toKey) const;
  Result<std::vector<uint64_t>> missing(const std::string& id, const Custody& c);
  Status accept(const std::string& id, Custody& c);
  Status appendStep(const std::string& id, Custody& c, const Bytes& signedStep);
  Status deliver(const std::string& site, const std::string& id, uint32_t step);
  Status save(const std::string& id, const Custody& c);
  bus::RequestMsg delivery(const Pending& p);

  lmdb::Env& env_;
  MDB_dbi requestsDb_, blobsDb_;
  const Core& core_;
  const trust::KeyPair& keys_;
  const Clock& clock_;
  std::string network_, signer_;
  std::optional<lmdb::Txn> txn_;
  std::map<std::string, Custody> custody_;
  std::map<std::string, Pending> deliveries_;  // key → what, to whom
  std::vector<Outgoing> out_, sent_;           // out_: waits for commit()
  Counters counters_;
};

}  // namespace liaison::broker
