// The replica core: applies a broker's log in seq order, detects gaps and decides what to
// fetch. Pure: the store and the transport come in by reference and the time is passed in, so
// it is testable without sockets (tests/replica_test.cpp).
//
// Operation (DESIGN.md, "Bus"): live entries arrive on the fan-out; one that follows the cursor
// is applied (with the cursor, in one transaction, at flush()); one past a gap is buffered and
// the gap fetched; a heartbeat ahead of the cursor, silence, or another epoch also start a
// fetch; a fetch the broker's log no longer covers starts a chunked snapshot, after which the
// delta from the snapshot's starting head is fetched. Replays are harmless: revisions decide.
// Concurrency: one thread (the site daemon's loop) calls everything.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <string>
#include <vector>

#include "bus/protocol.h"
#include "directory/directory.h"

namespace liaison::site {

class ReplicaStore {
 public:
  virtual ~ReplicaStore() = default;
  virtual directory::Cursor cursor() const = 0;
  // Verifies and applies `entries` in order and sets the cursor to `after`, in one transaction.
  // Items this replica refuses are skipped and counted in `refused` by reason.
  virtual Status apply(const std::vector<bus::Entry>& entries, const directory::Cursor& after,
                       std::map<std::string, uint64_t>& refused) = 0;
};

class Transport {
 public:
  virtual ~Transport() = default;
  virtual void send(const bus::Message& request) = 0;
};

class ReplicaCore {
 public:
  struct Limits {
    // A catch-up asks for fetchItems entries at a time, fetchWindow requests in flight: each
    // answer is one transaction (its pages are the daemon's memory until it commits).
    uint32_t fetchItems = 1000;
    uint32_t fetchWindow = 4;
    uint32_t snapshotItems = 2000;
    int64_t retryMs = 3000;       // an unanswered request is sent again
    int64_t silenceMs = 3500;     // no heartbeat for this long: ask the broker
    size_t bufferEntries = 4000;  // live entries held while catching up (more are fetched)
  };
  ReplicaCore(ReplicaStore& store, Transport& transport, Limits limits);

  void start(int64_t nowMs);  // asks the broker for its state
  void onInfo(const bus::Info& info, int64_t nowMs);
  void onEntry(const bus::Entry& entry, int64_t nowMs);
  void onHeartbeat(const bus::Heartbeat& heartbeat, int64_t nowMs);
  // By value: the daemon moves an answer in, so its entries are not copied once more.
  void onItems(bus::Items items, int64_t nowMs);
  void onSnapshot(bus::SnapshotChunk chunk, int64_t nowMs);
  void onTick(int64_t nowMs);
  // Applies what is pending in one transaction. Call after each burst of events.
  Status flush();
  // Starts again from the beginning of the broker's log (everything is verified and applied
  // again; what is held already is ignored as a replay). The bridge uses it after a peering
  // that had ended comes back, to carry again what was withdrawn.
  Status rewind(int64_t nowMs);

  directory::Cursor cursor() const { return cursor_; }
  uint64_t brokerEpoch() const { return brokerEpoch_; }
  uint64_t brokerHead() const { return brokerHead_; }
  int64_t lastHeardMs() const { return lastHeardMs_; }
  uint64_t applied() const { return applied_; }
  const std::map<std::string, uint64_t>& refused() const { return refused_; }
  const char* state() const;
  uint64_t fetches() const { return fetches_; }
  uint64_t snapshots() const { return snapshots_; }

 private:
  enum class Mode { kConnecting, kFollowing, kFetching, kSnapshot };
  void fetch(int64_t nowMs);
  void startSnapshot(int64_t nowMs);
  void send(bus::Message message, int64_t nowMs);  // a new request, in flight after the others
  // Removes the request `id` of type T from those in flight; false if it is not one of them.
  template <typename T>
  bool answered(uint64_t id);
  void take(bus::Entry entry);  // append to pending if it follows, else buffer
  void drainBuffer();
  uint64_t nextSeq() const { return pendingCursor_.seq + 1; }

  ReplicaStore& store_;
  Transport& transport_;
  Limits limits_;
  Mode mode_ = Mode::kConnecting;
  directory::Cursor cursor_;         // durable
  directory::Cursor pendingCursor_;  // after `pending_` is applied
  std::vector<bus::Entry> pending_;
  std::map<uint64_t, bus::Entry> buffer_;
  uint64_t brokerEpoch_ = 0, brokerHead_ = 0;
  int64_t lastHeardMs_ = -1;
  // The requests in flight, oldest first: one info or snapshot request, or up to fetchWindow
  // fetches of consecutive ranges (the broker answers in order; while one answer is applied the
  // next is on its way).
  struct Request {
    bus::Message message;
    uint64_t id = 0;
    int64_t sentMs = 0;
  };
  std::deque<Request> inflight_;
  uint64_t requestId_ = 0;
  uint64_t requestedTo_ = 0;  // the last seq the fetches in flight ask for
  // Snapshot in progress.
  uint64_t snapshotEpoch_ = 0, snapshotHead_ = 0;
  bool snapshotStarted_ = false;
  uint64_t applied_ = 0, fetches_ = 0, snapshots_ = 0;
  std::map<std::string, uint64_t> refused_;
};

}  // namespace liaison::site
