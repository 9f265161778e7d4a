// The desk's pure core (DESIGN.md, "The desk"): what a browser sends (forms, query strings,
// cookies, Accept-Language) decoded and bounded once, HTML escaping, and the sign-in codes and
// sessions. No sockets and no HTTP library here: the pages (desk/desk.cpp) call these, the tests
// and the fuzz target (fuzz/fuzz_desk_form.cpp) call them directly.
//
// Sessions: `liaison desk` asks the site daemon for a sign-in code (32 random bytes, hex); the
// code is good once, for kCodeLifetime. Exchanged, it becomes a session: an id (the cookie, 32
// random bytes, hex) and a CSRF token every form carries. A session ends after kSessionIdle
// without a request, after kSessionLifetime in any case, or when signed out. Sessions live in
// the daemon's memory: a restart signs everyone out (a new link is one command away). At most
// kMaxSessions at once; the oldest goes first.
// Concurrency: Sessions is safe from any thread (the HTTP workers share it).
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace liaison::desk {

// ---- forms and query strings -------------------------------------------------------------

inline constexpr size_t kMaxFormFields = 200;
inline constexpr size_t kMaxFieldName = 64;
inline constexpr size_t kMaxFieldValue = 64 * 1024;
inline constexpr size_t kMaxFormBytes = 256 * 1024;

// An application/x-www-form-urlencoded body or a query string: fields in the order sent. The
// same name may repeat (checkboxes, multi-selects).
class Form {
 public:
  // The first value of `name`, or "" when absent.
  std::string get(std::string_view name) const;
  bool has(std::string_view name) const;
  std::vector<std::string> all(std::string_view name) const;
  const std::vector<std::pair<std::string, std::string>>& fields() const { return fields_; }
  void add(std::string name, std::string value) {
    fields_.emplace_back(std::move(name), std::move(value));
  }

 private:
  std::vector<std::pair<std::string, std::string>> fields_;
};

// Decodes "a=1&b=x+y&c=%D0%9A". Errors (kInvalidInput, naming the field): more than
// kMaxFormBytes, kMaxFormFields or a field name/value over its limit, a bad %-escape, a name
// that is empty or not [A-Za-z0-9_.-], a value that is not valid UTF-8 or holds a control
// character other than tab, CR and LF. Empty pairs ("a=1&&b=2") are skipped.
[[nodiscard]] Result<Form> parseForm(std::string_view body);

// ---- text into HTML ------------------------------------------------------------------------

// Escapes & < > " ' for use in element text and in double-quoted attribute values. Invalid
// UTF-8 bytes become U+FFFD.
std::string escapeHtml(std::string_view text);
// %-encodes for a URL path segment or query value (RFC 3986 unreserved characters kept).
std::string urlEncode(std::string_view text);

// ---- languages -----------------------------------------------------------------------------

enum class Lang { kEn, kRu };
std::string_view langCode(Lang lang);  // "en", "ru"
std::optional<Lang> langFromCode(std::string_view code);
// The language of the page: the `lang` cookie when it names one we have, else the first of
// Accept-Language's ranges (by q) that we have, else English.
Lang chooseLang(std::string_view cookieValue, std::string_view acceptLanguage);

// The value of cookie `name` in a Cookie header, or "".
std::string cookieValue(std::string_view header, std::string_view name);

// A path on this site to send someone back to after a switch or a sign-in: "/..." without a
// scheme, host or "//" at its start, at most 2,000 bytes; anything else becomes "/".
std::string localPath(std::string_view path);

// ---- sign-in and sessions ------------------------------------------------------------------

inline constexpr std::chrono::seconds kCodeLifetime{300};
inline constexpr std::chrono::seconds kSessionIdle{4 * 3600};
inline constexpr std::chrono::seconds kSessionLifetime{12 * 3600};
inline constexpr size_t kMaxSessions = 256;
inline constexpr size_t kMaxCodes = 64;

struct Session {
  std::string id, csrf;
  std::string person;  // the name given last (offered again in the next form)
  int64_t created = 0, seen = 0;
};

class Sessions {
 public:
  explicit Sessions(const Clock& clock) : clock_(clock) {}

  // A new one-time sign-in code (kCodeLifetime).
  [[nodiscard]] Result<std::string> newCode();
  // Exchanges a code for a new session; nullopt when the code is unknown, used or expired.
  std::optional<Session> signIn(std::string_view code);
  // The session with this id, refreshed, or nullopt (unknown or expired).
  std::optional<Session> touch(std::string_view id);
  void remember(std::string_view id, std::string person);
  void signOut(std::string_view id);
  size_t size() const;

 private:
  void expireLocked(int64_t now);
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, int64_t, std::less<>> codes_;  // code → expiry
  std::map<std::string, Session, std::less<>> sessions_;
};

}  // namespace liaison::desk
