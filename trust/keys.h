// Key pairs, key files and signing. A site's key file holds two secrets: the Ed25519 key that
// signs what the site publishes and the CURVE (X25519) key its ZeroMQ sockets use.
//
// Files (text):
//   PREFIX.key  mode 0600   "ed25519-secret: <base64>", "curve-secret: <Z85>", and both publics
//   PREFIX.pub              "ed25519: <Z85>", "curve: <Z85>"  (Z85 as ZeroMQ prints keys)
// No function here logs or prints a secret.
#pragma once

#include <array>
#include <span>
#include <string>
#include <vector>

#include "common/result.h"
#include "schemas/item.h"

namespace liaison {
class Histogram;
}

namespace liaison::trust {

using CurveKey = std::array<uint8_t, 32>;

struct PublicKeys {
  SigningKey sign{};
  CurveKey curve{};
  CurveKey box{};  // X25519: MLA requests are sealed to it; all zero in older key files
};

struct KeyPair {
  PublicKeys pub;
  std::array<uint8_t, 64> signSecret{};
  CurveKey curveSecret{};
  CurveKey boxSecret{};  // all zero in older key files (no box key)
  bool hasBox() const { return pub.box != CurveKey{}; }
};

KeyPair generateKeyPair();

// Writes PREFIX.key (0600, refuses to overwrite) and PREFIX.pub.
Status writeKeyFiles(const std::string& prefix, const KeyPair& keys);
Result<KeyPair> loadKeyPair(const std::string& path);
Result<PublicKeys> loadPublicKeys(const std::string& path);
std::string publicKeysText(const PublicKeys& keys);

// A short, printable identifier of a signing key (not secret): the first 8 bytes in hex.
std::string fingerprint(const SigningKey& key);

// Signs the canonical bytes of `item` with the domain prefix "liaison/v1\0".
SignedItem sign(OwnedItem item, const std::string& signer, const KeyPair& keys);
bool signatureValid(const SignedItem& item);
// signatureValid of each item, checked on every core when there are enough items to be worth
// it. Result[i] is true when items[i]'s signature is valid.
std::vector<bool> signaturesValid(const std::vector<const SignedItem*>& items);

// An envelope as a peer sent it: decoded (with the reader limits), and whether its signature is
// valid. The other checks (trust::verify) are the caller's, in order.
struct CheckedEnvelope {
  Result<SignedItem> item = Error{};
  bool signatureValid = false;
};
CheckedEnvelope checkEnvelope(std::span<const uint8_t> envelope);
// checkEnvelope of each, on every core when there are at least `minPerThread` per thread;
// `times` (optional) receives the time each check took.
std::vector<CheckedEnvelope> checkEnvelopes(const std::vector<const Bytes*>& envelopes,
                                            size_t minPerThread = 8, Histogram* times = nullptr);

}  // namespace liaison::trust
