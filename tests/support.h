// Test helpers: temporary folders removed by their owner, running real binaries, sample JSON.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <string>
#include <vector>

#include "schemas/item.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison::testing {

// A fresh folder under $TMPDIR, removed (recursively) by the destructor.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::string& path() const { return path_; }
  std::string operator/(const std::string& name) const { return path_ + "/" + name; }

 private:
  std::string path_;
};

struct RunResult {
  int exitCode = -1;
  std::string out, err;
};

// Runs `argv` (argv[0] a path) with stdin from `input`, waits (at most `timeoutSeconds`, then
// SIGKILL by PID) and captures both streams.
RunResult run(const std::vector<std::string>& argv, const std::string& input = "",
              int timeoutSeconds = 120);

// A child process with stdout and stderr appended to `log`; stopped (SIGTERM, then SIGKILL after
// 10 s) by stop() or the destructor, by its PID.
class Process {
 public:
  Process(std::vector<std::string> argv, const std::string& log);
  ~Process() { stop(); }
  Process(const Process&) = delete;
  Process& operator=(const Process&) = delete;
  pid_t pid() const { return pid_; }
  bool running();
  int stop();   // returns the exit code
  void kill9();
  void pause();   // SIGSTOP
  void resume();  // SIGCONT

 private:
  pid_t pid_ = -1;
  int exitCode_ = -1;
};

// A port nobody uses now on 127.0.0.1, for a process that must be told its port before it
// starts (and keeps it across restarts). Chosen at random below the kernel's ephemeral range:
// a port from that range can become the local end of any outgoing connection on the machine
// while a test restarts a daemon on it (a pair test's broker found its port taken that way
// under ctest -j2).
int freePort();

// Polls `done` every 100 ms until it is true or `timeout` passed.
bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout);

// The directory holding the built binaries (build/bin), from the LIAISON_BIN environment
// variable that CTest sets, or next to the test binary.
std::string binDir();
std::string sourceDir();

void writeText(const std::string& path, const std::string& text);
std::string readText(const std::string& path);

// A valid contact in JSON form; `extra` (a JSON object's members, without braces) is merged
// over the defaults, e.g. R"("country": "TH")".
std::string contactJson(const std::string& id, const std::string& extra = "");

// An in-memory trust state for pure tests.
class FakeTrust final : public trust::TrustView {
 public:
  explicit FakeTrust(const SigningKey& root) : root_(root) {}
  const SigningKey& rootKey() const override { return root_; }
  std::optional<trust::MemberCert> member(std::string_view site) const override;
  bool revoked(std::string_view site) const override;
  void add(trust::MemberCert cert) { members_.push_back(std::move(cert)); }
  void revoke(const std::string& site) { revoked_.push_back(site); }
  std::vector<trust::Peering> peerings() const override { return peerings_; }
  void addPeering(trust::Peering p) { peerings_.push_back(std::move(p)); }

 private:
  SigningKey root_;
  std::vector<trust::Peering> peerings_;
  std::vector<trust::MemberCert> members_;
  std::vector<std::string> revoked_;
};

trust::MemberCert certFor(const std::string& site, const trust::KeyPair& keys,
                          std::vector<std::string> countries, const std::string& role,
                          int64_t notBefore, int64_t notAfter);

}  // namespace liaison::testing
