// liaison-site: the daemon of a site made by `liaison init --broker ...`.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "common/daemon.h"
#include "site/daemon.h"

int main(int argc, char** argv) {
  liaison::site::DaemonOptions o;
  if (const char* env = std::getenv("LIAISON_SITE")) o.siteDir = env;
  CLI::App app{"liaison-site: keeps a site's replica in step with its network's broker"};
  app.add_option("--site", o.siteDir, "the site's data directory (or LIAISON_SITE)");
  app.add_option("--rcvhwm", o.rcvHwm, "fan-out messages queued before ZeroMQ drops")
      ->check(CLI::Range(1, 10000000));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "liaison-site: " << e.what() << "\n";
    return 2;
  }
  if (o.siteDir.empty()) {
    std::cerr << "liaison-site: give --site DIR or set LIAISON_SITE\n";
    return 2;
  }
  liaison::setupDaemonLogging("liaison-site");
  liaison::boundAllocator();
  static std::atomic<bool> stop{false};
  liaison::installStopSignals(stop);
  auto st = liaison::site::runDaemon(o, stop);
  if (!st) {
    std::cerr << "liaison-site: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}
