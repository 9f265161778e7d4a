#include "bus/zmq.h"

#include <cerrno>
#include <cstring>
#include <memory>

namespace liaison::bus {
namespace {

#ifdef ZMQ_ZAP_ENFORCE_DOMAIN
static_assert(ZMQ_ZAP_ENFORCE_DOMAIN == kZapEnforceDomain);
#endif

std::string optionName(int option) {
  switch (option) {
    case ZMQ_LINGER:
      return "ZMQ_LINGER";
    case ZMQ_MAXMSGSIZE:
      return "ZMQ_MAXMSGSIZE";
    case ZMQ_SNDHWM:
      return "ZMQ_SNDHWM";
    case ZMQ_RCVHWM:
      return "ZMQ_RCVHWM";
    case ZMQ_SUBSCRIBE:
      return "ZMQ_SUBSCRIBE";
    case ZMQ_UNSUBSCRIBE:
      return "ZMQ_UNSUBSCRIBE";
    case ZMQ_ROUTING_ID:
      return "ZMQ_ROUTING_ID";
    case ZMQ_ROUTER_MANDATORY:
      return "ZMQ_ROUTER_MANDATORY";
    case ZMQ_CURVE_SERVER:
      return "ZMQ_CURVE_SERVER";
    case ZMQ_CURVE_PUBLICKEY:
      return "ZMQ_CURVE_PUBLICKEY";
    case ZMQ_CURVE_SECRETKEY:
      return "ZMQ_CURVE_SECRETKEY";
    case ZMQ_CURVE_SERVERKEY:
      return "ZMQ_CURVE_SERVERKEY";
    case ZMQ_ZAP_DOMAIN:
      return "ZMQ_ZAP_DOMAIN";
    case kZapEnforceDomain:
      return "ZMQ_ZAP_ENFORCE_DOMAIN";
    case ZMQ_RECONNECT_IVL:
      return "ZMQ_RECONNECT_IVL";
    case ZMQ_RECONNECT_IVL_MAX:
      return "ZMQ_RECONNECT_IVL_MAX";
    case ZMQ_HEARTBEAT_IVL:
      return "ZMQ_HEARTBEAT_IVL";
    case ZMQ_HEARTBEAT_TIMEOUT:
      return "ZMQ_HEARTBEAT_TIMEOUT";
    case ZMQ_HEARTBEAT_TTL:
      return "ZMQ_HEARTBEAT_TTL";
    case ZMQ_HANDSHAKE_IVL:
      return "ZMQ_HANDSHAKE_IVL";
    case ZMQ_IMMEDIATE:
      return "ZMQ_IMMEDIATE";
    case ZMQ_SNDTIMEO:
      return "ZMQ_SNDTIMEO";
    case ZMQ_RCVTIMEO:
      return "ZMQ_RCVTIMEO";
    default:
      return "socket option " + std::to_string(option);
  }
}

std::string_view bytesOf(const trust::CurveKey& key) {
  return {reinterpret_cast<const char*>(key.data()), key.size()};
}

// A zmq_msg_t closed by its destructor.
class Message {
 public:
  Message() { zmq_msg_init(&msg_); }
  // Holds `bytes` without copying them; libzmq frees them once they are sent (or the message
  // is closed unsent).
  explicit Message(std::string&& bytes) {
    auto owned = std::make_unique<std::string>(std::move(bytes));
    if (zmq_msg_init_data(&msg_, owned->data(), owned->size(), &freeOwned, owned.get()) == 0) {
      owned.release();  // libzmq's now
      return;
    }
    // libzmq could not take them (out of memory): copied, as zmq_send would; or nothing is sent.
    if (zmq_msg_init_size(&msg_, owned->size()) == 0) {
      std::memcpy(zmq_msg_data(&msg_), owned->data(), owned->size());
      return;
    }
    zmq_msg_init(&msg_);
    empty_ = true;
  }
  // Holds `size` bytes of `owner` from `offset` without copying them; `owner` is freed once
  // libzmq is done with every message holding a part of it. Copied when libzmq cannot take them.
  Message(const std::shared_ptr<std::string>& owner, size_t offset, size_t size) {
    auto hint = std::make_unique<std::shared_ptr<std::string>>(owner);
    if (zmq_msg_init_data(&msg_, owner->data() + offset, size, &freeShared, hint.get()) == 0) {
      hint.release();  // libzmq's now
      return;
    }
    if (zmq_msg_init_size(&msg_, size) == 0) {
      std::memcpy(zmq_msg_data(&msg_), owner->data() + offset, size);
      return;
    }
    zmq_msg_init(&msg_);
    empty_ = true;
  }
  // False when the bytes given could not be held (the message is empty, not to be sent).
  bool holds() const { return !empty_; }
  ~Message() { zmq_msg_close(&msg_); }
  Message(const Message&) = delete;
  Message& operator=(const Message&) = delete;
  zmq_msg_t* get() { return &msg_; }

  std::string property(const char* name) {
    const char* value = zmq_msg_gets(&msg_, name);
    return value == nullptr ? std::string() : std::string(value);
  }

 private:
  static void freeOwned(void* /*data*/, void* owned) { delete static_cast<std::string*>(owned); }
  static void freeShared(void* /*data*/, void* hint) {
    delete static_cast<std::shared_ptr<std::string>*>(hint);
  }
  zmq_msg_t msg_;
  bool empty_ = false;
};

// A frame at least this large is handed to libzmq as it is rather than copied (a bulk publish's
// submission is megabytes: its copies were a large part of a site daemon's peak memory).
constexpr size_t kZeroCopyBytes = size_t{64} << 10;

// Sends frame i (from 0) of a message of `total` frames: `msg` as it is when given, else a copy
// of `data`.
Status sendFrame(void* socket, size_t i, size_t total, bool dontWait, std::string_view data,
                 Message* msg = nullptr) {
  int flags = i + 1 < total ? ZMQ_SNDMORE : 0;
  // Only the first frame can find the pipe full; the rest of a message always follows it.
  if (i == 0 && dontWait) flags |= ZMQ_DONTWAIT;
  if (msg != nullptr && !msg->holds()) {
    return makeError(Errc::kUnavailable, "zmq send: no memory for frame " + std::to_string(i + 1));
  }
  const int sent = msg != nullptr ? zmq_msg_send(msg->get(), socket, flags)
                                  : zmq_send(socket, data.data(), data.size(), flags);
  if (sent < 0) {
    return zmqError(zmq_errno(),
                    "send frame " + std::to_string(i + 1) + " of " + std::to_string(total));
  }
  return {};
}

// Receives frame `count` (from 0) of a message into `msg`, noting in `meta` (when given) the
// connection's metadata; whether more frames follow.
Result<bool> recvFrame(void* socket, Message& msg, size_t count, bool dontWait, Received* meta) {
  // Once the first frame is here the whole message is: later frames never wait.
  const int flags = count == 0 && dontWait ? ZMQ_DONTWAIT : 0;
  if (zmq_msg_recv(msg.get(), socket, flags) < 0) {
    return zmqError(zmq_errno(),
                    count == 0 ? std::string("recv") : "recv frame " + std::to_string(count + 1));
  }
  if (meta != nullptr && meta->userId.empty()) {
    // All frames of a message carry the connection's metadata; the first one that has a
    // User-Id is enough.
    meta->userId = msg.property("User-Id");
    if (meta->peerAddress.empty()) meta->peerAddress = msg.property("Peer-Address");
  }
  return zmq_msg_more(msg.get()) != 0;
}

}  // namespace

Error zmqError(int err, std::string_view what) {
  Errc code = Errc::kIo;
  std::string text = zmq_strerror(err);
  switch (err) {
    case EHOSTUNREACH:  // a ROUTER_MANDATORY socket has no such peer (any more)
      code = Errc::kNotFound;
      break;
    case EAGAIN:
    case EINTR:
    case ETERM:
    case ENOTSOCK:  // only after the context was terminated under us
      code = Errc::kUnavailable;
      break;
    case EADDRINUSE:
      code = Errc::kConflict;
      text = "address in use";
      break;
    case EINVAL:
    case EPROTONOSUPPORT:
    case ENOCOMPATPROTO:
    case EADDRNOTAVAIL:
    case ENODEV:
    case EFSM:
    case ENOTSUP:
    case EMSGSIZE:
      code = Errc::kInvalidInput;
      break;
    default:
      break;
  }
  if (err == EAGAIN) text = "nothing ready (" + text + ")";
  return makeError(code, "zmq " + std::string(what) + ": " + text);
}

// ---- Context ----------------------------------------------------------------------------------

Result<Context> Context::create() {
  void* ctx = zmq_ctx_new();
  if (ctx == nullptr) return zmqError(zmq_errno(), "create context");
  Context out(ctx);
  if (zmq_ctx_set(ctx, ZMQ_BLOCKY, 0) != 0) return zmqError(zmq_errno(), "set ZMQ_BLOCKY");
  return out;
}

Context& Context::operator=(Context&& other) noexcept {
  if (this != &other) {
    terminate();
    ctx_ = std::exchange(other.ctx_, nullptr);
  }
  return *this;
}

void Context::terminate() {
  if (ctx_ == nullptr) return;
  while (zmq_ctx_term(ctx_) != 0 && zmq_errno() == EINTR) {
  }
  ctx_ = nullptr;
}

// ---- Socket -----------------------------------------------------------------------------------

Result<Socket> Socket::open(Context& context, int type) {
  void* socket = zmq_socket(context.get(), type);
  if (socket == nullptr)
    return zmqError(zmq_errno(), "open socket of type " + std::to_string(type));
  Socket out(socket);
  LIAISON_TRY(out.setInt(ZMQ_LINGER, 0));
  return out;
}

Socket& Socket::operator=(Socket&& other) noexcept {
  if (this != &other) {
    close();
    socket_ = std::exchange(other.socket_, nullptr);
  }
  return *this;
}

void Socket::close() {
  if (socket_ != nullptr) zmq_close(std::exchange(socket_, nullptr));
}

zmq_pollitem_t Socket::pollItem(short events) const {
  zmq_pollitem_t item{};
  item.socket = socket_;
  item.events = events;
  return item;
}

Status Socket::setInt(int option, int value) {
  if (zmq_setsockopt(socket_, option, &value, sizeof value) != 0) {
    return zmqError(zmq_errno(), "set " + optionName(option) + " = " + std::to_string(value));
  }
  return {};
}

Status Socket::setBytes(int option, std::string_view value) {
  if (zmq_setsockopt(socket_, option, value.data(), value.size()) != 0) {
    // The value is not echoed: it may be a secret key.
    return zmqError(zmq_errno(), "set " + optionName(option));
  }
  return {};
}

Status Socket::setLinger(std::chrono::milliseconds linger) {
  return setInt(ZMQ_LINGER, static_cast<int>(linger.count()));
}

Status Socket::setMaxMessageSize(int64_t bytes) {
  if (zmq_setsockopt(socket_, ZMQ_MAXMSGSIZE, &bytes, sizeof bytes) != 0) {
    return zmqError(zmq_errno(), "set ZMQ_MAXMSGSIZE = " + std::to_string(bytes));
  }
  return {};
}

Status Socket::setCurveServer(const trust::KeyPair& keys) {
  LIAISON_TRY(setInt(ZMQ_CURVE_SERVER, 1));
  return setBytes(ZMQ_CURVE_SECRETKEY, bytesOf(keys.curveSecret));
}

Status Socket::setCurveClient(const trust::KeyPair& mine, const trust::CurveKey& serverPublic) {
  LIAISON_TRY(setBytes(ZMQ_CURVE_SERVERKEY, bytesOf(serverPublic)));
  LIAISON_TRY(setBytes(ZMQ_CURVE_PUBLICKEY, bytesOf(mine.pub.curve)));
  return setBytes(ZMQ_CURVE_SECRETKEY, bytesOf(mine.curveSecret));
}

Status Socket::setZapDomain(const std::string& domain) {
  if (zmq_setsockopt(socket_, ZMQ_ZAP_DOMAIN, domain.data(), domain.size()) != 0) {
    return zmqError(zmq_errno(), "set ZMQ_ZAP_DOMAIN = \"" + domain + "\"");
  }
  return {};
}

Status Socket::subscribe(std::string_view prefix) { return setBytes(ZMQ_SUBSCRIBE, prefix); }

Status Socket::bind(const std::string& endpoint) {
  if (zmq_bind(socket_, endpoint.c_str()) != 0) return zmqError(zmq_errno(), "bind " + endpoint);
  return {};
}

Status Socket::connect(const std::string& endpoint) {
  if (zmq_connect(socket_, endpoint.c_str()) != 0) {
    return zmqError(zmq_errno(), "connect " + endpoint);
  }
  return {};
}

Result<std::string> Socket::lastEndpoint() const {
  char buffer[1024];
  size_t size = sizeof buffer;
  if (zmq_getsockopt(socket_, ZMQ_LAST_ENDPOINT, buffer, &size) != 0) {
    return zmqError(zmq_errno(), "get ZMQ_LAST_ENDPOINT");
  }
  return std::string(buffer, ::strnlen(buffer, size));
}

Status Socket::send(const std::vector<std::string>& frames, bool dontWait) {
  return sendFrames(frames, nullptr, dontWait);
}

Status Socket::send(std::vector<std::string>&& frames, bool dontWait) {
  return sendFrames(frames, &frames, dontWait);
}

Status Socket::sendFrames(const std::vector<std::string>& frames, std::vector<std::string>* take,
                          bool dontWait) {
  if (frames.empty()) return makeError(Errc::kInvalidInput, "zmq send: a message needs a frame");
  for (size_t i = 0; i < frames.size(); ++i) {
    if (take != nullptr && frames[i].size() >= kZeroCopyBytes) {
      Message msg(std::move((*take)[i]));
      LIAISON_TRY(sendFrame(socket_, i, frames.size(), dontWait, {}, &msg));
    } else {
      LIAISON_TRY(sendFrame(socket_, i, frames.size(), dontWait, frames[i]));
    }
  }
  return {};
}

Status Socket::sendParts(std::vector<std::string>&& head, std::string&& body, size_t partBytes,
                         bool dontWait) {
  LIAISON_ASSERT(partBytes > 0, "parts need a size");
  if (body.size() <= partBytes) {
    head.push_back(std::move(body));
    return send(std::move(head), dontWait);
  }
  const size_t parts = (body.size() + partBytes - 1) / partBytes;
  const size_t total = head.size() + parts;
  for (size_t i = 0; i < head.size(); ++i) {
    LIAISON_TRY(sendFrame(socket_, i, total, dontWait, head[i]));
  }
  auto owner = std::make_shared<std::string>(std::move(body));
  for (size_t k = 0; k < parts; ++k) {
    const size_t offset = k * partBytes;
    Message msg(owner, offset, std::min(partBytes, owner->size() - offset));
    LIAISON_TRY(sendFrame(socket_, head.size() + k, total, dontWait, {}, &msg));
  }
  return {};
}

Result<std::vector<std::string>> Socket::receive(size_t maxFrames, bool dontWait, Received* meta) {
  LIAISON_ASSERT(maxFrames >= 1, "recv needs room for at least one frame");
  std::vector<std::string> frames;
  size_t count = 0;
  for (bool more = true; more; ++count) {
    Message msg;
    auto next = recvFrame(socket_, msg, count, dontWait, meta);
    if (!next.ok()) return next.error();
    more = *next;
    if (count < maxFrames) {
      frames.emplace_back(static_cast<const char*>(zmq_msg_data(msg.get())),
                          zmq_msg_size(msg.get()));
    }
  }
  if (count > maxFrames) {
    return makeError(Errc::kInvalidInput, "zmq recv: message of " + std::to_string(count) +
                                              " frames dropped (at most " +
                                              std::to_string(maxFrames) + " expected)");
  }
  return frames;
}

Result<std::vector<std::string>> Socket::recv(size_t maxFrames, bool dontWait) {
  return receive(maxFrames, dontWait, nullptr);
}

Result<Received> Socket::recvWithUser(size_t maxFrames, bool dontWait) {
  Received out;
  auto frames = receive(maxFrames, dontWait, &out);
  if (!frames.ok()) return frames.error();
  out.frames = std::move(*frames);
  return out;
}

Result<Received> Socket::recvJoined(size_t head, size_t maxParts, size_t maxBody, bool dontWait) {
  LIAISON_ASSERT(maxParts > 0, "room for at least one part");
  Received out;
  std::string refused;                          // why the message is dropped
  std::vector<std::unique_ptr<Message>> parts;  // held until the last is here, then joined
  size_t count = 0, bytes = 0;
  for (bool more = true; more; ++count) {
    auto msg = std::make_unique<Message>();
    auto next = recvFrame(socket_, *msg, count, dontWait, &out);
    if (!next.ok()) return next.error();
    more = *next;
    const size_t size = zmq_msg_size(msg->get());
    if (count < head) {
      out.frames.emplace_back(static_cast<const char*>(zmq_msg_data(msg->get())), size);
    } else if (!refused.empty()) {
      continue;  // read to its end, then dropped
    } else if (parts.size() == maxParts) {
      refused = "more than " + std::to_string(maxParts) + " parts";
    } else if (bytes + size > maxBody) {
      refused = "parts of more than " + std::to_string(maxBody) + " bytes";
    } else {
      bytes += size;
      parts.push_back(std::move(msg));
    }
  }
  if (refused.empty() && count <= head) refused = "no part after its head";
  if (!refused.empty()) {
    return makeError(Errc::kInvalidInput, "zmq recv: message of " + std::to_string(count) +
                                              " frames dropped: " + refused);
  }
  std::string& body = out.frames.emplace_back();
  body.reserve(bytes);
  for (auto& part : parts) {
    body.append(static_cast<const char*>(zmq_msg_data(part->get())), zmq_msg_size(part->get()));
    part.reset();
  }
  return out;
}

Status Socket::monitor(const std::string& inprocEndpoint, int events) {
  if (zmq_socket_monitor(socket_, inprocEndpoint.c_str(), events) != 0) {
    return zmqError(zmq_errno(), "monitor on " + inprocEndpoint);
  }
  return {};
}

// ---- free functions ---------------------------------------------------------------------------

Result<MonitorEvent> readMonitorEvent(Socket& monitorPair, bool dontWait) {
  auto frames = monitorPair.recv(2, dontWait);
  if (!frames.ok()) return frames.error();
  // Frame 1: uint16 event, uint32 value (host byte order); frame 2: the endpoint.
  if (frames->size() != 2 || (*frames)[0].size() != 6) {
    return makeError(Errc::kInvalidInput, "zmq monitor: malformed event");
  }
  uint16_t event = 0;
  MonitorEvent out;
  std::memcpy(&event, (*frames)[0].data(), sizeof event);
  std::memcpy(&out.value, (*frames)[0].data() + sizeof event, sizeof out.value);
  out.event = event;
  out.endpoint = std::move((*frames)[1]);
  return out;
}

Result<int> poll(std::vector<zmq_pollitem_t>& items, std::chrono::milliseconds timeout) {
  long limit = timeout.count() < 0 ? -1L : static_cast<long>(timeout.count());
  int rc = zmq_poll(items.data(), static_cast<int>(items.size()), limit);
  if (rc < 0) return zmqError(zmq_errno(), "poll");
  return rc;
}

}  // namespace liaison::bus
