// liaison-http.so: the module `liaison` loads for commands that talk to the site daemon
// (cli/http.h). It holds cpp-httplib and, through it, OpenSSL, zlib and brotli.

// Debian's libcpp-httplib is built with these, and httplib's classes change layout without them:
// compile with `pkg-config --cflags cpp-httplib` (PkgConfig::HTTPLIB in CMake).
#if !defined(CPPHTTPLIB_OPENSSL_SUPPORT) || !defined(CPPHTTPLIB_ZLIB_SUPPORT) || \
    !defined(CPPHTTPLIB_BROTLI_SUPPORT)
#error "compile with the flags of `pkg-config --cflags cpp-httplib` (see the comment above)"
#endif
#include <httplib.h>

#include "cli/http.h"

namespace {

using liaison::cli::http::Request;
using liaison::cli::http::Response;

void exchange(const Request& request, Response& response) {
  httplib::Client client(request.host, request.port);
  client.set_connection_timeout(request.connectTimeoutSeconds, 0);
  client.set_read_timeout(request.answerTimeoutSeconds, 0);
  client.set_write_timeout(request.answerTimeoutSeconds, 0);
  client.set_keep_alive(false);
  client.set_tcp_nodelay(true);
  if (!request.bearerToken.empty()) client.set_bearer_token_auth(request.bearerToken);

  httplib::Result result = [&] {
    if (request.method == "GET") return client.Get(request.path);
    if (request.method == "PUT") return client.Put(request.path, request.body, request.contentType);
    if (!request.parts.empty()) {
      httplib::MultipartFormDataItems items;
      items.reserve(request.parts.size());
      for (const auto& p : request.parts) {
        items.push_back(httplib::MultipartFormData{p.name, p.content, p.filename, p.contentType});
      }
      return client.Post(request.path, items);
    }
    return client.Post(request.path, request.body, request.contentType);
  }();
  if (!result) {
    switch (result.error()) {
      case httplib::Error::Connection:
        response.failure = Response::Failure::kConnection;
        break;
      case httplib::Error::Read:
        response.failure = Response::Failure::kRead;
        break;
      default:
        response.failure = Response::Failure::kOther;
        break;
    }
    response.failureText = httplib::to_string(result.error());
    return;
  }
  response.status = result->status;
  response.body = std::move(result->body);
}

}  // namespace

extern "C" __attribute__((visibility("default"))) void liaison_http_exchange_v1(
    const Request& request, Response& response) noexcept {
  try {
    exchange(request, response);
  } catch (const std::exception& e) {
    response = Response{};
    response.failure = Response::Failure::kOther;
    response.failureText = e.what();
  } catch (...) {
    response = Response{};
    response.failure = Response::Failure::kOther;
    response.failureText = "unknown failure";
  }
}
