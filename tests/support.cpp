#include "tests/support.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <random>
#include <sstream>
#include <stdexcept>

extern char** environ;

namespace liaison::testing {

TempDir::TempDir() {
  std::string base = std::getenv("TMPDIR") != nullptr ? std::getenv("TMPDIR") : "/tmp";
  std::string tmpl = base + "/liaison-test-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) throw std::runtime_error("mkdtemp failed");
  path_ = buf.data();
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

RunResult run(const std::vector<std::string>& argv, const std::string& input,
              int timeoutSeconds) {
  int inPipe[2], outPipe[2], errPipe[2];
  if (::pipe2(inPipe, O_CLOEXEC) != 0 || ::pipe2(outPipe, O_CLOEXEC) != 0 ||
      ::pipe2(errPipe, O_CLOEXEC) != 0) {
    throw std::runtime_error("pipe failed");
  }
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_adddup2(&actions, inPipe[0], 0);
  posix_spawn_file_actions_adddup2(&actions, outPipe[1], 1);
  posix_spawn_file_actions_adddup2(&actions, errPipe[1], 2);
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  int rc = posix_spawn(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  ::close(inPipe[0]);
  ::close(outPipe[1]);
  ::close(errPipe[1]);
  if (rc != 0) {
    ::close(inPipe[1]);
    ::close(outPipe[0]);
    ::close(errPipe[0]);
    throw std::runtime_error("cannot start " + argv[0] + ": " + std::strerror(rc));
  }
  // Feed stdin and drain both outputs without deadlocking.
  RunResult result;
  size_t written = 0;
  int inFd = inPipe[1];
  if (input.empty()) {
    ::close(inFd);
    inFd = -1;
  } else {
    ::fcntl(inFd, F_SETFL, O_NONBLOCK);
  }
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeoutSeconds);
  bool outOpen = true, errOpen = true;
  char buf[65536];
  while (outOpen || errOpen) {
    pollfd fds[3];
    nfds_t n = 0;
    if (outOpen) fds[n++] = {outPipe[0], POLLIN, 0};
    if (errOpen) fds[n++] = {errPipe[0], POLLIN, 0};
    if (inFd >= 0) fds[n++] = {inFd, POLLOUT, 0};
    int ready = ::poll(fds, n, 200);
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      break;
    }
    if (ready <= 0) continue;
    for (nfds_t i = 0; i < n; ++i) {
      if (fds[i].revents == 0) continue;
      if (fds[i].fd == inFd) {
        ssize_t w = ::write(inFd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if (w < 0 || written == input.size()) {
          ::close(inFd);
          inFd = -1;
        }
        continue;
      }
      ssize_t r = ::read(fds[i].fd, buf, sizeof buf);
      bool isOut = fds[i].fd == outPipe[0];
      if (r <= 0) {
        (isOut ? outOpen : errOpen) = false;
      } else {
        (isOut ? result.out : result.err).append(buf, static_cast<size_t>(r));
      }
    }
  }
  if (inFd >= 0) ::close(inFd);
  ::close(outPipe[0]);
  ::close(errPipe[0]);
  int status = 0;
  ::waitpid(pid, &status, 0);
  result.exitCode = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  return result;
}

Process::Process(std::vector<std::string> argv, const std::string& log) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, 1, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  posix_spawn_file_actions_addopen(&actions, 2, log.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  std::vector<char*> args;
  for (auto& a : argv) args.push_back(a.data());
  args.push_back(nullptr);
  int rc = posix_spawn(&pid_, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) pid_ = -1;
}

bool Process::running() {
  if (pid_ <= 0) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exitCode_ = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    pid_ = -1;
    return false;
  }
  return true;
}

int Process::stop() {
  if (!running()) return exitCode_;
  ::kill(pid_, SIGCONT);
  ::kill(pid_, SIGTERM);
  for (int i = 0; i < 100 && running(); ++i) ::usleep(100000);
  if (running()) kill9();
  return exitCode_;
}

void Process::kill9() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  exitCode_ = 137;
  pid_ = -1;
}

void Process::pause() {
  if (pid_ > 0) ::kill(pid_, SIGSTOP);
}
void Process::resume() {
  if (pid_ > 0) ::kill(pid_, SIGCONT);
}

bool waitFor(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (done()) return true;
    ::usleep(100000);
  }
  return done();
}

std::string binDir() {
  if (const char* env = std::getenv("LIAISON_BIN")) return env;
  return std::filesystem::canonical("/proc/self/exe").parent_path().string();
}

std::string sourceDir() {
  if (const char* env = std::getenv("LIAISON_SOURCE")) return env;
  return LIAISON_SOURCE_DIR;
}

void writeText(const std::string& path, const std::string& text) {
  std::ofstream f(path, std::ios::binary);
  f << text;
  if (!f) throw std::runtime_error("cannot write " + path);
}

std::string readText(const std::string& path) {
  std::ifstream f(path, std::ios::binary);
  std::stringstream ss;
  ss << f.rdbuf();
  return ss.str();
}

std::string contactJson(const std::string& id, const std::string& extra) {
  auto base = nlohmann::ordered_json::parse(R"({
    "kind": "contact", "id": "", "revision": 1, "status": "active", "contactKind": "person",
    "name": {"latin": "Aibek Sadykov", "original": "Айбек Садыков", "honorific": "Mr."},
    "title": "Senior Prosecutor", "role": "prosecutor",
    "organization": "General Prosecutor's Office", "country": "KG", "locality": "Bishkek",
    "networks": ["CASC"], "competences": ["mla", "extradition"],
    "topics": ["trafficking-in-persons"], "legalBases": ["UNTOC", "Minsk-1993"],
    "languages": ["ky", "ru", "en"],
    "channels": [{"kind": "email", "value": "a.sadykov@example.kg", "preferred": true},
                 {"kind": "phone", "value": "+996 312 000 000", "note": "office"}],
    "availability": {"timezone": "Asia/Bishkek", "hours": "Mo-Fr 09:00-18:00"},
    "verification": {"verifiedAt": "2026-11-01", "verifiedBy": "CASC secretariat",
                     "reviewDue": "2027-05-01"}
  })");
  base["id"] = id;
  if (!extra.empty()) {
    auto patch = nlohmann::ordered_json::parse("{" + extra + "}");
    for (auto it = patch.begin(); it != patch.end(); ++it) {
      if (it->is_null()) {
        base.erase(it.key());
      } else {
        base[it.key()] = *it;
      }
    }
  }
  return base.dump();
}

std::optional<trust::MemberCert> FakeTrust::member(std::string_view site) const {
  for (const auto& m : members_) {
    if (m.site == site) return m;
  }
  return std::nullopt;
}

bool FakeTrust::revoked(std::string_view site) const {
  for (const auto& r : revoked_) {
    if (r == site) return true;
  }
  return false;
}

trust::MemberCert certFor(const std::string& site, const trust::KeyPair& keys,
                          std::vector<std::string> countries, const std::string& role,
                          int64_t notBefore, int64_t notAfter) {
  trust::MemberCert c;
  c.site = site;
  c.network = "CASC";
  c.role = role;
  c.countries = std::move(countries);
  c.signKey = keys.pub.sign;
  c.curveKey = keys.pub.curve;
  c.notBefore = notBefore;
  c.notAfter = notAfter;
  c.serial = 1;
  return c;
}

int freePort() {
  // The first port of the kernel's ephemeral range (/proc/sys/net/ipv4/ip_local_port_range).
  static const int ephemeralLow = [] {
    std::ifstream in("/proc/sys/net/ipv4/ip_local_port_range");
    int low = 0;
    return (in >> low) && low > 11000 ? low : 32768;
  }();
  static std::mt19937 rng(std::random_device{}() ^ static_cast<unsigned>(::getpid()));
  auto bindable = [](int port) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    a.sin_port = htons(static_cast<uint16_t>(port));
    int rc = ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    if (rc == 0) ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
    ::close(fd);
    return rc == 0 ? static_cast<int>(ntohs(a.sin_port)) : 0;
  };
  std::uniform_int_distribution<int> below(10000, ephemeralLow - 1);
  for (int attempt = 0; attempt < 100; ++attempt) {
    if (int port = bindable(below(rng)); port != 0) return port;
  }
  return bindable(0);  // the kernel's choice, from the ephemeral range
}

}  // namespace liaison::testing
