// Internal to cli/: one HTTP/1.1 exchange with the site daemon on loopback.
//
// The exchange is made by cpp-httplib, which brings OpenSSL, zlib and brotli with it: loading
// and relocating those costs more than the rest of a `liaison find`. So it lives in a module of
// its own, liaison-http.so, that `liaison` loads (dlopen) the first time a command talks to the
// daemon; the read-only commands never load it.
//
// Where the module is looked for: beside the running executable (the build puts it in bin/ with
// the programs), then in ../lib/liaison/ from there.
// Concurrency: exchange() may be called from any thread; the module is loaded once per process.
#pragma once

#include <ctime>
#include <string>
#include <vector>

#include "common/result.h"

namespace liaison::cli::http {

// One part of a multipart/form-data body.
struct Part {
  std::string name, content, filename, contentType;
};

struct Request {
  std::string method;  // "GET", "POST" or "PUT"
  std::string host;    // as httplib takes it: "127.0.0.1" or "::1"
  int port = 0;
  std::string path;
  std::string bearerToken;  // empty: no Authorization header
  // A POST carries either `parts` (multipart/form-data) or `body` with `contentType`; a PUT
  // carries `body` with `contentType`.
  std::vector<Part> parts;
  std::string body, contentType;
  time_t connectTimeoutSeconds = 2, answerTimeoutSeconds = 60;
};

struct Response {
  // Why no answer came; kNone when one did (then `status` and `body` hold it).
  enum class Failure { kNone, kConnection, kRead, kOther };
  Failure failure = Failure::kNone;
  std::string failureText;  // cpp-httplib's words for the failure
  int status = 0;
  std::string body;
};

// Sends the request (no keep-alive, TCP_NODELAY) and waits for the answer. An error only when the
// module cannot be loaded; a failed exchange is a Response with `failure` set.
Result<Response> exchange(const Request& request);

// The module's entry point (C linkage, so that dlsym finds it by this name). The name carries
// the layout version of Request/Response: a module from another build is refused, not misread.
inline constexpr const char* kEntryPoint = "liaison_http_exchange_v1";
using EntryPoint = void (*)(const Request& request, Response& response) noexcept;

}  // namespace liaison::cli::http
