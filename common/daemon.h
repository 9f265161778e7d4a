// What every Liaison daemon does the same way: stop flags set by SIGTERM/SIGINT, and logging
// to stderr in a greppable form ("... site=kg-bishkek seq=42 ...").
#pragma once

#include <atomic>
#include <cstdint>
#include <string>

namespace liaison {

// SIGTERM and SIGINT set `stop` (which must live as long as the process); SIGPIPE is ignored.
// The signals interrupt blocking calls (no SA_RESTART), so event loops notice promptly.
void installStopSignals(std::atomic<bool>& stop);

// A stderr logger named `name` as the default, at the level LIAISON_LOG (or SPDLOG_LEVEL)
// names, info by default.
void setupDaemonLogging(const std::string& name);

// Keeps glibc's allocator near what the daemon actually holds:
// - two arenas: by default each thread that allocates (the HTTP API's pool, the signature
//   checkers) gets an arena of its own, and what a burst leaves in each stays resident;
// - blocks of 256 KiB and more always mapped apart and unmapped when freed. By default glibc
//   raises that threshold to the largest block freed so far (up to 32 MiB), after which a bulk
//   publish's megabyte buffers (its HTTP body, its submission) come from the arenas and stay
//   there until a trim.
void boundAllocator();

// Gives memory back to the system after a burst. glibc's allocator keeps what a burst freed (a
// catch-up, a bulk publish: hundreds of MiB over the threads' arenas) for reuse; a daemon that
// then idles would hold it for good. Call note() from the event loop with a count that grows with
// the work done (items applied, requests handled): once it has not moved for `quietMs` after it
// moved, the allocator's free memory is returned (malloc_trim), once per burst.
class MemoryGiveBack {
 public:
  explicit MemoryGiveBack(int64_t quietMs = 1000) : quietMs_(quietMs) {}
  void note(uint64_t work, int64_t nowMs);
  uint64_t trims() const { return trims_; }

 private:
  int64_t quietMs_;
  uint64_t last_ = 0, trimmedAt_ = 0, trims_ = 0;
  int64_t quietSince_ = 0;
};

}  // namespace liaison
