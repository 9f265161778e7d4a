// Owned Cap'n Proto values: one Item in canonical form, and the signed Envelope around it.
//
// Everything that arrives from a file, a peer or a store is decoded here, once, with reader
// limits; what comes out owns its bytes, so readers handed out stay valid while the owner lives.
#pragma once

#include <capnp/message.h>
#include <capnp/serialize.h>

#include <array>
#include <cstdint>
#include <span>
#include <string>

#include "common/encoding.h"
#include "common/result.h"
#include "schemas/envelope.capnp.h"

namespace liaison {

// Limits for messages a peer or a file supplied: 1 MiB of words traversed, nesting 16.
capnp::ReaderOptions peerReaderOptions();

// The largest envelope Liaison accepts anywhere (bytes).
inline constexpr size_t kMaxEnvelopeBytes = 256 * 1024;

// One Item message in canonical form. The canonical bytes are what is signed.
class OwnedItem {
 public:
  // Canonicalises what `builder` holds (its root must be an Item).
  static OwnedItem fromBuilder(capnp::MessageBuilder& builder);
  // Decodes bytes that must already be a canonical Item message (as signed).
  static Result<OwnedItem> decode(std::span<const uint8_t> canonical);
  // Adopts bytes this program validated with decode() before storing them (a replica's own
  // store): copies them aligned, skips the canonical-form walk.
  static OwnedItem fromStore(std::span<const uint8_t> canonical);

  // Valid while this OwnedItem lives.
  schema::Item::Reader reader() const;
  std::span<const uint8_t> bytes() const {
    return {reinterpret_cast<const uint8_t*>(words_.begin()), words_.size() * sizeof(capnp::word)};
  }

  // Adopts words already aligned (see fromStore).
  static OwnedItem fromWords(kj::Array<capnp::word> words) { return OwnedItem(kj::mv(words)); }

 private:
  explicit OwnedItem(kj::Array<capnp::word> words) : words_(kj::mv(words)) {}
  kj::Array<capnp::word> words_;
};

using SigningKey = std::array<uint8_t, 32>;  // Ed25519 public key
using Signature = std::array<uint8_t, 64>;

// An item with the signature of its origin. Not verified by being decoded: see trust/.
struct SignedItem {
  OwnedItem item;
  std::string signer;  // site id, or "root"
  SigningKey signerKey{};
  Signature signature{};

  Bytes encode() const;  // the Envelope message, flat (8-byte words)
  static Result<SignedItem> decode(std::span<const uint8_t> envelopeBytes);
  // For envelopes read back from this replica's own store (validated when they were stored).
  static Result<SignedItem> decodeStored(std::span<const uint8_t> envelopeBytes);
};

// Words of a flat message copied into aligned memory; Cap'n Proto needs 8-byte alignment and
// LMDB values or ZeroMQ frames need not have it.
kj::Array<capnp::word> alignedCopy(std::span<const uint8_t> bytes);

// The kind of what an Item carries, as a word for messages and logs ("contact", "member", ...).
std::string itemKind(schema::Item::Reader item);
// The id of what an Item carries (record id, alert id, site id of a member/revocation).
std::string itemId(schema::Item::Reader item);

}  // namespace liaison
