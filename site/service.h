// What the site daemon's event loop offers the rest of the daemon (the local HTTP API).
// Implemented by the loop in site/daemon.cpp; every method is safe to call from any thread.
#pragma once

#include <chrono>
#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"

namespace liaison::site {

// The broker's answer to a submission (all or nothing).
struct PublishOutcome {
  bool accepted = false;
  uint64_t firstSeq = 0, lastSeq = 0;  // when accepted (both 0 when every item was a replay)
  uint32_t ignored = 0;                // replays dropped (already stored at that revision)
  std::string refusal, detail;         // when refused
  uint32_t index = 0;                  // which envelope was refused
};

struct SiteStatus {
  std::string site, network, broker;
  bool connected = false;          // heard from the broker within the last few heartbeats
  uint64_t brokerEpoch = 0, brokerHead = 0;
  uint64_t cursorEpoch = 0, cursorSeq = 0;
  int64_t lastHeardMsAgo = -1;     // -1: never
  uint64_t applied = 0;            // items applied since start
  std::map<std::string, uint64_t> refused;  // items this replica refused, by reason
  std::string state;               // "following", "fetching", "snapshot", "connecting"
};

class SiteService {
 public:
  virtual ~SiteService() = default;
  // Sends signed envelopes to the broker as one all-or-nothing submission and waits for its
  // answer. Errc::kUnavailable when the broker did not answer within `timeout`.
  virtual Result<PublishOutcome> submit(std::vector<Bytes> envelopes,
                                        std::chrono::milliseconds timeout) = 0;
  virtual SiteStatus status() const = 0;
};

}  // namespace liaison::site
