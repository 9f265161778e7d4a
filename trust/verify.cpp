#include "trust/verify.h"

#include <capnp/message.h>

#include <algorithm>
#include <cstring>

#include "schemas/vocab.h"

namespace liaison::trust {

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

Decision refuse(Refusal r, std::string detail) { return Decision{r, std::move(detail)}; }
}  // namespace

bool MemberCert::mayPublishFor(std::string_view country) const {
  return std::find(countries.begin(), countries.end(), country) != countries.end();
}

MemberCert memberFromReader(schema::Member::Reader r) {
  MemberCert m;
  m.site = str(r.getSite());
  m.network = str(r.getNetwork());
  m.role = str(r.getRole());
  for (auto c : r.getCountries()) m.countries.push_back(str(c));
  auto sk = r.getSignKey();
  if (sk.size() == m.signKey.size()) std::memcpy(m.signKey.data(), sk.begin(), sk.size());
  auto ck = r.getCurveKey();
  if (ck.size() == m.curveKey.size()) std::memcpy(m.curveKey.data(), ck.begin(), ck.size());
  auto bk = r.getBoxKey();
  if (bk.size() == m.boxKey.size()) std::memcpy(m.boxKey.data(), bk.begin(), bk.size());
  m.notBefore = r.getNotBefore();
  m.notAfter = r.getNotAfter();
  m.serial = r.getSerial();
  return m;
}

MemberCert memberFromSigned(const SignedItem& item) {
  MemberCert m = memberFromReader(item.item.reader().getMember());
  m.issuerKey = item.signerKey;
  return m;
}

OwnedItem memberItem(const MemberCert& cert) {
  capnp::MallocMessageBuilder message;
  auto m = message.initRoot<schema::Item>().initMember();
  m.setSite(cert.site);
  m.setNetwork(cert.network);
  m.setRole(cert.role);
  auto countries = m.initCountries(static_cast<unsigned>(cert.countries.size()));
  for (size_t i = 0; i < cert.countries.size(); ++i) {
    countries.set(static_cast<unsigned>(i), cert.countries[i]);
  }
  m.setSignKey(kj::arrayPtr(cert.signKey.data(), cert.signKey.size()));
  m.setCurveKey(kj::arrayPtr(cert.curveKey.data(), cert.curveKey.size()));
  if (cert.boxKey != CurveKey{}) m.setBoxKey(kj::arrayPtr(cert.boxKey.data(), cert.boxKey.size()));
  m.setNotBefore(cert.notBefore);
  m.setNotAfter(cert.notAfter);
  m.setSerial(cert.serial);
  return OwnedItem::fromBuilder(message);
}

OwnedItem revocationItem(const std::string& site, int64_t at, const std::string& reason) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<schema::Item>().initRevocation();
  r.setSite(site);
  r.setRevokedAt(at);
  r.setReason(reason);
  return OwnedItem::fromBuilder(message);
}

bool Policy::allows(std::string_view kind, std::string_view role, std::string_view country) const {
  auto in = [](const std::vector<std::string>& list, std::string_view v) {
    return std::find(list.begin(), list.end(), v) != list.end();
  };
  if (!in(kinds, kind)) return false;
  if (!role.empty() && !roles.empty() && !in(roles, role)) return false;
  if (!country.empty() && !countries.empty() && !in(countries, country)) return false;
  return true;
}

std::string Policy::describe() const {
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& x : v) out += (out.empty() ? "" : ",") + x;
    return out;
  };
  std::string out = "kinds=" + (kinds.empty() ? std::string("none") : join(kinds));
  if (!roles.empty()) out += ";roles=" + join(roles);
  if (!countries.empty()) out += ";countries=" + join(countries);
  return out;
}

Result<Policy> parsePolicy(std::string_view text) {
  Policy p;
  auto split = [](std::string_view s, char sep) {
    std::vector<std::string> out;
    size_t at = 0;
    while (at <= s.size()) {
      size_t end = s.find(sep, at);
      if (end == std::string_view::npos) end = s.size();
      if (end > at) out.emplace_back(s.substr(at, end - at));
      at = end + 1;
    }
    return out;
  };
  for (const auto& part : split(text, ';')) {
    auto eq = part.find('=');
    if (eq == std::string::npos) {
      return makeError(Errc::kInvalidInput, "\"" + part + "\": expected kinds=, roles= or countries=");
    }
    std::string key = part.substr(0, eq);
    auto values = split(std::string_view(part).substr(eq + 1), ',');
    for (const auto& v : values) {
      bool ok = key == "kinds"   ? vocab::isPeeringKind(v)
                : key == "roles" ? vocab::isRole(v)
                : key == "countries" ? vocab::isCountry(v)
                                     : false;
      if (key != "kinds" && key != "roles" && key != "countries") {
        return makeError(Errc::kInvalidInput, "\"" + key + "\": expected kinds, roles or countries");
      }
      if (!ok) return makeError(Errc::kInvalidInput, key + ": \"" + v + "\" is not known");
    }
    auto& target = key == "kinds" ? p.kinds : key == "roles" ? p.roles : p.countries;
    target.insert(target.end(), values.begin(), values.end());
  }
  // Without kinds= a policy speaks of everything but requests (which need their own consent).
  if (text.find("kinds=") == std::string_view::npos) p.kinds = {"contact", "instrument", "notice", "alert"};
  return p;
}

namespace {
Policy policyFromReader(schema::Policy::Reader r) {
  Policy p;
  for (auto t : r.getKinds()) p.kinds.push_back(str(t));
  for (auto t : r.getRoles()) p.roles.push_back(str(t));
  for (auto t : r.getCountries()) p.countries.push_back(str(t));
  return p;
}
void policyToBuilder(const Policy& p, schema::Policy::Builder b) {
  auto fill = [](auto list, const std::vector<std::string>& v) {
    for (size_t i = 0; i < v.size(); ++i) list.set(static_cast<unsigned>(i), v[i]);
  };
  fill(b.initKinds(static_cast<unsigned>(p.kinds.size())), p.kinds);
  fill(b.initRoles(static_cast<unsigned>(p.roles.size())), p.roles);
  fill(b.initCountries(static_cast<unsigned>(p.countries.size())), p.countries);
}
}  // namespace

Peering peeringFromReader(schema::Peering::Reader r) {
  Peering p;
  p.id = str(r.getId());
  p.revision = r.getRevision();
  p.status = str(r.getStatus());
  p.network = str(r.getNetwork());
  p.peer = str(r.getPeer());
  auto k = r.getPeerRoot();
  if (k.size() == p.peerRoot.size()) std::memcpy(p.peerRoot.data(), k.begin(), k.size());
  p.offer = policyFromReader(r.getOffer());
  p.accept = policyFromReader(r.getAccept());
  p.validUntil = r.getValidUntil();
  return p;
}

OwnedItem peeringItem(const Peering& p) {
  capnp::MallocMessageBuilder message;
  auto b = message.initRoot<schema::Item>().initPeering();
  b.setId(p.id);
  b.setRevision(p.revision);
  b.setStatus(p.status);
  b.setNetwork(p.network);
  b.setPeer(p.peer);
  b.setPeerRoot(kj::arrayPtr(p.peerRoot.data(), p.peerRoot.size()));
  policyToBuilder(p.offer, b.initOffer());
  policyToBuilder(p.accept, b.initAccept());
  b.setValidUntil(p.validUntil);
  return OwnedItem::fromBuilder(message);
}

std::optional<Peering> homePeering(const TrustView& trust, std::string_view peer) {
  for (auto& p : trust.peerings()) {
    if (p.home && p.peer == peer) return p;
  }
  return std::nullopt;
}

std::optional<Peering> foreignPeering(const TrustView& trust, std::string_view network) {
  for (auto& p : trust.peerings()) {
    if (!p.home && p.network == network) return p;
  }
  return std::nullopt;
}

std::optional<std::string> issuerNetwork(const MemberCert& cert, const TrustView& trust) {
  if (cert.issuerKey == trust.rootKey() || cert.issuerKey == SigningKey{}) return std::string();
  for (const auto& p : trust.peerings()) {
    if (p.home && p.peerRoot == cert.issuerKey) return p.peer;
  }
  return std::nullopt;
}

std::optional<std::string> peeringClosed(const TrustView& trust, std::string_view network,
                                         int64_t now) {
  auto home = homePeering(trust, network);
  if (!home) return "no peering with " + std::string(network);
  if (!home->inForce(now)) return "the peering with " + std::string(network) + " is not in force";
  auto theirs = foreignPeering(trust, network);
  if (!theirs) return "no peering of " + std::string(network) + " is held here yet (its root publishes it; a bridge carries it)";
  if (!theirs->inForce(now)) return std::string(network) + "'s peering is not in force";
  return std::nullopt;
}

const char* refusalName(Refusal r) {
  switch (r) {
    case Refusal::kNone: return "accepted";
    case Refusal::kBadSignature: return "bad signature";
    case Refusal::kUnknownSigner: return "unknown signer";
    case Refusal::kKeyMismatch: return "key mismatch";
    case Refusal::kNotYetValid: return "certificate not yet valid";
    case Refusal::kExpired: return "certificate expired";
    case Refusal::kRevoked: return "certificate revoked";
    case Refusal::kOutOfScope: return "out of scope";
    case Refusal::kStaleRevision: return "stale revision";
    case Refusal::kInvalid: return "invalid item";
    case Refusal::kNotPeered: return "not peered";
    case Refusal::kPolicy: return "outside the peering";
    case Refusal::kCollision: return "id collision";
  }
  return "refused";
}

namespace {

// Root-signed items: certificates, revocations and peerings, by the home root or a peer's.
Decision verifyRootItem(const SignedItem& signedItem, const TrustView& trust, int64_t now) {
  auto item = signedItem.item.reader();
  const std::string id = itemId(item);
  if (signedItem.signer != kRootSigner) {
    return refuse(Refusal::kUnknownSigner,
                  itemKind(item) + " " + id + " is signed by " + signedItem.signer + ", not by a root");
  }
  // Which root: the home root, or one that a home peering names.
  std::optional<Peering> via;
  if (signedItem.signerKey != trust.rootKey()) {
    for (auto& p : trust.peerings()) {
      if (p.home && p.peerRoot == signedItem.signerKey) via = p;
    }
    if (!via) {
      return refuse(Refusal::kUnknownSigner, itemKind(item) + " " + id +
                                                 " is not signed by this network's root key, nor by a peered network's root (key " +
                                                 fingerprint(signedItem.signerKey) + ")");
    }
    // A peer's root is trusted while our peering is in force, except to revoke its own members.
    if (item.which() != schema::Item::REVOCATION && !via->inForce(now)) {
      return refuse(Refusal::kNotPeered, itemKind(item) + " " + id + ": the peering with " +
                                             via->peer + " is not in force");
    }
  }
  switch (item.which()) {
    case schema::Item::MEMBER: {
      auto m = memberFromReader(item.getMember());
      if (!vocab::isSiteId(m.site) || !vocab::isMemberRole(m.role) || m.notAfter <= m.notBefore) {
        return refuse(Refusal::kInvalid, "member certificate for " + id + " is inconsistent");
      }
      if (via && m.network != via->peer) {
        return refuse(Refusal::kOutOfScope, "certificate of " + id + " names network " + m.network +
                                                " but is signed by the root of " + via->peer);
      }
      if (trust.revoked(m.site)) {
        return refuse(Refusal::kRevoked, "site " + m.site + " was revoked; enrol it under a new id");
      }
      if (auto current = trust.member(m.site)) {
        // A site id names one member: the home network's, or the first peer's that used it.
        bool currentHome = current->issuerKey == trust.rootKey();
        if (currentHome != !via || (via && current->issuerKey != signedItem.signerKey)) {
          return refuse(Refusal::kCollision, "site id " + m.site + " is already a member of " +
                                                 (currentHome ? std::string("this network")
                                                              : issuerNetwork(*current, trust).value_or("another network")));
        }
      }
      return {};
    }
    case schema::Item::REVOCATION: {
      if (via) {
        auto target = trust.member(id);
        if (target && target->issuerKey != signedItem.signerKey) {
          return refuse(Refusal::kOutOfScope,
                        "the root of " + via->peer + " may revoke only its own members, not " + id);
        }
      }
      return {};
    }
    case schema::Item::PEERING: {
      auto p = peeringFromReader(item.getPeering());
      if (!vocab::isNetwork(p.network) || !vocab::isNetwork(p.peer) || p.network == p.peer ||
          p.id != p.network + "~" + p.peer || (p.status != "active" && p.status != "retired") ||
          item.getPeering().getPeerRoot().size() != 32) {
        return refuse(Refusal::kInvalid, "peering " + id + " is inconsistent");
      }
      if (!via) {
        if (p.peerRoot == trust.rootKey()) {
          return refuse(Refusal::kInvalid, "peering " + id + " names this network's own root as the peer's");
        }
        return {};
      }
      if (p.network != via->peer || p.peer != via->network) {
        return refuse(Refusal::kOutOfScope, "peering " + id + " is signed by the root of " + via->peer +
                                                " but is not its peering with " + via->network);
      }
      if (p.peerRoot != trust.rootKey()) {
        return refuse(Refusal::kOutOfScope, "peering " + id + " names another root for " + via->network +
                                                " (" + fingerprint(p.peerRoot) + ")");
      }
      return {};
    }
    default:
      return refuse(Refusal::kOutOfScope, "a network root signs only certificates, revocations and peerings");
  }
}

}  // namespace

Decision verify(const SignedItem& signedItem, const TrustView& trust, int64_t now,
                const std::optional<Existing>& existing, bool signatureChecked) {
  auto item = signedItem.item.reader();
  const std::string id = itemId(item);
  if (!signatureChecked && !signatureValid(signedItem)) {
    return refuse(Refusal::kBadSignature,
                  "signature by " + signedItem.signer + " does not match " + itemKind(item) +
                      " " + id);
  }

  const bool trustItem = item.which() == schema::Item::MEMBER ||
                         item.which() == schema::Item::REVOCATION ||
                         item.which() == schema::Item::PEERING;
  if (trustItem || signedItem.signer == kRootSigner) {
    if (!trustItem) {
      return refuse(Refusal::kOutOfScope, "the network root signs only certificates, revocations and peerings");
    }
    return verifyRootItem(signedItem, trust, now);
  }

  auto cert = trust.member(signedItem.signer);
  if (!cert) {
    return refuse(Refusal::kUnknownSigner, "no member certificate for signer " + signedItem.signer);
  }
  if (cert->signKey != signedItem.signerKey) {
    return refuse(Refusal::kKeyMismatch, "signer " + signedItem.signer +
                                             " used key " + fingerprint(signedItem.signerKey) +
                                             ", its certificate has " + fingerprint(cert->signKey));
  }
  if (trust.revoked(signedItem.signer)) {
    return refuse(Refusal::kRevoked, "signer " + signedItem.signer + " is revoked");
  }
  if (now < cert->notBefore) {
    return refuse(Refusal::kNotYetValid, "certificate of " + signedItem.signer +
                                             " is valid from " + formatTimestamp(cert->notBefore));
  }
  if (now > cert->notAfter) {
    return refuse(Refusal::kExpired, "certificate of " + signedItem.signer + " expired " +
                                         formatTimestamp(cert->notAfter));
  }
  auto network = issuerNetwork(*cert, trust);
  if (!network) {
    return refuse(Refusal::kNotPeered, "the certificate of " + signedItem.signer +
                                           " was signed by a root no peering here names");
  }
  const bool foreign = !network->empty();
  std::optional<Peering> home, theirs;
  if (foreign) {
    if (auto closed = peeringClosed(trust, *network, now)) {
      return refuse(Refusal::kNotPeered, itemKind(item) + " " + id + " from " + signedItem.signer + ": " + *closed);
    }
    home = homePeering(trust, *network);
    theirs = foreignPeering(trust, *network);
  }
  // What passes a peering: the item's kind (answers go with alerts), a contact's role and country.
  auto passes = [&](std::string_view kind, std::string_view role, std::string_view country) -> Decision {
    if (!foreign) return {};
    if (!theirs->offer.allows(kind, role, country) || !home->accept.allows(kind, role, country)) {
      return refuse(Refusal::kPolicy, std::string(kind) + " " + id + " from " + *network +
                                          " is outside the peering (" + *network + " offers " +
                                          theirs->offer.describe() + "; " + home->network +
                                          " accepts " + home->accept.describe() + ")");
    }
    return {};
  };

  if (item.which() == schema::Item::ALERT) return passes("alert", "", "");
  if (item.which() == schema::Item::ACK) return passes("alert", "", "");
  if (item.which() != schema::Item::RECORD) return {};

  auto record = item.getRecord();
  std::string kind = itemKind(item);
  std::string country;
  switch (record.getBody().which()) {
    case schema::Record::Body::CONTACT: {
      country = str(record.getBody().getContact().getCountry());
      if (!cert->mayPublishFor(country)) {
        return refuse(Refusal::kOutOfScope, signedItem.signer + " may not publish for " +
                                                country + " (contact " + id + ")");
      }
      auto d = passes(kind, str(record.getBody().getContact().getRole()), country);
      if (!d.accepted()) return d;
      break;
    }
    case schema::Record::Body::INSTRUMENT: {
      if (cert->role != "secretariat") {
        return refuse(Refusal::kOutOfScope, "instrument " + id + ": only a secretariat publishes instruments, " +
                                                signedItem.signer + " is " + cert->role);
      }
      auto d = passes(kind, "", "");
      if (!d.accepted()) return d;
      break;
    }
    case schema::Record::Body::NOTICE: {
      if (cert->role != "adapter") {
        return refuse(Refusal::kOutOfScope, "notice " + id + ": only an adapter publishes notices, " +
                                                signedItem.signer + " is " + cert->role);
      }
      auto d = passes(kind, "", "");
      if (!d.accepted()) return d;
      break;
    }
  }
  if (existing) {
    if (existing->network != *network) {
      // The home record wins an id; between two peers, the first to use it keeps it.
      if (!foreign) return {};
      return refuse(Refusal::kCollision,
                    kind + " " + id + " from " + *network + ": the id is held by a record of " +
                        (existing->network.empty() ? std::string("this network") : existing->network));
    }
    if (existing->kind != kind) {
      return refuse(Refusal::kOutOfScope,
                    "id " + id + " already names a " + existing->kind + ", not a " + kind);
    }
    if (!existing->country.empty() && !cert->mayPublishFor(existing->country)) {
      return refuse(Refusal::kOutOfScope, signedItem.signer + " may not change " + id +
                                              ", a contact of " + existing->country);
    }
    if (record.getRevision() <= existing->revision) {
      return refuse(Refusal::kStaleRevision,
                    id + ": revision " + std::to_string(record.getRevision()) +
                        " is not above the stored " + std::to_string(existing->revision));
    }
  }
  return {};
}

}  // namespace liaison::trust
