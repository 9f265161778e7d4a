// Decodes log entries and checks their signatures on a pool of threads as soon as they arrive,
// so a catch-up verifies the next answer while the previous one is written (verification is
// most of a catch-up's work; nothing is skipped: every entry is still checked, only earlier).
//
// The daemon's loop calls prepare() for each fetch answer or snapshot chunk on receipt, and the
// replica's store calls take() for each entry it applies: a prepared entry's result comes from
// the pool (waiting for it if the pool is still at it), any other entry is checked there and
// then. Results are matched on the entry's epoch and seq and its envelope's bytes, so a later
// entry of the same seq with other bytes is never given another's result. At most
// `kBatchesKept` prepared answers are held; older ones are dropped unused (then checked again if
// they are applied after all), which bounds the memory; an entry's bytes are freed once its
// result is handed out, and an answer once all its results are.
// Concurrency: prepare() and take() from one thread (the loop); the pool's threads internally.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "bus/protocol.h"
#include "common/metrics.h"
#include "trust/keys.h"

namespace liaison::site {

class Precheck {
 public:
  using Checked = trust::CheckedEnvelope;
  static constexpr size_t kBatchesKept = 6;

  explicit Precheck(unsigned threads = std::thread::hardware_concurrency());
  ~Precheck();
  Precheck(const Precheck&) = delete;
  Precheck& operator=(const Precheck&) = delete;

  // Returns a ticket for ready().
  uint64_t prepare(const std::vector<bus::Entry>& entries);
  // Whether every entry of prepare()'s `ticket` is checked (or no longer held).
  bool ready(uint64_t ticket);
  // The result for each of `entries`, in order (those not prepared are checked on every core).
  std::vector<Checked> take(const std::vector<bus::Entry>& entries);

  uint64_t prepared() const { return prepared_; }  // results handed out from the pool
  size_t heldAnswers();  // prepared answers with results not yet handed out
  // How long each entry's decoding and signature check took (pool or take()), for /metrics.
  const Histogram& checkTimes() const { return checkTimes_; }

 private:
  struct Batch {
    std::vector<bus::Entry> entries;
    std::vector<Checked> results;
    std::unordered_map<uint64_t, size_t> bySeq;
    uint64_t ticket = 0;
    std::vector<char> ready;  // per entry: its result is there
    size_t done = 0;          // entries whose result is there
    size_t next = 0;          // the next entry a worker takes
    bool dropped = false;   // no longer held: workers stop taking from it
  };
  void work();

  std::mutex mutex_;
  std::condition_variable more_, finished_;
  std::deque<std::shared_ptr<Batch>> batches_;  // oldest first
  bool stop_ = false;
  uint64_t prepared_ = 0, tickets_ = 0;
  Histogram checkTimes_;
  std::vector<std::thread> pool_;  // last: started once the members above exist
};

}  // namespace liaison::site
