// Time-dependent facts about a contact: available now, stale. ICU answers time zone questions.
#include <unicode/timezone.h>
#include <unicode/unistr.h>

#include <map>
#include <memory>
#include <mutex>

#include "common/clock.h"
#include "directory/directory.h"
#include "schemas/vocab.h"

namespace liaison::directory {

namespace {

std::string_view sv(capnp::Text::Reader t) { return {t.begin(), t.size()}; }

// ICU time zones by name, made once per thread (making one costs microseconds; a search
// looks at many contacts in few zones). nullptr for a zone ICU does not know.
const icu::TimeZone* zoneNamed(std::string_view zone) {
  thread_local std::map<std::string, std::unique_ptr<icu::TimeZone>, std::less<>> cache;
  auto it = cache.find(zone);
  if (it != cache.end()) return it->second.get();
  std::unique_ptr<icu::TimeZone> tz(icu::TimeZone::createTimeZone(
      icu::UnicodeString::fromUTF8(icu::StringPiece(zone.data(), static_cast<int32_t>(zone.size())))));
  if (tz) {
    icu::UnicodeString id;
    tz->getID(id);
    if (id == icu::UnicodeString("Etc/Unknown")) tz.reset();
  }
  if (cache.size() > 1024) cache.clear();  // bounded: zone names come from records
  return cache.emplace(std::string(zone), std::move(tz)).first->second.get();
}

// Offset from UTC in seconds of `zone` at `now`; nullopt for an unknown zone.
std::optional<int64_t> zoneOffset(std::string_view zone, int64_t now) {
  const icu::TimeZone* tz = zoneNamed(zone);
  if (tz == nullptr) return std::nullopt;
  int32_t raw = 0, dst = 0;
  UErrorCode status = U_ZERO_ERROR;
  tz->getOffset(static_cast<UDate>(now) * 1000.0, false, raw, dst, status);
  if (U_FAILURE(status)) return std::nullopt;
  return (raw + dst) / 1000;
}

}  // namespace

bool knownTimeZone(std::string_view zone) { return zoneOffset(zone, 0).has_value(); }

std::optional<int64_t> zoneOffsetAt(std::string_view zone, int64_t now) { return zoneOffset(zone, now); }

bool isStale(schema::Contact::Reader contact, int64_t now) {
  auto due = parseDate(sv(contact.getVerification().getReviewDue()));
  return due && *due < daysOf(now);
}

bool availableAt(schema::Contact::Reader contact, int64_t now) {
  auto a = contact.getAvailability();
  auto away = parseDate(sv(a.getOutOfOfficeUntil()));
  auto offset = a.getTimezone().size() > 0 ? zoneOffset(sv(a.getTimezone()), now) : std::nullopt;
  int64_t local = now + offset.value_or(0);
  if (away && *away >= daysOf(local)) return false;
  if (a.getAlways()) return true;
  auto hours = vocab::parseOpeningHours(sv(a.getHours()));
  if (!hours || !offset) return false;
  if (hours->always) return true;
  int64_t days = daysOf(local);
  int weekday = static_cast<int>(((days % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday (3)
  int minute = static_cast<int>((local - days * 86400) / 60);
  return hours->openAt(weekday, minute);
}

std::vector<std::string> countryLanguages(std::string_view country) {
  static const std::map<std::string_view, std::vector<std::string>> kLanguages = {
      {"AM", {"hy", "ru"}}, {"AZ", {"az", "ru"}}, {"GE", {"ka", "ru"}}, {"KG", {"ky", "ru"}},
      {"KZ", {"kk", "ru"}}, {"TJ", {"tg", "ru"}}, {"TM", {"tk", "ru"}}, {"UZ", {"uz", "ru"}},
      {"RU", {"ru"}},       {"BN", {"ms", "en"}}, {"KH", {"km"}},       {"ID", {"id"}},
      {"LA", {"lo"}},       {"MY", {"ms", "en"}}, {"MM", {"my"}},       {"PH", {"fil", "en"}},
      {"SG", {"en", "ms", "zh", "ta"}},         {"TH", {"th"}},       {"VN", {"vi"}},
      {"TL", {"tet", "pt"}}, {"BD", {"bn"}},      {"LK", {"si", "ta"}}, {"NP", {"ne"}},
      {"IN", {"hi", "en"}}, {"CN", {"zh"}},
  };
  auto it = kLanguages.find(country);
  if (it == kLanguages.end()) return {};
  return it->second;
}

}  // namespace liaison::directory
