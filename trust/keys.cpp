#include "trust/keys.h"

#include <sodium.h>

#include <algorithm>
#include <cstring>
#include <string_view>
#include <thread>

#include "common/encoding.h"
#include "common/files.h"
#include "common/metrics.h"
#include "common/parallel.h"

namespace liaison::trust {

namespace {

constexpr char kDomain[] = "liaison/v1";  // signed as these bytes plus a NUL

void ensureSodium() {
  static const int ready = sodium_init();
  LIAISON_ASSERT(ready >= 0, "libsodium failed to initialise");
}

// Finds "name: value" in a key file.
std::optional<std::string> field(std::string_view text, std::string_view name) {
  size_t pos = 0;
  while (pos < text.size()) {
    size_t end = text.find('\n', pos);
    std::string_view line = text.substr(pos, end == text.npos ? text.npos : end - pos);
    if (line.starts_with(name) && line.size() > name.size() && line[name.size()] == ':') {
      std::string_view v = line.substr(name.size() + 1);
      while (!v.empty() && (v.front() == ' ' || v.front() == '\t')) v.remove_prefix(1);
      while (!v.empty() && (v.back() == ' ' || v.back() == '\r')) v.remove_suffix(1);
      return std::string(v);
    }
    if (end == text.npos) break;
    pos = end + 1;
  }
  return std::nullopt;
}

template <size_t N>
bool decodeInto(const std::optional<std::string>& text, bool z85, std::array<uint8_t, N>& out) {
  if (!text) return false;
  auto bytes = z85 ? fromZ85(*text) : fromBase64(*text);
  if (!bytes || bytes->size() != N) return false;
  std::memcpy(out.data(), bytes->data(), N);
  return true;
}

Bytes signedMessage(const SignedItem& item) {
  auto payload = item.item.bytes();
  Bytes msg(sizeof kDomain + payload.size());
  std::memcpy(msg.data(), kDomain, sizeof kDomain);
  std::memcpy(msg.data() + sizeof kDomain, payload.data(), payload.size());
  return msg;
}

}  // namespace

KeyPair generateKeyPair() {
  ensureSodium();
  KeyPair keys;
  crypto_sign_keypair(keys.pub.sign.data(), keys.signSecret.data());
  crypto_box_keypair(keys.pub.curve.data(), keys.curveSecret.data());
  crypto_box_keypair(keys.pub.box.data(), keys.boxSecret.data());
  return keys;
}

std::string publicKeysText(const PublicKeys& keys) {
  return "# Liaison public keys (Z85)\ned25519: " + toZ85(keys.sign) + "\ncurve: " + toZ85(keys.curve) + "\n" +
         (keys.box != CurveKey{} ? "box: " + toZ85(keys.box) + "\n" : std::string());
}

Status writeKeyFiles(const std::string& prefix, const KeyPair& keys) {
  std::string keyPath = prefix + ".key";
  if (fileExists(keyPath)) {
    return makeError(Errc::kConflict, keyPath + ": exists; refusing to overwrite a key");
  }
  std::string secret =
      "# Liaison secret key. Keep it private: whoever holds it speaks for its owner.\n"
      "ed25519-secret: " + toBase64(keys.signSecret) + "\ncurve-secret: " +
      toZ85(keys.curveSecret) + "\ned25519: " + toZ85(keys.pub.sign) + "\ncurve: " +
      toZ85(keys.pub.curve) + "\n" +
      (keys.hasBox() ? "box-secret: " + toZ85(keys.boxSecret) + "\nbox: " + toZ85(keys.pub.box) + "\n" : std::string());
  LIAISON_TRY(writeFileAtomic(keyPath, secret, 0600));
  sodium_memzero(secret.data(), secret.size());
  return writeFileAtomic(prefix + ".pub", publicKeysText(keys.pub), 0644);
}

Result<KeyPair> loadKeyPair(const std::string& path) {
  ensureSodium();
  auto text = readFile(path, 64 * 1024);
  if (!text) return text.error();
  KeyPair keys;
  bool ok = decodeInto(field(*text, "ed25519-secret"), false, keys.signSecret) &&
            decodeInto(field(*text, "curve-secret"), true, keys.curveSecret);
  const auto boxSecret = field(*text, "box-secret");  // absent in key files made before requests
  if (ok && boxSecret) ok = decodeInto(boxSecret, true, keys.boxSecret);
  sodium_memzero(text->data(), text->size());
  if (!ok) return makeError(Errc::kInvalidInput, path + ": not a Liaison secret key file");
  // Derive the publics from the secrets rather than trusting the file's copies.
  crypto_sign_ed25519_sk_to_pk(keys.pub.sign.data(), keys.signSecret.data());
  crypto_scalarmult_base(keys.pub.curve.data(), keys.curveSecret.data());
  if (keys.boxSecret != CurveKey{}) crypto_scalarmult_base(keys.pub.box.data(), keys.boxSecret.data());
  return keys;
}

Result<PublicKeys> loadPublicKeys(const std::string& path) {
  auto text = readFile(path, 64 * 1024);
  if (!text) return text.error();
  PublicKeys keys;
  const auto box = field(*text, "box");
  if (!decodeInto(field(*text, "ed25519"), true, keys.sign) ||
      !decodeInto(field(*text, "curve"), true, keys.curve) || (box && !decodeInto(box, true, keys.box))) {
    return makeError(Errc::kInvalidInput, path + ": not a Liaison public key file");
  }
  return keys;
}

std::string fingerprint(const SigningKey& key) {
  return toHex(std::span<const uint8_t>(key.data(), 8));
}

SignedItem sign(OwnedItem item, const std::string& signer, const KeyPair& keys) {
  ensureSodium();
  SignedItem out{std::move(item), signer, keys.pub.sign, {}};
  Bytes msg = signedMessage(out);
  crypto_sign_detached(out.signature.data(), nullptr, msg.data(), msg.size(),
                       keys.signSecret.data());
  return out;
}

std::vector<bool> signaturesValid(const std::vector<const SignedItem*>& items) {
  ensureSodium();
  std::vector<char> ok(items.size(), 0);
  parallelFor(items.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) ok[i] = signatureValid(*items[i]) ? 1 : 0;
  });
  return std::vector<bool>(ok.begin(), ok.end());
}

CheckedEnvelope checkEnvelope(std::span<const uint8_t> envelope) {
  CheckedEnvelope c;
  c.item = SignedItem::decode(envelope);
  c.signatureValid = c.item.ok() && signatureValid(*c.item);
  return c;
}

std::vector<CheckedEnvelope> checkEnvelopes(const std::vector<const Bytes*>& envelopes,
                                            size_t minPerThread, Histogram* times) {
  std::vector<CheckedEnvelope> out(envelopes.size());
  parallelFor(envelopes.size(), [&](size_t from, size_t to) {
    for (size_t i = from; i < to; ++i) {
      if (times == nullptr) {
        out[i] = checkEnvelope(*envelopes[i]);
        continue;
      }
      ScopedTimer timed(*times);
      out[i] = checkEnvelope(*envelopes[i]);
    }
  }, minPerThread);
  return out;
}

bool signatureValid(const SignedItem& item) {
  ensureSodium();
  Bytes msg = signedMessage(item);
  return crypto_sign_verify_detached(item.signature.data(), msg.data(), msg.size(),
                                     item.signerKey.data()) == 0;
}

}  // namespace liaison::trust
