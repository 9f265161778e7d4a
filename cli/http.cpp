// Loads liaison-http.so on first use (cli/http.h).
#include "cli/http.h"

#include <dlfcn.h>
#include <unistd.h>

#include <climits>
#include <mutex>

namespace liaison::cli::http {

namespace {

// The folder of the running executable ("" when /proc is not there).
std::string executableDir() {
  char path[PATH_MAX];
  ssize_t n = ::readlink("/proc/self/exe", path, sizeof path - 1);
  if (n <= 0) return {};
  std::string p(path, static_cast<size_t>(n));
  auto slash = p.rfind('/');
  return slash == std::string::npos ? std::string() : p.substr(0, slash);
}

struct Loaded {
  EntryPoint entry = nullptr;
  std::string error;  // why it could not be loaded
};

Loaded load() {
  const std::string dir = executableDir();
  std::string tried;
  for (const std::string& candidate :
       {dir + "/liaison-http.so", dir + "/../lib/liaison/liaison-http.so"}) {
    if (::access(candidate.c_str(), R_OK) != 0) {
      tried += (tried.empty() ? "" : ", ") + candidate;
      continue;
    }
    // Never unloaded: the module's code may be on a stack until the process ends.
    void* handle = ::dlopen(candidate.c_str(), RTLD_NOW | RTLD_LOCAL);
    if (handle == nullptr) {
      const char* why = ::dlerror();
      return {nullptr, "cannot load " + candidate + ": " + (why ? why : "unknown error")};
    }
    auto* entry = reinterpret_cast<EntryPoint>(::dlsym(handle, kEntryPoint));
    if (entry == nullptr) {
      return {nullptr, candidate + " is not the HTTP module of this liaison (no " +
                           std::string(kEntryPoint) + ")"};
    }
    return {entry, {}};
  }
  return {nullptr,
          "the HTTP module liaison-http.so, which commands that talk to the site daemon "
          "need, is missing (looked for " +
              tried + ")"};
}

}  // namespace

Result<Response> exchange(const Request& request) {
  static std::once_flag once;
  static Loaded loaded;
  std::call_once(once, [] { loaded = load(); });
  if (loaded.entry == nullptr) return makeError(Errc::kUnavailable, loaded.error);
  Response response;
  loaded.entry(request, response);
  return response;
}

}  // namespace liaison::cli::http
