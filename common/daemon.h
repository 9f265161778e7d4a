// What every Liaison daemon does the same way: stop flags set by SIGTERM/SIGINT, and logging
// to stderr in a greppable form ("... site=kg-bishkek seq=42 ...").
#pragma once

#include <atomic>
#include <string>

namespace liaison {

// SIGTERM and SIGINT set `stop` (which must live as long as the process); SIGPIPE is ignored.
// The signals interrupt blocking calls (no SA_RESTART), so event loops notice promptly.
void installStopSignals(std::atomic<bool>& stop);

// A stderr logger named `name` as the default, at the level LIAISON_LOG (or SPDLOG_LEVEL)
// names, info by default.
void setupDaemonLogging(const std::string& name);

}  // namespace liaison
