#include "adapters/notices.h"

#include <algorithm>

#include "common/encoding.h"
#include "schemas/vocab.h"

namespace liaison::adapters {

namespace {

using json::Json;

bool isEntityId(std::string_view id) {
  auto slash = id.find('/');
  if (slash != 4 || id.size() < 6 || id.size() > 24) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    if (i != slash && (id[i] < '0' || id[i] > '9')) return false;
  }
  return true;
}

std::optional<std::string> textField(const Json& o, const char* key, size_t max) {
  auto it = o.find(key);
  if (it == o.end() || it->is_null()) return std::string();
  if (!it->is_string() || it->get_ref<const std::string&>().size() > max) return std::nullopt;
  return it->get<std::string>();
}

}  // namespace

std::string printable(std::string_view s, size_t max) {
  std::string out;
  for (char c : s.substr(0, max)) out.push_back(static_cast<unsigned char>(c) < 0x20 ? ' ' : c);
  if (!isValidUtf8(out)) return "(not UTF-8)";
  return out;
}

Verdict judge(const std::variant<HttpAnswer, HttpError>& result, uint32_t attempt,
              const InterpolOptions& o, std::mt19937_64& rng) {
  int64_t backoff = o.firstRetryMs;
  for (uint32_t i = 1; i < attempt && backoff < o.maxRetryMs; ++i) backoff *= 2;
  backoff = std::min(backoff, o.maxRetryMs);
  // Jitter: somewhere in the upper half, so that many adapters do not retry in step.
  int64_t jittered = backoff / 2 + static_cast<int64_t>(rng() % static_cast<uint64_t>(backoff / 2 + 1));
  Verdict v;
  if (const auto* e = std::get_if<HttpError>(&result)) {
    v.kind = Verdict::kRetry;
    v.delayMs = jittered;
    v.reason = e->message;
    return v;
  }
  const auto& a = std::get<HttpAnswer>(result);
  if (a.status >= 200 && a.status < 300) {
    v.kind = Verdict::kAccepted;
    auto body = Json::parse(a.body, nullptr, false);
    if (body.is_object()) {
      for (const char* key : {"reference", "id"}) {
        if (body.contains(key) && body[key].is_string()) {
          v.reference = printable(body[key].get<std::string>(), 128);
          break;
        }
      }
    }
    return v;
  }
  std::string what = "HTTP " + std::to_string(a.status) + (a.body.empty() ? "" : ": " + printable(a.body));
  if (a.status == 429 || a.status == 408 || a.status >= 500) {
    v.kind = Verdict::kRetry;
    v.delayMs = a.status == 429 && a.retryAfterSeconds ? std::min(*a.retryAfterSeconds * 1000, o.maxRetryMs) : jittered;
    v.reason = what;
    return v;
  }
  v.kind = Verdict::kDeclined;  // the gateway said no; asking again will not change it
  v.reason = what;
  return v;
}

Result<NoticePage> parseNoticePage(std::string_view body) {
  auto j = Json::parse(body, nullptr, false);
  if (j.is_discarded()) return makeError(Errc::kInvalidInput, "the notices answer is not JSON");
  if (!j.is_object()) return makeError(Errc::kInvalidInput, "the notices answer is not a JSON object");
  NoticePage page;
  if (j.contains("total") && j["total"].is_number_integer()) page.total = j["total"].get<int64_t>();
  auto emb = j.find("_embedded");
  if (emb == j.end() || !emb->is_object() || !emb->contains("notices") || !(*emb)["notices"].is_array()) {
    return makeError(Errc::kInvalidInput, "the notices answer has no _embedded.notices list");
  }
  for (const auto& n : (*emb)["notices"]) {
    if (!n.is_object()) {
      ++page.skipped;
      continue;
    }
    NoticeEntry e;
    auto id = textField(n, "entity_id", 32);
    auto forename = textField(n, "forename", json::kMaxShortText);
    auto name = textField(n, "name", json::kMaxShortText);
    auto dob = textField(n, "date_of_birth", 32);
    if (!id || !isEntityId(*id) || !forename || !name || !dob || (forename->empty() && name->empty())) {
      ++page.skipped;
      continue;
    }
    e.entityId = *id;
    e.forename = *forename;
    e.name = *name;
    e.dateOfBirth = *dob;
    if (n.contains("nationalities") && n["nationalities"].is_array()) {
      for (const auto& c : n["nationalities"]) {
        if (c.is_string() && vocab::isCountry(c.get<std::string>()) && e.nationalities.size() < 16) {
          e.nationalities.push_back(c.get<std::string>());
        }
      }
    }
    if (n.contains("_links") && n["_links"].is_object() && n["_links"].contains("self") &&
        n["_links"]["self"].is_object() && n["_links"]["self"].contains("href") &&
        n["_links"]["self"]["href"].is_string() && n["_links"]["self"]["href"].get_ref<const std::string&>().size() <= 1024) {
      e.link = n["_links"]["self"]["href"].get<std::string>();
    }
    page.notices.push_back(std::move(e));
  }
  if (j.contains("_links") && j["_links"].is_object() && j["_links"].contains("next") &&
      j["_links"]["next"].is_object() && j["_links"]["next"].contains("href") &&
      j["_links"]["next"]["href"].is_string()) {
    page.next = j["_links"]["next"]["href"].get<std::string>();
    if (page.next.size() > 2048) return makeError(Errc::kInvalidInput, "the notices answer's next link is too long");
  }
  return page;
}

std::string noticeRecordId(const std::string& type, const std::string& entityId) {
  std::string id = "notice-" + type + "-" + entityId;
  std::replace(id.begin(), id.end(), '/', '-');
  return id;
}

Json noticeJson(const std::string& type, const NoticeEntry& n, uint64_t revision, const std::string& fetchedAt) {
  Json j;
  j["kind"] = "notice";
  j["id"] = noticeRecordId(type, n.entityId);
  j["revision"] = revision;
  j["noticeType"] = type;
  j["entityId"] = n.entityId;
  if (!n.forename.empty()) j["forename"] = n.forename;
  if (!n.name.empty()) j["name"] = n.name;
  if (!n.dateOfBirth.empty()) j["dateOfBirth"] = n.dateOfBirth;
  j["nationalities"] = n.nationalities;
  if (!n.link.empty()) j["link"] = n.link;
  if (!fetchedAt.empty()) j["fetchedAt"] = fetchedAt;
  return j;
}

}  // namespace liaison::adapters
