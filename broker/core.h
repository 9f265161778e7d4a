// The broker core: accept, verify, sequence, log; answer fetches; know who may connect.
// Pure: the store and the clock come in by reference, so it is testable without sockets.
//
// Operation: submit() verifies an envelope exactly as a replica would (trust::verify against the
// certificates, revocations and record heads it holds), gives it the next seq of the current
// epoch, and has the store write entry and state in one transaction before it answers.
// Concurrency: one thread (the broker's event loop) calls everything.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bus/protocol.h"
#include "common/clock.h"
#include "trust/verify.h"

namespace liaison::broker {

// Where an active contact came from: the site that signed its current revision (record
// provenance), which is how alerts to roles, networks and focal points find their sites.
struct Origin {
  std::string site, role;
  std::vector<std::string> networks;
  bool operator==(const Origin&) const = default;
};
// Origin of a record item, or nullopt when it is not an active contact.
std::optional<Origin> originOf(const SignedItem& item);

// What the core keeps durable. LmdbStore is the real one.
class Store {
 public:
  // What the core holds in memory: small, whatever the number of records (record heads stay in
  // the store and are read when an item needs them).
  struct Snapshot {
    uint64_t epoch = 0;  // 0: a new store
    uint64_t head = 0;
    std::map<std::string, trust::MemberCert> members;
    std::set<std::string> revoked;
    std::map<std::string, trust::Peering> peerings;  // "0:"/"1:" + id (home/foreign)
  };
  // The current head of a record, as stored: its revision, kind and country, who signed it and,
  // for an active contact, where it came from.
  struct Head {
    trust::Existing existing;  // `network` is left empty: the core derives it from the signer
    std::string signer;
    std::optional<Origin> origin;
  };
  struct Change {
    std::string id;                             // record id, or site id for trust items
    std::optional<trust::Existing> head;        // a record's new head
    std::optional<trust::MemberCert> member;    // a certificate
    bool revoke = false;                        // a revocation of `id`
    std::optional<trust::Peering> peering;      // a peering (stored at key `id`)
    // A peering ended: the heads and certificates of its network leave the state.
    std::vector<std::string> dropHeads, dropMembers;
  };
  virtual ~Store() = default;
  virtual Result<Snapshot> load() = 0;
  virtual Status setEpoch(uint64_t epoch) = 0;
  // Writes the entries and their changes in one transaction; on error nothing was written.
  virtual Status append(const std::vector<bus::Entry>& entries,
                        const std::vector<Change>& changes) = 0;
  // The head of record `id`; nullopt when the store holds none.
  virtual Result<std::optional<Head>> head(std::string_view id) const = 0;
  // Every record head in key order (at start, and when a peering ends).
  virtual Status eachHead(const std::function<void(std::string_view id, const Head&)>& fn) const = 0;
  // Entries with seq >= from, at most `max`, in order.
  virtual Result<std::vector<bus::Entry>> range(uint64_t from, uint32_t max) const = 0;
  // The oldest seq the log still holds (1 until compaction removes entries).
  virtual uint64_t oldest() const = 0;
  // The current state (certificates, revocations, then records) in key order, after `afterKey`:
  // each item as the log entry that last set it. `nextKey` is empty when done.
  virtual Status snapshot(const std::string& afterKey, uint32_t max,
                          std::vector<bus::Entry>& out, std::string& nextKey) const = 0;
};

class Core final : public trust::TrustView {
 public:
  Core(Store& store, const Clock& clock, const SigningKey& root, uint64_t newEpoch);
  // Loads the durable state; a new store gets `newEpoch`.
  Status load();

  // The answer for the submitter. When accepted, `fanout` receives the entry to publish.
  // An error means the store failed (the item was not accepted).
  // All or nothing: either every (non-stale) envelope is accepted, with consecutive seqs, or none.
  // `submitter`: the member that sent it (empty: the broker itself); only a bridge may submit
  // items of a peer network. It takes the request: the envelopes it accepts move into `fanout`,
  // and each decoded item is let go once checked, so a bulk submission is not held three times.
  Result<bus::SubmitResult> submit(bus::SubmitRequest request, std::vector<bus::Entry>& fanout,
                                   const std::string& submitter = {});
  static constexpr size_t kMaxBatch = 10000;
  Result<bus::Items> fetch(const bus::FetchRequest& request, uint32_t maxItems) const;
  Result<bus::SnapshotChunk> snapshot(const bus::SnapshotRequest& request, uint32_t maxItems) const;
  bus::Heartbeat heartbeat() const;

  uint64_t epoch() const { return epoch_; }
  uint64_t head() const { return head_; }
  // CURVE public key → site id of every valid, unrevoked member (the ZAP allow-list).
  std::map<trust::CurveKey, std::string> admitted() const;
  bool isAdmitted(std::string_view site) const;

  // Refusals counted by reason name ("bad signature", "malformed", ...).
  const std::map<std::string, uint64_t>& refusals() const { return refusals_; }
  uint64_t accepted() const { return accepted_; }

  // Target resolution for alerts: the sites holding active contacts of a role or in a network,
  // and the site that published a record (nullopt: no such active contact).
  std::set<std::string> sitesWithRole(std::string_view role) const;
  std::set<std::string> sitesInNetwork(std::string_view network) const;
  std::optional<std::string> siteOfRecord(std::string_view id) const;
  const std::map<std::string, trust::MemberCert>& members() const { return state_.members; }

  // TrustView
  const SigningKey& rootKey() const override { return root_; }
  std::optional<trust::MemberCert> member(std::string_view site) const override;
  bool revoked(std::string_view site) const override;
  std::vector<trust::Peering> peerings() const override;

  // The peer network a member belongs to ("" home; nullopt: unknown or its issuer not trusted).
  std::optional<std::string> networkOf(std::string_view site) const;
  // The bridges (admitted home members with role bridge) that carry items to `network`: those
  // whose key the peer network's certificate of a bridge also names, else every bridge.
  std::set<std::string> bridgesFor(std::string_view network) const;
  // A valid, unrevoked member of a peer network in force (known, never connected here).
  bool isPeerMember(std::string_view site) const;

 private:
  // Counts a contact's origin in (delta +1) or out (-1) of the role and network indexes.
  void countOrigin(const Origin& origin, int delta);
  // The head of record `id` with its network, as it stands after the items of the batch being
  // verified (`batch`, record id → head; nullopt: dropped in this batch).
  Result<std::optional<Store::Head>> headOf(
      const std::string& id, const std::map<std::string, std::optional<Store::Head>>& batch) const;
  bus::SubmitResult refuse(uint64_t requestId, uint32_t index, const std::string& reason,
                           const std::string& detail);

  Store& store_;
  const Clock& clock_;
  SigningKey root_;
  uint64_t newEpoch_;
  uint64_t epoch_ = 0, head_ = 0, accepted_ = 0;
  Store::Snapshot state_;
  std::map<std::string, uint64_t> refusals_;
  // role / network → site → number of its active contacts there
  std::map<std::string, std::map<std::string, uint64_t>, std::less<>> byRole_, byNetwork_;
};

}  // namespace liaison::broker
