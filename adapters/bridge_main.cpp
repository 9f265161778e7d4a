// liaison-bridge: federation between two networks (adapters/bridge.h). Runs the two site daemons
// of its site directories (each made with `liaison init`, enrolled with role bridge by its own
// network's root) and carries between them what the networks' peerings allow.
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>
#include <thread>

#include "adapters/bridge.h"
#include "common/daemon.h"
#include "site/daemon.h"

int main(int argc, char** argv) {
  using namespace liaison;
  std::vector<std::string> sites;
  CLI::App app{"liaison-bridge: carries what two networks' peerings allow between them"};
  app.add_option("--site", sites, "a site directory of the bridge in each network (give it twice)")
      ->required();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "liaison-bridge: " << e.what() << "\n";
    return 2;
  }
  if (sites.size() != 2 || sites[0] == sites[1]) {
    std::cerr << "liaison-bridge: give --site twice, one site directory in each network\n";
    return 2;
  }
  setupDaemonLogging("liaison-bridge");
  boundAllocator();
  static std::atomic<bool> stop{false};
  installStopSignals(stop);
  Status results[2];
  {
    adapters::Bridge bridge(stop);
    site::DaemonOptions options[2];
    for (int i = 0; i < 2; ++i) {
      options[i].siteDir = sites[static_cast<size_t>(i)];
      options[i].extension = &bridge.side(i);
    }
    // Either daemon ending (a failure to start, or SIGTERM) ends the other.
    std::thread second([&] {
      results[1] = site::runDaemon(options[1], stop);
      stop = true;
    });
    results[0] = site::runDaemon(options[0], stop);
    stop = true;
    second.join();
  }
  for (int i = 0; i < 2; ++i) {
    if (!results[i]) {
      std::cerr << "liaison-bridge: " << sites[static_cast<size_t>(i)] << ": " << results[i].error().message << "\n";
      return 1;
    }
  }
  return 0;
}
