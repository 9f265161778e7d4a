#include "schemas/vocab.h"

#include <algorithm>
#include <cctype>

namespace liaison::vocab {

namespace {

constexpr std::string_view kCountries =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI BJ BL BM BN BO BQ "
    "BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN CO CR CU CV CW CX CY CZ DE DJ DK DM "
    "DO DZ EC EE EG EH ER ES ET FI FJ FK FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS "
    "GT GU GW GY HK HM HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK ML MM MN MO MP MQ "
    "MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP NR NU NZ OM PA PE PF PG PH PK PL PM "
    "PN PR PS PT PW PY QA RE RO RS RU RW SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV "
    "SX SY SZ TC TD TF TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

// ISO 639-1, plus the ISO 639-2/3 codes used in the two regions that have no 639-1 code.
constexpr std::string_view kLanguages =
    "aa ab ae af ak am an ar as av ay az ba be bg bh bi bm bn bo br bs ca ce ch co cr cs cu cv "
    "cy da de dv dz ee el en eo es et eu fa ff fi fj fo fr fy ga gd gl gn gu gv ha he hi ho hr "
    "ht hu hy hz ia id ie ig ii ik io is it iu ja jv ka kg ki kj kk kl km kn ko kr ks ku kv kw "
    "ky la lb lg li ln lo lt lu lv mg mh mi mk ml mn mr ms mt my na nb nd ne ng nl nn no nr nv "
    "ny oc oj om or os pa pi pl ps pt qu rm rn ro ru rw sa sc sd se sg si sk sl sm sn so sq sr "
    "ss st su sv sw ta te tg th ti tk tl tn to tr ts tt tw ty ug uk ur uz ve vi vo wa wo xh yi "
    "yo za zh zu fil tet ceb hil ilo jv mnw shn kac ksw tdt lus ace ban bug min mad sas yue "
    "hak nan cmn kaa krc lez tab ava";

constexpr std::string_view kRoles[] = {
    "prosecutor",    "central-authority",     "investigator",
    "interpol-ncb",  "judge",                 "liaison-officer",
    "network-contact-point", "victim-services", "secretariat"};
constexpr std::string_view kCompetences[] = {
    "mla", "extradition", "joint-investigation", "spontaneous-information",
    "asset-recovery", "transfer-of-sentenced-persons", "video-hearing"};
constexpr std::string_view kKnownBases[] = {"UNTOC", "UNCAC", "Minsk-1993", "Chisinau-2002",
                                            "ASEAN-MLAT"};

bool inList(std::string_view word, std::string_view list) {
  if (word.empty() || word.find(' ') != std::string_view::npos) return false;
  size_t pos = 0;
  while ((pos = list.find(word, pos)) != std::string_view::npos) {
    bool startOk = pos == 0 || list[pos - 1] == ' ';
    bool endOk = pos + word.size() == list.size() || list[pos + word.size()] == ' ';
    if (startOk && endOk) return true;
    pos += 1;
  }
  return false;
}

template <size_t N>
bool inArray(std::string_view word, const std::string_view (&arr)[N]) {
  return std::find(std::begin(arr), std::end(arr), word) != std::end(arr);
}

bool isLower(char c) { return c >= 'a' && c <= 'z'; }
bool isUpper(char c) { return c >= 'A' && c <= 'Z'; }
bool isDigit(char c) { return c >= '0' && c <= '9'; }
bool isAlnum(char c) { return isLower(c) || isUpper(c) || isDigit(c); }

std::vector<std::string_view> split(std::string_view s, char sep) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (;;) {
    size_t end = s.find(sep, start);
    out.push_back(s.substr(start, end == std::string_view::npos ? s.npos : end - start));
    if (end == std::string_view::npos) break;
    start = end + 1;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return s;
}

}  // namespace

bool isCountry(std::string_view code) {
  return code.size() == 2 && isUpper(code[0]) && isUpper(code[1]) && inList(code, kCountries);
}

bool isLanguageTag(std::string_view tag) {
  auto parts = split(tag, '-');
  if (parts.empty() || parts.size() > 3) return false;
  std::string_view lang = parts[0];
  if (lang.size() < 2 || lang.size() > 3 || !std::all_of(lang.begin(), lang.end(), isLower)) {
    return false;
  }
  if (!inList(lang, kLanguages)) return false;
  size_t i = 1;
  if (i < parts.size() && parts[i].size() == 4) {  // script, e.g. Cyrl
    auto s = parts[i];
    if (!isUpper(s[0]) || !std::all_of(s.begin() + 1, s.end(), isLower)) return false;
    ++i;
  }
  if (i < parts.size()) {  // region, e.g. KG or 419
    auto r = parts[i];
    bool alpha = r.size() == 2 && isCountry(r);
    bool numeric = r.size() == 3 && std::all_of(r.begin(), r.end(), isDigit);
    if (!alpha && !numeric) return false;
    ++i;
  }
  return i == parts.size();
}

bool isRole(std::string_view role) { return inArray(role, kRoles); }
bool isCompetence(std::string_view c) { return inArray(c, kCompetences); }
bool isStatus(std::string_view s) { return s == "active" || s == "suspended" || s == "retired"; }
bool isContactKind(std::string_view k) {
  return k == "person" || k == "desk" || k == "authority";
}
bool isBody(std::string_view b) { return b == "central" || b == "territorial"; }
bool isChannelKind(std::string_view k) {
  return k == "email" || k == "phone" || k == "mobile" || k == "fax" ||
         k == "secure-messaging" || k == "i24-7" || k == "post";
}
bool isPeeringKind(std::string_view k) {
  return k == "contact" || k == "instrument" || k == "notice" || k == "alert" || k == "request";
}

bool isMemberRole(std::string_view r) {
  return r == "authority" || r == "secretariat" || r == "adapter" || r == "broker" ||
         r == "bridge";
}

bool isTopic(std::string_view topic) {
  if (topic.empty() || topic.size() > 64 || topic.front() == '-' || topic.back() == '-') {
    return false;
  }
  char prev = 0;
  for (char c : topic) {
    if (!(isLower(c) || isDigit(c) || c == '-')) return false;
    if (c == '-' && prev == '-') return false;
    prev = c;
  }
  return true;
}

bool isNetwork(std::string_view n) {
  if (n.size() < 2 || n.size() > 32 || !(isUpper(n[0]) || isLower(n[0]))) return false;
  return std::all_of(n.begin(), n.end(), [](char c) { return isAlnum(c) || c == '-'; });
}

bool isLegalBasis(std::string_view basis) {
  if (inArray(basis, kKnownBases)) return true;
  if (basis.starts_with("bilateral:")) return isCountry(basis.substr(10));
  // Another instrument published by a secretariat: an instrument id of letters, digits and -.
  if (basis.empty() || basis.size() > 64 || !isAlnum(basis[0])) return false;
  return std::all_of(basis.begin(), basis.end(), [](char c) { return isAlnum(c) || c == '-'; });
}

bool isRecordId(std::string_view id) {
  if (id.empty() || id.size() > 128 || !isAlnum(id[0])) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return isAlnum(c) || c == '.' || c == '_' || c == ':' || c == '/' || c == '-';
  });
}

bool isSiteId(std::string_view id) {
  if (id.empty() || id.size() > 63 || !(isLower(id[0]) || isDigit(id[0]))) return false;
  return std::all_of(id.begin(), id.end(),
                     [](char c) { return isLower(c) || isDigit(c) || c == '-'; });
}

bool isTimeZoneName(std::string_view zone) {
  if (zone == "UTC") return true;
  auto parts = split(zone, '/');
  if (parts.size() < 2 || parts.size() > 3 || zone.size() > 64) return false;
  for (auto p : parts) {
    if (p.empty() || !isUpper(p[0])) return false;
    if (!std::all_of(p.begin(), p.end(),
                     [](char c) { return isAlnum(c) || c == '_' || c == '-' || c == '+'; })) {
      return false;
    }
  }
  return true;
}

bool isEmail(std::string_view v) {
  if (v.size() < 3 || v.size() > 254) return false;
  size_t at = v.find('@');
  if (at == 0 || at == v.npos || v.find('@', at + 1) != v.npos) return false;
  auto local = v.substr(0, at);
  auto domain = v.substr(at + 1);
  if (local.size() > 64 || domain.size() < 3 || domain.find('.') == domain.npos) return false;
  if (domain.front() == '.' || domain.back() == '.' || domain.find("..") != domain.npos) {
    return false;
  }
  auto okLocal = [](char c) {
    return isAlnum(c) || std::string_view(".!#$%&'*+/=?^_`{|}~-").find(c) != std::string_view::npos;
  };
  auto okDomain = [](char c) { return isAlnum(c) || c == '.' || c == '-'; };
  return std::all_of(local.begin(), local.end(), okLocal) &&
         std::all_of(domain.begin(), domain.end(), okDomain);
}

bool isPhone(std::string_view v) {
  if (v.size() < 2 || v.size() > 32 || v[0] != '+') return false;
  int digits = 0;
  for (char c : v.substr(1)) {
    if (isDigit(c)) {
      ++digits;
    } else if (c != ' ' && c != '-' && c != '(' && c != ')') {
      return false;
    }
  }
  return digits >= 7 && digits <= 15 && isDigit(v[1]);
}

std::span<const std::string_view> roles() { return kRoles; }
std::span<const std::string_view> competences() { return kCompetences; }

bool OpeningHours::openAt(int weekday, int minuteOfDay) const {
  if (always) return true;
  if (weekday < 0 || weekday > 6) return false;
  for (auto [from, to] : intervals[static_cast<size_t>(weekday)]) {
    if (minuteOfDay >= from && minuteOfDay < to) return true;
  }
  return false;
}

namespace {
int dayIndex(std::string_view d) {
  static constexpr std::string_view kDays[] = {"Mo", "Tu", "We", "Th", "Fr", "Sa", "Su"};
  for (int i = 0; i < 7; ++i) {
    if (kDays[i] == d) return i;
  }
  return -1;
}
std::optional<int> minutes(std::string_view hhmm) {
  if (hhmm.size() != 5 || hhmm[2] != ':' || !isDigit(hhmm[0]) || !isDigit(hhmm[1]) ||
      !isDigit(hhmm[3]) || !isDigit(hhmm[4])) {
    return std::nullopt;
  }
  int h = (hhmm[0] - '0') * 10 + (hhmm[1] - '0');
  int m = (hhmm[3] - '0') * 10 + (hhmm[4] - '0');
  if (h > 24 || m > 59 || (h == 24 && m != 0)) return std::nullopt;
  return h * 60 + m;
}
}  // namespace

std::optional<OpeningHours> parseOpeningHours(std::string_view text) {
  OpeningHours out;
  text = trim(text);
  if (text.empty() || text.size() > 256) return std::nullopt;
  if (text == "24/7") {
    out.always = true;
    return out;
  }
  for (auto rule : split(text, ';')) {
    rule = trim(rule);
    if (rule.empty()) continue;
    size_t space = rule.find(' ');
    if (space == rule.npos) return std::nullopt;
    auto daysPart = rule.substr(0, space);
    auto timesPart = trim(rule.substr(space + 1));
    std::array<bool, 7> days{};
    for (auto item : split(daysPart, ',')) {
      size_t dash = item.find('-');
      int from = dayIndex(dash == item.npos ? item : item.substr(0, dash));
      int to = dash == item.npos ? from : dayIndex(item.substr(dash + 1));
      if (from < 0 || to < 0) return std::nullopt;
      for (int d = from;; d = (d + 1) % 7) {  // wraps: Sa-Mo
        days[static_cast<size_t>(d)] = true;
        if (d == to) break;
      }
    }
    std::vector<std::pair<int, int>> spans;
    if (timesPart != "off") {
      for (auto range : split(timesPart, ',')) {
        range = trim(range);
        size_t dash = range.find('-');
        if (dash == range.npos) return std::nullopt;
        auto from = minutes(range.substr(0, dash));
        auto to = minutes(range.substr(dash + 1));
        if (!from || !to || *from >= *to) return std::nullopt;
        spans.emplace_back(*from, *to);
      }
    }
    for (size_t d = 0; d < 7; ++d) {
      if (days[d]) out.intervals[d] = spans;
    }
  }
  return out;
}

std::optional<int64_t> parseDuration(std::string_view text) {
  if (text.size() < 3 || text.size() > 32 || text[0] != 'P') return std::nullopt;
  int64_t total = 0;
  int64_t number = -1;
  bool inTime = false;
  bool any = false;
  for (size_t i = 1; i < text.size(); ++i) {
    char c = text[i];
    if (isDigit(c)) {
      number = (number < 0 ? 0 : number) * 10 + (c - '0');
      if (number > 100000000) return std::nullopt;
      continue;
    }
    if (c == 'T') {
      if (inTime || number >= 0) return std::nullopt;
      inTime = true;
      continue;
    }
    if (number < 0) return std::nullopt;
    int64_t unit = 0;
    if (!inTime && c == 'D') unit = 86400;
    if (!inTime && c == 'W') unit = 7 * 86400;
    if (inTime && c == 'H') unit = 3600;
    if (inTime && c == 'M') unit = 60;
    if (inTime && c == 'S') unit = 1;
    if (unit == 0) return std::nullopt;
    total += number * unit;
    number = -1;
    any = true;
  }
  if (number >= 0 || !any) return std::nullopt;
  return total;
}

}  // namespace liaison::vocab
