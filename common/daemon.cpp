#include "common/daemon.h"

#include <malloc.h>
#include <signal.h>
#include <spdlog/cfg/env.h>
#include <spdlog/sinks/stdout_color_sinks.h>
#include <spdlog/spdlog.h>

#include <cstdlib>

namespace liaison {

namespace {
std::atomic<bool>* gStop = nullptr;
void onSignal(int) {
  if (gStop != nullptr) gStop->store(true);
}
}  // namespace

void installStopSignals(std::atomic<bool>& stop) {
  gStop = &stop;
  struct sigaction sa{};
  sa.sa_handler = onSignal;
  sigemptyset(&sa.sa_mask);
  sa.sa_flags = 0;
  sigaction(SIGTERM, &sa, nullptr);
  sigaction(SIGINT, &sa, nullptr);
  signal(SIGPIPE, SIG_IGN);
}

void setupDaemonLogging(const std::string& name) {
  auto logger = spdlog::stderr_color_mt(name);
  spdlog::set_default_logger(logger);
  spdlog::set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ " + name + " %v");
  spdlog::set_level(spdlog::level::info);
  if (const char* level = std::getenv("LIAISON_LOG")) {
    spdlog::set_level(spdlog::level::from_str(level));
  }
  spdlog::cfg::load_env_levels();
}

void boundAllocator() {
  ::mallopt(M_ARENA_MAX, 2);
  ::mallopt(M_MMAP_THRESHOLD, 256 << 10);  // setting it turns glibc's raising of it off
}

void MemoryGiveBack::note(uint64_t work, int64_t nowMs) {
  if (work == trimmedAt_) return;
  if (work != last_) {
    last_ = work;
    quietSince_ = nowMs;
    return;
  }
  if (nowMs - quietSince_ < quietMs_) return;
#if !defined(__SANITIZE_ADDRESS__)
  // Under AddressSanitizer glibc's allocator is not the one in use: its arenas are never set up,
  // and trimming them from two daemons' loops in one process (the bridge) crashed in mtrim.
  ::malloc_trim(0);
#endif
  trimmedAt_ = work;
  ++trims_;
}

}  // namespace liaison
