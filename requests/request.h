// MLA requests (DESIGN.md, "MLA requests"): the pure core, with no socket and no store. A
// request's content is checked against what both countries are party to, sealed to the
// recipient site's box key (libsodium crypto_box_seal: brokers carry ciphertext and routing
// only), its files encrypted chunk by chunk with a key that only the content holds (so a transfer
// resumes at any chunk, and a chunk out of place or changed does not decrypt), and every step of
// its life is signed by the party that took it and chained to the step before, so that a third
// party holding the public keys can check the whole trail (verifyTrail).
//
// Errors are values: Errc::kInvalidInput for what a user or a peer gave (the message names the
// field), never an abort. Decoding anything a peer sent uses the peer reader limits.
// Concurrency: pure functions; thread-safe.
#pragma once

#include <array>
#include <cstdint>
#include <map>
#include <set>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/encoding.h"
#include "common/result.h"
#include "trust/keys.h"

namespace liaison::requests {

inline constexpr uint64_t kMaxFileBytes = uint64_t{64} << 20;
inline constexpr uint64_t kMaxRequestBytes = uint64_t{256} << 20;
inline constexpr uint64_t kChunkBytes = uint64_t{1} << 20;
inline constexpr size_t kMaxSummaryBytes = 16 * 1024;

using Hash = std::array<uint8_t, 32>;

// The measures a request may ask for, and the statuses the requested side may set.
const std::vector<std::string_view>& measureNames();
const std::vector<std::string_view>& statusNames();
bool isMeasure(std::string_view measure);
bool isStatus(std::string_view status);

struct FileRef {
  std::string name;
  uint64_t size = 0;
  Hash sha256{};
  bool operator==(const FileRef&) const = default;
};

struct Content {
  std::string id;  // UUID
  std::string caseReference, fromSite, toSite, toContact, legalBasis;
  std::vector<std::string> measures;
  bool urgent = false;
  std::string deadline;  // YYYY-MM-DD or empty
  std::string language, summary;
  std::vector<FileRef> files;
  Hash fileKey{};
  int64_t createdAt = 0;
  bool operator==(const Content&) const = default;
};

// A site as a party to a request: the countries its certificate names.
struct Party {
  std::string site;
  std::vector<std::string> countries;
};
// Whether a site of this certificate role may receive a request: a bridge, a broker or an
// adapter carries or serves, it takes none (the sender's site and its broker both refuse).
bool takesRequests(std::string_view role);

// Instrument id → the countries party to it (from the directory's instrument records).
using Instruments = std::map<std::string, std::set<std::string>, std::less<>>;

// The instruments that a country of `from` and a country of `to` are both party to, sorted.
std::vector<std::string> sharedInstruments(const Party& from, const Party& to, const Instruments& instruments);

// Every field a user gives: case reference, measures (the vocabulary), legal basis (an
// instrument both sides are party to; the error names the ones they share), deadline (a date,
// not past), language, summary, files (names, at most kMaxFileBytes each, kMaxRequestBytes in
// all). `now`: Unix seconds.
Status validate(const Content& content, const Party& from, const Party& to, const Instruments& instruments,
                int64_t now);

// SHA-256 of a file's bytes, as FileRef::sha256 holds it.
Hash sha256(std::span<const uint8_t> bytes);
// BLAKE2b-256, the hash that chains steps and names a sealed request.
Hash blake2b(std::span<const uint8_t> bytes);

// The id of the parcel of evidence that status step `step` (1-based) of request `requestId` sends
// back: a UUID (version 8) derived from both, so either side and the broker name it alike.
std::string evidenceId(const std::string& requestId, uint32_t step);

// What brokers carry.
struct Sealed {
  std::string id, fromSite, toSite;
  Bytes sealed;                  // crypto_box_seal of the encoded content
  std::vector<uint32_t> chunks;  // encrypted chunks per file
};

// Seals `content` (with a fresh fileKey when it has none) to the recipient's box key.
Result<Sealed> seal(Content& content, const trust::CurveKey& recipientBox);
// The content as the sealed box holds it (a site keeps its own requests so, in its own store).
Bytes encode(const Content& content);
Result<Content> decodeContent(std::span<const uint8_t> bytes);

// Opens it with the recipient's keys; kInvalidInput when it was not sealed to them, was changed,
// or its content does not match its routing.
Result<Content> open(const Sealed& sealed, const trust::KeyPair& recipient);
Bytes encode(const Sealed& sealed);
Result<Sealed> decodeSealed(std::span<const uint8_t> bytes);

// The number of chunks of a file of `size` bytes (an empty file has one, empty).
uint32_t chunkCount(uint64_t size);
// Chunk `chunk` of file `file` of `content`, encrypted and authenticated with its place: a chunk
// moved to another place, another file or another request, or changed, fails decryptChunk.
Bytes encryptChunk(const Content& content, uint32_t file, uint32_t chunk, std::span<const uint8_t> plain);
Result<Bytes> decryptChunk(const Content& content, uint32_t file, uint32_t chunk, std::span<const uint8_t> cipher);

// One step of the trail.
struct Step {
  std::string requestId;
  std::string kind;  // sent | accepted | delivered | opened | status
  std::string status, by, reference, comment;
  int64_t at = 0;
  Bytes previous;  // blake2b of the previous signed step; empty for "sent"
  Bytes subject;   // "sent": blake2b of the encoded sealed request
  std::vector<FileRef> files;
};

struct SignedStep {
  Step step;
  Bytes stepBytes;  // as signed
  std::string signer;
  SigningKey signerKey{};
  Signature signature{};
};

SignedStep signStep(const Step& step, const std::string& signer, const trust::KeyPair& keys);
Bytes encode(const SignedStep& step);
// Decodes and checks the signature (against the key it names; verifyTrail checks whose key).
Result<SignedStep> decodeStep(std::span<const uint8_t> bytes);
Hash stepHash(const SignedStep& step);

// Who may sign the steps of one request.
struct TrailKeys {
  std::string fromSite, toSite, broker;  // broker: its signer name, "broker:NETWORK"
  SigningKey fromKey{}, toKey{}, brokerKey{};
};
// The trail of `sealed`: "sent" by the sender naming the sealed request, then "accepted" by the
// broker, "delivered" and "opened" by the recipient, then statuses by the recipient; each
// signed by the key that may take it and chained to the one before (so none is left out,
// reordered or replayed). The first step that fails is named.
Status verifyTrail(const std::vector<SignedStep>& trail, const Sealed& sealed, const TrailKeys& keys);

}  // namespace liaison::requests
