// The site daemon's local HTTP API (DESIGN.md, "Trust" and "The command line"): how `liaison
// publish`, `retire` and `status` reach a networked site, and what other local programs use.
//
// Endpoints (answers are JSON; an error is {"error": "one line"}):
//   POST /v1/publish?name=FILE  body: the text of one publish file (JSON form or armoured items)
//   POST /v1/publish            multipart/form-data, one part named "file" per file (its
//                               filename names it in messages); every part goes in ONE
//                               submission, so a publish is all or nothing across its files
//        → 200 {"accepted": true, "firstSeq", "lastSeq", "ignored", "count", "applied"}
//              ("applied": this site's replica held the items when it answered; false after
//              kApplyWait, when it is still catching up: they arrive there later)
//          422 {"accepted": false, "refusal", "detail", "file", "index", "id"} (the broker
//              refused item `index`, 0-based in `file` as given; nothing was published)
//          400 the input is malformed (the message names file, item and field)
//          413 too large for one submission;  503 the broker did not answer
//   POST /v1/retire/ID          a tombstone: the stored record, revision + 1, status "retired"
//        → as publish, plus "id" and "revision"; 200 with "alreadyRetired": true when it is;
//          404 when this replica holds no such record
//   GET  /v1/status             SiteService::status(), the replica's counts, refused requests
//   POST /v1/desk/link          a one-time sign-in link to the desk → 200 {"link", "expiresInSeconds"}
//                               (404 when the daemon serves no desk)
// Every path outside /v1/ belongs to the web pages given to start() (the desk, desk/desk.h).
// Writes need "Authorization: Bearer TOKEN" (401 otherwise); status does not. Any other path is
// 404, a known path with the wrong method 405.
//
// Security: listens on a loopback address only (start() refuses any other). The token is
// compared in constant time and never logged. Requests whose Host header is not a loopback name
// are refused (403), so a web page cannot reach the API by DNS rebinding; cross-origin requests
// from browsers fail their preflight (no CORS headers are ever sent).
// Operation: start() binds, writes DIR/api.endpoint ("127.0.0.1:PORT", the port actually bound,
// so `--api 127.0.0.1:0` works) and serves on its own threads; stop() or the destructor stops
// serving, waits for requests in progress, and removes DIR/api.endpoint.
// Concurrency: requests are served by kWorkers threads at once; handlers call SiteService (safe
// from any thread by its contract) and read the Directory (readers are safe from any thread).
// A publish blocks its worker until the broker answers (at most kSubmitTimeout), then until this
// site's replica holds what was accepted (at most kApplyWait): a program that publishes and
// then searches here finds what it published. A client publishing batch after batch thus sends
// the next once the previous is applied here, which bounds the daemon's memory (concurrent
// clients are not serialized).
// Limits: a body of at most kMaxBodyBytes; one submission of at most kMaxSubmitItems items and
// kMaxSubmitBytes of envelopes (the broker's batch and the bus frame); socket read and write
// timeouts of kIoTimeout.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include "common/result.h"
#include "directory/directory.h"
#include "directory/site.h"
#include "site/service.h"
#include "trust/keys.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace liaison::site {

// Pages served on the API's address beside it (the desk): every path outside /v1/.
class WebPages {
 public:
  virtual ~WebPages() = default;
  // Adds its routes to the server, once, before it serves; `endpoint` is the address bound
  // ("127.0.0.1:PORT"), which the pages require as the Host of every request.
  virtual void mount(httplib::Server& server, const std::string& endpoint) = 0;
  // A new one-time sign-in code (POST /v1/desk/link, for `liaison desk`) and its lifetime.
  [[nodiscard]] virtual Result<std::string> signInCode() = 0;
  virtual std::chrono::seconds signInCodeLifetime() const = 0;
  // Renders an error httplib made itself (no route, malformed request) on a path outside /v1/.
  virtual void errorPage(const httplib::Request& req, httplib::Response& res) = 0;
};

inline constexpr size_t kMaxBodyBytes = size_t{64} << 20;
// One submission must fit the broker's batch (broker::Core::kMaxBatch) and one bus frame
// (bus::kMaxFrameBytes, 16 MiB, less room for the request around the envelopes).
inline constexpr size_t kMaxSubmitItems = 10000;
inline constexpr size_t kMaxSubmitBytes = size_t{15} << 20;
inline constexpr std::chrono::milliseconds kSubmitTimeout{30000};
// Once the broker accepted a submission, how long its answer waits for this site's replica to
// hold it (then says "applied": false and answers anyway).
inline constexpr std::chrono::milliseconds kApplyWait{5000};
inline constexpr std::chrono::seconds kIoTimeout{10};
inline constexpr size_t kWorkers = 4;
// GET /v1/alerts?limit=N: the largest page.
inline constexpr uint32_t kMaxAlertPage = 1000;

class ApiServer {
 public:
  // Listens on config.api ("127.0.0.1:PORT", "localhost:PORT" or "[::1]:PORT"; port 0 picks a
  // free one) and serves until stop(). Errors: a non-loopback or malformed address, a token
  // shorter than 32 characters, a port in use, DIR/api.endpoint not writable.
  // `service`, `keys`, `dir` and `pages` (optional) are borrowed and must outlive the server; records are signed
  // with `keys` as signer config.id.
  [[nodiscard]] static Result<std::unique_ptr<ApiServer>> start(const directory::SiteConfig& config,
                                                                SiteService& service,
                                                                const trust::KeyPair& keys,
                                                                const directory::Directory& dir,
                                                                std::string token,
                                                                WebPages* pages = nullptr);

  ~ApiServer();  // stop()
  ApiServer(const ApiServer&) = delete;
  ApiServer& operator=(const ApiServer&) = delete;

  // Stops accepting, waits for requests in progress (a publish waits for the service's answer,
  // so stop this before the service it calls), removes DIR/api.endpoint. Idempotent; call from
  // the thread that owns the server, not from a handler.
  void stop();

  // "127.0.0.1:PORT" (or "[::1]:PORT"), as written to DIR/api.endpoint.
  const std::string& endpoint() const;

  // Requests refused before reaching the service: missing or wrong token (401), a malformed or
  // oversized body (400, 413), a foreign Host (403), unknown path or method (404, 405).
  uint64_t refusedRequests() const;

 private:
  struct Impl;
  explicit ApiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// Reads the site's API token from DIR/api.token (written by `liaison init`, mode 0600), making
// one (32 random bytes, hex) when a site made before tokens existed has none.
[[nodiscard]] Result<std::string> loadOrCreateApiToken(const std::string& siteDir);

}  // namespace liaison::site
