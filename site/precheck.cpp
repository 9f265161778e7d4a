#include "site/precheck.h"

#include <algorithm>
#include <cstring>

#include "trust/keys.h"

namespace liaison::site {

namespace {
constexpr size_t kSlice = 16;  // entries a worker takes at a time
}  // namespace

Precheck::Precheck(unsigned threads) {
  for (unsigned t = 0; t < std::max(1u, threads); ++t) pool_.emplace_back([this] { work(); });
}

Precheck::~Precheck() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  more_.notify_all();
  for (auto& t : pool_) t.join();
}

uint64_t Precheck::prepare(const std::vector<bus::Entry>& entries) {
  if (entries.empty()) return 0;
  auto batch = std::make_shared<Batch>();
  batch->ticket = ++tickets_;
  batch->entries = entries;
  batch->results.resize(entries.size());
  batch->ready.assign(entries.size(), 0);
  for (size_t i = 0; i < entries.size(); ++i) batch->bySeq.emplace(entries[i].seq, i);
  {
    std::lock_guard lock(mutex_);
    batches_.push_back(std::move(batch));
    while (batches_.size() > kBatchesKept) {
      batches_.front()->dropped = true;
      batches_.pop_front();
    }
  }
  more_.notify_all();
  return tickets_;
}

bool Precheck::ready(uint64_t ticket) {
  std::lock_guard lock(mutex_);
  for (const auto& b : batches_) {
    if (b->ticket == ticket) return b->done == b->entries.size();
  }
  return true;
}

size_t Precheck::heldAnswers() {
  std::lock_guard lock(mutex_);
  return batches_.size();
}

void Precheck::work() {
  std::unique_lock lock(mutex_);
  for (;;) {
    std::shared_ptr<Batch> batch;
    more_.wait(lock, [&] {
      if (stop_) return true;
      for (const auto& b : batches_) {
        if (b->next < b->entries.size()) {
          batch = b;
          return true;
        }
      }
      return false;
    });
    if (stop_) return;
    size_t from = batch->next, to = std::min(batch->entries.size(), from + kSlice);
    batch->next = to;
    lock.unlock();
    for (size_t i = from; i < to; ++i) {
      ScopedTimer timed(checkTimes_);
      batch->results[i] = trust::checkEnvelope(batch->entries[i].envelope);
    }
    lock.lock();
    std::fill(batch->ready.begin() + static_cast<std::ptrdiff_t>(from),
              batch->ready.begin() + static_cast<std::ptrdiff_t>(to), char{1});
    batch->done += to - from;
    finished_.notify_all();
  }
}

std::vector<Precheck::Checked> Precheck::take(const std::vector<bus::Entry>& entries) {
  std::vector<Checked> out(entries.size());
  std::vector<size_t> missing;
  {
    std::unique_lock lock(mutex_);
    for (size_t k = 0; k < entries.size(); ++k) {
      const auto& e = entries[k];
      bool found = false;
      for (auto b = batches_.rbegin(); b != batches_.rend(); ++b) {
        auto it = (*b)->bySeq.find(e.seq);
        if (it == (*b)->bySeq.end()) continue;
        const bus::Entry& held = (*b)->entries[it->second];
        if (held.epoch != e.epoch || held.envelope != e.envelope) continue;
        std::shared_ptr<Batch> batch = *b;
        size_t i = it->second;
        finished_.wait(lock, [&] { return batch->ready[i] != 0 || batch->dropped; });
        if (batch->ready[i] == 0) break;  // dropped meanwhile: checked below
        out[k] = std::move(batch->results[i]);
        Bytes().swap(batch->entries[i].envelope);  // handed out once: no longer matched
        batch->bySeq.erase(it);
        ++prepared_;
        found = true;
        if (batch->bySeq.empty()) {
          // All handed out: nothing of it is held any more.
          batch->dropped = true;
          std::erase(batches_, batch);
        }
        break;  // (the erase above may have moved batches_)
      }
      if (!found) missing.push_back(k);
    }
  }
  std::vector<const Bytes*> unprepared;
  for (size_t k : missing) unprepared.push_back(&entries[k].envelope);
  auto checked = trust::checkEnvelopes(unprepared, 64, &checkTimes_);
  for (size_t m = 0; m < missing.size(); ++m) out[missing[m]] = std::move(checked[m]);
  return out;
}

}  // namespace liaison::site
