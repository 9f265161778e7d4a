#include "schemas/item.h"

#include <capnp/dynamic.h>
#include <capnp/serialize.h>
#include <kj/exception.h>

#include <cstring>

namespace liaison {

capnp::ReaderOptions peerReaderOptions() {
  capnp::ReaderOptions options;
  options.traversalLimitInWords = (1u << 20) / sizeof(capnp::word);
  options.nestingLimit = 16;
  return options;
}

kj::Array<capnp::word> alignedCopy(std::span<const uint8_t> bytes) {
  auto words = kj::heapArray<capnp::word>((bytes.size() + 7) / 8);
  if (!bytes.empty()) {
    std::memset(words.end() - 1, 0, sizeof(capnp::word));  // only the tail can be partial
    std::memcpy(words.begin(), bytes.data(), bytes.size());
  }
  return words;
}

OwnedItem OwnedItem::fromBuilder(capnp::MessageBuilder& builder) {
  auto root = builder.getRoot<schema::Item>().asReader();
  return OwnedItem(capnp::canonicalize(root));
}

namespace {

// Reads every field of a struct through the schema, so that a pointer of the wrong kind (a
// struct where a list is declared, a list of the wrong element size, text without its NUL)
// fails here, at the edge, rather than as an exception wherever the field is first read.
void walkValue(const capnp::DynamicValue::Reader& v);
void walkStruct(const capnp::DynamicStruct::Reader& s) {
  for (auto field : s.getSchema().getNonUnionFields()) walkValue(s.get(field));
  KJ_IF_MAYBE(field, s.which()) { walkValue(s.get(*field)); }
}
void walkValue(const capnp::DynamicValue::Reader& v) {
  switch (v.getType()) {
    case capnp::DynamicValue::STRUCT:
      walkStruct(v.as<capnp::DynamicStruct>());
      break;
    case capnp::DynamicValue::LIST:
      for (auto element : v.as<capnp::DynamicList>()) walkValue(element);
      break;
    case capnp::DynamicValue::TEXT:
      (void)v.as<capnp::Text>();
      break;
    case capnp::DynamicValue::DATA:
      (void)v.as<capnp::Data>();
      break;
    default:
      break;
  }
}

// Records are most of what arrives (a catch-up is 100,000 of them): the same walk written out
// with the generated readers, an order of magnitude faster than the dynamic one.
void touch(capnp::Text::Reader) {}
void touch(capnp::List<capnp::Text>::Reader list) {
  for (auto t : list) touch(t);
}
void walkRecord(schema::Record::Reader r) {
  touch(r.getId());
  touch(r.getStatus());
  auto body = r.getBody();
  switch (body.which()) {
    case schema::Record::Body::CONTACT: {
      auto c = body.getContact();
      for (auto t : {c.getContactKind(), c.getTitle(), c.getRole(), c.getOrganization(), c.getUnit(),
                     c.getCountry(), c.getLocality(), c.getBody(), c.getNotes()}) {
        touch(t);
      }
      auto n = c.getName();
      for (auto t : {n.getLatin(), n.getOriginal(), n.getHonorific()}) touch(t);
      for (auto l : {c.getNetworks(), c.getCompetences(), c.getTopics(), c.getLegalBases(), c.getLanguages()}) {
        touch(l);
      }
      for (auto ch : c.getChannels()) {
        for (auto t : {ch.getKind(), ch.getValue(), ch.getNote()}) touch(t);
      }
      auto a = c.getAvailability();
      for (auto t : {a.getTimezone(), a.getHours(), a.getAfterHours(), a.getOutOfOfficeUntil(), a.getDeputyId()}) {
        touch(t);
      }
      auto v = c.getVerification();
      for (auto t : {v.getVerifiedAt(), v.getVerifiedBy(), v.getReviewDue()}) touch(t);
      break;
    }
    case schema::Record::Body::INSTRUMENT: {
      auto i = body.getInstrument();
      for (auto t : {i.getType(), i.getName(), i.getNotes()}) touch(t);
      touch(i.getParties());
      touch(i.getCovers());
      break;
    }
    case schema::Record::Body::NOTICE: {
      auto n = body.getNotice();
      for (auto t : {n.getNoticeType(), n.getEntityId(), n.getForename(), n.getName(), n.getDateOfBirth(),
                     n.getLink(), n.getFetchedAt()}) {
        touch(t);
      }
      touch(n.getNationalities());
      break;
    }
    default:
      walkStruct(capnp::toDynamic(r));  // a kind this build does not know
      break;
  }
}

}  // namespace

Result<OwnedItem> OwnedItem::decode(std::span<const uint8_t> canonical) {
  if (canonical.empty() || canonical.size() % 8 != 0 || canonical.size() > kMaxEnvelopeBytes) {
    return makeError(Errc::kInvalidInput, "item: not a whole number of words or too large");
  }
  auto words = alignedCopy(canonical);
  // Canonical form is a single segment without the segment table (capnp::canonicalize).
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&]() {
    kj::ArrayPtr<const capnp::word> segment(words.begin(), words.size());
    capnp::SegmentArrayMessageReader check(kj::arrayPtr(&segment, 1), peerReaderOptions());
    if (!check.isCanonical()) KJ_FAIL_REQUIRE("not canonical");
    auto item = check.getRoot<schema::Item>();
    (void)item.which();
    if (item.which() == schema::Item::RECORD) {
      walkRecord(item.getRecord());
    } else {
      walkStruct(capnp::toDynamic(item));
    }
  });
  KJ_IF_MAYBE(e, failure) {
    return makeError(Errc::kInvalidInput,
                     std::string("item: malformed: ") + e->getDescription().cStr());
  }
  return OwnedItem(kj::mv(words));
}

OwnedItem OwnedItem::fromStore(std::span<const uint8_t> canonical) {
  return OwnedItem(alignedCopy(canonical));
}

schema::Item::Reader OwnedItem::reader() const {
  // Single segment, no segment table: read the root pointer directly.
  return capnp::readMessageUnchecked<schema::Item>(words_.begin());
}

Bytes SignedItem::encode() const {
  // One segment large enough for everything, so the flat form has a single segment.
  auto payloadWords = static_cast<unsigned>(item.bytes().size() / sizeof(capnp::word));
  capnp::MallocMessageBuilder message(payloadWords + 64, capnp::AllocationStrategy::FIXED_SIZE);
  auto env = message.initRoot<schema::Envelope>();
  auto payload = item.bytes();
  env.setPayload(kj::arrayPtr(payload.data(), payload.size()));
  env.setSigner(signer);
  env.setSignerKey(kj::arrayPtr(signerKey.data(), signerKey.size()));
  env.setSignature(kj::arrayPtr(signature.data(), signature.size()));
  auto flat = capnp::messageToFlatArray(message);
  auto bytes = flat.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

Result<SignedItem> SignedItem::decode(std::span<const uint8_t> envelopeBytes) {
  if (envelopeBytes.size() > kMaxEnvelopeBytes) {
    return makeError(Errc::kInvalidInput, "envelope: larger than " +
                                              std::to_string(kMaxEnvelopeBytes) + " bytes");
  }
  if (envelopeBytes.size() < 8 || envelopeBytes.size() % 8 != 0) {
    return makeError(Errc::kInvalidInput, "envelope: not a whole number of words");
  }
  auto words = alignedCopy(envelopeBytes);
  std::string signer;
  Bytes payload;
  SigningKey key{};
  Signature sig{};
  std::string problem;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&]() {
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words.begin(), words.size()),
                                         peerReaderOptions());
    auto env = reader.getRoot<schema::Envelope>();
    auto k = env.getSignerKey();
    auto s = env.getSignature();
    if (k.size() != key.size()) {
      problem = "envelope: signer key is not 32 bytes";
      return;
    }
    if (s.size() != sig.size()) {
      problem = "envelope: signature is not 64 bytes";
      return;
    }
    std::memcpy(key.data(), k.begin(), key.size());
    std::memcpy(sig.data(), s.begin(), sig.size());
    auto text = env.getSigner();
    signer.assign(text.begin(), text.size());
    auto p = env.getPayload();
    payload.assign(p.begin(), p.end());
  });
  KJ_IF_MAYBE(e, failure) {
    return makeError(Errc::kInvalidInput,
                     std::string("envelope: malformed: ") + e->getDescription().cStr());
  }
  if (!problem.empty()) return makeError(Errc::kInvalidInput, problem);
  if (signer.empty() || signer.size() > 64) {
    return makeError(Errc::kInvalidInput, "envelope: signer missing or too long");
  }
  auto item = OwnedItem::decode(payload);
  if (!item) return item.error();
  return SignedItem{std::move(item).value(), std::move(signer), key, sig};
}

Result<SignedItem> SignedItem::decodeStored(std::span<const uint8_t> envelopeBytes) {
  // The store holds envelopes this program decoded with limits and verified before writing
  // them; reading them back needs no second validation walk.
  if (envelopeBytes.size() < 8 || envelopeBytes.size() % 8 != 0) {
    return makeError(Errc::kIo, "stored envelope: damaged");
  }
  auto words = alignedCopy(envelopeBytes);
  // encode() writes one segment: a segment table of 8 bytes (count - 1 = 0, size), then the
  // root pointer.
  uint32_t table[2];
  std::memcpy(table, words.begin(), sizeof table);
  if (table[0] != 0 || table[1] + 1 != words.size()) {
    return makeError(Errc::kIo, "stored envelope: damaged");
  }
  auto env = capnp::readMessageUnchecked<schema::Envelope>(words.begin() + 1);
  auto k = env.getSignerKey();
  auto s = env.getSignature();
  auto p = env.getPayload();
  SigningKey key{};
  Signature sig{};
  if (k.size() != key.size() || s.size() != sig.size() || p.size() % 8 != 0) {
    return makeError(Errc::kIo, "stored envelope: damaged");
  }
  std::memcpy(key.data(), k.begin(), key.size());
  std::memcpy(sig.data(), s.begin(), sig.size());
  auto payload = OwnedItem::fromWords(alignedCopy(std::span<const uint8_t>(p.begin(), p.size())));
  return SignedItem{std::move(payload), std::string(env.getSigner().begin(), env.getSigner().size()),
                    key, sig};
}

std::string itemKind(schema::Item::Reader item) {
  switch (item.which()) {
    case schema::Item::RECORD:
      switch (item.getRecord().getBody().which()) {
        case schema::Record::Body::CONTACT: return "contact";
        case schema::Record::Body::INSTRUMENT: return "instrument";
        case schema::Record::Body::NOTICE: return "notice";
      }
      return "record";
    case schema::Item::ALERT: return "alert";
    case schema::Item::ACK: return "ack";
    case schema::Item::MEMBER: return "member";
    case schema::Item::REVOCATION: return "revocation";
    case schema::Item::PEERING: return "peering";
  }
  return "unknown";
}

std::string itemId(schema::Item::Reader item) {
  auto str = [](capnp::Text::Reader t) { return std::string(t.begin(), t.size()); };
  switch (item.which()) {
    case schema::Item::RECORD: return str(item.getRecord().getId());
    case schema::Item::ALERT: return str(item.getAlert().getId());
    case schema::Item::ACK: return str(item.getAck().getAlertId());
    case schema::Item::MEMBER: return str(item.getMember().getSite());
    case schema::Item::REVOCATION: return str(item.getRevocation().getSite());
    case schema::Item::PEERING: return str(item.getPeering().getId());
  }
  return {};
}

}  // namespace liaison
