// The `liaison` command's side of the site daemon's local HTTP API (site/api.h): how publish,
// retire and status reach a networked site.
//
// The daemon is found through DIR/api.endpoint (written by the daemon with the port it bound),
// else the site's [api] listen address; only loopback addresses are used, since the API token
// goes with every write. Writes read the token from DIR/api.token, so only who may read that
// file may publish; status needs no token. Before sending anything the client asks the daemon
// for its status and checks that it serves this site (a stale DIR/api.endpoint may point at a
// port another program uses now).
// Timeouts: 2 s to connect, 60 s for an answer (the daemon waits up to 30 s for the broker).
// The HTTP exchange itself is made by a module loaded on first use (cli/http.h).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "common/result.h"
#include "directory/site.h"
#include "schemas/json.h"

namespace liaison::cli {

namespace http {
struct Request;
}

// The daemon's limit on one request body (site::kMaxBodyBytes).
inline constexpr size_t kMaxPublishBytes = size_t{64} << 20;

// One file to publish: its name (for messages) and its text.
struct PublishFile {
  std::string name, text;
};

// The daemon's answer to a publish or a retire.
struct SubmitReply {
  bool accepted = false;
  uint64_t firstSeq = 0, lastSeq = 0;  // both 0 when every item was a replay
  uint64_t ignored = 0, count = 0;
  // When refused by the broker: why, and which item (0-based `index` in `file`; `file` is
  // empty for a retire).
  std::string refusal, detail, file, id;
  uint64_t index = 0;
  // Retire: the tombstone's revision; whether the record was retired already.
  uint64_t revision = 0;
  bool alreadyRetired = false;
  // Whether this site's replica held what was accepted when the daemon answered (it waits a
  // few seconds for it); an older daemon does not say, and is taken to.
  bool applied = true;
};

class ApiClient {
 public:
  // Where the daemon of this site listens (reads DIR/api.endpoint). Does not connect.
  // Errc::kInvalidInput when the address is not a loopback one.
  static Result<ApiClient> find(const directory::SiteConfig& config);

  // GET /v1/status. Errc::kUnavailable when no daemon of this site answers (not running, or
  // something else on that port).
  Result<json::Json> status() const;

  // One all-or-nothing submission of every file (multipart). Errors: kUnavailable (daemon not
  // running, or the broker unreachable: the message says which), kInvalidInput (the daemon
  // found the input malformed or too large), kRefused (the token was refused).
  // A refusal by the broker is not an error: `accepted` is false.
  Result<SubmitReply> publish(const std::vector<PublishFile>& files) const;

  // Retires a record. Errc::kNotFound when the site's replica holds no such record.
  Result<SubmitReply> retire(const std::string& id) const;

  // Any other request with the token (alerts): the HTTP status and the JSON answer. An error
  // only when no answer came (or the token was refused).
  Result<std::pair<int, json::Json>> call(const std::string& method, const std::string& path,
                                          const std::string& body = {}) const;
  // The bytes of MLA requests' files (cli/requests.cpp), chunk by chunk: `put` sends `bytes` as
  // application/octet-stream and reads a JSON answer; `getBytes` reads the answer's bytes as they
  // came (the JSON error, when the status is not 200). The daemon's identity is checked on the
  // first of these exchanges only, so a file of n chunks costs n exchanges, not 2n. An error
  // only when no answer came (or the token was refused); any HTTP status is an answer.
  Result<std::pair<int, json::Json>> put(const std::string& path, std::string bytes) const;
  Result<std::pair<int, std::string>> getBytes(const std::string& path) const;
  const std::string& endpoint() const { return endpoint_; }

 private:
  ApiClient(directory::SiteConfig config, std::string host, int port, std::string endpoint)
      : config_(std::move(config)),
        host_(std::move(host)),
        port_(port),
        endpoint_(std::move(endpoint)) {}
  Result<std::string> token() const;
  Status checkIdentity() const;
  // checkIdentity() the first time only (put, getBytes).
  Status checkIdentityOnce() const;
  // A request to this daemon, with the bearer token when `token` is given.
  http::Request request(const std::string& method, const std::string& path,
                        const std::string& token = {}) const;

  directory::SiteConfig config_;
  std::string host_;  // "127.0.0.1" or "::1"
  int port_ = 0;
  std::string endpoint_;
  mutable bool identified_ = false;  // checkIdentityOnce() succeeded
};

// The one-line reason `liaison` prints when the daemon of a networked site does not answer.
std::string daemonNotRunning(const directory::SiteConfig& config);

// Reads every file and checks it the way the standalone path does (parses the JSON form or the
// armour, refuses an id given twice, checks time zones), so that a bad file fails before anything
// is sent. Also refuses files that together exceed what the daemon takes in one request.
Result<std::vector<PublishFile>> readPublishFiles(const std::vector<std::string>& paths);

// The lines `liaison status` prints from a daemon's GET /v1/status answer (daemon state,
// connection, broker and cursor positions, lag, items applied and refused, record counts).
std::string daemonStatusLines(const json::Json& status, const std::string& endpoint);

}  // namespace liaison::cli
