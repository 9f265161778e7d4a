#include "bus/zap.h"

#include <spdlog/spdlog.h>

#include "common/encoding.h"

#include <cerrno>
#include <cstring>
#include <system_error>
#include <utility>

namespace liaison::bus {
namespace {

// RFC 27 requests: version, request id, domain, address, identity, mechanism, credentials...
// (CURVE sends one credential frame, PLAIN two). More than this is not a ZAP request.
constexpr size_t kMaxRequestFrames = 16;

std::atomic<uint64_t> nextControlId{0};

std::vector<std::string> reply(const std::string& requestId, const char* status,
                               std::string statusText, std::string userId = "") {
  return {"1.0", requestId, status, std::move(statusText), std::move(userId), ""};
}

std::string z85(const trust::CurveKey& key) {
  char text[41] = {};
  zmq_z85_encode(text, key.data(), key.size());
  return text;
}

}  // namespace

Status makeCurveServer(Socket& socket, const trust::KeyPair& serverKeys,
                       const std::string& domain) {
  if (domain.empty()) return makeError(Errc::kInvalidInput, "ZAP domain must not be empty");
  LIAISON_TRY(socket.setCurveServer(serverKeys));
  LIAISON_TRY(socket.setZapDomain(domain));
  return socket.setInt(kZapEnforceDomain, 1);
}

ZapHandler::ZapHandler(std::string domain, Members members, Socket control)
    : domain_(std::move(domain)),
      members_(std::make_shared<const Members>(std::move(members))),
      control_(std::move(control)) {}

Result<std::unique_ptr<ZapHandler>> ZapHandler::start(Context& context, std::string domain,
                                                      Members members) {
  if (domain.empty()) return makeError(Errc::kInvalidInput, "ZAP domain must not be empty");
  auto rep = Socket::open(context, ZMQ_REP);
  if (!rep.ok()) return rep.error();
  if (auto bound = rep->bind(kZapEndpoint); !bound.ok()) {
    if (bound.error().code == Errc::kConflict) {
      return makeError(Errc::kConflict, std::string("a ZAP handler is already bound at ") +
                                            kZapEndpoint + " in this context");
    }
    return bound.error();
  }

  // The stop channel: the handler keeps one end, the thread the other.
  std::string controlEndpoint = "inproc://liaison-zap-control-" + std::to_string(nextControlId++);
  auto control = Socket::open(context, ZMQ_PAIR);
  if (!control.ok()) return control.error();
  LIAISON_TRY(control->bind(controlEndpoint));
  auto peer = Socket::open(context, ZMQ_PAIR);
  if (!peer.ok()) return peer.error();
  LIAISON_TRY(peer->connect(controlEndpoint));

  std::unique_ptr<ZapHandler> handler(
      new ZapHandler(std::move(domain), std::move(members), std::move(*control)));
  try {
    handler->thread_ =
        std::thread(&ZapHandler::run, handler.get(), std::move(*rep), std::move(*peer));
  } catch (const std::system_error& e) {
    return makeError(Errc::kUnavailable, std::string("start ZAP handler thread: ") + e.what());
  }
  return handler;
}

ZapHandler::~ZapHandler() {
  if (thread_.joinable()) {
    // If the context is already terminating, the send fails and the thread stops on ETERM.
    (void)control_.send({"stop"});
    thread_.join();
  }
}

void ZapHandler::setMembers(Members keyToSite) {
  auto next = std::make_shared<const Members>(std::move(keyToSite));
  std::lock_guard lock(membersMutex_);
  members_.swap(next);
  // `next` now holds the old list: freed after the lock is released, or by the request using it.
}

ZapHandler::Counters ZapHandler::counters() const {
  return Counters{
      .admitted = admitted_.load(),
      .refusedUnknownKey = refusedUnknownKey_.load(),
      .refusedMechanism = refusedMechanism_.load(),
      .refusedDomain = refusedDomain_.load(),
      .malformed = malformed_.load(),
      .unenrolled = unenrolled_.load(),
  };
}

void ZapHandler::run(Socket rep, Socket control) {
  std::vector<zmq_pollitem_t> items{rep.pollItem(ZMQ_POLLIN), control.pollItem(ZMQ_POLLIN)};
  for (;;) {
    if (zmq_poll(items.data(), static_cast<int>(items.size()), -1) < 0) {
      if (zmq_errno() == EINTR) continue;
      break;  // ETERM: the context is terminating
    }
    if ((items[1].revents & ZMQ_POLLIN) != 0) break;
    if ((items[0].revents & ZMQ_POLLIN) == 0) continue;

    auto request = rep.recv(kMaxRequestFrames, /*dontWait=*/true);
    std::vector<std::string> response;
    if (request.ok()) {
      response = answer(*request);
    } else if (request.error().code == Errc::kInvalidInput) {
      // Too many frames: the request was read and dropped, and REP still owes a reply.
      ++malformed_;
      response = reply("", "500", "malformed ZAP request");
    } else {
      continue;  // nothing read (interrupted, or terminating: the next poll says so)
    }
    if (auto sent = rep.send(response); !sent.ok()) {
      spdlog::warn("zap: cannot reply: {}", sent.error().message);
    }
  }
}

std::vector<std::string> ZapHandler::answer(const std::vector<std::string>& request) {
  if (request.size() < 6 || request[0] != "1.0") {
    ++malformed_;
    return reply(request.size() > 1 ? request[1] : "", "500", "malformed ZAP request");
  }
  const std::string& requestId = request[1];
  const std::string& domain = request[2];
  const std::string& address = request[3];
  const std::string& mechanism = request[5];

  if (mechanism != "CURVE") {
    ++refusedMechanism_;
    spdlog::debug("zap: refused {} from {}: mechanism {}", domain, address, mechanism);
    return reply(requestId, "400", "mechanism " + mechanism + " refused");
  }
  const bool enrolment = domain == enrolmentDomain(domain_);
  if (domain != domain_ && !enrolment) {
    ++refusedDomain_;
    spdlog::debug("zap: refused CURVE from {}: domain \"{}\" is not \"{}\"", address, domain,
                  domain_);
    return reply(requestId, "400", "wrong domain");
  }
  if (request.size() != 7 || request[6].size() != trust::CurveKey{}.size()) {
    ++malformed_;
    return reply(requestId, "400", "malformed CURVE credentials");
  }
  trust::CurveKey key{};
  std::memcpy(key.data(), request[6].data(), key.size());

  std::shared_ptr<const Members> members;
  {
    std::lock_guard lock(membersMutex_);
    members = members_;
  }
  auto found = members->find(key);
  if ((found == members->end() || found->second.empty()) && enrolment) {
    ++unenrolled_;
    spdlog::debug("zap: admitted {} from {} to present its certificate", z85(key), address);
    return reply(requestId, "200", "OK", std::string(kUnenrolled) + toHex(key));
  }
  if (found == members->end() || found->second.empty()) {
    ++refusedUnknownKey_;
    spdlog::debug("zap: refused CURVE from {}: unknown key {}", address, z85(key));
    return reply(requestId, "400", "unknown key");
  }
  ++admitted_;
  return reply(requestId, "200", "OK", found->second);
}

}  // namespace liaison::bus
