// liaison-fake-interpol: a stand-in for Interpol's side on 127.0.0.1, for the demo and for trying
// the adapter by hand: an NCB gateway (POST /ncb/alerts, accepting each Idempotency-Key once;
// GET /ncb/received lists what it accepted) and a notices API shaped like Interpol's public one
// (GET /notices/v1/{yellow|red}?nationality=CC&page=N), serving the notices of a JSON file
// {"yellow/KG": [notice, ...], ...}. Writes "gateway URL" and "notices URL" lines to --out and
// runs until SIGTERM or SIGINT. Not part of a real deployment.
#include <signal.h>

#include <atomic>
#include <fstream>
#include <iostream>
#include <sstream>

#include "tests/fake_interpol.h"

namespace {
std::atomic<bool> stop{false};
void onSignal(int) { stop = true; }
}  // namespace

int main(int argc, char** argv) {
  std::string out, noticesFile;
  for (int i = 1; i + 1 < argc; i += 2) {
    std::string a = argv[i];
    if (a == "--out") out = argv[i + 1];
    if (a == "--notices") noticesFile = argv[i + 1];
  }
  if (out.empty()) {
    std::cerr << "usage: liaison-fake-interpol --out FILE [--notices NOTICES.json]\n";
    return 2;
  }
  liaison::testing::FakeGateway gateway;
  liaison::testing::FakeNotices notices;
  notices.perPage(160);
  if (!noticesFile.empty()) {
    std::ifstream in(noticesFile);
    std::stringstream text;
    text << in.rdbuf();
    auto j = nlohmann::json::parse(text.str(), nullptr, false);
    if (!j.is_object()) {
      std::cerr << "liaison-fake-interpol: " << noticesFile << " is not a JSON object\n";
      return 2;
    }
    for (auto it = j.begin(); it != j.end(); ++it) notices.set(it.key(), it.value().get<std::vector<nlohmann::json>>());
  }
  {
    std::ofstream o(out + ".tmp");
    o << "gateway " << gateway.url() << "/ncb/alerts\nnotices " << notices.url() << "\n";
  }
  std::rename((out + ".tmp").c_str(), out.c_str());
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);
  while (!stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  return 0;
}
