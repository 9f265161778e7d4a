// A bridge's relay of MLA requests between its two networks (DESIGN.md, "Federation" and "MLA
// requests"; broker/requests.h says what each broker holds).
//
// The relay keeps nothing on disk, and needs nothing: a broker keeps its custody, and resends
// its offer or step, until the relay tells it "stored", and the relay says so only once the
// other broker has answered that it holds the whole thing. So a kill -9 of the bridge loses
// nothing: the offer comes again, and the put to the other broker names the chunks it still lacks.
//
//  - An offer (a request, or a parcel of evidence going back) from side A's broker: the sealed
//    request and its trail are put to side B's broker as they are; the chunks B's broker lacks
//    are fetched from A's broker (get) and handed to B's (chunk), kWindow in flight; when B's broker
//    answers "complete", A's broker is told "stored".
//  - A step (the recipient's "delivered", "opened", a status) from B's broker for the sender
//    across: given to A's broker (step); once it has taken it, B's broker is told "stored".
//  - A refusal by either broker drops that carry (counted, by reason): the broker that offered
//    it offers it again later (its resends back off to a minute). A carry that hears nothing for
//    kStallMs starts again from its put.
//
// The relay is a pure core: it never touches a socket. Side i's site daemon gives it what its
// broker sent (onDelivery, onReply) and sends what take(i) returns, on its own loop.
// Concurrency: every method takes the relay's mutex (a leaf: nothing else is locked under it).
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <vector>

#include "bus/protocol.h"

namespace liaison::site {

class RequestRelay {
 public:
  // The relay's messages carry this bit (with RequestDesk::kRequestBit) in their request ids.
  static constexpr uint64_t kRelayBit = uint64_t{1} << 61;
  // Chunks in flight per carry. Each chunk waits for a loop tick (100 ms) at each side: 16 moves
  // about 80 a second, with 16 MiB at most in the bridge's hands per request.
  static constexpr size_t kWindow = 16;
  static constexpr int64_t kStallMs = 15000;

  struct Counters {
    uint64_t carried = 0, chunks = 0, chunkBytes = 0, steps = 0;
    std::map<std::string, uint64_t> refused;  // by the brokers, by reason
  };

  // The bridge's site id in each network (for its logs).
  void name(int side, std::string site) {
    std::lock_guard lock(mutex_);
    sites_[side] = std::move(site);
  }

  // An offer or a step that side `side`'s broker delivered to the bridge.
  void onDelivery(int side, const bus::RequestMsg& m, int64_t nowMs);
  // The answer of side `side`'s broker to a message of the relay.
  void onReply(int side, const bus::RequestMsg& m, int64_t nowMs);
  // The messages side `side` sends its broker now; carries that stalled start again.
  std::vector<bus::RequestMsg> take(int side, int64_t nowMs);

  Counters counters() const;
  size_t carrying() const;

 private:
  struct Carry {
    int from = 0;          // the side whose broker delivered it (told "stored" at the end)
    std::string key;       // its delivery key there
    bus::RequestMsg give;  // what goes to the other broker: a put, or a step
    uint64_t generation = 0;
    std::vector<uint64_t> todo;  // chunk positions the other broker lacks, not yet asked for
    std::set<uint64_t> inflight;
    int64_t lastMs = 0;  // when it last heard from a broker
  };
  struct Asked {
    std::string key, op;
    uint64_t position = 0, generation = 0;
  };

  void queue(int side, bus::RequestMsg m, const Asked* asked);
  void start(Carry& c, int64_t nowMs);
  void pump(Carry& c);
  void finish(const std::string& key);
  void refused(const Carry& c, const bus::RequestMsg& m);

  mutable std::mutex mutex_;
  std::array<std::string, 2> sites_;
  std::map<std::string, Carry> carries_;  // by delivery key
  std::map<uint64_t, Asked> asked_;       // by request id
  std::array<std::vector<bus::RequestMsg>, 2> out_;
  uint64_t next_ = 0;
  Counters counters_;
};

}  // namespace liaison::site
