// liaison-interpol: the Interpol liaison adapter, a site daemon (made with `liaison init`, enrolled
// with role adapter) that forwards the alerts it receives to an NCB gateway and publishes
// Interpol notices (adapters/interpol.h).
#include <CLI/CLI.hpp>

#include <cstdlib>
#include <iostream>

#include "adapters/interpol.h"
#include "common/daemon.h"
#include "common/encoding.h"
#include "schemas/vocab.h"
#include "site/daemon.h"

int main(int argc, char** argv) {
  using namespace liaison;
  site::DaemonOptions o;
  adapters::InterpolOptions io;
  if (const char* env = std::getenv("LIAISON_SITE")) o.siteDir = env;
  std::string nationalities, types = "yellow,red";
  int interval = 300, connectMs = 5000, timeoutMs = 30000;
  int64_t firstRetryMs = 1000, maxRetryMs = 300000;
  size_t maxBodyKiB = 4096;
  CLI::App app{"liaison-interpol: alerts out to an NCB gateway, Interpol notices in"};
  app.add_option("--site", o.siteDir, "the adapter's site directory (liaison init; role adapter)");
  app.add_option("--gateway", io.gateway, "the NCB gateway's URL that alerts are POSTed to");
  app.add_option("--notices", io.notices, "base URL of the notices API ({base}/notices/v1/...)");
  app.add_option("--nationalities", nationalities, "nationalities to poll, e.g. KG,KZ,TJ,UZ,TH");
  app.add_option("--types", types, "notice types to poll (yellow,red)");
  app.add_option("--interval", interval, "seconds between polls")->check(CLI::Range(1, 86400));
  app.add_option("--ca-file", io.http.caFile, "trust these CAs (PEM) instead of the system's");
  app.add_option("--client-cert", io.http.clientCert, "client certificate (PEM) for the gateway");
  app.add_option("--client-key", io.http.clientKey, "its key (PEM)");
  app.add_option("--connect-timeout-ms", connectMs, "connect timeout")->check(CLI::Range(100, 600000));
  app.add_option("--timeout-ms", timeoutMs, "total time for one request")->check(CLI::Range(100, 3600000));
  app.add_option("--first-retry-ms", firstRetryMs, "first retry delay (doubles, with jitter)")->check(CLI::Range(10, 3600000));
  app.add_option("--max-retry-ms", maxRetryMs, "longest retry delay")->check(CLI::Range(10, 86400000));
  app.add_option("--max-body-kib", maxBodyKiB, "the largest answer read")->check(CLI::Range(1, 1 << 20));
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "liaison-interpol: " << e.what() << "\n";
    return 2;
  }
  if (o.siteDir.empty()) {
    std::cerr << "liaison-interpol: give --site DIR or set LIAISON_SITE\n";
    return 2;
  }
  io.nationalities = splitList(nationalities);
  io.types = splitList(types);
  for (const auto& n : io.nationalities) {
    if (!vocab::isCountry(n)) {
      std::cerr << "liaison-interpol: --nationalities: \"" << n << "\" is not an ISO 3166-1 alpha-2 code\n";
      return 2;
    }
  }
  for (const auto& t : io.types) {
    if (t != "yellow" && t != "red") {
      std::cerr << "liaison-interpol: --types: \"" << t << "\" is not yellow or red\n";
      return 2;
    }
  }
  for (const auto* url : {&io.gateway, &io.notices}) {
    if (!url->empty() && url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
      std::cerr << "liaison-interpol: \"" << *url << "\" is not an http(s) URL\n";
      return 2;
    }
  }
  while (!io.notices.empty() && io.notices.back() == '/') io.notices.pop_back();
  io.interval = std::chrono::seconds(interval);
  io.http.connectTimeout = std::chrono::milliseconds(connectMs);
  io.http.totalTimeout = std::chrono::milliseconds(timeoutMs);
  io.http.maxBody = maxBodyKiB * 1024;
  io.firstRetryMs = firstRetryMs;
  io.maxRetryMs = std::max(maxRetryMs, firstRetryMs);
  setupDaemonLogging("liaison-interpol");
  if (auto st = adapters::initHttp(); !st) {
    std::cerr << "liaison-interpol: " << st.error().message << "\n";
    return 1;
  }
  static std::atomic<bool> stop{false};
  installStopSignals(stop);
  adapters::InterpolAdapter adapter(io);
  o.extension = &adapter;
  auto st = site::runDaemon(o, stop);
  if (!st) {
    std::cerr << "liaison-interpol: " << st.error().message << "\n";
    return 1;
  }
  return 0;
}
