#include "site/alert_ops.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <ctime>
#include <thread>
#include <unordered_map>

#include "common/clock.h"
#include "schemas/alert_json.h"
#include "site/api.h"

namespace liaison::site {

namespace {

using json::Json;

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

bool expiredAt(schema::Alert::Reader alert, int64_t now) {
  auto expires = parseTimestamp(str(alert.getExpires()));
  return expires && now >= *expires;
}

// The custody report's targets, read in place (an empty object when it has none).
const Json& targetsOf(const Json& custody) {
  static const Json none = Json::object();
  auto it = custody.find("targets");
  return it != custody.end() && it->is_object() ? *it : none;
}

}  // namespace

std::string alertState(const StoredAlert& a, schema::Alert::Reader alert, int64_t now) {
  if (!a.replacedBy.empty()) return a.replacedHow == "cancel" ? "cancelled" : "updated";
  const bool expired = expiredAt(alert, now);
  if (a.outbound) {
    if (a.custody.is_object()) {
      std::string st = a.custody.value("state", "open");
      if (st != "open") return st;
      if (expired) return "expired";
      size_t total = 0, delivered = 0, acked = 0;
      for (const Json& t : targetsOf(a.custody)) {
        ++total;
        std::string ts = t.value("state", "");
        if (ts != "queued") ++delivered;
        if (ts == "acknowledged") ++acked;
      }
      std::string out = std::to_string(delivered) + "/" + std::to_string(total) + " delivered";
      if (acked > 0) out += ", " + std::to_string(acked) + " acknowledged";
      if (a.custody.value("escalated", false)) out += ", escalated";
      return out;
    }
    return expired ? "expired" : "sent";
  }
  if (a.state == "new" && expired) return "expired";
  return a.state;
}

bool alertOpen(const StoredAlert& a, schema::Alert::Reader alert, int64_t now) {
  if (!a.replacedBy.empty()) return false;
  if (expiredAt(alert, now)) return false;
  if (!a.outbound) return a.state == "new";
  if (!a.custody.is_object()) return true;
  if (a.custody.value("state", "open") != "open") return false;
  for (const Json& t : targetsOf(a.custody)) {
    std::string ts = t.value("state", "");
    if (ts == "queued" || ts == "delivered") return true;
  }
  return false;
}

namespace {
// What an update leaves out and the alert it replaces said. Its headline and description are its
// own: they say what changed.
constexpr const char* kCarriedByAnUpdate[] = {
    "status",     "incident",         "category", "event",   "urgency",     "severity",
    "certainty",  "instruction",      "language", "expires", "ackRequired", "ackDeadline",
    "escalateTo", "forwardToInterpol"};

// An update replaces an alert whole (CAP): the fields `update` leaves out are taken from the first
// alert it references, when this site sent it and holds it. An update that names none, or one
// this site does not hold, is left as it is (the broker judges it).
Json withTheReplacedAlertsFields(const SiteService& service, const Json& update) {
  if (!update.is_object() || update.value("msgType", "") != "update") return update;
  auto refs = update.find("references");
  if (refs == update.end() || !refs->is_array() || refs->empty() || !refs->front().is_string()) {
    return update;
  }
  auto stored = service.inbox().get(refs->front().get<std::string>());
  if (!stored || !*stored || !(*stored)->outbound) return update;
  auto item = SignedItem::decodeStored((*stored)->envelope);
  if (!item || item->item.reader().which() != schema::Item::ALERT) return update;
  const Json original = json::alertToJson(item->item.reader().getAlert());
  Json out = update;
  for (const char* key : kCarriedByAnUpdate) {
    if (!out.contains(key) && original.contains(key)) out[key] = original[key];
  }
  return out;
}
}  // namespace

OpResult sendAlert(SiteService& service, const directory::SiteConfig& config,
                   const trust::KeyPair& keys, const Json& body) {
  json::AlertDefaults defaults{json::newUuid(), config.id, formatTimestamp(std::time(nullptr))};
  auto item = json::alertFromJson(withTheReplacedAlertsFields(service, body), defaults, "alert");
  if (!item) return {400, Json{{"error", item.error().message}}};
  const std::string id = str(item->reader().getAlert().getId());
  const std::string msgType = str(item->reader().getAlert().getMsgType());
  Bytes envelope = trust::sign(std::move(item).value(), config.id, keys).encode();
  if (envelope.size() > kMaxEnvelopeBytes) return {413, Json{{"error", "the alert is too large"}}};
  auto outcome = service.sendAlert(std::move(envelope), kSubmitTimeout);
  if (!outcome) {
    spdlog::warn("alert={} not sent: {}", id, outcome.error().message);
    int code = outcome.error().code == Errc::kUnavailable ? 503 : 500;
    return {code, Json{{"error", "alert " + id + " not sent: " + outcome.error().message}}};
  }
  if (!outcome->accepted) {
    spdlog::warn("alert={} refused by the broker ({}): {}", id, outcome->refusal, outcome->detail);
    return {422, Json{{"accepted", false},
                      {"id", id},
                      {"refusal", outcome->refusal},
                      {"detail", outcome->detail}}};
  }
  spdlog::info("alert={} msgType={} accepted by the broker", id, msgType);
  Json out{{"accepted", true}, {"id", id}, {"msgType", msgType}};
  out["custody"] = Json::parse(outcome->custody, nullptr, false);
  return {200, std::move(out)};
}

namespace {
Json alertRowJson(const AlertRow& row) {
  Json x;
  x["id"] = row.id;
  x["direction"] = row.outbound ? "out" : "in";
  x["msgType"] = row.msgType;
  x["sender"] = row.sender;
  x["sent"] = row.sent;
  x["urgency"] = row.urgency;
  x["severity"] = row.severity;
  x["headline"] = row.headline;
  x["receivedAt"] = formatTimestamp(row.receivedAt);
  x["state"] = row.state;
  x["open"] = row.open;
  if (!row.replacedBy.empty()) x["replacedBy"] = row.replacedBy;
  return x;
}

// The rows of every alert held, newest first, at `now`; a row of `before` (the list made last) is
// taken again when its alert's stored record is unchanged and no expiry of it passed in between.
// `until`: lowered to the earliest expiry after `now` of the alerts listed.
Status listRows(const Inbox& inbox, int64_t now, const AlertListCache::Listed* before,
                std::vector<AlertRow>& rows, int64_t& until) {
  std::unordered_map<std::string_view, const AlertRow*> held;
  if (before != nullptr) {
    held.reserve(before->rows.size());
    for (const auto& r : before->rows) held.emplace(r.id, &r);
  }
  auto unchanged = [&](std::string_view id, uint64_t digest) {
    auto it = held.find(id);
    if (it == held.end()) return false;
    const AlertRow& r = *it->second;
    if (r.digest != digest || (now >= r.expires) != (before->builtAt >= r.expires)) return false;
    rows.push_back(r);
    if (r.expires > now) until = std::min(until, r.expires);
    return true;
  };
  auto read = [&](StoredAlert& a, uint64_t digest) {
    auto item = SignedItem::decodeStored(a.envelope);
    if (!item || item->item.reader().which() != schema::Item::ALERT) return;
    auto alert = item->item.reader().getAlert();
    AlertRow& r = rows.emplace_back();
    if (auto expires = parseTimestamp(str(alert.getExpires()))) r.expires = *expires;
    if (r.expires > now) until = std::min(until, r.expires);
    r.digest = digest;
    r.id = std::move(a.id);
    r.outbound = a.outbound;
    r.msgType = str(alert.getMsgType());
    r.sender = str(alert.getSender().getSite());
    r.sent = str(alert.getSent());
    r.urgency = str(alert.getUrgency());
    r.severity = str(alert.getSeverity());
    r.headline = str(alert.getHeadline());
    r.receivedAt = a.receivedAt;
    r.state = alertState(a, alert, now);
    r.open = alertOpen(a, alert, now);
    r.replacedBy = std::move(a.replacedBy);
  };
  LIAISON_TRY(inbox.visitChanged(unchanged, read));
  std::stable_sort(rows.begin(), rows.end(), [](const AlertRow& x, const AlertRow& y) {
    return x.receivedAt > y.receivedAt;
  });
  return {};
}
}  // namespace

const std::string& AlertListCache::Listed::version() const {
  std::call_once(made_, [&] {
    // Every field a row shows follows from its alert (whose envelope never changes), its stored
    // record and the time: the id, the record's digest and what the time made of it say it all.
    std::string shown;
    for (const auto& r : rows) {
      shown += r.id;
      shown.push_back('\0');
      shown.append(reinterpret_cast<const char*>(&r.digest), sizeof r.digest);
      shown += r.state;
      shown.push_back(r.open ? '\1' : '\0');
    }
    char hash[24];
    std::snprintf(hash, sizeof hash, "%016zx", std::hash<std::string>{}(shown));
    version_ = hash;
  });
  return version_;
}

namespace {
// {"alerts": [rows[from..] that pass, at most `limit`], "next"?: the last one's id when another
// that passes follows}.
std::string rowsJson(const std::vector<AlertRow>& rows, size_t from, bool onlyOpen, size_t limit) {
  std::string out = "{\"alerts\":[";
  size_t written = 0;
  const AlertRow* last = nullptr;
  bool more = false;
  for (size_t k = from; k < rows.size(); ++k) {
    const AlertRow& r = rows[k];
    if (onlyOpen && !r.open) continue;
    if (written == limit) {
      more = true;
      break;
    }
    if (written++ > 0) out.push_back(',');
    out += alertRowJson(r).dump(-1, ' ', false, Json::error_handler_t::replace);
    last = &r;
  }
  out += "]";
  if (more && last != nullptr) out += ",\"next\":" + Json(last->id).dump();
  return out + "}";
}
}  // namespace

std::string AlertListCache::Listed::json(bool onlyOpen) const {
  if (onlyOpen) return rowsJson(rows, 0, true, SIZE_MAX);
  std::call_once(wrote_, [&] { json_ = rowsJson(rows, 0, false, SIZE_MAX); });
  return json_;
}

std::optional<std::string> AlertListCache::Listed::page(bool onlyOpen, const std::string& before,
                                                        size_t limit) const {
  size_t from = 0;
  if (!before.empty()) {
    auto it =
        std::find_if(rows.begin(), rows.end(), [&](const AlertRow& r) { return r.id == before; });
    if (it == rows.end()) return std::nullopt;
    from = static_cast<size_t>(it - rows.begin()) + 1;
  }
  return rowsJson(rows, from, onlyOpen, limit);
}

std::shared_ptr<const AlertListCache::Listed> AlertListCache::get(const Inbox& inbox, int64_t now) {
  std::lock_guard lock(mutex_);
  // Read before the list: a write in between makes the next call list again.
  const uint64_t version = inbox.version();
  if (listed_ && version == inboxVersion_ && now < until_) return listed_;
  auto before = std::move(listed_);
  auto listed = std::make_shared<Listed>();
  listed->builtAt = now;
  int64_t until = INT64_MAX;
  if (auto st = listRows(inbox, now, before.get(), listed->rows, until); !st) {
    listed->error = st.error().message;
    listed->rows.clear();
    until = now;  // an error is not kept
  }
  for (const auto& r : listed->rows) {
    if (r.open && !r.outbound) ++listed->openInbound;
  }
  listed_ = listed;
  inboxVersion_ = version;
  until_ = until;
  return listed_;
}

OpResult showAlert(SiteService& service, const std::string& id, int waitMs, int64_t now) {
  auto stored = service.inbox().get(id);
  if (!stored) return {500, Json{{"error", stored.error().message}}};
  bool live = false;
  if (!*stored || (*stored)->outbound) {
    // The broker knows every target's state now; a site that sent an alert and lost it on a
    // crash gets it back from the report too.
    auto report = service.alertStatus(id, std::chrono::milliseconds(waitMs));
    if (report && report->accepted) {
      live = true;
      stored = service.inbox().get(id);
      if (!stored) return {500, Json{{"error", stored.error().message}}};
    }
  }
  if (!*stored) return {404, Json{{"error", "no alert " + id + " at this site"}}};
  const StoredAlert& a = **stored;
  auto item = SignedItem::decodeStored(a.envelope);
  if (!item || item->item.reader().which() != schema::Item::ALERT) {
    return {500, Json{{"error", "alert " + id + " is damaged in the inbox"}}};
  }
  auto alert = item->item.reader().getAlert();
  auto answers = service.inbox().answers(id);
  if (!answers) return {500, Json{{"error", answers.error().message}}};
  Json out;
  out["alert"] = json::alertToJson(alert);
  out["direction"] = a.outbound ? "out" : "in";
  out["state"] = alertState(a, alert, now);
  out["open"] = alertOpen(a, alert, now);
  out["receivedAt"] = formatTimestamp(a.receivedAt);
  if (!a.replacedBy.empty()) out["replacedBy"] = a.replacedBy;
  out["custody"] = a.custody;
  out["live"] = live;
  Json list = Json::array();
  for (const auto& env : *answers) {
    auto ack = SignedItem::decodeStored(env);
    if (ack && ack->item.reader().which() == schema::Item::ACK) {
      list.push_back(json::ackToJson(ack->item.reader().getAck()));
    }
  }
  out["answers"] = std::move(list);
  return {200, std::move(out)};
}

OpResult answerAlert(SiteService& service, const std::string& id, const std::string& by,
                     const std::string& comment, bool decline) {
  std::string kind(decline ? json::kDeclined : json::kAcknowledged);
  auto key = service.answerAlert(id, kind, by, comment);
  if (!key) {
    const Error& e = key.error();
    int code = e.code == Errc::kNotFound ? 404 : e.code == Errc::kInvalidInput ? 400 : 503;
    return {code, Json{{"error", e.message}}};
  }
  // Wait a little for the broker's verdict (not at all when it is unreachable); the answer is
  // stored and will go anyway.
  auto until = std::chrono::steady_clock::now() +
               (service.status().connected ? std::chrono::seconds(10) : std::chrono::seconds(0));
  while (std::chrono::steady_clock::now() < until) {
    if (auto outcome = service.answerOutcome(*key)) {
      if (outcome->empty()) return {200, Json{{"accepted", true}, {"id", id}, {"kind", kind}}};
      return {422, Json{{"accepted", false}, {"id", id}, {"kind", kind}, {"detail", *outcome}}};
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return {202, Json{{"accepted", false},
                    {"queued", true},
                    {"id", id},
                    {"kind", kind},
                    {"detail",
                     "stored at this site; the broker has not confirmed it yet and it "
                     "will be sent as soon as the broker is reachable"}}};
}

}  // namespace liaison::site
