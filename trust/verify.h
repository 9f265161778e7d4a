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
  CurveKey boxKey{};  // sealing key for MLA requests; all zero: none (an older certificate)
  int64_t notBefore = 0;
  int64_t notAfter = 0;
  uint64_t serial = 0;
  // The key that signed this certificate: the home root's, or a peered network's root's (a
  // foreign member, carried over a bridge). Set by whoever read it from its envelope.
  SigningKey issuerKey{};

  bool mayPublishFor(std::string_view country) const;
};

// What a peering lets pass one way. Empty roles or countries: any; empty kinds: none.
struct Policy {
  std::vector<std::string> kinds, roles, countries;
  bool allows(std::string_view kind, std::string_view role, std::string_view country) const;
  std::string describe() const;  // "kinds=contact,alert;roles=prosecutor"
};

// A peering (DESIGN.md, "Federation"), signed by a network's root.
struct Peering {
  std::string id;       // "NETWORK~PEER"
  uint64_t revision = 0;
  std::string status = "active";
  std::string network, peer;
  SigningKey peerRoot{};
  Policy offer, accept;
  int64_t validUntil = 0;
  // Set by whoever read it from its envelope: signed by the home root (true), or by the peer's.
  bool home = true;

  bool inForce(int64_t now) const { return status == "active" && now <= validUntil; }
};
Peering peeringFromReader(schema::Peering::Reader reader);
OwnedItem peeringItem(const Peering& peering);
// Parses a policy written as "kinds=contact,alert;roles=prosecutor;countries=TH,VN". Without
// kinds= the kinds are contact, instrument, notice and alert; "kinds=" alone means none.
Result<Policy> parsePolicy(std::string_view text);

MemberCert memberFromReader(schema::Member::Reader reader);
// The certificate a signed member item carries, with its issuer's key.
MemberCert memberFromSigned(const SignedItem& item);
OwnedItem memberItem(const MemberCert& cert);
OwnedItem revocationItem(const std::string& site, int64_t at, const std::string& reason);

// What a verifier consults. Implementations: the site's LMDB store, the broker's, test fakes.
class TrustView {
 public:
  virtual ~TrustView() = default;
  virtual const SigningKey& rootKey() const = 0;
  virtual std::optional<MemberCert> member(std::string_view site) const = 0;
  virtual bool revoked(std::string_view site) const = 0;
  // Every stored peering, home (signed by the home root) and foreign (by a peer's root).
  virtual std::vector<Peering> peerings() const = 0;
};

// The home root's peering with `peer` (in force or not).
std::optional<Peering> homePeering(const TrustView& trust, std::string_view peer);
// `network`'s own peering with the home network (signed by its root).
std::optional<Peering> foreignPeering(const TrustView& trust, std::string_view network);
// The network whose root signed `cert`: "" for the home root, the peer network for a root a home
// peering names, nullopt for a key nobody here trusts.
std::optional<std::string> issuerNetwork(const MemberCert& cert, const TrustView& trust);
// Whether items of `network` may pass into the home network at `now` (both peerings in force),
// and if not, why.
std::optional<std::string> peeringClosed(const TrustView& trust, std::string_view network, int64_t now);

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
  kNotPeered,       // a foreign item without both peerings in force
  kPolicy,          // a foreign item outside what the peerings let pass
  kCollision,       // a foreign record with an id the home network (or another peer) holds
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
  std::string network;  // the network it came from: "" home, else the peer network
};

// Decides whether `item` may enter a store at time `now` (Unix seconds; on the bus, the time
// the broker accepted it, so a later expiry of the signer does not fork replicas).
// `signatureChecked` skips only the Ed25519 check, for an item this process has just signed
// itself (or verified already); every other check still runs.
Decision verify(const SignedItem& item, const TrustView& trust, int64_t now,
                const std::optional<Existing>& existing, bool signatureChecked = false);

}  // namespace liaison::trust
