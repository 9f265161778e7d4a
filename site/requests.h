// A site's side of MLA requests (DESIGN.md, "MLA requests"; the pure core is requests/request.h).
//
// Sending: the local API creates a request (validated against the directory: the recipient's
// certificate and box key, the instruments both countries are party to), seals it to the
// recipient and signs "sent"; its files arrive chunk by chunk (plaintext over the local API) and
// are encrypted and stored here at once. Then the loop puts the sealed request to the broker and
// sends the chunks the broker says it lacks (a few in flight), again after any cut, until the
// broker's signed "accepted" comes back.
//
// Receiving: the broker's offer (the sealed request and its trail) is opened with this site's
// box key and its trail checked; the chunks are fetched a few at a time and each is stored only
// if it decrypts in its place; when every file is stored and its SHA-256 matches the signed
// content, this site signs "delivered". "opened" (by a named person) and statuses are signed here
// and queued for the broker, in order, until it has accepted them.
//
// Every step (this site's or the other side's, carried by the broker) is checked against the
// trail so far (requests::verifyTrail) before it is stored; a step that fails is refused and
// counted, and nothing stored changes.
//
// Store (DIR/requests/data.mdb, its own environment):
//   reqs   id → JSON {direction, state, chunks, uploaded, have, steps, pending, brokerKey, ...}
//   blobs  "k/ID" the content (encoded) | "h/ID" the sealed request | "s/ID/NNNN" a signed step
//          | "c/ID/F/I" an encrypted chunk
//
// Concurrency: every public method takes the desk's mutex, so the API's threads and the loop
// thread may call it; messages go to the broker from the loop thread only (tick, onMessage).
#pragma once

#include <sodium.h>

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bus/protocol.h"
#include "common/clock.h"
#include "common/lmdb.h"
#include "directory/directory.h"
#include "requests/request.h"
#include "schemas/json.h"
#include "site/replica.h"
#include "trust/keys.h"

namespace liaison::site {

class HookRunner;
class RequestRelay;

class RequestDesk {
 public:
  struct Counters {
    uint64_t sent = 0, received = 0, delivered = 0, chunksSent = 0, chunksReceived = 0, steps = 0;
    std::map<std::string, uint64_t> refused;  // what this site refused, by reason
  };
  // Request ids of the desk's messages to the broker have this bit set.
  static constexpr uint64_t kRequestBit = uint64_t{1} << 62;
  static constexpr size_t kWindow = 4;  // chunks in flight per request
  // A reminder when a deadline is this near without a final status, and again once it passed.
  static constexpr int64_t kRemindDays = 3;

  static Result<std::unique_ptr<RequestDesk>> open(const std::string& dir, Transport& transport,
                                                   const trust::KeyPair& keys, std::string site,
                                                   std::string network, const directory::Directory& directory,
                                                   const Clock& clock, size_t mapSize = size_t{4} << 30);

  // The local API. Errors are values: kInvalidInput (400), kNotFound (404), kConflict (409).
  // `body`: {to, legalBasis, measures, case, summary, urgent, deadline, language, files}.
  Result<json::Json> create(const json::Json& body);
  Result<json::Json> upload(const std::string& id, uint32_t file, uint32_t index, std::string_view plain);
  Result<json::Json> list(const std::string& direction, bool onlyOpen) const;
  Result<json::Json> show(const std::string& id) const;
  Result<json::Json> openFiles(const std::string& id, const std::string& by);
  Result<std::string> plainChunk(const std::string& id, uint32_t file, uint32_t index) const;
  // `files` (name, size, sha256 as create() takes them): the evidence going back with the status,
  // sealed to the requesting site as a parcel of its own (requests::evidenceId), whose
  // chunks are then uploaded like a request's. The status step names the parcel's hash and files.
  Result<json::Json> setStatus(const std::string& id, const std::string& status, const std::string& by,
                               const std::string& reference, const std::string& comment,
                               const json::Json& files = json::Json::array());

  // The operator's `[requests] on_event` hook (JSON on stdin, LIAISON_REQUEST_ID set): a new
  // incoming request, each step the other side took, and deadline reminders.
  void setHook(HookRunner* hook) { hook_ = hook; }
  // At a bridge: every offer and step its broker delivers is the relay's (a bridge sends and
  // receives no request of its own), as are the answers to the relay's messages; the loop sends
  // what the relay has for this side. Set before the loop runs.
  void setRelay(RequestRelay* relay, int side) {
    relay_ = relay;
    relaySide_ = side;
  }

  // The loop. onMessage: a reply to the desk's message, or an offer or step from the broker.
  void onMessage(const bus::RequestMsg& m, int64_t nowMs);
  void tick(int64_t nowMs, bool connected);
  Counters counters() const;

 private:
  struct Transfer {  // in memory: what is in flight for one request
    bool putAcked = false;
    int64_t putSentMs = -1;
    std::vector<uint64_t> todo;             // chunk positions to send (out) or fetch (in)
    std::map<uint64_t, int64_t> inflight;   // position → sent at
    int64_t stepSentMs = -1;                // the first pending step, when it was sent
  };
  struct Asked {
    std::string op, id;
    uint64_t position = 0;
    uint32_t step = 0;
  };

  RequestDesk(lmdb::Env env, Transport& transport, const trust::KeyPair& keys, std::string site,
              std::string network, const directory::Directory& directory, const Clock& clock);
  Status load();
  Result<json::Json> record(const lmdb::Txn& txn, const std::string& id) const;
  Result<requests::Content> content(const lmdb::Txn& txn, const std::string& id) const;
  Result<std::vector<requests::SignedStep>> trail(const lmdb::Txn& txn, const std::string& id, uint32_t steps) const;
  Result<requests::TrailKeys> trailKeys(const json::Json& rec) const;
  // Checks `step` as step steps+1 of the request and stores it; the record is updated in `rec`.
  Status addStep(lmdb::Txn& txn, const std::string& id, json::Json& rec, const Bytes& step);
  Result<std::pair<std::string, Bytes>> sealEvidence(lmdb::Txn& txn, const std::string& id, json::Json& rec,
                                                     const std::vector<requests::FileRef>& files,
                                                     const std::string& comment);
  Status signAndQueue(lmdb::Txn& txn, const std::string& id, json::Json& rec, requests::Step step);
  Status put(lmdb::Txn& txn, const std::string& id, const json::Json& rec);
  void refused(const std::string& reason, const std::string& id, const std::string& detail);
  void send(bus::RequestMsg m, Asked asked);
  void onReply(const bus::RequestMsg& m, const Asked& asked, int64_t nowMs);
  void onOffer(const bus::RequestMsg& m);
  void onStep(const bus::RequestMsg& m);
  void onEvidence(const bus::RequestMsg& m, const requests::Sealed& sealed, const requests::SignedStep& status,
                  lmdb::Txn& txn);
  void gotChunk(const bus::RequestMsg& m, const Asked& asked, int64_t nowMs);
  Status finishDelivery(lmdb::Txn& txn, const std::string& id, json::Json& rec);
  void stored(const std::string& key);
  void driveOut(const std::string& id, const json::Json& rec, Transfer& t, int64_t nowMs);
  void driveIn(const std::string& id, const json::Json& rec, Transfer& t, int64_t nowMs);
  void driveSteps(const std::string& id, const json::Json& rec, Transfer& t, int64_t nowMs);
  void event(const std::string& id, const std::string& what, const json::Json& rec, json::Json extra = {});
  void remind();

  mutable std::mutex mutex_;
  lmdb::Env env_;
  MDB_dbi reqs_ = 0, blobs_ = 0;
  Transport& transport_;
  const trust::KeyPair& keys_;
  std::string site_, network_;
  const directory::Directory& dir_;
  const Clock& clock_;
  std::set<std::string> active_;  // requests with work left for the loop
  std::map<std::string, Transfer> transfers_;
  std::map<uint64_t, Asked> asked_;
  uint64_t nextRequest_ = 0;
  std::vector<std::string> storedKeys_;  // deliveries stored, to confirm to the broker
  std::map<std::string, crypto_hash_sha256_state> hashing_;  // "ID/F" → SHA-256 state of an upload
  Counters counters_;
  HookRunner* hook_ = nullptr;
  RequestRelay* relay_ = nullptr;
  int relaySide_ = 0;
  int64_t nextReminderMs_ = 0;
};

}  // namespace liaison::site
