// Member certificates and the verification decision every replica and the broker make for
// every signed item (DESIGN.md, "Trust"). Pure: the trust state and the time come in by
// reference, so the decision is testable without a store.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "schemas/item.h"
#include "schemas/vocab.h"
#include "common/clock.h"
#include "trust/keys.h"

namespace liaison::trust {

// The signer name a network root uses in envelopes.
inline constexpr std::string_view kRootSigner = "root";

struct MemberCert {
  std::string site;
  std::string network;
  std::string role;  // authority | secretariat | adapter | broker
  std::vector<std::string> countries;
  SigningKey signKey{};
  CurveKey curveKey{};
  int64_t notBefore = 0;
  int64_t notAfter = 0;
  uint64_t serial = 0;

  bool mayPublishFor(std::string_view country) const;
};

MemberCert memberFromReader(schema::Member::Reader reader);
OwnedItem memberItem(const MemberCert& cert);
OwnedItem revocationItem(const std::string& site, int64_t at, const std::string& reason);

// What a verifier consults. Implementations: the site's LMDB store, the broker's, test fakes.
class TrustView {
 public:
  virtual ~TrustView() = default;
  virtual const SigningKey& rootKey() const = 0;
  virtual std::optional<MemberCert> member(std::string_view site) const = 0;
  virtual bool revoked(std::string_view site) const = 0;
};

enum class Refusal {
  kNone = 0,
  kBadSignature,    // the signature does not match the bytes and key
  kUnknownSigner,   // no certificate for the signer, or a trust item not signed by the root
  kKeyMismatch,     // the envelope's key is not the key in the signer's certificate
  kNotYetValid,     // certificate not valid yet
  kExpired,         // certificate expired
  kRevoked,         // signer's certificate revoked
  kOutOfScope,      // the signer may not speak for this record's country or kind
  kStaleRevision,   // revision lower or equal to the stored one (harmless replay)
  kInvalid,         // the item itself is inconsistent
};
const char* refusalName(Refusal r);

struct Decision {
  Refusal refusal = Refusal::kNone;
  std::string detail;  // for people: why, naming the signer, the record and the country
  bool accepted() const { return refusal == Refusal::kNone; }
};

// The stored state of the record an item replaces, if there is one.
struct Existing {
  uint64_t revision = 0;
  std::string kind;     // contact | instrument | notice
  std::string country;  // contact's country; empty for other kinds
};

// Decides whether `item` may enter a store at time `now` (Unix seconds; on the bus, the time
// the broker accepted it, so a later expiry of the signer does not fork replicas).
// `signatureChecked` skips only the Ed25519 check, for an item this process has just signed
// itself (or verified already); every other check still runs.
Decision verify(const SignedItem& item, const TrustView& trust, int64_t now,
                const std::optional<Existing>& existing, bool signatureChecked = false);

}  // namespace liaison::trust
