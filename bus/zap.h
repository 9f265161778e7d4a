// The ZAP handler (ZeroMQ RFC 27) that admits only enrolled, unrevoked members over CURVE, and
// the helper every server socket must be made with.
//
// Operation: one ZapHandler per Context. start() binds a REP socket at "inproc://zeromq.zap.01"
// in that context and returns once it is bound; a thread of its own then answers libzmq's
// authentication requests, one per connection handshake, in this order:
//   1. mechanism must be CURVE, else 400 "mechanism X refused" (NULL and PLAIN always are);
//   2. the socket's ZAP domain must equal the handler's domain, else 400 "wrong domain";
//   3. the client's long-term public key must be in the member list, else 400 "unknown key";
//   then 200 with User-Id = the member's site id, which Socket::recvWithUser reports on every
//   message of that connection.
// Enrolment (DESIGN.md, "High availability and operations"): a socket whose domain is
// enrolmentDomain(domain) also admits a key not in the list, with User-Id kUnenrolled + the key
// in hex. Its server must serve such a connection nothing but the presentation of the
// certificate for that key (the broker's ROUTER; the fan-out keeps the strict domain).
//
// Servers: every socket that accepts peers must be set up with makeCurveServer before it binds.
// It sets ZMQ_ZAP_ENFORCE_DOMAIN=1 as well as the domain: without that, libzmq 4.3 admits every
// CURVE client whenever no ZAP handler is bound (before start(), after destruction); with it,
// such handshakes fail closed.
//
// Limitations: ZAP decides once per connection. setMembers refuses the NEW connections of a
// removed key; an established connection stays up until it drops. So a broker must also check
// the User-Id of each request against the current membership (ROUTER), and re-create its PUB
// socket after a revocation so that every subscriber has to authenticate again.
//
// Concurrency: setMembers and counters may be called from any thread. The context must outlive
// the handler; destroy the handler before the Context (its sockets keep the context alive).
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bus/zmq.h"
#include "common/result.h"
#include "trust/keys.h"

namespace liaison::bus {

// The endpoint libzmq sends ZAP requests to (RFC 27).
inline constexpr const char* kZapEndpoint = "inproc://zeromq.zap.01";
// The User-Id prefix of a connection whose key is no member's (yet), on an enrolment domain.
inline constexpr std::string_view kUnenrolled = "?";
inline std::string enrolmentDomain(const std::string& domain) { return domain + "+enrol"; }

// Makes `socket` (ROUTER, PUB, ...) a CURVE server holding `serverKeys`' secret key whose peers
// are authenticated by the ZapHandler of its context for `domain`: ZMQ_CURVE_SERVER,
// ZMQ_CURVE_SECRETKEY, ZMQ_ZAP_DOMAIN and ZMQ_ZAP_ENFORCE_DOMAIN=1. Call before bind.
Status makeCurveServer(Socket& socket, const trust::KeyPair& serverKeys, const std::string& domain);

class ZapHandler {
 public:
  // Member public CURVE key -> site id. Site ids must be non-empty: an entry with an empty id is
  // ignored (that key is refused).
  using Members = std::map<trust::CurveKey, std::string>;

  struct Counters {
    uint64_t admitted = 0;
    uint64_t refusedUnknownKey = 0;
    uint64_t refusedMechanism = 0;
    uint64_t refusedDomain = 0;
    uint64_t malformed = 0;  // requests that were not RFC 27 (never sent by libzmq itself)
    uint64_t unenrolled = 0;  // unknown keys admitted on the enrolment domain
  };

  // Binds kZapEndpoint in `context` and starts the handler thread. kConflict when another
  // handler is already bound in this context.
  static Result<std::unique_ptr<ZapHandler>> start(Context& context, std::string domain,
                                                   Members members = {});

  // Stops the thread (it finishes the request in hand, if any) and closes its sockets. From then
  // on servers with ZMQ_ZAP_ENFORCE_DOMAIN refuse every new handshake.
  ~ZapHandler();
  ZapHandler(const ZapHandler&) = delete;
  ZapHandler& operator=(const ZapHandler&) = delete;

  // Replaces the member list atomically: each request sees either the old or the new list.
  void setMembers(Members keyToSite);

  // A snapshot (each counter read atomically, not all at one instant).
  Counters counters() const;
  const std::string& domain() const { return domain_; }

 private:
  ZapHandler(std::string domain, Members members, Socket control);
  // The handler thread: answers requests on `rep` until `control` receives a message or the
  // context terminates. Owns both sockets and closes them when it ends.
  void run(Socket rep, Socket control);
  std::vector<std::string> answer(const std::vector<std::string>& request);

  const std::string domain_;
  mutable std::mutex membersMutex_;
  std::shared_ptr<const Members> members_;  // guarded by membersMutex_; the map is immutable
  std::atomic<uint64_t> admitted_{0};
  std::atomic<uint64_t> refusedUnknownKey_{0};
  std::atomic<uint64_t> refusedMechanism_{0};
  std::atomic<uint64_t> refusedDomain_{0};
  std::atomic<uint64_t> malformed_{0};
  std::atomic<uint64_t> unenrolled_{0};
  Socket control_;  // owner side of the stop channel; used only by the destructor
  std::thread thread_;
};

}  // namespace liaison::bus
