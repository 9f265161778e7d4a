#include "site/replica.h"

#include <spdlog/spdlog.h>

namespace liaison::site {

ReplicaCore::ReplicaCore(ReplicaStore& store, Transport& transport, Limits limits)
    : store_(store), transport_(transport), limits_(limits) {
  cursor_ = store_.cursor();
  pendingCursor_ = cursor_;
}

const char* ReplicaCore::state() const {
  switch (mode_) {
    case Mode::kConnecting: return "connecting";
    case Mode::kFollowing: return "following";
    case Mode::kFetching: return "fetching";
    case Mode::kSnapshot: return "snapshot";
  }
  return "?";
}

void ReplicaCore::send(bus::Message message, int64_t nowMs) {
  // Each request gets a new id, so a late answer to an earlier one is recognised and ignored.
  ++requestId_;
  std::visit(
      [&](auto& m) {
        using T = std::decay_t<decltype(m)>;
        if constexpr (std::is_same_v<T, bus::FetchRequest> || std::is_same_v<T, bus::InfoRequest> ||
                      std::is_same_v<T, bus::SnapshotRequest>) {
          m.requestId = requestId_;
        }
      },
      message);
  transport_.send(message);
  inflight_.push_back(Request{std::move(message), requestId_, nowMs});
}

template <typename T>
bool ReplicaCore::answered(uint64_t id) {
  for (auto it = inflight_.begin(); it != inflight_.end(); ++it) {
    if (it->id == id && std::holds_alternative<T>(it->message)) {
      inflight_.erase(it);
      return true;
    }
  }
  return false;
}

void ReplicaCore::start(int64_t nowMs) {
  mode_ = Mode::kConnecting;
  inflight_.clear();
  send(bus::InfoRequest{}, nowMs);
}

void ReplicaCore::fetch(int64_t nowMs) {
  if (mode_ == Mode::kSnapshot) return;
  if (mode_ != Mode::kFetching) inflight_.clear();  // an info request: its answer is not needed
  mode_ = Mode::kFetching;
  // Ranges follow the last one asked for; the first starts after what is held.
  uint64_t from = inflight_.empty() ? nextSeq() : std::max(nextSeq(), requestedTo_ + 1);
  // Another epoch: the broker answers from its start, and only that answer tells where it ends.
  const bool sameEpoch = pendingCursor_.epoch == brokerEpoch_;
  while (inflight_.size() < limits_.fetchWindow &&
         (inflight_.empty() || (sameEpoch && from <= brokerHead_))) {
    ++fetches_;
    send(bus::FetchRequest{0, pendingCursor_.epoch, from, limits_.fetchItems}, nowMs);
    requestedTo_ = from + limits_.fetchItems - 1;
    from = requestedTo_ + 1;
    if (!sameEpoch) break;
  }
}

void ReplicaCore::startSnapshot(int64_t nowMs) {
  mode_ = Mode::kSnapshot;
  ++snapshots_;
  snapshotStarted_ = false;
  inflight_.clear();
  spdlog::info("replica behind the broker's log: taking a snapshot");
  send(bus::SnapshotRequest{0, "", limits_.snapshotItems}, nowMs);
}

void ReplicaCore::take(bus::Entry entry) {
  if (entry.epoch == pendingCursor_.epoch && entry.seq <= pendingCursor_.seq) return;  // have it
  if (entry.epoch == pendingCursor_.epoch && entry.seq == nextSeq()) {
    pendingCursor_.seq = entry.seq;
    pending_.push_back(std::move(entry));
    return;
  }
  if (buffer_.size() < limits_.bufferEntries) buffer_.emplace(entry.seq, std::move(entry));
}

void ReplicaCore::drainBuffer() {
  for (auto it = buffer_.begin(); it != buffer_.end();) {
    if (it->second.epoch != pendingCursor_.epoch || it->first <= pendingCursor_.seq) {
      it = buffer_.erase(it);  // covered already, or of another epoch
    } else if (it->first == nextSeq()) {
      pending_.push_back(std::move(it->second));
      pendingCursor_.seq = it->first;
      it = buffer_.erase(it);
    } else {
      break;
    }
  }
}

void ReplicaCore::onInfo(const bus::Info& info, int64_t nowMs) {
  lastHeardMs_ = nowMs;
  brokerEpoch_ = info.epoch;
  brokerHead_ = info.head;
  if (answered<bus::InfoRequest>(info.requestId)) mode_ = Mode::kFollowing;
  if (mode_ == Mode::kSnapshot) return;
  if (pendingCursor_.epoch == 0 && pendingCursor_.seq == 0) {
    pendingCursor_.epoch = info.epoch;  // nothing applied yet: take the broker's history as ours
  }
  if (mode_ == Mode::kFetching) return;  // the fetches in flight go on
  if (pendingCursor_.epoch != info.epoch || pendingCursor_.seq < info.head) fetch(nowMs);
}

void ReplicaCore::onEntry(const bus::Entry& entry, int64_t nowMs) {
  lastHeardMs_ = nowMs;
  brokerEpoch_ = entry.epoch;
  brokerHead_ = std::max(brokerHead_, entry.seq);
  if (pendingCursor_.epoch == 0 && pendingCursor_.seq == 0 && entry.seq == 1 &&
      mode_ != Mode::kSnapshot) {
    pendingCursor_.epoch = entry.epoch;  // the very first item of a new network
  }
  if (mode_ == Mode::kSnapshot || mode_ == Mode::kFetching) {
    if (buffer_.size() < limits_.bufferEntries) buffer_.emplace(entry.seq, entry);
    return;
  }
  take(entry);
  drainBuffer();
  if (!buffer_.empty() || entry.epoch != pendingCursor_.epoch) fetch(nowMs);  // a gap
}

void ReplicaCore::onHeartbeat(const bus::Heartbeat& hb, int64_t nowMs) {
  lastHeardMs_ = nowMs;
  brokerEpoch_ = hb.epoch;
  brokerHead_ = std::max(brokerHead_, hb.head);
  if (mode_ == Mode::kFollowing || mode_ == Mode::kConnecting) {
    bool otherEpoch = pendingCursor_.epoch != hb.epoch && hb.head > 0;
    if (otherEpoch || hb.head > pendingCursor_.seq) fetch(nowMs);
  }
}

void ReplicaCore::onItems(bus::Items items, int64_t nowMs) {
  if (!answered<bus::FetchRequest>(items.requestId)) return;  // one we gave up on
  lastHeardMs_ = nowMs;
  brokerEpoch_ = items.epoch;
  brokerHead_ = std::max(brokerHead_, items.head);
  if (items.horizon) {
    startSnapshot(nowMs);
    return;
  }
  if (pendingCursor_.epoch != items.epoch) {
    // The broker's history is another: it served its log from the start.
    spdlog::info("broker epoch {:016x} (replica had {:016x}): catching up from its start",
                 items.epoch, pendingCursor_.epoch);
    pendingCursor_ = directory::Cursor{items.epoch, 0};
    inflight_.clear();  // ranges of the other history
  }
  for (auto& e : items.entries) take(std::move(e));
  drainBuffer();
  if (pendingCursor_.seq < items.head) {
    fetch(nowMs);  // more to come: keep the window full
  } else if (inflight_.empty()) {
    mode_ = Mode::kFollowing;
  }
}

void ReplicaCore::onSnapshot(bus::SnapshotChunk chunk, int64_t nowMs) {
  if (!answered<bus::SnapshotRequest>(chunk.requestId)) return;
  lastHeardMs_ = nowMs;
  if (!snapshotStarted_) {
    snapshotStarted_ = true;
    snapshotEpoch_ = chunk.epoch;
    snapshotHead_ = chunk.head;  // the delta is fetched from here
  }
  // Snapshot items are applied with the cursor left as it is until the last chunk.
  pending_.insert(pending_.end(), std::make_move_iterator(chunk.entries.begin()),
                  std::make_move_iterator(chunk.entries.end()));
  if (!chunk.done) {
    send(bus::SnapshotRequest{0, chunk.nextKey, limits_.snapshotItems}, nowMs);
    return;
  }
  pendingCursor_ = directory::Cursor{snapshotEpoch_, snapshotHead_};
  mode_ = Mode::kFollowing;
  spdlog::info("snapshot done at seq {}; fetching the rest", snapshotHead_);
  drainBuffer();
  fetch(nowMs);
}

void ReplicaCore::onTick(int64_t nowMs) {
  if (!inflight_.empty() && nowMs - inflight_.front().sentMs > limits_.retryMs) {
    spdlog::debug("no answer from the broker; asking again");
    // Everything in flight again, under new ids (answers to the old ones are ignored).
    std::deque<Request> again;
    again.swap(inflight_);
    for (auto& r : again) send(std::move(r.message), nowMs);
    return;
  }
  if (inflight_.empty() && (lastHeardMs_ < 0 || nowMs - lastHeardMs_ > limits_.silenceMs)) {
    // Silence: ask for the broker's state (answers also when the fan-out is down).
    if (mode_ != Mode::kSnapshot) mode_ = Mode::kConnecting;
    send(bus::InfoRequest{}, nowMs);
  }
}

Status ReplicaCore::rewind(int64_t nowMs) {
  LIAISON_TRY(flush());
  const directory::Cursor none;
  LIAISON_TRY(store_.apply({}, none, refused_));  // durable: a restart rewinds too
  cursor_ = pendingCursor_ = none;
  pending_.clear();
  buffer_.clear();
  inflight_.clear();
  spdlog::info("replica rewound: the broker's log is applied again from its start");
  start(nowMs);
  return {};
}

Status ReplicaCore::flush() {
  if (pending_.empty() && pendingCursor_ == cursor_) return {};
  directory::Cursor after = mode_ == Mode::kSnapshot ? cursor_ : pendingCursor_;
  if (pending_.empty() && after == cursor_) return {};
  auto st = store_.apply(pending_, after, refused_);
  if (!st) {
    // Nothing was applied: go back to the durable cursor and fetch again.
    spdlog::error("apply failed: {}", st.error().message);
    pending_.clear();
    buffer_.clear();
    pendingCursor_ = cursor_;
    if (mode_ == Mode::kFetching) inflight_.clear();  // their ranges no longer follow
    mode_ = Mode::kFollowing;
    return st;
  }
  applied_ += pending_.size();
  pending_.clear();
  cursor_ = after;
  return {};
}

}  // namespace liaison::site
