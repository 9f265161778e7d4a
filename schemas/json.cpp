#include "schemas/json.h"

#include <capnp/message.h>

#include <set>
#include <stdexcept>

#include "common/clock.h"
#include "common/encoding.h"
#include "schemas/vocab.h"

namespace liaison::json {

namespace {

// Internal to this file: a field error unwinds to the public function, which turns it into an
// Error value. Nothing outside json.cpp sees an exception.
struct FieldError : std::runtime_error {
  using std::runtime_error::runtime_error;
};

[[noreturn]] void fail(const std::string& path, const std::string& what) {
  throw FieldError(path + ": " + what);
}

std::string join(const std::string& path, const std::string& key) {
  return path.empty() ? key : path + "." + key;
}

const char* typeName(const Json& v) {
  if (v.is_object()) return "an object";
  if (v.is_array()) return "an array";
  if (v.is_string()) return "a string";
  if (v.is_boolean()) return "true/false";
  if (v.is_number()) return "a number";
  return "null";
}

bool hasControl(std::string_view s, bool allowNewlines) {
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if (u < 0x20 && !(allowNewlines && (c == '\n' || c == '\t' || c == '\r'))) return true;
    if (u == 0x7f) return true;
  }
  return false;
}

// Walks one JSON object: typed getters record which keys were used; finish() rejects the rest.
class Obj {
 public:
  Obj(const Json& value, std::string path) : v_(value), path_(std::move(path)) {
    if (!v_.is_object()) fail(path_.empty() ? "record" : path_, "must be an object");
  }

  const Json* get(const std::string& key) {
    used_.insert(key);
    auto it = v_.find(key);
    if (it == v_.end() || it->is_null()) return nullptr;
    return &*it;
  }

  std::optional<std::string> text(const std::string& key, bool required = false,
                                  size_t maxLen = kMaxShortText, bool multiline = false) {
    const Json* j = get(key);
    std::string p = join(path_, key);
    if (j == nullptr) {
      if (required) fail(p, "is required");
      return std::nullopt;
    }
    if (!j->is_string()) fail(p, std::string("must be a string, not ") + typeName(*j));
    const auto& s = j->get_ref<const std::string&>();
    if (required && s.empty()) fail(p, "must not be empty");
    if (utf8Length(s) > maxLen) fail(p, "longer than " + std::to_string(maxLen) + " characters");
    if (hasControl(s, multiline)) fail(p, "contains a control character");
    return s;
  }

  template <typename Check>
  std::optional<std::string> word(const std::string& key, Check check, const char* what,
                                  bool required = false) {
    auto s = text(key, required);
    if (s && !s->empty() && !check(*s)) fail(join(path_, key), "\"" + *s + "\" is not " + what);
    return s;
  }

  std::optional<bool> boolean(const std::string& key) {
    const Json* j = get(key);
    if (j == nullptr) return std::nullopt;
    if (!j->is_boolean()) fail(join(path_, key), std::string("must be true or false, not ") + typeName(*j));
    return j->get<bool>();
  }

  uint64_t revision(const std::string& key) {
    const Json* j = get(key);
    std::string p = join(path_, key);
    if (j == nullptr) fail(p, "is required");
    if (!j->is_number_integer()) fail(p, std::string("must be a whole number, not ") + typeName(*j));
    if (j->is_number_unsigned()) {
      auto r = j->get<uint64_t>();
      if (r == 0) fail(p, "must be at least 1");
      return r;
    }
    auto r = j->get<int64_t>();
    if (r < 1) fail(p, "must be at least 1");
    return static_cast<uint64_t>(r);
  }

  template <typename Check>
  std::vector<std::string> words(const std::string& key, Check check, const char* what) {
    const Json* j = get(key);
    std::vector<std::string> out;
    if (j == nullptr) return out;
    std::string p = join(path_, key);
    if (!j->is_array()) fail(p, std::string("must be an array, not ") + typeName(*j));
    if (j->size() > kMaxListItems) fail(p, "more than " + std::to_string(kMaxListItems) + " items");
    std::set<std::string> seen;
    for (size_t i = 0; i < j->size(); ++i) {
      const auto& e = (*j)[i];
      std::string ep = p + "[" + std::to_string(i) + "]";
      if (!e.is_string()) fail(ep, std::string("must be a string, not ") + typeName(e));
      const auto& s = e.get_ref<const std::string&>();
      if (!check(s)) fail(ep, "\"" + s + "\" is not " + what);
      if (!seen.insert(s).second) fail(ep, "\"" + s + "\" is listed twice");
      out.push_back(s);
    }
    return out;
  }

  const Json* object(const std::string& key) {
    const Json* j = get(key);
    if (j != nullptr && !j->is_object()) {
      fail(join(path_, key), std::string("must be an object, not ") + typeName(*j));
    }
    return j;
  }

  const std::string& path() const { return path_; }

  void finish() {
    for (auto it = v_.begin(); it != v_.end(); ++it) {
      if (used_.count(it.key()) == 0) fail(join(path_, it.key()), "unknown key");
    }
  }

 private:
  const Json& v_;
  std::string path_;
  std::set<std::string> used_;
};

template <typename List>
void setTextList(List list, const std::vector<std::string>& values) {
  for (size_t i = 0; i < values.size(); ++i) list.set(static_cast<unsigned>(i), values[i]);
}

void parseDateField(Obj& o, const std::string& key, const std::optional<std::string>& value) {
  if (value && !value->empty() && !parseDate(*value)) {
    fail(join(o.path(), key), "\"" + *value + "\" is not a date (YYYY-MM-DD)");
  }
}

void contactFromJson(Obj& o, schema::Contact::Builder c) {
  if (auto v = o.word("contactKind", vocab::isContactKind, "person, desk or authority")) {
    c.setContactKind(*v);
  }
  {
    const Json* nj = o.object("name");
    if (nj == nullptr) fail(join(o.path(), "name.latin"), "is required");
    Obj n(*nj, join(o.path(), "name"));
    auto name = c.initName();
    name.setLatin(*n.text("latin", true));
    if (auto v = n.text("original")) name.setOriginal(*v);
    if (auto v = n.text("honorific", false, 32)) name.setHonorific(*v);
    n.finish();
  }
  if (auto v = o.text("title")) c.setTitle(*v);
  c.setRole(*o.word("role", vocab::isRole, "a role (prosecutor, central-authority, ...)", true));
  c.setOrganization(*o.text("organization", true));
  if (auto v = o.text("unit")) c.setUnit(*v);
  c.setCountry(*o.word("country", vocab::isCountry, "an ISO 3166-1 alpha-2 country code", true));
  if (auto v = o.text("locality")) c.setLocality(*v);
  if (auto v = o.word("body", vocab::isBody, "central or territorial")) c.setBody(*v);
  auto networks = o.words("networks", vocab::isNetwork, "a network name");
  setTextList(c.initNetworks(static_cast<unsigned>(networks.size())), networks);
  auto comps = o.words("competences", vocab::isCompetence, "a competence (mla, extradition, ...)");
  setTextList(c.initCompetences(static_cast<unsigned>(comps.size())), comps);
  auto topics = o.words("topics", vocab::isTopic, "a topic (lowercase words joined by -)");
  setTextList(c.initTopics(static_cast<unsigned>(topics.size())), topics);
  auto bases = o.words("legalBases", vocab::isLegalBasis, "a legal basis");
  setTextList(c.initLegalBases(static_cast<unsigned>(bases.size())), bases);
  auto langs = o.words("languages", vocab::isLanguageTag, "a BCP 47 language tag");
  setTextList(c.initLanguages(static_cast<unsigned>(langs.size())), langs);

  const Json* chj = o.get("channels");
  std::string chPath = join(o.path(), "channels");
  if (chj == nullptr) fail(chPath, "is required (at least one channel)");
  if (!chj->is_array()) fail(chPath, std::string("must be an array, not ") + typeName(*chj));
  if (chj->empty()) fail(chPath, "must list at least one channel");
  if (chj->size() > 16) fail(chPath, "more than 16 channels");
  auto channels = c.initChannels(static_cast<unsigned>(chj->size()));
  for (size_t i = 0; i < chj->size(); ++i) {
    Obj ch((*chj)[i], chPath + "[" + std::to_string(i) + "]");
    auto b = channels[static_cast<unsigned>(i)];
    auto kind = *ch.word("kind", vocab::isChannelKind,
                         "a channel kind (email, phone, mobile, fax, secure-messaging, i24-7, post)",
                         true);
    auto value = *ch.text("value", true);
    if (kind == "email" && !vocab::isEmail(value)) {
      fail(join(ch.path(), "value"), "\"" + value + "\" is not an e-mail address");
    }
    if ((kind == "phone" || kind == "mobile" || kind == "fax") && !vocab::isPhone(value)) {
      fail(join(ch.path(), "value"),
           "\"" + value + "\" is not a phone number (+country code and 7-15 digits)");
    }
    b.setKind(kind);
    b.setValue(value);
    if (auto v = ch.text("note")) b.setNote(*v);
    if (auto v = ch.boolean("preferred")) b.setPreferred(*v);
    ch.finish();
  }
  if (auto v = o.boolean("requiresEncryption")) c.setRequiresEncryption(*v);
  if (auto v = o.boolean("requiresESignature")) c.setRequiresESignature(*v);
  if (const Json* aj = o.object("availability")) {
    Obj a(*aj, join(o.path(), "availability"));
    auto b = c.initAvailability();
    if (auto v = a.boolean("always")) b.setAlways(*v);
    if (auto v = a.word("timezone", vocab::isTimeZoneName, "an IANA time zone (Asia/Bishkek)")) {
      b.setTimezone(*v);
    }
    if (auto v = a.text("hours")) {
      if (!vocab::parseOpeningHours(*v)) {
        fail(join(a.path(), "hours"), "\"" + *v + "\" is not opening hours (Mo-Fr 09:00-18:00)");
      }
      b.setHours(*v);
    }
    if (auto v = a.text("afterHours")) b.setAfterHours(*v);
    auto ooo = a.text("outOfOfficeUntil");
    parseDateField(a, "outOfOfficeUntil", ooo);
    if (ooo) b.setOutOfOfficeUntil(*ooo);
    if (auto v = a.word("deputyId", vocab::isRecordId, "a record id")) b.setDeputyId(*v);
    a.finish();
  }
  if (const Json* vj = o.object("verification")) {
    Obj v(*vj, join(o.path(), "verification"));
    auto b = c.initVerification();
    auto at = v.text("verifiedAt");
    parseDateField(v, "verifiedAt", at);
    if (at) b.setVerifiedAt(*at);
    if (auto x = v.text("verifiedBy")) b.setVerifiedBy(*x);
    auto due = v.text("reviewDue");
    parseDateField(v, "reviewDue", due);
    if (due) b.setReviewDue(*due);
    v.finish();
  }
  if (auto v = o.text("notes", false, kMaxLongText, true)) c.setNotes(*v);
}

void instrumentFromJson(Obj& o, schema::Instrument::Builder b) {
  if (auto v = o.word("type", [](std::string_view t) {
        return t == "multilateral" || t == "regional" || t == "bilateral";
      }, "multilateral, regional or bilateral")) {
    b.setType(*v);
  }
  b.setName(*o.text("name", true));
  auto parties = o.words("parties", vocab::isCountry, "an ISO 3166-1 alpha-2 country code");
  setTextList(b.initParties(static_cast<unsigned>(parties.size())), parties);
  auto covers = o.words("covers", vocab::isCompetence, "a competence (mla, extradition, ...)");
  setTextList(b.initCovers(static_cast<unsigned>(covers.size())), covers);
  if (auto v = o.text("notes", false, kMaxLongText, true)) b.setNotes(*v);
}

void noticeFromJson(Obj& o, schema::Notice::Builder b) {
  b.setNoticeType(*o.word("noticeType", [](std::string_view t) {
    return t == "yellow" || t == "red";
  }, "yellow or red", true));
  b.setEntityId(*o.text("entityId", true, 64));
  if (auto v = o.text("forename")) b.setForename(*v);
  if (auto v = o.text("name")) b.setName(*v);
  if (auto v = o.text("dateOfBirth", false, 32)) b.setDateOfBirth(*v);
  auto nats = o.words("nationalities", vocab::isCountry, "an ISO 3166-1 alpha-2 country code");
  setTextList(b.initNationalities(static_cast<unsigned>(nats.size())), nats);
  if (auto v = o.text("link", false, 1024)) b.setLink(*v);
  if (auto v = o.text("fetchedAt", false, 32)) b.setFetchedAt(*v);
}

OwnedItem recordFromJsonOrThrow(const Json& value, const std::string& where) {
  Obj o(value, "");
  auto fieldFail = [&](const std::string& f, const std::string& w) { fail(f, w); };
  (void)fieldFail;
  auto kind = o.text("kind", true);
  capnp::MallocMessageBuilder message;
  auto record = message.initRoot<schema::Item>().initRecord();
  record.setId(*o.word("id", vocab::isRecordId, "a record id (letters, digits, . _ : / -)", true));
  record.setRevision(o.revision("revision"));
  auto status = o.word("status", vocab::isStatus, "active, suspended or retired");
  record.setStatus(status && !status->empty() ? *status : "active");
  if (*kind == "contact") {
    contactFromJson(o, record.getBody().initContact());
  } else if (*kind == "instrument") {
    instrumentFromJson(o, record.getBody().initInstrument());
  } else if (*kind == "notice") {
    noticeFromJson(o, record.getBody().initNotice());
  } else {
    fail("kind", "\"" + *kind + "\" is not a record kind (contact, instrument, notice)");
  }
  o.finish();
  (void)where;
  return OwnedItem::fromBuilder(message);
}

std::string recordLabel(const std::string& file, size_t index, const Json& v) {
  std::string label = file + ": record " + std::to_string(index + 1);
  if (v.is_object()) {
    auto it = v.find("id");
    if (it != v.end() && it->is_string()) {
      std::string id = it->get<std::string>();
      if (id.size() > 64) id = id.substr(0, 64) + "...";
      label += " (" + id + ")";
    }
  }
  return label;
}

std::string_view trimView(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\n' || s.front() == '\r' ||
                        s.front() == '\t')) {
    s.remove_prefix(1);
  }
  while (!s.empty() && (s.back() == ' ' || s.back() == '\n' || s.back() == '\r' ||
                        s.back() == '\t')) {
    s.remove_suffix(1);
  }
  return s;
}

template <typename List>
void putList(Json& out, const char* key, List list) {
  if (list.size() == 0) return;
  Json arr = Json::array();
  for (auto t : list) arr.push_back(std::string(t.begin(), t.size()));
  out[key] = std::move(arr);
}

void putText(Json& out, const char* key, capnp::Text::Reader t) {
  if (t.size() > 0) out[key] = std::string(t.begin(), t.size());
}

}  // namespace

Result<OwnedItem> recordFromJson(const Json& value, const std::string& where) {
  try {
    return recordFromJsonOrThrow(value, where);
  } catch (const FieldError& e) {
    return makeError(Errc::kInvalidInput, where + ": " + e.what());
  } catch (const kj::Exception& e) {
    return makeError(Errc::kInvalidInput, where + ": " + e.getDescription().cStr());
  }
}

Result<std::vector<InputItem>> parseInput(const std::string& fileName, std::string_view text) {
  size_t bad = 0;
  if (!isValidUtf8(text, &bad)) {
    size_t line = 1;
    for (size_t i = 0; i < bad; ++i) line += text[i] == '\n' ? 1 : 0;
    return makeError(Errc::kInvalidInput,
                     fileName + ": line " + std::to_string(line) + ": not valid UTF-8");
  }
  std::string_view body = trimView(text);
  if (body.empty()) return makeError(Errc::kInvalidInput, fileName + ": empty file");
  std::vector<InputItem> out;
  if (body.starts_with("-----BEGIN LIAISON")) {
    auto signedItems = dearmor(fileName, body);
    if (!signedItems) return signedItems.error();
    for (auto& s : *signedItems) out.emplace_back(std::move(s));
    return out;
  }

  // Each value becomes an item as soon as it is read, and its JSON tree is dropped: a file of
  // thousands of records never holds all their trees at once.
  std::set<std::string> ids;
  size_t count = 0;
  auto convert = [&](const Json& value) -> Status {
    if (++count > kMaxItemsPerFile) {
      return makeError(Errc::kInvalidInput, fileName + ": more than " +
                                                std::to_string(kMaxItemsPerFile) + " records");
    }
    std::string where = recordLabel(fileName, count - 1, value);
    auto item = recordFromJson(value, where);
    if (!item) return item.error();
    std::string id = itemId(item->reader());
    if (!ids.insert(id).second) {
      return makeError(Errc::kInvalidInput, where + ": id: \"" + id + "\" appears twice in the file");
    }
    out.emplace_back(std::move(item).value());
    return {};
  };
  auto parseOne = [&](std::string_view part, size_t line) -> Result<Json> {
    try {
      return Json::parse(part.begin(), part.end());
    } catch (const Json::exception& e) {  // parse_error, and out_of_range for a number overflow
      std::string what = e.what();
      auto pos = what.find("syntax error");
      if (pos == what.npos) pos = what.find("number overflow");
      return makeError(Errc::kInvalidInput,
                       fileName + (line > 0 ? ": line " + std::to_string(line) : "") +
                           ": not JSON: " + (pos == what.npos ? what : what.substr(pos)));
    }
  };
  // JSON lines when the first line is a complete object and more lines follow.
  bool jsonLines = false;
  if (body.front() == '{') {
    auto nl = body.find('\n');
    if (nl != body.npos && Json::accept(body.substr(0, nl))) jsonLines = true;
  }
  if (jsonLines) {
    size_t line = 0;
    size_t start = 0;
    while (start <= body.size()) {
      size_t end = body.find('\n', start);
      auto part = trimView(body.substr(start, end == body.npos ? body.npos : end - start));
      ++line;
      if (!part.empty()) {
        auto value = parseOne(part, line);
        if (!value) return value.error();
        LIAISON_TRY(convert(*value));
      }
      if (end == body.npos) break;
      start = end + 1;
    }
  } else {
    auto value = parseOne(body, 0);
    if (!value) return value.error();
    if (value->is_array()) {
      if (value->size() > kMaxItemsPerFile) {
        return makeError(Errc::kInvalidInput, fileName + ": more than " +
                                                  std::to_string(kMaxItemsPerFile) + " records");
      }
      for (auto& v : *value) {
        LIAISON_TRY(convert(v));
        v = nullptr;
      }
    } else {
      LIAISON_TRY(convert(*value));
    }
  }
  return out;
}

Json recordToJson(schema::Record::Reader record) {
  Json out;
  auto body = record.getBody();
  switch (body.which()) {
    case schema::Record::Body::CONTACT: out["kind"] = "contact"; break;
    case schema::Record::Body::INSTRUMENT: out["kind"] = "instrument"; break;
    case schema::Record::Body::NOTICE: out["kind"] = "notice"; break;
  }
  putText(out, "id", record.getId());
  out["revision"] = record.getRevision();
  putText(out, "status", record.getStatus());
  switch (body.which()) {
    case schema::Record::Body::CONTACT: {
      auto c = body.getContact();
      putText(out, "contactKind", c.getContactKind());
      Json name;
      putText(name, "latin", c.getName().getLatin());
      putText(name, "original", c.getName().getOriginal());
      putText(name, "honorific", c.getName().getHonorific());
      out["name"] = std::move(name);
      putText(out, "title", c.getTitle());
      putText(out, "role", c.getRole());
      putText(out, "organization", c.getOrganization());
      putText(out, "unit", c.getUnit());
      putText(out, "country", c.getCountry());
      putText(out, "locality", c.getLocality());
      putText(out, "body", c.getBody());
      putList(out, "networks", c.getNetworks());
      putList(out, "competences", c.getCompetences());
      putList(out, "topics", c.getTopics());
      putList(out, "legalBases", c.getLegalBases());
      putList(out, "languages", c.getLanguages());
      Json channels = Json::array();
      for (auto ch : c.getChannels()) {
        Json j;
        putText(j, "kind", ch.getKind());
        putText(j, "value", ch.getValue());
        putText(j, "note", ch.getNote());
        if (ch.getPreferred()) j["preferred"] = true;
        channels.push_back(std::move(j));
      }
      out["channels"] = std::move(channels);
      if (c.getRequiresEncryption()) out["requiresEncryption"] = true;
      if (c.getRequiresESignature()) out["requiresESignature"] = true;
      if (c.hasAvailability()) {
        auto a = c.getAvailability();
        Json j;
        if (a.getAlways()) j["always"] = true;
        putText(j, "timezone", a.getTimezone());
        putText(j, "hours", a.getHours());
        putText(j, "afterHours", a.getAfterHours());
        putText(j, "outOfOfficeUntil", a.getOutOfOfficeUntil());
        putText(j, "deputyId", a.getDeputyId());
        if (!j.empty()) out["availability"] = std::move(j);
      }
      if (c.hasVerification()) {
        auto v = c.getVerification();
        Json j;
        putText(j, "verifiedAt", v.getVerifiedAt());
        putText(j, "verifiedBy", v.getVerifiedBy());
        putText(j, "reviewDue", v.getReviewDue());
        if (!j.empty()) out["verification"] = std::move(j);
      }
      putText(out, "notes", c.getNotes());
      break;
    }
    case schema::Record::Body::INSTRUMENT: {
      auto i = body.getInstrument();
      putText(out, "type", i.getType());
      putText(out, "name", i.getName());
      putList(out, "parties", i.getParties());
      putList(out, "covers", i.getCovers());
      putText(out, "notes", i.getNotes());
      break;
    }
    case schema::Record::Body::NOTICE: {
      auto n = body.getNotice();
      putText(out, "noticeType", n.getNoticeType());
      putText(out, "entityId", n.getEntityId());
      putText(out, "forename", n.getForename());
      putText(out, "name", n.getName());
      putText(out, "dateOfBirth", n.getDateOfBirth());
      putList(out, "nationalities", n.getNationalities());
      putText(out, "link", n.getLink());
      putText(out, "fetchedAt", n.getFetchedAt());
      break;
    }
  }
  return out;
}

std::string armor(const SignedItem& item) {
  auto reader = item.item.reader();
  std::string b64 = toBase64(item.encode());
  std::string out = "-----BEGIN LIAISON SIGNED ITEM-----\n";
  out += "kind: " + itemKind(reader) + "\n";
  out += "id: " + itemId(reader) + "\n";
  out += "signer: " + item.signer + "\n\n";
  for (size_t i = 0; i < b64.size(); i += 64) out += b64.substr(i, 64) + "\n";
  out += "-----END LIAISON SIGNED ITEM-----\n";
  return out;
}

Result<std::vector<SignedItem>> dearmor(const std::string& fileName, std::string_view text) {
  static constexpr std::string_view kBegin = "-----BEGIN LIAISON SIGNED ITEM-----";
  static constexpr std::string_view kEnd = "-----END LIAISON SIGNED ITEM-----";
  std::vector<SignedItem> out;
  size_t pos = 0;
  size_t index = 0;
  for (;;) {
    size_t begin = text.find(kBegin, pos);
    if (begin == text.npos) break;
    ++index;
    std::string where = fileName + ": signed item " + std::to_string(index);
    size_t end = text.find(kEnd, begin);
    if (end == text.npos) return makeError(Errc::kInvalidInput, where + ": no END line");
    std::string_view block = text.substr(begin + kBegin.size(), end - begin - kBegin.size());
    size_t blank = block.find("\n\n");
    if (blank == block.npos) return makeError(Errc::kInvalidInput, where + ": no blank line");
    auto bytes = fromBase64(block.substr(blank + 2));
    if (!bytes) return makeError(Errc::kInvalidInput, where + ": not base64");
    auto item = SignedItem::decode(*bytes);
    if (!item) return makeError(Errc::kInvalidInput, where + ": " + item.error().message);
    out.push_back(std::move(item).value());
    pos = end + kEnd.size();
  }
  if (out.empty()) return makeError(Errc::kInvalidInput, fileName + ": no signed item in it");
  return out;
}

}  // namespace liaison::json
