// The vocabularies and formats of the JSON forms (DESIGN.md, "Data" and "JSON forms").
// Pure functions; no I/O.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace liaison::vocab {

bool isCountry(std::string_view code);         // ISO 3166-1 alpha-2, upper case
bool isLanguageTag(std::string_view tag);      // BCP 47: lang[-Script][-REGION], known ISO 639 lang
bool isRole(std::string_view role);
bool isCompetence(std::string_view competence);
bool isStatus(std::string_view status);
bool isContactKind(std::string_view kind);
bool isBody(std::string_view body);
bool isChannelKind(std::string_view kind);
bool isTopic(std::string_view topic);          // lowercase slug: [a-z0-9]+(-[a-z0-9]+)*
bool isNetwork(std::string_view network);      // [A-Za-z][A-Za-z0-9-]{1,31}
bool isLegalBasis(std::string_view basis);     // a known instrument id, a slug, or bilateral:CC
bool isRecordId(std::string_view id);          // [A-Za-z0-9][A-Za-z0-9._:/-]{0,127}
bool isTimeZoneName(std::string_view zone);    // shape of an IANA name (existence checked later)
bool isEmail(std::string_view value);
bool isPhone(std::string_view value);          // +country digits, spaces, -, (, ), 7–15 digits
bool isMemberRole(std::string_view role);      // authority | secretariat | adapter | broker | bridge
bool isPeeringKind(std::string_view kind);  // contact | instrument | notice | alert | request
bool isSiteId(std::string_view id);            // [a-z0-9][a-z0-9-]{0,62}

std::span<const std::string_view> roles();
std::span<const std::string_view> competences();

// Weekly opening hours in the OpenStreetMap opening_hours subset DESIGN.md names:
// "24/7", or rules separated by ";" of "DAYS HH:MM-HH:MM[,HH:MM-HH:MM]" or "DAYS off", where
// DAYS is "Mo", "Mo-Fr" or a comma list of those. A later rule replaces earlier ones for its days.
struct OpeningHours {
  bool always = false;
  // For each weekday (0 = Monday) the open intervals in minutes since local midnight.
  std::array<std::vector<std::pair<int, int>>, 7> intervals;

  bool openAt(int weekday, int minuteOfDay) const;
};
std::optional<OpeningHours> parseOpeningHours(std::string_view text);

// ISO 8601 duration of the form PnDTnHnMnS (e.g. "PT30M") → seconds.
std::optional<int64_t> parseDuration(std::string_view text);

}  // namespace liaison::vocab
