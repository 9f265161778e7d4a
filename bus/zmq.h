// ZeroMQ handles as RAII types (libzmq 4.3, plain C API): Context, Socket, multipart messages,
// CURVE options, socket monitors and poll. Every environmental failure is a value.
//
// Ownership and threads:
//   - A Context may be shared by any number of threads. It must outlive every Socket (and every
//     ZapHandler) made from it: its destructor blocks until all of them are closed.
//   - A Socket belongs to one thread at a time. It may be handed to another thread through a
//     synchronisation point (a std::thread start, a mutex), never used by two threads at once.
//   - Sockets are created with ZMQ_LINGER 0: messages not yet sent when a socket closes are
//     dropped, so closing and terminating never wait for a peer.
//
// Errors (Errc):
//   kUnavailable  nothing could be done now: EAGAIN with dontWait, EINTR (a signal; check your
//                 stop flag and call again), the context is being terminated, no route (ROUTER
//                 with ZMQ_ROUTER_MANDATORY), host unreachable.
//   kConflict     bind: the address is already in use (message says "address in use").
//   kInvalidInput a bad endpoint or option, a message larger than asked for (recv's maxFrames),
//                 an operation the socket type or its state does not allow.
//   kIo           anything else libzmq reported (too many open files, ...).
// Messages name the operation, the option or endpoint, and libzmq's own text.
#pragma once

#include <zmq.h>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"
#include "trust/keys.h"

namespace liaison::bus {

// ZMQ_ZAP_ENFORCE_DOMAIN: libzmq 4.3 accepts it but declares it only under ZMQ_BUILD_DRAFT_API.
inline constexpr int kZapEnforceDomain = 93;

// The Error for libzmq error number `err` during `what` (e.g. "bind tcp://127.0.0.1:7400").
Error zmqError(int err, std::string_view what);

class Context {
 public:
  // A new context with ZMQ_BLOCKY 0 (blocking calls fail with ETERM once termination starts).
  static Result<Context> create();

  Context(Context&& other) noexcept : ctx_(std::exchange(other.ctx_, nullptr)) {}
  Context& operator=(Context&& other) noexcept;
  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  // Terminates the context: waits until every socket made from it has been closed.
  ~Context() { terminate(); }

  void* get() const { return ctx_; }

 private:
  explicit Context(void* ctx) : ctx_(ctx) {}
  void terminate();
  void* ctx_ = nullptr;
};

// One received message. `userId` is the ZAP "User-Id" the connection was admitted with (the
// member's site id with ZapHandler), empty when the connection went through no ZAP handler;
// `peerAddress` is the "Peer-Address" property (tcp peers only), empty when absent.
struct Received {
  std::vector<std::string> frames;
  std::string userId;
  std::string peerAddress;
};

// One socket monitor event (see Socket::monitor): a ZMQ_EVENT_* code, its value (an errno, a
// protocol error or a ZAP status code such as 400 for HANDSHAKE_FAILED_AUTH) and the endpoint.
struct MonitorEvent {
  int event = 0;
  uint32_t value = 0;
  std::string endpoint;
};

class Socket {
 public:
  // A new socket of ZMQ type `type` (ZMQ_ROUTER, ZMQ_DEALER, ZMQ_PUB, ...), ZMQ_LINGER 0.
  // The Socket does not keep a reference to `context`, which must still outlive it.
  static Result<Socket> open(Context& context, int type);

  Socket(Socket&& other) noexcept : socket_(std::exchange(other.socket_, nullptr)) {}
  Socket& operator=(Socket&& other) noexcept;
  Socket(const Socket&) = delete;
  Socket& operator=(const Socket&) = delete;
  ~Socket() { close(); }

  // Closes now (idempotent); pending outgoing messages are dropped or lingered per ZMQ_LINGER.
  void close();

  void* get() const { return socket_; }
  // An item for poll(): this socket, waiting for `events` (ZMQ_POLLIN and/or ZMQ_POLLOUT).
  zmq_pollitem_t pollItem(short events = ZMQ_POLLIN) const;

  // Options. Set them before bind/connect unless libzmq says otherwise.
  Status setInt(int option, int value);
  Status setBytes(int option, std::string_view value);
  Status setLinger(std::chrono::milliseconds linger);
  // ZMQ_MAXMSGSIZE: a peer sending a frame larger than `bytes` is disconnected (-1: no limit).
  // Set it on every socket that reads from peers.
  Status setMaxMessageSize(int64_t bytes);
  // ZMQ_CURVE_SERVER with the secret key of `keys`. Servers should use makeCurveServer (zap.h),
  // which also enforces ZAP.
  Status setCurveServer(const trust::KeyPair& keys);
  // A CURVE client with key pair `mine` that only talks to the server holding `serverPublic`.
  Status setCurveClient(const trust::KeyPair& mine, const trust::CurveKey& serverPublic);
  Status setZapDomain(const std::string& domain);
  // SUB only: receive messages whose first frame starts with `prefix` ("" = everything).
  Status subscribe(std::string_view prefix);

  // kConflict "address in use" when another socket (of any process) holds the address.
  // "tcp://127.0.0.1:*" binds an ephemeral port; lastEndpoint() tells which.
  Status bind(const std::string& endpoint);
  // Connecting succeeds before the peer exists; libzmq reconnects in the background.
  Status connect(const std::string& endpoint);
  // The endpoint of the last bind, with the actual port ("tcp://127.0.0.1:41234").
  Result<std::string> lastEndpoint() const;

  // Sends one message of frames.size() >= 1 frames (atomically: all or none reach the peer).
  // On a ROUTER frame 0 is the peer's routing id. With dontWait, kUnavailable when the message
  // cannot be queued now (high-water mark, no peer). PUB never blocks: it drops at the HWM.
  Status send(const std::vector<std::string>& frames, bool dontWait = false);
  // The same, taking the frames: a large one is handed to libzmq without a copy (whether or not
  // it is sent, the caller has it no more).
  Status send(std::vector<std::string>&& frames, bool dontWait = false);
  // Receives one whole message. With more than `maxFrames` frames (maxFrames >= 1), the message
  // is read to its end and discarded and the result is kInvalidInput: the socket stays usable.
  // On a ROUTER frame 0 is the sender's routing id. With dontWait and nothing queued,
  // kUnavailable.
  Result<std::vector<std::string>> recv(size_t maxFrames, bool dontWait = false);
  // As recv, with the ZAP User-Id and Peer-Address the message arrived with.
  Result<Received> recvWithUser(size_t maxFrames, bool dontWait = false);

  // Large requests travel in parts. CURVE encrypts one frame at a time and libzmq 4.3 makes two
  // copies of the frame's size while it does, so a bulk publish of megabytes sent as one frame
  // cost three times its size at once; in parts, those copies are a part's size.
  //
  // Sends the `head` frames (none, or a ROUTER's routing id) and then `body` cut into parts of
  // at most `partBytes` (at least one part; a large one is handed to libzmq without a copy).
  Status sendParts(std::vector<std::string>&& head, std::string&& body, size_t partBytes,
                   bool dontWait = false);
  // Receives what sendParts sent: the first `head` frames as they came, then every later frame
  // joined into one last frame. A message with no part after its head, more than `maxParts`
  // parts or parts of more than `maxBody` bytes in all is read to its end and dropped
  // (kInvalidInput): the socket stays usable.
  Result<Received> recvJoined(size_t head, size_t maxParts, size_t maxBody, bool dontWait = false);

  // Publishes this socket's events (ZMQ_EVENT_* mask `events`) on a new PAIR endpoint
  // `inprocEndpoint`; connect a ZMQ_PAIR socket there and read them with readMonitorEvent.
  Status monitor(const std::string& inprocEndpoint, int events);

 private:
  explicit Socket(void* socket) : socket_(socket) {}
  // `take`, when given, is `frames` itself, which may then be moved from.
  Status sendFrames(const std::vector<std::string>& frames, std::vector<std::string>* take, bool dontWait);
  Result<std::vector<std::string>> receive(size_t maxFrames, bool dontWait, Received* meta);
  void* socket_ = nullptr;
};

// A message of these frames, moved in where they are temporaries (a braced list copies each one;
// with Socket::send(std::vector<std::string>&&) a large frame is then never copied).
template <typename... Frames>
std::vector<std::string> framesOf(Frames&&... frames) {
  std::vector<std::string> out;
  out.reserve(sizeof...(frames));
  (out.emplace_back(std::forward<Frames>(frames)), ...);
  return out;
}

// Reads one event from a PAIR socket connected to a Socket::monitor endpoint.
Result<MonitorEvent> readMonitorEvent(Socket& monitorPair, bool dontWait = false);

// Waits until one of `items` is ready or `timeout` passed (negative: no limit) and returns how
// many are ready (0 on timeout); each item's `revents` says which. kUnavailable when interrupted
// by a signal or when the context is terminating. Sockets in `items` belong to the calling thread.
Result<int> poll(std::vector<zmq_pollitem_t>& items, std::chrono::milliseconds timeout);

}  // namespace liaison::bus
