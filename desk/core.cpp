#include "desk/core.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>

#include "common/files.h"

namespace liaison::desk {

namespace {

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

// Length of the valid UTF-8 sequence starting at s[i], or 0 when it is not one.
size_t utf8Length(std::string_view s, size_t i) {
  auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  unsigned char c = b(i);
  if (c < 0x80) return 1;
  size_t n = c >= 0xF0 && c <= 0xF4 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 && c < 0xE0 ? 2 : 0;
  if (n == 0 || c > 0xF4 || i + n > s.size()) return 0;
  for (size_t k = 1; k < n; ++k) {
    if ((b(i + k) & 0xC0) != 0x80) return 0;
  }
  // Overlong three- and four-byte forms, surrogates, and code points above U+10FFFF.
  if (n == 3 && c == 0xE0 && b(i + 1) < 0xA0) return 0;
  if (n == 3 && c == 0xED && b(i + 1) >= 0xA0) return 0;
  if (n == 4 && c == 0xF0 && b(i + 1) < 0x90) return 0;
  if (n == 4 && c == 0xF4 && b(i + 1) >= 0x90) return 0;
  return n;
}

// %-decodes one name or value; '+' is a space.
Result<std::string> decodeComponent(std::string_view in, std::string_view what) {
  std::string out;
  out.reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '+') {
      out.push_back(' ');
    } else if (c == '%') {
      int hi = i + 2 < in.size() ? hexValue(in[i + 1]) : -1;
      int lo = i + 2 < in.size() ? hexValue(in[i + 2]) : -1;
      if (hi < 0 || lo < 0) {
        return makeError(Errc::kInvalidInput, std::string(what) + ": a malformed %-escape");
      }
      out.push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else {
      out.push_back(c);
    }
  }
  return out;
}

bool validName(std::string_view name) {
  return !name.empty() && name.size() <= kMaxFieldName &&
         std::all_of(name.begin(), name.end(), [](char c) {
           return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
         });
}

// Valid UTF-8 without control characters other than tab, CR and LF.
bool cleanText(std::string_view s) {
  for (size_t i = 0; i < s.size();) {
    size_t n = utf8Length(s, i);
    if (n == 0) return false;
    if (n == 1) {
      unsigned char c = static_cast<unsigned char>(s[i]);
      if ((c < 0x20 && c != '\t' && c != '\r' && c != '\n') || c == 0x7f) return false;
    }
    i += n;
  }
  return true;
}

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

// ---- Form ------------------------------------------------------------------------------------

std::string Form::get(std::string_view name) const {
  for (const auto& [k, v] : fields_) {
    if (k == name) return v;
  }
  return {};
}

bool Form::has(std::string_view name) const {
  return std::any_of(fields_.begin(), fields_.end(),
                     [&](const auto& f) { return f.first == name; });
}

std::vector<std::string> Form::all(std::string_view name) const {
  std::vector<std::string> out;
  for (const auto& [k, v] : fields_) {
    if (k == name) out.push_back(v);
  }
  return out;
}

Result<Form> parseForm(std::string_view body) {
  if (body.size() > kMaxFormBytes) {
    return makeError(Errc::kInvalidInput,
                     "the form is larger than " + std::to_string(kMaxFormBytes / 1024) + " KiB");
  }
  Form form;
  size_t count = 0;
  while (!body.empty()) {
    size_t amp = body.find('&');
    std::string_view pair = body.substr(0, amp);
    body = amp == std::string_view::npos ? std::string_view{} : body.substr(amp + 1);
    if (pair.empty()) continue;
    if (++count > kMaxFormFields) {
      return makeError(Errc::kInvalidInput,
                       "the form has more than " + std::to_string(kMaxFormFields) + " fields");
    }
    size_t eq = pair.find('=');
    std::string_view rawName = pair.substr(0, eq);
    std::string_view rawValue =
        eq == std::string_view::npos ? std::string_view{} : pair.substr(eq + 1);
    auto name = decodeComponent(rawName.substr(0, kMaxFieldName * 3 + 1), "a field name");
    if (!name) return name.error();
    if (!validName(*name)) {
      return makeError(Errc::kInvalidInput,
                       "a field name that is empty, too long or not [A-Za-z0-9_.-]");
    }
    if (rawValue.size() > kMaxFieldValue * 3) {
      return makeError(Errc::kInvalidInput,
                       *name + ": longer than " + std::to_string(kMaxFieldValue / 1024) + " KiB");
    }
    auto value = decodeComponent(rawValue, *name);
    if (!value) return value.error();
    if (value->size() > kMaxFieldValue) {
      return makeError(Errc::kInvalidInput,
                       *name + ": longer than " + std::to_string(kMaxFieldValue / 1024) + " KiB");
    }
    if (!cleanText(*value)) {
      return makeError(Errc::kInvalidInput, *name + ": not valid UTF-8 text");
    }
    form.add(std::move(name).value(), std::move(value).value());
  }
  return form;
}

// ---- HTML and URLs ---------------------------------------------------------------------------

std::string escapeHtml(std::string_view text) {
  std::string out;
  out.reserve(text.size() + text.size() / 8);
  for (size_t i = 0; i < text.size();) {
    size_t n = utf8Length(text, i);
    if (n == 0) {
      out += "\xEF\xBF\xBD";
      ++i;
      continue;
    }
    if (n > 1) {
      out.append(text.substr(i, n));
      i += n;
      continue;
    }
    switch (char c = text[i++]) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out.push_back(c);
    }
  }
  return out;
}

std::string urlEncode(std::string_view text) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : text) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(kHex[c >> 4]);
      out.push_back(kHex[c & 15]);
    }
  }
  return out;
}

// ---- languages -------------------------------------------------------------------------------

std::string_view langCode(Lang lang) { return lang == Lang::kRu ? "ru" : "en"; }

std::optional<Lang> langFromCode(std::string_view code) {
  std::string c = lower(trim(code));
  std::string primary = c.substr(0, c.find_first_of("-_"));
  if (primary == "en") return Lang::kEn;
  if (primary == "ru") return Lang::kRu;
  return std::nullopt;
}

Lang chooseLang(std::string_view cookie, std::string_view acceptLanguage) {
  if (auto l = langFromCode(cookie); l && !cookie.empty()) return *l;
  std::optional<Lang> best;
  double bestQ = 0;
  size_t ranges = 0;
  while (!acceptLanguage.empty() && ranges++ < 32) {
    size_t comma = acceptLanguage.find(',');
    std::string_view range = acceptLanguage.substr(0, comma);
    acceptLanguage =
        comma == std::string_view::npos ? std::string_view{} : acceptLanguage.substr(comma + 1);
    double q = 1.0;
    size_t semi = range.find(';');
    if (semi != std::string_view::npos) {
      std::string params = lower(range.substr(semi + 1));
      auto qpos = params.find("q=");
      if (qpos != std::string::npos) q = std::strtod(params.c_str() + qpos + 2, nullptr);
      range = range.substr(0, semi);
    }
    auto l = langFromCode(range);
    if (l && q > bestQ) {
      best = l;
      bestQ = q;
    }
  }
  return best.value_or(Lang::kEn);
}

std::string cookieValue(std::string_view header, std::string_view name) {
  while (!header.empty()) {
    size_t semi = header.find(';');
    std::string_view part = trim(header.substr(0, semi));
    header = semi == std::string_view::npos ? std::string_view{} : header.substr(semi + 1);
    size_t eq = part.find('=');
    if (eq != std::string_view::npos && trim(part.substr(0, eq)) == name) {
      return std::string(trim(part.substr(eq + 1)));
    }
  }
  return {};
}

std::string localPath(std::string_view path) {
  if (path.empty() || path.size() > 2000 || path.front() != '/' || path.starts_with("//") ||
      path.starts_with("/\\")) {
    return "/";
  }
  for (unsigned char c : path) {
    if (c < 0x21 || c >= 0x7f || c == '\\') return "/";
  }
  return std::string(path);
}

// ---- sessions --------------------------------------------------------------------------------

void Sessions::expireLocked(int64_t now) {
  for (auto it = codes_.begin(); it != codes_.end();) {
    it = it->second <= now ? codes_.erase(it) : std::next(it);
  }
  for (auto it = sessions_.begin(); it != sessions_.end();) {
    const Session& s = it->second;
    bool over = now - s.seen >= kSessionIdle.count() || now - s.created >= kSessionLifetime.count();
    it = over ? sessions_.erase(it) : std::next(it);
  }
}

Result<std::string> Sessions::newCode() {
  auto code = randomHexToken(32);
  if (!code) return code.error();
  std::lock_guard lock(mu_);
  const int64_t now = clock_.nowSeconds();
  expireLocked(now);
  while (codes_.size() >= kMaxCodes) {
    auto oldest = std::min_element(codes_.begin(), codes_.end(), [](const auto& a, const auto& b) {
      return a.second < b.second;
    });
    codes_.erase(oldest);
  }
  codes_[*code] = now + kCodeLifetime.count();
  return code;
}

std::optional<Session> Sessions::signIn(std::string_view code) {
  auto id = randomHexToken(32);
  auto csrf = randomHexToken(32);
  if (!id || !csrf) return std::nullopt;
  std::lock_guard lock(mu_);
  const int64_t now = clock_.nowSeconds();
  expireLocked(now);
  // Compare in constant time against every live code (a handful at most).
  auto found = codes_.end();
  for (auto it = codes_.begin(); it != codes_.end(); ++it) {
    if (sameSecret(code, it->first)) found = it;
  }
  if (found == codes_.end()) return std::nullopt;
  codes_.erase(found);
  while (sessions_.size() >= kMaxSessions) {
    auto oldest = std::min_element(
        sessions_.begin(), sessions_.end(),
        [](const auto& a, const auto& b) { return a.second.seen < b.second.seen; });
    sessions_.erase(oldest);
  }
  Session s{*id, *csrf, {}, now, now};
  sessions_[s.id] = s;
  return s;
}

std::optional<Session> Sessions::touch(std::string_view id) {
  if (id.size() != 64) return std::nullopt;
  std::lock_guard lock(mu_);
  const int64_t now = clock_.nowSeconds();
  expireLocked(now);
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return std::nullopt;
  it->second.seen = now;
  return it->second;
}

void Sessions::remember(std::string_view id, std::string person) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) it->second.person = std::move(person);
}

void Sessions::signOut(std::string_view id) {
  std::lock_guard lock(mu_);
  auto it = sessions_.find(id);
  if (it != sessions_.end()) sessions_.erase(it);
}

size_t Sessions::size() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

}  // namespace liaison::desk
