// The Interpol adapter's pure decisions (no daemon, no store): what to do with the NCB gateway's
// answer, and how a page of the notices API is read and turned into `notice` records.
#pragma once

#include <chrono>
#include <cstdint>
#include <random>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "adapters/http.h"
#include "common/result.h"
#include "schemas/json.h"

namespace liaison::adapters {

struct InterpolOptions {
  std::string gateway;                 // the NCB gateway's URL for alerts ("": no forwarding)
  std::string notices;                 // base URL of the notices API ("": no polling)
  std::vector<std::string> nationalities;
  std::vector<std::string> types = {"yellow", "red"};
  std::chrono::seconds interval{300};  // between polls
  HttpOptions http;
  int64_t firstRetryMs = 1000;         // backoff: doubles from this, with jitter, up to maxRetryMs
  int64_t maxRetryMs = 300000;
  size_t maxPages = 200;               // per type and nationality
};

// `s` cut to `max` bytes, control characters blanked: for messages built from what a server sent.
std::string printable(std::string_view s, size_t max = 200);

// What to do with the gateway's answer to attempt number `attempt` (1-based).
struct Verdict {
  enum Kind { kAccepted, kRetry, kDeclined } kind = kRetry;
  int64_t delayMs = 0;    // kRetry: wait this long
  std::string reason;     // kRetry / kDeclined: for logs, status and the declined answer
  std::string reference;  // kAccepted: the gateway's reference for the alert
};
Verdict judge(const std::variant<HttpAnswer, HttpError>& result, uint32_t attempt,
              const InterpolOptions& options, std::mt19937_64& rng);

// One page of the notices API, checked field by field. Notices that fail a check are skipped
// and counted; a page whose shape is wrong is an error.
struct NoticeEntry {
  std::string entityId, forename, name, dateOfBirth, link;
  std::vector<std::string> nationalities;
};
struct NoticePage {
  std::vector<NoticeEntry> notices;
  size_t skipped = 0;
  std::string next;  // `_links.next.href`, "" on the last page
  int64_t total = -1;
};
Result<NoticePage> parseNoticePage(std::string_view body);
// The record id of a notice ("notice-yellow-2026-12345") and its JSON form.
std::string noticeRecordId(const std::string& type, const std::string& entityId);
json::Json noticeJson(const std::string& type, const NoticeEntry& n, uint64_t revision,
                      const std::string& fetchedAt);

}  // namespace liaison::adapters
