// liaison-site: the daemon of a networked site. One thread runs the event loop (the broker's
// DEALER and SUB sockets, the replica core, the directory's write transactions); the local
// HTTP API runs in threads of its own and talks to the loop through SiteService.
#pragma once

#include <atomic>
#include <string>

#include "common/result.h"

namespace liaison::site {

class Extension;

struct DaemonOptions {
  std::string siteDir;
  int rcvHwm = 2000;  // fan-out messages queued before ZeroMQ drops (gaps are then fetched)
  Extension* extension = nullptr;  // borrowed; e.g. the Interpol adapter
};

// Runs until `stop`; an error (one line) when it cannot start.
Status runDaemon(const DaemonOptions& options, const std::atomic<bool>& stop);

}  // namespace liaison::site
