// The bus protocol's messages as owned values (schemas/bus.capnp is the wire form).
// decode() is the edge: it reads a frame a peer sent, with reader limits, into owned values,
// and never throws; everything inward works on these values.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"

namespace liaison::bus {

// The largest frame either end reads (a fetch answer of many entries is the largest).
inline constexpr size_t kMaxFrameBytes = 16u << 20;
// A site's request to its broker larger than this travels in parts of this size, joined by the
// broker (Socket::sendParts / recvJoined: libzmq's CURVE copies are then a part's size).
inline constexpr size_t kPartBytes = 256u << 10;
inline constexpr size_t kMaxParts = kMaxFrameBytes / kPartBytes;

struct Entry {
  uint64_t epoch = 0, seq = 0;
  int64_t acceptedAt = 0;
  Bytes envelope;
  bool operator==(const Entry&) const = default;
};
struct SubmitRequest {
  uint64_t requestId = 0;
  std::vector<Bytes> envelopes;  // all or nothing
};
struct SubmitResult {
  uint64_t requestId = 0;
  bool accepted = false;
  uint64_t firstSeq = 0, lastSeq = 0;
  std::string refusal, detail;
  uint32_t index = 0;    // the refused envelope
  uint32_t ignored = 0;  // stale ones dropped
};
struct InfoRequest {
  uint64_t requestId = 0;
};
struct Info {
  uint64_t requestId = 0, epoch = 0, head = 0;
  uint16_t fanoutPort = 0;
  std::string network;
  uint64_t oldest = 0;
};
struct SnapshotRequest {
  uint64_t requestId = 0;
  std::string afterKey;
  uint32_t maxItems = 0;
};
struct SnapshotChunk {
  uint64_t requestId = 0, epoch = 0, head = 0;
  std::vector<Entry> entries;
  std::string nextKey;
  bool done = false;
};
struct FetchRequest {
  uint64_t requestId = 0, epoch = 0, fromSeq = 0;
  uint32_t maxItems = 0;
};
struct Items {
  uint64_t requestId = 0, epoch = 0, head = 0;
  std::vector<Entry> entries;
  bool horizon = false;
};
struct Heartbeat {
  uint64_t epoch = 0, head = 0;
  int64_t time = 0;
};
// Alerts (site → broker). One of: send (envelope), answer (envelope), status (alertId),
// stored (keys), ping.
struct AlertRequest {
  enum class Kind { kSend, kAnswer, kStatus, kStored, kPing };
  uint64_t requestId = 0;
  Kind kind = Kind::kPing;
  Bytes envelope;
  std::string alertId;
  std::vector<std::string> keys;
};
struct AlertReply {
  uint64_t requestId = 0;
  bool accepted = false;
  std::string refusal, detail;
  std::string custody;  // JSON
};
struct Delivery {
  std::string key;
  Bytes envelope;
};
// Limits on what a peer's alert messages may hold.
inline constexpr size_t kMaxStoredKeys = 4096;
inline constexpr size_t kMaxKeyBytes = 512;

// MLA requests (schemas/bus.capnp, RequestMsg): one shape for every operation.
struct RequestMsg {
  uint64_t requestId = 0;
  std::string op;  // put | chunk | get | step | stored | reply | offer
  std::string id;
  uint32_t file = 0, index = 0;
  Bytes data;
  std::vector<Bytes> steps;
  std::vector<std::string> keys;
  bool accepted = false;
  std::string refusal, detail;
  std::vector<uint64_t> missing;
};
// Limits on what a peer's request messages may hold (a chunk is 1 MiB and its AEAD overhead).
inline constexpr size_t kMaxRequestData = (size_t{1} << 20) + 64;
inline constexpr size_t kMaxRequestSteps = 256;
inline constexpr size_t kMaxStepBytes = 64 * 1024;
inline constexpr size_t kMaxMissing = 1024;

struct ProtocolError {
  std::string text;
};

using Message = std::variant<SubmitRequest, SubmitResult, FetchRequest, Items, Heartbeat, Entry,
                             ProtocolError, InfoRequest, Info, SnapshotRequest, SnapshotChunk,
                             AlertRequest, AlertReply, Delivery, RequestMsg>;

std::string encode(const Message& message);
// encode(SubmitRequest{requestId, envelopes}), giving each envelope back once it is copied: a
// bulk submission is held about once, not three times, while it is encoded.
std::string encodeSubmit(uint64_t requestId, std::vector<Bytes>&& envelopes);
Result<Message> decode(std::string_view frame);

// The fan-out topic prefixes (first frame on PUB/SUB).
inline constexpr std::string_view kTopicEntry = "E";
inline constexpr std::string_view kTopicHeartbeat = "H";

}  // namespace liaison::bus
