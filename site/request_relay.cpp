#include "site/request_relay.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <utility>

#include "site/requests.h"

namespace liaison::site {

namespace {

bus::RequestMsg message(const std::string& op, const std::string& id) {
  bus::RequestMsg m;
  m.op = op;
  m.id = id;
  return m;
}

}  // namespace

void RequestRelay::queue(int side, bus::RequestMsg m, const Asked* asked) {
  m.requestId = RequestDesk::kRequestBit | kRelayBit | ++next_;
  if (asked != nullptr) asked_[m.requestId] = *asked;
  out_[side].push_back(std::move(m));
}

void RequestRelay::onDelivery(int side, const bus::RequestMsg& m, int64_t nowMs) {
  if ((m.op != "offer" && m.op != "step") || m.keys.empty() || m.steps.empty()) return;
  std::lock_guard lock(mutex_);
  const std::string& key = m.keys[0];
  if (carries_.contains(key)) return;  // being carried: the broker's resend is not news
  Carry c;
  c.from = side;
  c.key = key;
  if (m.op == "offer") {
    c.give = message("put", m.id);
    c.give.data = m.data;
    c.give.steps = m.steps;
    if (m.keys.size() >= 2) {  // evidence: the request and the status step that name it
      c.give.keys = {m.keys[1]};
      c.give.index = m.index;
    }
  } else {
    c.give = message("step", m.id);
    c.give.steps = m.steps;
  }
  spdlog::info("bridge site={} request={} {} from its broker: carried to {}", sites_[side], m.id, m.op,
               sites_[1 - side]);
  start(carries_.emplace(key, std::move(c)).first->second, nowMs);
}

void RequestRelay::start(Carry& c, int64_t nowMs) {
  ++c.generation;
  c.todo.clear();
  c.inflight.clear();
  c.lastMs = nowMs;
  const Asked asked{c.key, c.give.op, 0, c.generation};
  queue(1 - c.from, c.give, &asked);
}

void RequestRelay::pump(Carry& c) {
  while (c.inflight.size() < kWindow && !c.todo.empty()) {
    const uint64_t pos = c.todo.back();
    c.todo.pop_back();
    c.inflight.insert(pos);
    bus::RequestMsg get = message("get", c.give.id);
    get.file = static_cast<uint32_t>(pos >> 32);
    get.index = static_cast<uint32_t>(pos & 0xffffffffu);
    const Asked asked{c.key, "get", pos, c.generation};
    queue(c.from, std::move(get), &asked);
  }
}

// The other broker holds it: the one that delivered it may let it go.
void RequestRelay::finish(const std::string& key) {
  auto it = carries_.find(key);
  if (it == carries_.end()) return;
  bus::RequestMsg stored = message("stored", "");
  stored.keys = {key};
  queue(it->second.from, std::move(stored), nullptr);
  ++counters_.carried;
  spdlog::info("bridge site={} request={} {} carried to {}", sites_[it->second.from], it->second.give.id,
               it->second.give.op == "step" ? "step" : "offer", sites_[1 - it->second.from]);
  carries_.erase(it);
}

void RequestRelay::refused(const Carry& c, const bus::RequestMsg& m) {
  ++counters_.refused[m.refusal];
  spdlog::warn("bridge request={} {}: refused ({}): {}; offered again later", c.give.id, c.give.op, m.refusal,
               m.detail);
}

void RequestRelay::onReply(int side, const bus::RequestMsg& m, int64_t nowMs) {
  std::lock_guard lock(mutex_);
  auto a = asked_.find(m.requestId);
  if (a == asked_.end()) return;
  auto it = carries_.find(a->second.key);
  if (it == carries_.end() || it->second.generation != a->second.generation || m.id != it->second.give.id) return;
  Carry& c = it->second;
  if ((side != c.from) != (a->second.op != "get")) return;  // not the broker it was asked of
  const Asked asked = std::move(a->second);
  asked_.erase(a);
  c.lastMs = nowMs;
  if (!m.accepted) {
    if (m.refusal == "store failure" && asked.op != "put" && asked.op != "step") return;  // stalls, then again
    refused(c, m);
    carries_.erase(it);
    return;
  }
  if (asked.op == "step") {
    ++counters_.steps;
    return finish(asked.key);
  }
  if (asked.op == "get") {
    if (m.file != static_cast<uint32_t>(asked.position >> 32) ||
        m.index != static_cast<uint32_t>(asked.position & 0xffffffffu) || m.data.empty()) {
      return;  // not the chunk asked for: the carry stalls and starts again
    }
    bus::RequestMsg chunk = message("chunk", c.give.id);
    chunk.file = m.file;
    chunk.index = m.index;
    chunk.data = m.data;
    counters_.chunkBytes += m.data.size();
    const Asked next{c.key, "chunk", asked.position, c.generation};
    queue(1 - c.from, std::move(chunk), &next);
    return;
  }
  if (asked.op == "chunk") ++counters_.chunks;
  if (m.detail == "complete") return finish(asked.key);
  if (asked.op == "put") {
    c.todo.assign(m.missing.rbegin(), m.missing.rend());
    c.inflight.clear();
  } else {
    c.inflight.erase(asked.position);
  }
  pump(c);
  if (c.todo.empty() && c.inflight.empty()) start(c, nowMs);  // the next chunks it lacks (a put names 1,024 at most)
}

std::vector<bus::RequestMsg> RequestRelay::take(int side, int64_t nowMs) {
  std::lock_guard lock(mutex_);
  for (auto& [key, c] : carries_) {
    if (nowMs - c.lastMs > kStallMs) {
      spdlog::warn("bridge request={} {}: no answer for {} s; starting again", c.give.id, c.give.op, kStallMs / 1000);
      start(c, nowMs);
    }
  }
  // Answers that will never come (a broker that went away) do not pile up.
  std::erase_if(asked_, [&](const auto& entry) {
    auto c = carries_.find(entry.second.key);
    return c == carries_.end() || c->second.generation != entry.second.generation;
  });
  return std::exchange(out_[side], {});
}

RequestRelay::Counters RequestRelay::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

size_t RequestRelay::carrying() const {
  std::lock_guard lock(mutex_);
  return carries_.size();
}

}  // namespace liaison::site
