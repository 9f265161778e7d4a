#include "trust/verify.h"

#include <capnp/message.h>

#include <algorithm>
#include <cstring>

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
  m.notBefore = r.getNotBefore();
  m.notAfter = r.getNotAfter();
  m.serial = r.getSerial();
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
  }
  return "refused";
}

Decision verify(const SignedItem& signedItem, const TrustView& trust, int64_t now,
                const std::optional<Existing>& existing, bool signatureChecked) {
  auto item = signedItem.item.reader();
  const std::string id = itemId(item);
  if (!signatureChecked && !signatureValid(signedItem)) {
    return refuse(Refusal::kBadSignature,
                  "signature by " + signedItem.signer + " does not match " + itemKind(item) +
                      " " + id);
  }

  const bool trustItem =
      item.which() == schema::Item::MEMBER || item.which() == schema::Item::REVOCATION;
  if (trustItem || signedItem.signer == kRootSigner) {
    if (!trustItem) {
      return refuse(Refusal::kOutOfScope, "the network root signs only certificates and revocations");
    }
    if (signedItem.signer != kRootSigner || signedItem.signerKey != trust.rootKey()) {
      return refuse(Refusal::kUnknownSigner,
                    itemKind(item) + " for " + id + " is not signed by this network's root key");
    }
    if (item.which() == schema::Item::MEMBER) {
      auto m = memberFromReader(item.getMember());
      if (!vocab::isSiteId(m.site) || !vocab::isMemberRole(m.role) || m.notAfter <= m.notBefore) {
        return refuse(Refusal::kInvalid, "member certificate for " + id + " is inconsistent");
      }
      if (trust.revoked(m.site)) {
        return refuse(Refusal::kRevoked, "site " + m.site + " was revoked; enrol it under a new id");
      }
    }
    return {};
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

  if (item.which() != schema::Item::RECORD) return {};  // alerts and acks: see the alert core

  auto record = item.getRecord();
  std::string kind = itemKind(item);
  std::string country;
  switch (record.getBody().which()) {
    case schema::Record::Body::CONTACT:
      country = str(record.getBody().getContact().getCountry());
      if (!cert->mayPublishFor(country)) {
        return refuse(Refusal::kOutOfScope, signedItem.signer + " may not publish for " +
                                                country + " (contact " + id + ")");
      }
      break;
    case schema::Record::Body::INSTRUMENT:
      if (cert->role != "secretariat") {
        return refuse(Refusal::kOutOfScope, "instrument " + id + ": only a secretariat publishes instruments, " +
                                                signedItem.signer + " is " + cert->role);
      }
      break;
    case schema::Record::Body::NOTICE:
      if (cert->role != "adapter") {
        return refuse(Refusal::kOutOfScope, "notice " + id + ": only an adapter publishes notices, " +
                                                signedItem.signer + " is " + cert->role);
      }
      break;
  }
  if (existing) {
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
