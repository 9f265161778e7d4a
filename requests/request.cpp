#include "requests/request.h"

#include <capnp/message.h>
#include <capnp/serialize.h>
#include <kj/exception.h>
#include <sodium.h>

#include <algorithm>
#include <cstring>

#include "common/clock.h"
#include "schemas/item.h"
#include "schemas/request.capnp.h"
#include "schemas/vocab.h"

namespace liaison::requests {

namespace {

constexpr char kStepDomain[] = "liaison/request-step/v1";  // signed as these bytes plus a NUL
constexpr char kChunkDomain[] = "liaison/request-file/v1";

void ensureSodium() {
  static const int ready = sodium_init();
  LIAISON_ASSERT(ready >= 0, "libsodium failed to initialise");
}

Error invalid(const std::string& what) { return makeError(Errc::kInvalidInput, what); }

std::string text(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
Bytes data(capnp::Data::Reader d) { return Bytes(d.begin(), d.end()); }
kj::ArrayPtr<const uint8_t> ptr(std::span<const uint8_t> s) { return kj::arrayPtr(s.data(), s.size()); }
template <size_t N>
bool copyInto(capnp::Data::Reader d, std::array<uint8_t, N>& out) {
  if (d.size() != N) return false;
  std::memcpy(out.data(), d.begin(), N);
  return true;
}

Bytes flat(capnp::MessageBuilder& message) {
  auto words = capnp::messageToFlatArray(message);
  auto bytes = words.asBytes();
  return Bytes(bytes.begin(), bytes.end());
}

// Decodes what a peer sent with the peer limits; `read` runs on the root. Any malformation is
// an error naming `what`.
template <typename Root, typename Fn>
Status decodePeer(std::span<const uint8_t> bytes, const char* what, Fn&& read) {
  if (bytes.size() < 8 || bytes.size() % 8 != 0) return invalid(std::string(what) + ": not a whole number of words");
  auto words = alignedCopy(bytes);
  std::string problem;
  kj::Maybe<kj::Exception> failure = kj::runCatchingExceptions([&]() {
    capnp::ReaderOptions options = peerReaderOptions();
    // A sealed request may carry a large content; it is still bounded by what the bus admits.
    options.traversalLimitInWords = bytes.size() / sizeof(capnp::word) + 1024;
    capnp::FlatArrayMessageReader reader(kj::ArrayPtr<const capnp::word>(words.begin(), words.size()), options);
    problem = read(reader.getRoot<Root>());
  });
  KJ_IF_MAYBE(e, failure) { return invalid(std::string(what) + ": malformed: " + e->getDescription().cStr()); }
  if (!problem.empty()) return invalid(std::string(what) + ": " + problem);
  return {};
}

void setFiles(capnp::List<schema::FileRef>::Builder list, const std::vector<FileRef>& files) {
  for (size_t i = 0; i < files.size(); ++i) {
    auto f = list[static_cast<unsigned>(i)];
    f.setName(files[i].name);
    f.setSize(files[i].size);
    f.setSha256(kj::arrayPtr(files[i].sha256.data(), files[i].sha256.size()));
  }
}

std::string readFiles(capnp::List<schema::FileRef>::Reader list, std::vector<FileRef>& out) {
  for (auto f : list) {
    FileRef ref{text(f.getName()), f.getSize(), {}};
    if (!copyInto(f.getSha256(), ref.sha256)) return "a file's sha256 is not 32 bytes";
    out.push_back(std::move(ref));
  }
  return {};
}


Bytes encodeContent(const Content& c) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<schema::RequestContent>();
  r.setId(c.id);
  r.setCaseReference(c.caseReference);
  r.setFromSite(c.fromSite);
  r.setToSite(c.toSite);
  r.setToContact(c.toContact);
  r.setLegalBasis(c.legalBasis);
  auto measures = r.initMeasures(static_cast<unsigned>(c.measures.size()));
  for (size_t i = 0; i < c.measures.size(); ++i) measures.set(static_cast<unsigned>(i), c.measures[i]);
  r.setUrgent(c.urgent);
  r.setDeadline(c.deadline);
  r.setLanguage(c.language);
  r.setSummary(c.summary);
  setFiles(r.initFiles(static_cast<unsigned>(c.files.size())), c.files);
  r.setFileKey(kj::arrayPtr(c.fileKey.data(), c.fileKey.size()));
  r.setCreatedAt(c.createdAt);
  return flat(message);
}

Result<Content> decodeContentBytes(std::span<const uint8_t> bytes) {
  Content c;
  LIAISON_TRY(decodePeer<schema::RequestContent>(bytes, "request", [&](schema::RequestContent::Reader r) {
    c.id = text(r.getId());
    c.caseReference = text(r.getCaseReference());
    c.fromSite = text(r.getFromSite());
    c.toSite = text(r.getToSite());
    c.toContact = text(r.getToContact());
    c.legalBasis = text(r.getLegalBasis());
    for (auto m : r.getMeasures()) c.measures.push_back(text(m));
    c.urgent = r.getUrgent();
    c.deadline = text(r.getDeadline());
    c.language = text(r.getLanguage());
    c.summary = text(r.getSummary());
    c.createdAt = r.getCreatedAt();
    if (!copyInto(r.getFileKey(), c.fileKey)) return std::string("its file key is not 32 bytes");
    return readFiles(r.getFiles(), c.files);
  }));
  return c;
}

// The nonce and associated data of a chunk: its request, file, place.
std::string chunkPlace(const Content& c, uint32_t file, uint32_t chunk) {
  std::string ad(kChunkDomain, sizeof kChunkDomain);
  ad += c.id;
  ad.push_back('\0');
  ad.append(reinterpret_cast<const char*>(&file), 4);
  ad.append(reinterpret_cast<const char*>(&chunk), 4);
  return ad;
}

bool isUuid(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

bool isFileName(std::string_view name) {
  if (name.empty() || name.size() > 255 || name == "." || name == "..") return false;
  return std::none_of(name.begin(), name.end(),
                      [](char ch) { return ch == '/' || ch == '\\' || static_cast<unsigned char>(ch) < 0x20; });
}

std::string joined(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ", ") + i;
  return out.empty() ? "none" : out;
}

}  // namespace

const std::vector<std::string_view>& measureNames() {
  static const std::vector<std::string_view> names = {
      "hearing-of-witness", "hearing-of-suspect", "bank-records", "freezing-of-assets", "search-and-seizure",
      "electronic-evidence", "service-of-documents", "video-hearing", "spontaneous-information", "other"};
  return names;
}

const std::vector<std::string_view>& statusNames() {
  static const std::vector<std::string_view> names = {"registered", "in-execution",       "more-information-needed",
                                                      "executed",   "partially-executed", "refused"};
  return names;
}

bool isMeasure(std::string_view measure) {
  const auto& m = measureNames();
  return std::find(m.begin(), m.end(), measure) != m.end();
}

bool isStatus(std::string_view status) {
  const auto& s = statusNames();
  return std::find(s.begin(), s.end(), status) != s.end();
}

bool takesRequests(std::string_view role) {
  return role != "bridge" && role != "broker" && role != "adapter";
}

std::vector<std::string> sharedInstruments(const Party& from, const Party& to, const Instruments& instruments) {
  std::vector<std::string> out;
  auto partyOf = [](const std::set<std::string>& parties, const Party& p) {
    return std::any_of(p.countries.begin(), p.countries.end(), [&](const std::string& c) { return parties.count(c) > 0; });
  };
  for (const auto& [id, parties] : instruments) {
    if (partyOf(parties, from) && partyOf(parties, to)) out.push_back(id);
  }
  return out;
}

Status validate(const Content& c, const Party& from, const Party& to, const Instruments& instruments, int64_t now) {
  if (!isUuid(c.id)) return invalid("id: \"" + c.id + "\" is not a UUID");
  if (c.caseReference.empty() || c.caseReference.size() > 128) return invalid("case: a case reference of 1 to 128 characters");
  if (c.fromSite != from.site || c.toSite != to.site) return invalid("to: the request's sites are not its parties");
  if (c.fromSite == c.toSite) return invalid("to: a request goes to another site");
  if (c.measures.empty()) return invalid("measure: at least one measure is requested");
  std::set<std::string> seen;
  for (const auto& m : c.measures) {
    if (!isMeasure(m)) {
      std::string names;
      for (auto n : measureNames()) names += (names.empty() ? "" : ", ") + std::string(n);
      return invalid("measure: \"" + m + "\" is not one of " + names);
    }
    if (!seen.insert(m).second) return invalid("measure: \"" + m + "\" is given twice");
  }
  const auto shared = sharedInstruments(from, to, instruments);
  if (std::find(shared.begin(), shared.end(), c.legalBasis) == shared.end()) {
    const std::string fromCountries = joined(from.countries), toCountries = joined(to.countries);
    const bool known = instruments.count(c.legalBasis) > 0;
    return invalid("legal-basis: " + (known ? fromCountries + " and " + toCountries + " are not both party to " + c.legalBasis
                                            : "\"" + c.legalBasis + "\" is no instrument in the directory") +
                   "; the instruments both are party to: " + joined(shared));
  }
  if (!c.deadline.empty()) {
    auto day = parseDate(c.deadline);
    if (!day) return invalid("deadline: \"" + c.deadline + "\" is not a date (YYYY-MM-DD)");
    if (*day < now / 86400) return invalid("deadline: " + c.deadline + " has passed");
  }
  if (!vocab::isLanguageTag(c.language)) return invalid("language: \"" + c.language + "\" is not a language tag (e.g. ru, en)");
  if (c.summary.empty() || c.summary.size() > kMaxSummaryBytes) {
    return invalid("summary: 1 to " + std::to_string(kMaxSummaryBytes) + " bytes");
  }
  uint64_t total = 0;
  std::set<std::string> names;
  for (const auto& f : c.files) {
    if (!isFileName(f.name)) return invalid("attach: \"" + f.name + "\" is not a plain file name");
    if (!names.insert(f.name).second) return invalid("attach: two files are named \"" + f.name + "\"");
    if (f.size > kMaxFileBytes) {
      return invalid("attach: " + f.name + " has " + std::to_string(f.size) + " bytes; a file may have " +
                     std::to_string(kMaxFileBytes >> 20) + " MB at most");
    }
    total += f.size;
  }
  if (total > kMaxRequestBytes) {
    return invalid("attach: the files have " + std::to_string(total) + " bytes together; a request may have " +
                   std::to_string(kMaxRequestBytes >> 20) + " MB at most");
  }
  return {};
}

Hash sha256(std::span<const uint8_t> bytes) {
  ensureSodium();
  Hash h{};
  crypto_hash_sha256(h.data(), bytes.data(), bytes.size());
  return h;
}

std::string evidenceId(const std::string& requestId, uint32_t step) {
  const std::string seed = std::string("liaison/evidence/v1") + '\0' + requestId + "/" + std::to_string(step);
  Hash h = blake2b(std::span(reinterpret_cast<const uint8_t*>(seed.data()), seed.size()));
  h[6] = static_cast<uint8_t>((h[6] & 0x0f) | 0x80);  // version 8: a name-based id of our own
  h[8] = static_cast<uint8_t>((h[8] & 0x3f) | 0x80);  // the RFC 9562 variant
  const std::string hex = toHex(std::span(h.data(), 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" + hex.substr(16, 4) + "-" +
         hex.substr(20, 12);
}

Hash blake2b(std::span<const uint8_t> bytes) {
  ensureSodium();
  Hash h{};
  crypto_generichash(h.data(), h.size(), bytes.data(), bytes.size(), nullptr, 0);
  return h;
}

Result<Sealed> seal(Content& content, const trust::CurveKey& recipientBox) {
  ensureSodium();
  if (recipientBox == trust::CurveKey{}) {
    return invalid("to: " + content.toSite + " has no key for requests in its certificate (it must be enrolled again)");
  }
  if (content.fileKey == Hash{}) randombytes_buf(content.fileKey.data(), content.fileKey.size());
  Bytes plain = encodeContent(content);
  Sealed s{content.id, content.fromSite, content.toSite, Bytes(plain.size() + crypto_box_SEALBYTES), {}};
  crypto_box_seal(s.sealed.data(), plain.data(), plain.size(), recipientBox.data());
  sodium_memzero(plain.data(), plain.size());
  for (const auto& f : content.files) s.chunks.push_back(chunkCount(f.size));
  return s;
}

Result<Content> open(const Sealed& sealed, const trust::KeyPair& recipient) {
  ensureSodium();
  if (!recipient.hasBox()) return invalid("this site's key file has no box key (made before requests): make new keys");
  if (sealed.sealed.size() < crypto_box_SEALBYTES) return invalid("request: sealed content too short");
  Bytes plain(sealed.sealed.size() - crypto_box_SEALBYTES);
  if (crypto_box_seal_open(plain.data(), sealed.sealed.data(), sealed.sealed.size(), recipient.pub.box.data(),
                           recipient.boxSecret.data()) != 0) {
    return invalid("request " + sealed.id + ": not sealed to this site, or changed on the way");
  }
  auto content = decodeContentBytes(plain);
  sodium_memzero(plain.data(), plain.size());
  if (!content) return content.error();
  if (content->id != sealed.id || content->fromSite != sealed.fromSite || content->toSite != sealed.toSite) {
    return invalid("request " + sealed.id + ": its content names another request or other sites than its routing");
  }
  std::vector<uint32_t> chunks;
  for (const auto& f : content->files) chunks.push_back(chunkCount(f.size));
  if (chunks != sealed.chunks) return invalid("request " + sealed.id + ": its chunk counts do not match its files");
  return content;
}

Bytes encode(const Content& content) { return encodeContent(content); }
Result<Content> decodeContent(std::span<const uint8_t> bytes) { return decodeContentBytes(bytes); }

Bytes encode(const Sealed& s) {
  capnp::MallocMessageBuilder message;
  auto r = message.initRoot<schema::SealedRequest>();
  r.setId(s.id);
  r.setFromSite(s.fromSite);
  r.setToSite(s.toSite);
  r.setSealed(ptr(s.sealed));
  auto chunks = r.initChunks(static_cast<unsigned>(s.chunks.size()));
  for (size_t i = 0; i < s.chunks.size(); ++i) chunks.set(static_cast<unsigned>(i), s.chunks[i]);
  return flat(message);
}

Result<Sealed> decodeSealed(std::span<const uint8_t> bytes) {
  Sealed s;
  LIAISON_TRY(decodePeer<schema::SealedRequest>(bytes, "sealed request", [&](schema::SealedRequest::Reader r) {
    s.id = text(r.getId());
    s.fromSite = text(r.getFromSite());
    s.toSite = text(r.getToSite());
    s.sealed = data(r.getSealed());
    for (auto n : r.getChunks()) s.chunks.push_back(n);
    if (!isUuid(s.id)) return std::string("its id is not a UUID");
    if (!vocab::isRecordId(s.fromSite) || !vocab::isRecordId(s.toSite)) return std::string("its sites are not site ids");
    uint64_t chunks = 0;
    for (auto n : s.chunks) chunks += n;
    if (chunks > kMaxRequestBytes / kChunkBytes + s.chunks.size()) return std::string("more chunks than a request may have");
    return std::string();
  }));
  return s;
}

uint32_t chunkCount(uint64_t size) {
  return size == 0 ? 1 : static_cast<uint32_t>((size + kChunkBytes - 1) / kChunkBytes);
}

Bytes encryptChunk(const Content& c, uint32_t file, uint32_t chunk, std::span<const uint8_t> plain) {
  ensureSodium();
  const std::string ad = chunkPlace(c, file, chunk);
  Bytes out(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + plain.size() + crypto_aead_xchacha20poly1305_ietf_ABYTES);
  randombytes_buf(out.data(), crypto_aead_xchacha20poly1305_ietf_NPUBBYTES);
  unsigned long long written = 0;
  crypto_aead_xchacha20poly1305_ietf_encrypt(out.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, &written,
                                             plain.data(), plain.size(), reinterpret_cast<const uint8_t*>(ad.data()),
                                             ad.size(), nullptr, out.data(), c.fileKey.data());
  out.resize(crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + written);
  return out;
}

Result<Bytes> decryptChunk(const Content& c, uint32_t file, uint32_t chunk, std::span<const uint8_t> cipher) {
  ensureSodium();
  constexpr size_t kOverhead = crypto_aead_xchacha20poly1305_ietf_NPUBBYTES + crypto_aead_xchacha20poly1305_ietf_ABYTES;
  const std::string where = "request " + c.id + " file " + std::to_string(file) + " chunk " + std::to_string(chunk);
  if (cipher.size() < kOverhead || cipher.size() > kChunkBytes + kOverhead) return invalid(where + ": not a chunk");
  const std::string ad = chunkPlace(c, file, chunk);
  Bytes plain(cipher.size() - kOverhead);
  unsigned long long written = 0;
  if (crypto_aead_xchacha20poly1305_ietf_decrypt(
          plain.data(), &written, nullptr, cipher.data() + crypto_aead_xchacha20poly1305_ietf_NPUBBYTES,
          cipher.size() - crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, reinterpret_cast<const uint8_t*>(ad.data()),
          ad.size(), cipher.data(), c.fileKey.data()) != 0) {
    return invalid(where + ": changed, or not this chunk");
  }
  plain.resize(written);
  return plain;
}

SignedStep signStep(const Step& step, const std::string& signer, const trust::KeyPair& keys) {
  ensureSodium();
  capnp::MallocMessageBuilder message;
  auto s = message.initRoot<schema::Step>();
  s.setRequestId(step.requestId);
  s.setKind(step.kind);
  s.setStatus(step.status);
  s.setBy(step.by);
  s.setReference(step.reference);
  s.setComment(step.comment);
  s.setAt(step.at);
  s.setPrevious(ptr(step.previous));
  s.setSubject(ptr(step.subject));
  setFiles(s.initFiles(static_cast<unsigned>(step.files.size())), step.files);
  SignedStep out{step, flat(message), signer, keys.pub.sign, {}};
  Bytes msg(kStepDomain, kStepDomain + sizeof kStepDomain);
  msg.insert(msg.end(), out.stepBytes.begin(), out.stepBytes.end());
  crypto_sign_detached(out.signature.data(), nullptr, msg.data(), msg.size(), keys.signSecret.data());
  return out;
}

Bytes encode(const SignedStep& step) {
  capnp::MallocMessageBuilder message;
  auto s = message.initRoot<schema::SignedStep>();
  s.setStep(ptr(step.stepBytes));
  s.setSigner(step.signer);
  s.setSignerKey(kj::arrayPtr(step.signerKey.data(), step.signerKey.size()));
  s.setSignature(kj::arrayPtr(step.signature.data(), step.signature.size()));
  return flat(message);
}

Result<SignedStep> decodeStep(std::span<const uint8_t> bytes) {
  ensureSodium();
  SignedStep out;
  LIAISON_TRY(decodePeer<schema::SignedStep>(bytes, "step", [&](schema::SignedStep::Reader r) {
    out.stepBytes = data(r.getStep());
    out.signer = text(r.getSigner());
    if (!copyInto(r.getSignerKey(), out.signerKey)) return std::string("its signer key is not 32 bytes");
    if (!copyInto(r.getSignature(), out.signature)) return std::string("its signature is not 64 bytes");
    return std::string();
  }));
  Bytes msg(kStepDomain, kStepDomain + sizeof kStepDomain);
  msg.insert(msg.end(), out.stepBytes.begin(), out.stepBytes.end());
  if (crypto_sign_verify_detached(out.signature.data(), msg.data(), msg.size(), out.signerKey.data()) != 0) {
    return invalid("step: the signature of " + out.signer + " does not verify");
  }
  LIAISON_TRY(decodePeer<schema::Step>(out.stepBytes, "step", [&](schema::Step::Reader s) {
    Step& st = out.step;
    st.requestId = text(s.getRequestId());
    st.kind = text(s.getKind());
    st.status = text(s.getStatus());
    st.by = text(s.getBy());
    st.reference = text(s.getReference());
    st.comment = text(s.getComment());
    st.at = s.getAt();
    st.previous = data(s.getPrevious());
    st.subject = data(s.getSubject());
    return readFiles(s.getFiles(), st.files);
  }));
  return out;
}

Hash stepHash(const SignedStep& step) { return blake2b(encode(step)); }

Status verifyTrail(const std::vector<SignedStep>& trail, const Sealed& sealed, const TrailKeys& keys) {
  // What may follow each kind of step (statuses may follow each other).
  auto mayFollow = [](const std::string& before, const std::string& kind) {
    if (kind == "accepted") return before == "sent";
    if (kind == "delivered") return before == "accepted";
    if (kind == "opened") return before == "delivered";
    if (kind == "status") return before == "opened" || before == "status";
    return false;
  };
  const Hash subject = blake2b(encode(sealed));
  for (size_t i = 0; i < trail.size(); ++i) {
    const SignedStep& s = trail[i];
    const Step& st = s.step;
    const std::string where = "step " + std::to_string(i + 1) + " (" + st.kind + ")";
    if (st.requestId != sealed.id) return invalid(where + ": it is a step of another request");
    if (i == 0) {
      if (st.kind != "sent") return invalid(where + ": a trail starts with \"sent\"");
      if (st.subject != Bytes(subject.begin(), subject.end())) return invalid(where + ": it names another sealed request");
      if (!st.previous.empty()) return invalid(where + ": the first step has no previous one");
    } else {
      if (!mayFollow(trail[i - 1].step.kind, st.kind)) {
        return invalid(where + ": it may not follow \"" + trail[i - 1].step.kind + "\"");
      }
      const Hash previous = stepHash(trail[i - 1]);
      if (st.previous != Bytes(previous.begin(), previous.end())) {
        return invalid(where + ": it is not chained to the step before (left out, reordered or replayed)");
      }
      if (st.at < trail[i - 1].step.at) return invalid(where + ": it is dated before the step before");
    }
    const bool byBroker = st.kind == "accepted";
    const bool bySender = st.kind == "sent";
    const std::string& who = bySender ? keys.fromSite : byBroker ? keys.broker : keys.toSite;
    const SigningKey& key = bySender ? keys.fromKey : byBroker ? keys.brokerKey : keys.toKey;
    if (s.signer != who) return invalid(where + ": signed by " + s.signer + ", not by " + who);
    if (s.signerKey != key) return invalid(where + ": signed with a key that is not " + who + "'s");
    if ((st.kind == "opened" || st.kind == "status") && st.by.empty()) return invalid(where + ": it names no person");
    if (st.kind == "status" && !isStatus(st.status)) return invalid(where + ": \"" + st.status + "\" is not a status");
    if (st.kind == "status" && st.status == "refused" && st.comment.empty()) {
      return invalid(where + ": a refusal gives its grounds");
    }
  }
  return {};
}

}  // namespace liaison::requests
