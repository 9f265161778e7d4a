// A small RAII client over libcurl's easy interface, for the Interpol adapter's calls: one
// request at a time per Http object, TLS verification always on, HTTP(S) only, no redirects,
// connect and total timeouts, and a cap on the body read (a larger answer is an error, never a
// large allocation).
#pragma once

#include <chrono>
#include <cstddef>
#include <memory>
#include <optional>
#include <string>
#include <variant>
#include <vector>

#include "common/result.h"

namespace liaison::adapters {

struct HttpOptions {
  std::chrono::milliseconds connectTimeout{5000};
  std::chrono::milliseconds totalTimeout{30000};
  size_t maxBody = size_t{4} << 20;
  std::string caFile;          // trust these CAs instead of the system's (PEM)
  std::string clientCert;      // optional client certificate (PEM) and its key
  std::string clientKey;
};

struct HttpAnswer {
  long status = 0;
  std::string body;
  std::string contentType;
  std::optional<int64_t> retryAfterSeconds;  // from a Retry-After header (seconds or HTTP date)
};

// Transport failures (no HTTP answer): what kind, for retry decisions and messages.
enum class HttpFailure { kConnect, kTimeout, kTooLarge, kTls, kOther };
struct HttpError {
  HttpFailure kind = HttpFailure::kOther;
  std::string message;
};

class Http {
 public:
  explicit Http(HttpOptions options);
  ~Http();
  Http(const Http&) = delete;
  Http& operator=(const Http&) = delete;

  // An answer for any HTTP status; an error only when no complete answer came.
  std::variant<HttpAnswer, HttpError> get(const std::string& url);
  std::variant<HttpAnswer, HttpError> post(const std::string& url, const std::string& body,
                                           const std::vector<std::string>& headers);

 private:
  std::variant<HttpAnswer, HttpError> perform(const std::string& url, const std::string* body,
                                              const std::vector<std::string>& headers);
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// `reference` (absolute, or relative like HAL's `_links.next` may be: "/notices?page=2",
// "?page=2", "page2") resolved against `base`, the URL of the page that held it.
Result<std::string> resolveUrl(const std::string& base, const std::string& reference);

// Call once at program start (curl_global_init), before any thread uses Http.
Status initHttp();

}  // namespace liaison::adapters
