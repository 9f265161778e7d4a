#include "schemas/alert_json.h"

#include <capnp/message.h>
#include <sys/random.h>

#include <cerrno>
#include <random>
#include <set>

#include "common/clock.h"
#include "common/encoding.h"
#include "schemas/vocab.h"

namespace liaison::json {

namespace {

struct AlertError : std::runtime_error {
  using std::runtime_error::runtime_error;
};
[[noreturn]] void fail(const std::string& field, const std::string& what) {
  throw AlertError(field + ": " + what);
}

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

bool oneOf(std::string_view v, std::initializer_list<std::string_view> words) {
  for (auto w : words) {
    if (v == w) return true;
  }
  return false;
}

// Reads a string field; checks type, length and control characters.
std::optional<std::string> text(const Json& o, const char* key, size_t maxLen, bool multiline,
                                std::set<std::string>& used) {
  used.insert(key);
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::nullopt;
  if (!it->is_string()) fail(key, "must be a string");
  const auto& s = it->get_ref<const std::string&>();
  if (utf8Length(s) > maxLen) fail(key, "longer than " + std::to_string(maxLen) + " characters");
  for (char c : s) {
    auto u = static_cast<unsigned char>(c);
    if ((u < 0x20 && !(multiline && (c == '\n' || c == '\t' || c == '\r'))) || u == 0x7f) {
      fail(key, "contains a control character");
    }
  }
  return s;
}

template <typename Check>
std::vector<std::string> words(const Json& o, const std::string& path, const char* key,
                               Check check, const char* what) {
  std::vector<std::string> out;
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return out;
  std::string p = path.empty() ? key : path + "." + key;
  if (!it->is_array()) fail(p, "must be an array");
  if (it->size() > kMaxListItems) fail(p, "more than " + std::to_string(kMaxListItems) + " items");
  for (size_t i = 0; i < it->size(); ++i) {
    const auto& e = (*it)[i];
    std::string ep = p + "[" + std::to_string(i) + "]";
    if (!e.is_string()) fail(ep, "must be a string");
    if (!check(e.get<std::string>())) fail(ep, "\"" + e.get<std::string>() + "\" is not " + what);
    out.push_back(e.get<std::string>());
  }
  return out;
}

template <typename List>
void setList(List list, const std::vector<std::string>& v) {
  for (size_t i = 0; i < v.size(); ++i) list.set(static_cast<unsigned>(i), v[i]);
}

// Reads a targets object; returns how many targets it names.
size_t readTargets(const Json& o, const char* key, schema::Targets::Builder b) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return 0;
  if (!it->is_object()) fail(key, "must be an object");
  static const std::set<std::string> kKeys = {"countries", "networks", "roles", "focalPoints", "sites"};
  for (auto k = it->begin(); k != it->end(); ++k) {
    if (kKeys.count(k.key()) == 0) fail(std::string(key) + "." + k.key(), "unknown key");
  }
  auto countries = words(*it, key, "countries", vocab::isCountry, "an ISO 3166-1 alpha-2 code");
  auto networks = words(*it, key, "networks", vocab::isNetwork, "a network name");
  auto roles = words(*it, key, "roles", vocab::isRole, "a role");
  auto focal = words(*it, key, "focalPoints", vocab::isRecordId, "a record id");
  auto sites = words(*it, key, "sites", vocab::isSiteId, "a site id");
  setList(b.initCountries(static_cast<unsigned>(countries.size())), countries);
  setList(b.initNetworks(static_cast<unsigned>(networks.size())), networks);
  setList(b.initRoles(static_cast<unsigned>(roles.size())), roles);
  setList(b.initFocalPoints(static_cast<unsigned>(focal.size())), focal);
  setList(b.initSites(static_cast<unsigned>(sites.size())), sites);
  return countries.size() + networks.size() + roles.size() + focal.size() + sites.size();
}

bool isUuidLike(std::string_view id) { return vocab::isRecordId(id) && id.size() >= 8; }

std::string xmlEscape(std::string_view s) {
  std::string out;
  for (char c : s) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      case '"': out += "&quot;"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

// CAP's words are capitalised: "immediate" → "Immediate".
std::string capWord(capnp::Text::Reader t) {
  std::string s = str(t);
  if (!s.empty() && s[0] >= 'a' && s[0] <= 'z') s[0] = static_cast<char>(s[0] - 'a' + 'A');
  return s;
}

// CAP 1.2 dateTime: no "Z", an explicit offset.
std::string capTime(capnp::Text::Reader t) {
  auto secs = parseTimestamp(str(t));
  if (!secs) return str(t);
  std::string s = formatTimestamp(*secs);
  return s.substr(0, s.size() - 1) + "+00:00";
}

}  // namespace

std::string newUuid() {
  // getrandom(2), not an ifstream of /dev/urandom: that opened the file and filled an 8 KiB
  // buffer for each id (3 % of a sending site's CPU under a load of alerts).
  uint8_t b[16];
  size_t got = 0;
  while (got < sizeof b) {
    ssize_t n = ::getrandom(b + got, sizeof b - got, 0);
    if (n > 0) {
      got += static_cast<size_t>(n);
    } else if (errno != EINTR) {
      std::random_device device;  // no getrandom(2) here: the library's own source
      for (; got < sizeof b; ++got) b[got] = static_cast<uint8_t>(device());
    }
  }
  b[6] = static_cast<uint8_t>((b[6] & 0x0f) | 0x40);
  b[8] = static_cast<uint8_t>((b[8] & 0x3f) | 0x80);
  std::string hex = toHex(std::span<const uint8_t>(b, 16));
  return hex.substr(0, 8) + "-" + hex.substr(8, 4) + "-" + hex.substr(12, 4) + "-" +
         hex.substr(16, 4) + "-" + hex.substr(20);
}

Result<OwnedItem> alertFromJson(const Json& o, const AlertDefaults& defaults,
                                const std::string& where) {
  try {
    if (!o.is_object()) fail("alert", "must be an object");
    std::set<std::string> used = {"kind", "targets", "escalateTo", "references"};
    auto kind = text(o, "kind", 32, false, used);
    if (kind && *kind != "alert") fail("kind", "\"" + *kind + "\" is not \"alert\"");
    capnp::MallocMessageBuilder message;
    auto a = message.initRoot<schema::Item>().initAlert();
    auto id = text(o, "id", 128, false, used);
    if (id && !isUuidLike(*id)) fail("id", "\"" + *id + "\" is not an alert id");
    a.setId(id ? *id : defaults.id);
    a.initSender().setSite(defaults.senderSite);
    if (auto person = text(o, "senderPerson", kMaxShortText, false, used)) a.getSender().setPerson(*person);
    a.setSent(defaults.sent);
    auto word = [&](const char* key, std::initializer_list<std::string_view> allowed,
                    const char* fallback, const char* what) {
      auto v = text(o, key, 32, false, used);
      if (v && !oneOf(*v, allowed)) fail(key, "\"" + *v + "\" is not " + what);
      return v ? *v : std::string(fallback);
    };
    a.setStatus(word("status", {"actual", "exercise", "test"}, "actual", "actual, exercise or test"));
    std::string msgType = word("msgType", {"alert", "update", "cancel"}, "alert", "alert, update or cancel");
    a.setMsgType(msgType);
    a.setUrgency(word("urgency", {"immediate", "expected", "future", "past", "unknown"}, "unknown",
                      "immediate, expected, future, past or unknown"));
    a.setSeverity(word("severity", {"extreme", "severe", "moderate", "minor", "unknown"}, "unknown",
                       "extreme, severe, moderate, minor or unknown"));
    a.setCertainty(word("certainty", {"observed", "likely", "possible", "unlikely", "unknown"},
                        "unknown", "observed, likely, possible, unlikely or unknown"));
    auto refs = words(o, "", "references", isUuidLike, "an alert id");
    if (msgType == "alert" && !refs.empty()) fail("references", "an alert replaces nothing; use msgType update or cancel");
    if (msgType != "alert" && refs.empty()) fail("references", "an " + msgType + " must name the alert(s) it replaces");
    setList(a.initReferences(static_cast<unsigned>(refs.size())), refs);
    if (auto v = text(o, "incident", 128, false, used)) a.setIncident(*v);
    if (auto v = text(o, "category", 64, false, used)) {
      if (!vocab::isTopic(*v)) fail("category", "\"" + *v + "\" is not a topic (trafficking-in-persons, ...)");
      a.setCategory(*v);
    }
    if (auto v = text(o, "event", kMaxShortText, false, used)) a.setEvent(*v);
    auto headline = text(o, "headline", kMaxShortText, false, used);
    if (!headline || headline->empty()) fail("headline", "is required");
    a.setHeadline(*headline);
    if (auto v = text(o, "description", kMaxAlertText, true, used)) a.setDescription(*v);
    if (auto v = text(o, "instruction", kMaxAlertText, true, used)) a.setInstruction(*v);
    if (auto v = text(o, "language", 32, false, used)) {
      if (!vocab::isLanguageTag(*v)) fail("language", "\"" + *v + "\" is not a BCP 47 language tag");
      a.setLanguage(*v);
    }
    if (auto v = text(o, "expires", 40, false, used)) {
      if (!parseTimestamp(*v)) fail("expires", "\"" + *v + "\" is not an ISO 8601 time (2026-11-29T12:00:00Z)");
      a.setExpires(*v);
    }
    size_t targets = readTargets(o, "targets", a.initTargets());
    used.insert("forwardToInterpol");
    auto fwd = o.find("forwardToInterpol");
    if (fwd != o.end() && !fwd->is_null()) {
      if (!fwd->is_boolean()) fail("forwardToInterpol", "must be true or false");
      a.setForwardToInterpol(fwd->get<bool>());
    }
    if (targets == 0 && !a.getForwardToInterpol() && msgType == "alert") fail("targets", "names nobody");
    used.insert("ackRequired");
    auto ack = o.find("ackRequired");
    if (ack != o.end() && !ack->is_null()) {
      if (!ack->is_boolean()) fail("ackRequired", "must be true or false");
      a.setAckRequired(ack->get<bool>());
    }
    if (auto v = text(o, "ackDeadline", 32, false, used)) {
      auto d = vocab::parseDuration(*v);
      if (!d || *d <= 0) fail("ackDeadline", "\"" + *v + "\" is not an ISO 8601 duration (PT30M)");
      a.setAckDeadline(*v);
    }
    readTargets(o, "escalateTo", a.initEscalateTo());
    for (auto it = o.begin(); it != o.end(); ++it) {
      if (used.count(it.key()) == 0) fail(it.key(), "unknown key");
    }
    return OwnedItem::fromBuilder(message);
  } catch (const AlertError& e) {
    return makeError(Errc::kInvalidInput, where + ": " + e.what());
  }
}

Json alertToJson(schema::Alert::Reader a) {
  Json out;
  out["kind"] = "alert";
  out["id"] = str(a.getId());
  auto put = [&](const char* key, capnp::Text::Reader t) {
    if (t.size() > 0) out[key] = str(t);
  };
  put("msgType", a.getMsgType());
  put("status", a.getStatus());
  put("sent", a.getSent());
  put("senderSite", a.getSender().getSite());
  put("senderPerson", a.getSender().getPerson());
  if (a.getReferences().size() > 0) {
    Json refs = Json::array();
    for (auto r : a.getReferences()) refs.push_back(str(r));
    out["references"] = std::move(refs);
  }
  put("incident", a.getIncident());
  put("category", a.getCategory());
  put("event", a.getEvent());
  put("urgency", a.getUrgency());
  put("severity", a.getSeverity());
  put("certainty", a.getCertainty());
  put("headline", a.getHeadline());
  put("description", a.getDescription());
  put("instruction", a.getInstruction());
  put("language", a.getLanguage());
  put("expires", a.getExpires());
  auto targets = [](schema::Targets::Reader t) {
    Json j = Json::object();
    auto list = [&](const char* key, capnp::List<capnp::Text>::Reader l) {
      if (l.size() == 0) return;
      Json arr = Json::array();
      for (auto x : l) arr.push_back(std::string(x.begin(), x.size()));
      j[key] = std::move(arr);
    };
    list("countries", t.getCountries());
    list("networks", t.getNetworks());
    list("roles", t.getRoles());
    list("focalPoints", t.getFocalPoints());
    list("sites", t.getSites());
    return j;
  };
  out["targets"] = targets(a.getTargets());
  if (a.getAckRequired()) out["ackRequired"] = true;
  put("ackDeadline", a.getAckDeadline());
  auto esc = targets(a.getEscalateTo());
  if (!esc.empty()) out["escalateTo"] = std::move(esc);
  if (a.getForwardToInterpol()) out["forwardToInterpol"] = true;
  return out;
}

std::string alertToCap(schema::Alert::Reader a) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  auto el = [&](const char* name, const std::string& value, const char* indent = "  ") {
    if (!value.empty()) x += std::string(indent) + "<" + name + ">" + xmlEscape(value) + "</" + name + ">\n";
  };
  el("identifier", str(a.getId()));
  el("sender", str(a.getSender().getSite()));
  el("sent", capTime(a.getSent()));
  el("status", capWord(a.getStatus()));
  el("msgType", capWord(a.getMsgType()));
  el("scope", "Restricted");
  el("restriction", "Liaison network members named in the targets");
  std::string refs;
  for (auto r : a.getReferences()) {
    refs += (refs.empty() ? "" : " ") + str(a.getSender().getSite()) + "," + str(r) + "," + capTime(a.getSent());
  }
  el("references", refs);
  el("incidents", str(a.getIncident()));
  x += "  <info>\n";
  el("language", str(a.getLanguage()), "    ");
  el("category", "Security", "    ");  // CAP's closed list: law enforcement and security
  el("event", a.getEvent().size() > 0   ? str(a.getEvent())
             : a.getCategory().size() > 0 ? str(a.getCategory())
                                          : std::string("Alert"),
     "    ");  // CAP requires an event
  el("urgency", capWord(a.getUrgency()), "    ");
  el("severity", capWord(a.getSeverity()), "    ");
  el("certainty", capWord(a.getCertainty()), "    ");
  el("expires", a.getExpires().size() > 0 ? capTime(a.getExpires()) : "", "    ");
  el("senderName", str(a.getSender().getPerson()), "    ");
  el("headline", str(a.getHeadline()), "    ");
  el("description", str(a.getDescription()), "    ");
  el("instruction", str(a.getInstruction()), "    ");
  if (a.getCategory().size() > 0) {
    x += "    <parameter>\n      <valueName>liaison:category</valueName>\n      <value>" +
         xmlEscape(str(a.getCategory())) + "</value>\n    </parameter>\n";
  }
  x += "  </info>\n</alert>\n";
  return x;
}

Status checkAlert(schema::Alert::Reader a) {
  Json j = alertToJson(a);
  std::string id = str(a.getId());
  std::string sent = j.value("sent", "");
  std::string site = j.value("senderSite", "");
  j.erase("sent");
  j.erase("senderSite");
  std::string where = "alert " + (id.size() <= 64 ? id : id.substr(0, 64) + "...");
  if (!vocab::isSiteId(site)) return makeError(Errc::kInvalidInput, where + ": sender.site: is not a site id");
  if (!parseTimestamp(sent)) return makeError(Errc::kInvalidInput, where + ": sent: is not an ISO 8601 time");
  auto again = alertFromJson(j, AlertDefaults{id, site, sent}, where);
  if (!again) return again.error();
  return {};
}

bool isAnswerKind(std::string_view kind) {
  return kind == kReceipt || kind == kAcknowledged || kind == kDeclined;
}

OwnedItem ackItem(const std::string& alertId, const std::string& site, std::string_view kind,
                  const std::string& by, const std::string& comment, const std::string& at,
                  const std::string& reference) {
  capnp::MallocMessageBuilder message;
  auto a = message.initRoot<schema::Item>().initAck();
  a.setAlertId(alertId);
  a.setSite(site);
  a.setKind(std::string(kind));
  a.setBy(by);
  a.setComment(comment);
  a.setAt(at);
  a.setReference(reference);
  return OwnedItem::fromBuilder(message);
}

Status checkAck(schema::Ack::Reader a) {
  auto bad = [&](const std::string& field, const std::string& why) {
    return makeError(Errc::kInvalidInput, "answer to " + str(a.getAlertId()).substr(0, 64) + ": " +
                                              field + ": " + why);
  };
  if (!isUuidLike(str(a.getAlertId()))) return bad("alertId", "is not an alert id");
  if (!vocab::isSiteId(str(a.getSite()))) return bad("site", "is not a site id");
  std::string kind = str(a.getKind());
  if (!isAnswerKind(kind)) return bad("kind", "is not receipt, acknowledged or declined");
  if (kind != kReceipt && a.getBy().size() == 0) return bad("by", "names nobody");
  if (a.getBy().size() > kMaxShortText) return bad("by", "is too long");
  if (a.getComment().size() > kMaxAckComment) return bad("comment", "is too long");
  if (a.getReference().size() > kMaxShortText) return bad("reference", "is too long");
  for (auto t : {a.getBy(), a.getComment(), a.getReference()}) {
    if (!isValidUtf8(std::string_view(t.begin(), t.size()))) return bad("text", "is not UTF-8");
  }
  if (!parseTimestamp(str(a.getAt()))) return bad("at", "is not an ISO 8601 time");
  return {};
}

Json ackToJson(schema::Ack::Reader a) {
  Json out;
  out["alertId"] = str(a.getAlertId());
  out["site"] = str(a.getSite());
  out["kind"] = str(a.getKind());
  if (a.getBy().size() > 0) out["by"] = str(a.getBy());
  if (a.getComment().size() > 0) out["comment"] = str(a.getComment());
  out["at"] = str(a.getAt());
  if (a.getReference().size() > 0) out["reference"] = str(a.getReference());
  return out;
}

std::string ackToCap(schema::Ack::Reader ack, schema::Alert::Reader alert) {
  std::string x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  x += "<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">\n";
  auto el = [&](const char* name, const std::string& value) {
    if (!value.empty()) x += std::string("  <") + name + ">" + xmlEscape(value) + "</" + name + ">\n";
  };
  el("identifier", str(ack.getAlertId()) + "-" + str(ack.getSite()) + "-" + str(ack.getKind()));
  el("sender", str(ack.getSite()));
  el("sent", capTime(ack.getAt()));
  el("status", capWord(alert.getStatus()));
  el("msgType", "Ack");
  el("scope", "Restricted");
  el("restriction", "Liaison network members named in the targets");
  std::string note = str(ack.getKind());
  if (ack.getBy().size() > 0) note += " by " + str(ack.getBy());
  if (ack.getComment().size() > 0) note += ": " + str(ack.getComment());
  if (ack.getReference().size() > 0) note += " (reference " + str(ack.getReference()) + ")";
  el("note", note);
  el("references", str(alert.getSender().getSite()) + "," + str(alert.getId()) + "," +
                       capTime(alert.getSent()));
  x += "</alert>\n";
  return x;
}

}  // namespace liaison::json
