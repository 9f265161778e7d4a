#include "desk/desk.h"

// Debian's libcpp-httplib is built with these, and httplib's classes change layout without them.
#if !defined(CPPHTTPLIB_OPENSSL_SUPPORT) || !defined(CPPHTTPLIB_ZLIB_SUPPORT) || \
    !defined(CPPHTTPLIB_BROTLI_SUPPORT)
#error "compile with the flags of `pkg-config --cflags cpp-httplib`"
#endif
#include <httplib.h>
#include <kj/exception.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <atomic>
#include <charconv>
#include <cinttypes>
#include <cstdio>
#include <ctime>
#include <functional>
#include <set>

#include "common/clock.h"
#include "common/files.h"
#include "desk/assets.h"
#include "desk/core.h"
#include "desk/strings.h"
#include "requests/request.h"
#include "schemas/json.h"
#include "schemas/vcard.h"
#include "schemas/vocab.h"
#include "site/alert_ops.h"
#include "site/requests.h"

namespace liaison::desk {

namespace {

using json::Json;

// A browser keeps cookies per host, not per port: each site on a machine names its session cookie
// with its port, so signing in at one desk does not sign you out of another.
constexpr std::string_view kSessionCookie = "liaison_session_";
constexpr std::string_view kLangCookie = "liaison_lang";
constexpr int kSearchLimit = 50;

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
std::string h(std::string_view text) { return escapeHtml(text); }
std::string h(const std::string& text) { return escapeHtml(text); }
std::string h(capnp::Text::Reader t) { return escapeHtml(std::string_view(t.begin(), t.size())); }

// What one request is about: its language, its session, its query or form.
struct Ctx {
  Ctx(const httplib::Request& rq, httplib::Response& rs) : req(rq), res(rs) {}
  const httplib::Request& req;
  httplib::Response& res;
  Lang lang = Lang::kEn;
  std::optional<Session> session;
  Form query;  // the query string
  Form form;   // a POST's body
  std::string_view t(std::string_view english) const { return tr(lang, english); }
  std::string w(std::string_view vocabulary, std::string_view value) const {
    return word(lang, vocabulary, value);
  }
};

// <time> elements are shown in the reader's locale and time zone by desk.js; the text inside is
// what a browser without script shows (UTC).
std::string timeTag(const std::string& iso) {
  if (iso.empty()) return "—";
  auto t = parseTimestamp(iso);
  if (!t) return h(iso);
  std::string utc = formatTimestamp(*t);
  std::string shown = utc.substr(0, 10) + " " + utc.substr(11, 5) + " UTC";
  return "<time datetime=\"" + h(utc) + "\">" + h(shown) + "</time>";
}

std::string dateTag(const std::string& ymd) {
  if (ymd.empty()) return "—";
  if (!parseDate(ymd)) return h(ymd);
  return "<time datetime=\"" + h(ymd) + "\" data-date>" + h(ymd) + "</time>";
}

template <typename List>
std::vector<std::string> texts(List list) {
  std::vector<std::string> out;
  for (auto t : list) out.push_back(str(t));
  return out;
}

std::string joinWords(const Ctx& c, std::string_view vocabulary,
                      const std::vector<std::string>& values) {
  std::string out;
  for (const auto& v : values) {
    if (!out.empty()) out += ", ";
    out += h(c.w(vocabulary, v));
  }
  return out.empty() ? "—" : out;
}

std::string joinLanguages(const Ctx& c, const std::vector<std::string>& tags) {
  std::string out;
  for (const auto& t : tags) {
    if (!out.empty()) out += ", ";
    out += h(languageName(c.lang, t));
  }
  return out.empty() ? "—" : out;
}

std::string option(std::string_view value, std::string_view label, bool selected) {
  return "<option value=\"" + h(value) + "\"" + (selected ? " selected" : "") + ">" + h(label) +
         "</option>";
}

// A labelled text input.
std::string textField(std::string_view id, std::string_view name, std::string_view label,
                      std::string_view value, std::string_view extra = {}) {
  return "<div class=\"field\"><label for=\"" + h(id) + "\">" + h(label) + "</label><input id=\"" +
         h(id) + "\" name=\"" + h(name) + "\" value=\"" + h(value) + "\" " + std::string(extra) +
         "></div>";
}

std::string checkField(std::string_view id, std::string_view name, std::string_view label,
                       bool checked) {
  return "<div class=\"field check\"><input type=\"checkbox\" id=\"" + h(id) + "\" name=\"" +
         h(name) + "\" value=\"1\"" + (checked ? " checked" : "") + "><label for=\"" + h(id) +
         "\">" + h(label) + "</label></div>";
}

// A labelled list of a vocabulary's words; `any` adds a first choice that filters nothing.
std::string selectField(const Ctx& c, std::string_view id, std::string_view name,
                        std::string_view label, std::string_view vocabulary,
                        std::span<const std::string_view> values, std::string_view current,
                        bool any = true) {
  std::string out = "<div class=\"field\"><label for=\"" + h(id) + "\">" + h(label) +
                    "</label><select id=\"" + h(id) + "\" name=\"" + h(name) + "\">";
  if (any) out += option("", c.t("any"), current.empty());
  for (auto v : values) out += option(v, c.w(vocabulary, v), v == current);
  return out + "</select></div>";
}

std::string selectField(const Ctx& c, std::string_view id, std::string_view name,
                        std::string_view label, std::string_view vocabulary,
                        std::initializer_list<std::string_view> values, std::string_view current,
                        bool any = true) {
  return selectField(c, id, name, label, vocabulary,
                     std::span<const std::string_view>(values.begin(), values.size()), current,
                     any);
}

// Country codes are matched upper case ("kg" is KG).
std::string upperCase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char ch) { return static_cast<char>(std::toupper(ch)); });
  return s;
}

std::string countryList(const Ctx& c) {
  std::string out = "<datalist id=\"countries\">";
  for (auto code : regionCountries()) out += option(code, countryName(c.lang, code), false);
  return out + "</datalist>";
}

std::string topicList(const Ctx& c) {
  std::string out = "<datalist id=\"topics\">";
  for (auto t : knownTopics()) out += option(t, c.w("topic", t), false);
  return out + "</datalist>";
}

std::string languageList(const Ctx& c) {
  static constexpr std::string_view kTags[] = {"ru", "en", "ky", "kk",  "uz", "tg", "tk",
                                               "az", "hy", "ka", "th",  "vi", "km", "lo",
                                               "my", "ms", "id", "fil", "zh"};
  std::string out = "<datalist id=\"languages\">";
  for (auto t : kTags) out += option(t, languageName(c.lang, t), false);
  return out + "</datalist>";
}

std::string notice(std::string_view kind, std::string_view text) {
  return "<p class=\"notice " + h(kind) + "\" role=\"" + (kind == "error" ? "alert" : "status") +
         "\">" + h(text) + "</p>";
}

}  // namespace

class Desk final : public site::WebPages {
 public:
  Desk(const directory::SiteConfig& config, site::SiteService& service, const trust::KeyPair& keys,
       const directory::Directory& dir, const Clock& clock)
      : config_(config),
        service_(service),
        keys_(keys),
        dir_(dir),
        clock_(clock),
        sessions_(clock) {}

  void mount(httplib::Server& server, const std::string& endpoint) override {
    endpoint_ = endpoint;
    auto colon = endpoint.rfind(':');
    port_ = endpoint.substr(colon + 1);
    auto get = [&](const std::string& path, Handler fn, bool needsSession) {
      server.Get(path,
                 [this, fn, needsSession](const httplib::Request& req, httplib::Response& res) {
                   serve(req, res, fn, needsSession, false);
                 });
    };
    auto post = [&](const std::string& path, Handler fn) {
      server.Post(path, [this, fn](const httplib::Request& req, httplib::Response& res) {
        serve(req, res, fn, true, true);
      });
    };
    get("/", &Desk::home, true);
    get("/signin", &Desk::signIn, false);
    post("/signout", &Desk::signOut);
    get("/lang", &Desk::switchLang, false);
    get("/static/desk.css", &Desk::css, false);
    get("/static/desk.js", &Desk::js, false);
    get("/search", &Desk::search, true);
    get("/counterpart", &Desk::counterpart, true);
    get("/contact", &Desk::contact, true);
    get("/contact/vcard", &Desk::vcard, true);
    get("/alerts", &Desk::alerts, true);
    get("/alerts/poll", &Desk::poll, true);
    get("/alerts/new", &Desk::newAlert, true);
    get("/alerts/view", &Desk::viewAlert, true);
    post("/alerts", &Desk::sendAlert);
    post("/alerts/answer", &Desk::answerAlert);
    post("/alerts/update", &Desk::updateAlert);
    post("/alerts/cancel", &Desk::cancelAlert);
    get("/requests", &Desk::requestsPage, true);
    get("/requests/view", &Desk::viewRequest, true);
    get("/requests/file", &Desk::requestFile, true);
    post("/requests/open", &Desk::openRequest);
    post("/requests/status", &Desk::setRequestStatus);
    get("/notices", &Desk::notices, true);
    get("/status", &Desk::status, true);
  }

  Result<std::string> signInCode() override { return sessions_.newCode(); }
  std::chrono::seconds signInCodeLifetime() const override { return kCodeLifetime; }

  void errorPage(const httplib::Request& req, httplib::Response& res) override {
    Ctx c(req, res);
    c.lang = chooseLang(cookieValue(req.get_header_value("Cookie"), kLangCookie),
                        req.get_header_value("Accept-Language"));
    secure(res);
    int status = res.status;
    std::string text = status == 404   ? std::string(c.t("There is no such page."))
                       : status == 413 ? std::string(c.t("What was sent is too large."))
                                       : std::string(c.t("The request was malformed."));
    c.session = sessionOf(req);
    page(c, std::string(c.t("Error")), "",
         "<h1>" + h(c.t("Error")) + "</h1>" + notice("error", text));
    res.status = status;
  }

 private:
  const directory::SiteConfig& config_;
  site::SiteService& service_;
  const trust::KeyPair& keys_;
  const directory::Directory& dir_;
  const Clock& clock_;
  Sessions sessions_;
  std::string endpoint_, port_;
  std::atomic<uint64_t> refused_{0};

  // ---- the frame every request goes through ---------------------------------------------------

  static void secure(httplib::Response& res) {
    res.set_header(
        "Content-Security-Policy",
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'");
    res.set_header("Cache-Control", "no-store");
    res.set_header("X-Content-Type-Options", "nosniff");
    res.set_header("X-Frame-Options", "DENY");
    // same-origin, not no-referrer: under no-referrer a browser posts forms with "Origin: null",
    // which the Origin check must refuse.
    res.set_header("Referrer-Policy", "same-origin");
  }

  // The Host must be the address this site listens on: a page on another name (DNS rebinding)
  // gets nothing.
  bool rightHost(const httplib::Request& req) const {
    if (req.get_header_value_count("Host") != 1) return false;
    std::string host = req.get_header_value("Host");
    std::transform(host.begin(), host.end(), host.begin(),
                   [](unsigned char ch) { return static_cast<char>(std::tolower(ch)); });
    if (host == endpoint_) return true;
    return endpoint_.starts_with("127.0.0.1:") && host == "localhost:" + port_;
  }

  std::string sessionCookie() const { return std::string(kSessionCookie) + port_; }

  std::optional<Session> sessionOf(const httplib::Request& req) {
    std::string id = cookieValue(req.get_header_value("Cookie"), sessionCookie());
    if (id.empty()) return std::nullopt;
    return sessions_.touch(id);
  }

  void refuse(Ctx& c, int status, std::string_view message) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    spdlog::warn("desk {} {}: refused ({}): {}", c.req.method, c.req.path, status, message);
    c.res.status = status;
    page(c, std::string(c.t("Error")), "",
         "<h1>" + h(c.t("Error")) + "</h1>" + notice("error", message));
  }

  using Handler = void (Desk::*)(Ctx&);
  void serve(const httplib::Request& req, httplib::Response& res, Handler fn, bool needsSession,
             bool isPost) {
    secure(res);
    Ctx c(req, res);
    c.lang = chooseLang(cookieValue(req.get_header_value("Cookie"), kLangCookie),
                        req.get_header_value("Accept-Language"));
    try {
      if (!rightHost(req)) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        spdlog::warn("desk {} {}: refused, Host is not {}", req.method, req.path, endpoint_);
        res.status = 403;
        res.set_content(std::string(c.t("This page answers only at its own address:")) +
                            " http://" + endpoint_ + "/\n",
                        "text/plain; charset=utf-8");
        return;
      }
      auto q = req.target.find('?');
      auto query = parseForm(q == std::string::npos ? std::string_view{}
                                                    : std::string_view(req.target).substr(q + 1));
      if (!query)
        return refuse(c, 400,
                      std::string(c.t("The request was malformed.")) + " " + query.error().message);
      c.query = std::move(query).value();
      c.session = sessionOf(req);
      if (needsSession && !c.session) {
        refused_.fetch_add(1, std::memory_order_relaxed);
        res.status = 401;
        if (c.query.get("fragment") == "1" || req.path == "/alerts/poll") {
          res.set_content(std::string(c.t("Signed out.")), "text/plain; charset=utf-8");
          return;
        }
        return signInPage(c, "");
      }
      if (isPost) {
        const std::string type = req.get_header_value("Content-Type");
        if (!type.starts_with("application/x-www-form-urlencoded")) {
          return refuse(c, 415, c.t("The request was malformed."));
        }
        auto form = parseForm(req.body);
        if (!form)
          return refuse(
              c, 400, std::string(c.t("The request was malformed.")) + " " + form.error().message);
        c.form = std::move(form).value();
        std::string origin = req.get_header_value("Origin");
        bool originOk = origin.empty() || origin == "http://" + req.get_header_value("Host");
        if (!originOk || !sameSecret(c.form.get("csrf"), c.session->csrf)) {
          return refuse(c, 403,
                        c.t("This form has expired or did not come from this desk. Reload the page "
                            "and try again."));
        }
      }
      (this->*fn)(c);
    } catch (const std::exception& e) {
      spdlog::error("desk {} {}: {}", req.method, req.path, e.what());
      refuse(c, 500, c.t("Something went wrong at this site (it is in the site daemon's log)."));
    } catch (const kj::Exception& e) {
      spdlog::error("desk {} {}: {}", req.method, req.path, e.getDescription().cStr());
      refuse(c, 500, c.t("Something went wrong at this site (it is in the site daemon's log)."));
    }
  }

  // The page around a body: navigation, the language switch, the alert badge.
  void page(Ctx& c, const std::string& title, std::string_view active, const std::string& body) {
    const std::string back = urlEncode(localPath(c.req.target));
    std::string out =
        "<!DOCTYPE html>\n<html lang=\"" + std::string(langCode(c.lang)) +
        "\"><head><meta charset=\"utf-8\"><meta name=\"viewport\" content=\"width=device-width, "
        "initial-scale=1\"><title>" +
        h(title) +
        " · Liaison</title><link rel=\"stylesheet\" href=\"/static/desk.css?v=" + assetVersion() +
        "\"><script src=\"/static/desk.js?v=" + assetVersion() + "\" defer></script></head><body";
    if (c.session) out += " data-poll=\"/alerts/poll\"";
    out += "><a class=\"skip\" href=\"#main\">" + h(c.t("Skip to content")) +
           "</a><header><div class=\"brand\">Liaison";
    out += " <span class=\"site\">" + h(config_.id) +
           (config_.network.empty() ? "" : " · " + h(config_.network)) + "</span></div>";
    if (c.session) {
      out += "<nav aria-label=\"" + h(c.t("Main")) + "\"><ul>";
      auto item = [&](std::string_view path, std::string_view key, std::string_view label) {
        out += "<li><a href=\"" + std::string(path) + "\"" +
               (active == key ? " aria-current=\"page\"" : "") + ">" + h(label) + "</a></li>";
      };
      item("/search", "search", c.t("Search"));
      item("/counterpart", "counterpart", c.t("Counterpart"));
      out += "<li><a href=\"/alerts\"" +
             std::string(active == "alerts" ? " aria-current=\"page\"" : "") + ">" +
             h(c.t("Alerts")) +
             " <span id=\"alert-badge\" class=\"badge\" aria-live=\"polite\"></span></a></li>";
      item("/requests", "requests", c.t("Requests"));
      item("/notices", "notices", c.t("Notices"));
      item("/status", "status", c.t("Status"));
      out += "</ul></nav>";
    }
    out += "<div class=\"tools\"><span class=\"langs\" aria-label=\"" + h(c.t("Language")) + "\">";
    out +=
        c.lang == Lang::kEn
            ? "<strong lang=\"en\">EN</strong>"
            : "<a id=\"lang-en\" lang=\"en\" hreflang=\"en\" href=\"/lang?to=en&amp;back=" + back +
                  "\">English</a>";
    out += " · ";
    out +=
        c.lang == Lang::kRu
            ? "<strong lang=\"ru\">RU</strong>"
            : "<a id=\"lang-ru\" lang=\"ru\" hreflang=\"ru\" href=\"/lang?to=ru&amp;back=" + back +
                  "\">Русский</a>";
    out += "</span>";
    if (c.session) {
      out += "<form method=\"post\" action=\"/signout\" class=\"inline\">" + csrfField(c) +
             "<button type=\"submit\" class=\"link\">" + h(c.t("Sign out")) + "</button></form>";
    }
    out +=
        "</div></header><div id=\"new-alert\" class=\"banner\" role=\"status\" "
        "aria-live=\"polite\" hidden>"
        "<a href=\"/alerts\">" +
        h(c.t("A new alert has arrived.")) + "</a></div><main id=\"main\">" + body +
        "</main><footer>" +
        h(c.t("Answers come from this site's own replica; nothing leaves this machine.")) +
        "</footer></body></html>\n";
    c.res.set_content(out, "text/html; charset=utf-8");
  }

  std::string csrfField(const Ctx& c) const {
    return c.session ? "<input type=\"hidden\" name=\"csrf\" value=\"" + h(c.session->csrf) + "\">"
                     : std::string();
  }

  void signInPage(Ctx& c, std::string_view message) {
    std::string body = "<h1>" + h(c.t("Sign in")) + "</h1>";
    if (!message.empty()) body += notice("error", message);
    body += "<p>" +
            h(c.t("To open the desk, run this on the site's machine and open the link it prints "
                  "(it works once, for five minutes):")) +
            "</p><pre><code>liaison desk</code></pre>";
    page(c, std::string(c.t("Sign in")), "", body);
  }

  // ---- sign-in, language, assets --------------------------------------------------------------

  void home(Ctx& c) { c.res.set_redirect("/search", 303); }

  void signIn(Ctx& c) {
    auto session = sessions_.signIn(c.query.get("code"));
    if (!session) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      spdlog::warn("desk: a sign-in with an unknown, used or expired code");
      c.res.status = 401;
      return signInPage(c, c.t("This sign-in link is not valid: it was used already, or it is more "
                               "than five minutes old. Run `liaison desk` for a new one."));
    }
    spdlog::info("desk: signed in (sessions now {})", sessions_.size());
    c.res.set_header("Set-Cookie", sessionCookie() + "=" + session->id +
                                       "; Path=/; HttpOnly; SameSite=Strict; Max-Age=" +
                                       std::to_string(kSessionLifetime.count()));
    c.res.set_redirect("/search", 303);
  }

  void signOut(Ctx& c) {
    sessions_.signOut(c.session->id);
    c.session.reset();
    c.res.set_header("Set-Cookie",
                     sessionCookie() + "=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0");
    std::string body = "<h1>" + h(c.t("Signed out.")) + "</h1><p>" +
                       h(c.t("To open the desk again, run `liaison desk` on the site's machine.")) +
                       "</p>";
    page(c, std::string(c.t("Signed out.")), "", body);
  }

  void switchLang(Ctx& c) {
    auto to = langFromCode(c.query.get("to"));
    if (to) {
      c.res.set_header("Set-Cookie", std::string(kLangCookie) + "=" + std::string(langCode(*to)) +
                                         "; Path=/; SameSite=Strict; Max-Age=31536000");
    }
    c.res.set_redirect(localPath(c.query.get("back")), 303);
  }

  // The stylesheet and the script hold no personal data and are addressed by a hash of their
  // content, so a browser keeps them for a day and asks again only after an upgrade.
  static const std::string& assetVersion() {
    static const std::string version = [] {
      char buf[24];
      std::snprintf(
          buf, sizeof buf, "%zx",
          std::hash<std::string_view>{}(kDeskCss) ^ std::hash<std::string_view>{}(kDeskJs));
      return std::string(buf);
    }();
    return version;
  }
  void css(Ctx& c) {
    c.res.set_header("Cache-Control", "private, max-age=86400");
    c.res.set_content(std::string(kDeskCss), "text/css; charset=utf-8");
  }
  void js(Ctx& c) {
    c.res.set_header("Cache-Control", "private, max-age=86400");
    c.res.set_content(std::string(kDeskJs), "text/javascript; charset=utf-8");
  }

  // ---- search ---------------------------------------------------------------------------------

  std::string networkOf(const directory::StoredRecord& r) const {
    return r.network.empty() ? config_.network : r.network;
  }

  std::string hitRows(const Ctx& c, const std::vector<directory::Hit>& hits, int64_t now) {
    std::string out;
    for (const auto& hit : hits) {
      auto r = hit.stored.record();
      const std::string id = str(r.getId());
      if (r.getBody().isNotice()) {
        auto n = r.getBody().getNotice();
        out += "<tr><td><a href=\"/contact?id=" + urlEncode(id) + "\">" + h(n.getName()) + ", " +
               h(n.getForename()) + "</a></td><td>" + h(c.w("notice", str(n.getNoticeType()))) +
               "</td><td>Interpol</td><td>" + joinCountries(c, texts(n.getNationalities())) +
               "</td><td>" + h(networkOf(hit.stored)) + "</td><td>—</td><td>—</td></tr>";
        continue;
      }
      if (!r.getBody().isContact()) continue;
      auto ct = r.getBody().getContact();
      bool available = hit.availableNow ? *hit.availableNow : directory::availableAt(ct, now);
      std::string name = h(ct.getName().getLatin());
      if (ct.getName().getOriginal().size() > 0)
        name += " <span class=\"original\">" + h(ct.getName().getOriginal()) + "</span>";
      std::string state = available ? "<span class=\"yes\">" + h(c.t("available now")) + "</span>"
                                    : "<span class=\"no\">" + h(c.t("not now")) + "</span>";
      if (hit.stale) state += " <span class=\"stale\">" + h(c.t("stale")) + "</span>";
      out += "<tr><td><a href=\"/contact?id=" + urlEncode(id) + "\">" + name + "</a></td><td>" +
             h(c.w("role", str(ct.getRole()))) + "</td><td>" + h(ct.getOrganization()) +
             "</td><td>" + h(countryName(c.lang, str(ct.getCountry()))) + "</td><td>" +
             h(networkOf(hit.stored)) + "</td><td>" + joinLanguages(c, texts(ct.getLanguages())) +
             "</td><td>" + state + "</td></tr>";
    }
    return out;
  }

  std::string hitTable(const Ctx& c, const std::vector<directory::Hit>& hits, int64_t now,
                       std::string_view caption) {
    if (hits.empty()) return notice("info", c.t("Nothing matched in this site's replica."));
    return "<table class=\"hits\"><caption>" + h(caption) +
           "</caption><thead><tr><th scope=\"col\">" + h(c.t("Name")) + "</th><th scope=\"col\">" +
           h(c.t("Role")) + "</th><th scope=\"col\">" + h(c.t("Organization")) +
           "</th><th scope=\"col\">" + h(c.t("Country")) + "</th><th scope=\"col\">" +
           h(c.t("Network")) + "</th><th scope=\"col\">" + h(c.t("Languages")) +
           "</th><th scope=\"col\">" + h(c.t("Now")) + "</th></tr></thead><tbody>" +
           hitRows(c, hits, now) + "</tbody></table>";
  }

  // Reads the filters of `find` from the query; an error names the field in the reader's language.
  std::optional<std::string> readQuery(const Ctx& c, directory::Query& q) {
    const Form& f = c.query;
    if (auto v = f.get("name"); !v.empty()) q.name = v;
    if (auto v = upperCase(f.get("country")); !v.empty()) {
      if (!vocab::isCountry(v))
        return subst(c.t("Country: \"{}\" is not a country code (KG, TH, ...)."), {v});
      q.country = v;
    }
    if (auto v = f.get("role"); !v.empty()) {
      if (!vocab::isRole(v)) return subst(c.t("Role: \"{}\" is not a role."), {v});
      q.role = v;
    }
    if (auto v = f.get("topic"); !v.empty()) {
      if (!vocab::isTopic(v))
        return subst(c.t("Topic: \"{}\" is not a topic (trafficking-in-persons, ...)."), {v});
      q.topic = v;
    }
    if (auto v = f.get("competence"); !v.empty()) {
      if (!vocab::isCompetence(v))
        return subst(c.t("Competence: \"{}\" is not a competence."), {v});
      q.competence = v;
    }
    if (auto v = f.get("language"); !v.empty()) {
      if (!vocab::isLanguageTag(v))
        return subst(c.t("Language: \"{}\" is not a language code (ru, en, th, ...)."), {v});
      q.language = v;
    }
    if (auto v = f.get("network"); !v.empty()) {
      if (!vocab::isNetwork(v)) return subst(c.t("Network: \"{}\" is not a network name."), {v});
      q.network = v;
    }
    if (auto v = f.get("basis"); !v.empty()) {
      if (!vocab::isLegalBasis(v))
        return subst(c.t("Legal basis: \"{}\" is not a legal basis."), {v});
      q.legalBasis = v;
    }
    if (auto v = f.get("verified"); !v.empty()) {
      char* end = nullptr;
      long days = std::strtol(v.c_str(), &end, 10);
      if (end == v.c_str() || *end != 0 || days < 1 || days > 3650) {
        return subst(c.t("Verified within: \"{}\" is not a number of days (1 to 3650)."), {v});
      }
      q.verifiedWithinDays = static_cast<int>(days);
    }
    q.availableNow = f.get("now") == "1";
    q.urgent = f.get("urgent") == "1";
    q.limit = kSearchLimit;
    return std::nullopt;
  }

  void search(Ctx& c) {
    const int64_t now = clock_.nowSeconds();
    directory::Query q;
    auto error = readQuery(c, q);
    std::string results;
    if (error) {
      c.res.status = 400;
      results = notice("error", *error);
    } else {
      if (q.name) q.kind = "any";  // names also match Interpol notices
      auto started = std::chrono::steady_clock::now();
      auto hits = dir_.find(q, now);
      if (!hits) throw std::runtime_error(hits.error().message);
      auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
          std::chrono::steady_clock::now() - started);
      spdlog::debug("desk search: {} hits in {} us", hits->size(), micros.count());
      results = hitTable(c, *hits, now, subst(c.t("{} found"), {std::to_string(hits->size())}));
    }
    if (c.query.get("fragment") == "1") {
      c.res.set_content(results, "text/html; charset=utf-8");
      return;
    }
    const Form& f = c.query;
    std::string body = "<h1>" + h(c.t("Find a contact")) + "</h1>";
    body +=
        "<form id=\"search-form\" class=\"filters\" method=\"get\" action=\"/search\" "
        "data-live=\"results\" role=\"search\">";
    body += textField("f-name", "name", c.t("Name, in any script"), f.get("name"),
                      "type=\"search\" autocomplete=\"off\" autofocus");
    body += textField("f-country", "country", c.t("Country"), f.get("country"),
                      "list=\"countries\" maxlength=\"2\" autocomplete=\"off\"");
    body += selectField(c, "f-role", "role", c.t("Role"), "role", vocab::roles(), f.get("role"));
    body += textField("f-topic", "topic", c.t("Topic"), f.get("topic"),
                      "list=\"topics\" autocomplete=\"off\"");
    body += selectField(c, "f-competence", "competence", c.t("Competence"), "competence",
                        vocab::competences(), f.get("competence"));
    body += textField("f-language", "language", c.t("Language they accept"), f.get("language"),
                      "list=\"languages\" autocomplete=\"off\"");
    body +=
        textField("f-network", "network", c.t("Network"), f.get("network"), "autocomplete=\"off\"");
    body +=
        textField("f-basis", "basis", c.t("Legal basis"), f.get("basis"), "autocomplete=\"off\"");
    body += textField("f-verified", "verified", c.t("Verified within (days)"), f.get("verified"),
                      "type=\"number\" min=\"1\" max=\"3650\"");
    body += checkField("f-now", "now", c.t("Available now"), f.get("now") == "1");
    body += checkField("f-urgent", "urgent", c.t("Urgent: 24/7 first"), f.get("urgent") == "1");
    body += "<div class=\"actions\"><button type=\"submit\">" + h(c.t("Search")) +
            "</button></div></form>";
    body += countryList(c) + topicList(c) + languageList(c);
    body += "<div id=\"results\" aria-live=\"polite\">" + results + "</div>";
    page(c, std::string(c.t("Search")), "search", body);
  }

  // ---- counterpart ----------------------------------------------------------------------------

  void counterpart(Ctx& c) {
    const int64_t now = clock_.nowSeconds();
    const Form& f = c.query;
    std::string from = upperCase(f.get("from")), to = upperCase(f.get("to"));
    std::string results;
    if (!from.empty() || !to.empty()) {
      directory::Query q;
      auto error = readQuery(c, q);
      if (!error && !vocab::isCountry(from))
        error = subst(c.t("From: \"{}\" is not a country code (KG, TH, ...)."), {from});
      if (!error && !vocab::isCountry(to))
        error = subst(c.t("To: \"{}\" is not a country code (KG, TH, ...)."), {to});
      if (error) {
        c.res.status = 400;
        results = notice("error", *error);
      } else {
        q.name.reset();
        q.country.reset();
        auto found = directory::findCounterparts(dir_, from, to, q, now);
        if (!found) throw std::runtime_error(found.error().message);
        results = "<h2>" +
                  h(subst(c.t("Focal points in {} for a request from {}"),
                          {countryName(c.lang, to), countryName(c.lang, from)})) +
                  "</h2>";
        results +=
            hitTable(c, found->hits, now,
                     subst(c.t("{} found, best first"), {std::to_string(found->hits.size())}));
        results += "<h2>" + h(c.t("Legal bases both countries share")) + "</h2>";
        if (found->legalBases.empty()) {
          results +=
              notice("info", c.t("None recorded: ask the secretariat; reciprocity may apply."));
        } else {
          results += "<ul class=\"bases\">";
          for (const auto& [id, name] : found->legalBases) {
            results += "<li><strong>" + h(id) + "</strong> " + h(name) + "</li>";
          }
          results += "</ul>";
        }
        results +=
            "<h2>" + h(c.t("Languages they accept that the requesting country uses")) + "</h2>";
        results += found->sharedLanguages.empty()
                       ? notice("info", c.t("None: plan for translation."))
                       : "<p>" + joinLanguages(c, found->sharedLanguages) + "</p>";
      }
    }
    std::string body = "<h1>" + h(c.t("Who do I ask?")) + "</h1>";
    body +=
        "<form id=\"counterpart-form\" class=\"filters\" method=\"get\" action=\"/counterpart\">";
    body += textField("c-from", "from", c.t("Request from (country)"), f.get("from"),
                      "list=\"countries\" maxlength=\"2\" required autocomplete=\"off\"");
    body += textField("c-to", "to", c.t("Request to (country)"), f.get("to"),
                      "list=\"countries\" maxlength=\"2\" required autocomplete=\"off\"");
    body += textField("c-topic", "topic", c.t("Topic"), f.get("topic"),
                      "list=\"topics\" autocomplete=\"off\"");
    body += selectField(c, "c-competence", "competence", c.t("Competence"), "competence",
                        vocab::competences(), f.get("competence"));
    body += textField("c-language", "language", c.t("Language they accept"), f.get("language"),
                      "list=\"languages\" autocomplete=\"off\"");
    body += checkField("c-now", "now", c.t("Available now"), f.get("now") == "1");
    body += checkField("c-urgent", "urgent", c.t("Urgent: 24/7 first"), f.get("urgent") == "1");
    body += "<div class=\"actions\"><button type=\"submit\">" + h(c.t("Find counterparts")) +
            "</button></div></form>";
    body += countryList(c) + topicList(c) + languageList(c);
    body += "<div id=\"results\">" + results + "</div>";
    page(c, std::string(c.t("Counterpart")), "counterpart", body);
  }

  // ---- contact card ---------------------------------------------------------------------------

  std::optional<directory::StoredRecord> record(Ctx& c, const std::string& id) {
    if (!vocab::isRecordId(id)) {
      refuse(c, 400, subst(c.t("\"{}\" is not a record id."), {id}));
      return std::nullopt;
    }
    auto got = dir_.get(id);
    if (!got) throw std::runtime_error(got.error().message);
    if (!*got) {
      c.res.status = 404;
      page(c, std::string(c.t("Not found")), "search",
           "<h1>" + h(c.t("Not found")) + "</h1>" +
               notice("error", subst(c.t("This site's replica holds no record {}."), {id})));
      return std::nullopt;
    }
    return std::move(*got);
  }

  static std::string channelLink(std::string_view kind, const std::string& value) {
    std::string digits;
    for (char ch : value) {
      if ((ch >= '0' && ch <= '9') || (ch == '+' && digits.empty())) digits.push_back(ch);
    }
    if (kind == "email" && vocab::isEmail(value))
      return "<a href=\"mailto:" + h(value) + "\">" + h(value) + "</a>";
    if ((kind == "phone" || kind == "mobile") && vocab::isPhone(value)) {
      return "<a href=\"tel:" + h(digits) + "\">" + h(value) + "</a>";
    }
    return h(value);
  }

  void contact(Ctx& c) {
    const int64_t now = clock_.nowSeconds();
    const std::string id = c.query.get("id");
    auto stored = record(c, id);
    if (!stored) return;
    auto r = stored->record();
    std::string body;
    auto row = [&](std::string_view label, const std::string& html) {
      if (html.empty() || html == "—") return;
      body += "<dt>" + h(label) + "</dt><dd>" + html + "</dd>";
    };
    const std::string network = networkOf(*stored);
    std::string networkText = h(network);
    if (!stored->network.empty())
      networkText += " (" + h(c.t("a peer network, over a bridge")) + ")";
    if (r.getBody().isNotice()) {
      auto n = r.getBody().getNotice();
      body += "<h1>" + h(n.getName()) + ", " + h(n.getForename()) + "</h1><dl class=\"card\">";
      row(c.t("Notice"), h(c.w("notice", str(n.getNoticeType()))));
      row(c.t("Interpol's reference"), h(n.getEntityId()));
      row(c.t("Date of birth"), h(n.getDateOfBirth()));
      row(c.t("Nationalities"), joinCountries(c, texts(n.getNationalities())));
      row(c.t("Fetched"), timeTag(str(n.getFetchedAt())));
      row(c.t("Network"), networkText);
      body += "</dl>";
      return page(c, str(n.getName()), "notices", body);
    }
    if (!r.getBody().isContact()) {
      auto i = r.getBody().getInstrument();
      body += "<h1>" + h(i.getName()) + "</h1><dl class=\"card\">";
      row(c.t("Parties"), joinCountries(c, texts(i.getParties())));
      row(c.t("Covers"), joinWords(c, "competence", texts(i.getCovers())));
      row(c.t("Notes"), h(i.getNotes()));
      body += "</dl>";
      return page(c, str(i.getName()), "search", body);
    }
    auto ct = r.getBody().getContact();
    auto a = ct.getAvailability();
    body += "<h1>" + h(ct.getName().getHonorific()) +
            (ct.getName().getHonorific().size() > 0 ? " " : "") + h(ct.getName().getLatin());
    if (ct.getName().getOriginal().size() > 0)
      body += " <span class=\"original\">" + h(ct.getName().getOriginal()) + "</span>";
    body += "</h1>";
    if (r.getStatus() != "active") body += notice("error", c.w("status", str(r.getStatus())));
    if (directory::isStale(ct, now)) {
      body += notice(
          "warn",
          subst(c.t("Stale: the review of this record was due on {}; check before relying on it."),
                {str(ct.getVerification().getReviewDue())}));
    }
    // Now, where the contact is.
    std::string nowText;
    int64_t shift = 0;
    bool zoneKnown = false;
    if (a.getTimezone().size() > 0) {
      if (auto offset = directory::zoneOffsetAt(str(a.getTimezone()), now)) {
        shift = *offset;
        zoneKnown = true;
      }
    }
    if (zoneKnown) {
      int64_t local = now + shift;
      int64_t secs = ((local % 86400) + 86400) % 86400;
      char hhmm[8];
      std::snprintf(hhmm, sizeof hhmm, "%02d:%02d", static_cast<int>(secs / 3600),
                    static_cast<int>(secs / 60 % 60));
      nowText = subst(c.t("{} there ({})"), {hhmm, str(a.getTimezone())});
    }
    const bool available = directory::availableAt(ct, now);
    std::string availability =
        available ? "<strong class=\"yes\">" + h(c.t("Available now")) + "</strong>"
                  : "<strong class=\"no\">" + h(c.t("Not available now")) + "</strong>";
    if (!nowText.empty()) availability += " · <span id=\"local-time\">" + h(nowText) + "</span>";
    if (a.getAlways()) availability += " · " + h(c.t("24/7"));
    body += "<p class=\"availability\">" + availability + "</p>";
    auto away = parseDate(str(a.getOutOfOfficeUntil()));
    std::string deputy;
    if (a.getDeputyId().size() > 0) {
      auto d = dir_.get(str(a.getDeputyId()));
      std::string label = str(a.getDeputyId());
      if (d && *d && (*d)->record().getBody().isContact())
        label = str((*d)->record().getBody().getContact().getName().getLatin());
      deputy = h(c.t("Deputy:")) +
               " <a id=\"deputy\" href=\"/contact?id=" + urlEncode(str(a.getDeputyId())) + "\">" +
               h(label) + "</a>";
    }
    if (away && *away >= daysOf(now + shift)) {
      body += "<p class=\"notice warn\" role=\"status\">" +
              h(subst(c.t("Out of office until {}."), {str(a.getOutOfOfficeUntil())})) + " " +
              deputy + "</p>";
    } else if (!deputy.empty()) {
      body += "<p>" + deputy + "</p>";
    }
    body += "<h2>" + h(c.t("How to reach them")) + "</h2><ul class=\"channels\">";
    for (auto ch : ct.getChannels()) {
      body += "<li><span class=\"kind\">" + h(c.w("channel", str(ch.getKind()))) + "</span> " +
              channelLink(str(ch.getKind()), str(ch.getValue()));
      if (ch.getPreferred()) body += " <span class=\"pref\">" + h(c.t("preferred")) + "</span>";
      if (ch.getNote().size() > 0) body += " <span class=\"note\">" + h(ch.getNote()) + "</span>";
      body += "</li>";
    }
    body += "</ul>";
    if (ct.getRequiresEncryption()) body += notice("info", c.t("Send only encrypted."));
    if (ct.getRequiresESignature())
      body += notice("info", c.t("Requests need an electronic signature."));
    body += "<dl class=\"card\">";
    row(c.t("Role"), h(c.w("role", str(ct.getRole()))));
    row(c.t("Title"), h(ct.getTitle()));
    row(c.t("Organization"),
        h(ct.getOrganization()) + (ct.getUnit().size() > 0 ? ", " + h(ct.getUnit()) : ""));
    row(c.t("Country"), h(countryName(c.lang, str(ct.getCountry()))) +
                            (ct.getLocality().size() > 0 ? ", " + h(ct.getLocality()) : ""));
    row(c.t("Kind"), h(c.w("kind", str(ct.getContactKind()))));
    row(c.t("Body"), ct.getBody().size() > 0 ? h(c.w("body", str(ct.getBody()))) : "");
    row(c.t("Languages"), joinLanguages(c, texts(ct.getLanguages())));
    row(c.t("Competences"), joinWords(c, "competence", texts(ct.getCompetences())));
    row(c.t("Topics"), joinWords(c, "topic", texts(ct.getTopics())));
    row(c.t("Legal bases"),
        ct.getLegalBases().size() > 0 ? h(joinPlain(texts(ct.getLegalBases()))) : "");
    row(c.t("Office hours"),
        h(a.getHours()) + (a.getTimezone().size() > 0 ? " (" + h(a.getTimezone()) + ")" : ""));
    row(c.t("After hours"), h(a.getAfterHours()));
    row(c.t("Networks"), ct.getNetworks().size() > 0 ? h(joinPlain(texts(ct.getNetworks()))) : "");
    row(c.t("Came from"), networkText);
    row(c.t("Verified"), dateTag(str(ct.getVerification().getVerifiedAt())) +
                             (ct.getVerification().getVerifiedBy().size() > 0
                                  ? " · " + h(ct.getVerification().getVerifiedBy())
                                  : ""));
    row(c.t("Review due"), dateTag(str(ct.getVerification().getReviewDue())));
    row(c.t("Notes"), h(ct.getNotes()));
    row(c.t("Record"),
        h(id) + " · " + h(subst(c.t("revision {}"), {std::to_string(r.getRevision())})));
    body += "</dl><p class=\"actions\"><a class=\"button\" id=\"vcard\" href=\"/contact/vcard?id=" +
            urlEncode(id) + "\">" + h(c.t("Download vCard")) +
            "</a> <a class=\"button\" href=\"/alerts/new?focal=" + urlEncode(id) + "\">" +
            h(c.t("Send an alert to this focal point")) + "</a></p>";
    page(c, str(ct.getName().getLatin()), "search", body);
  }

  static std::string joinPlain(const std::vector<std::string>& values) {
    std::string out;
    for (const auto& v : values) out += (out.empty() ? "" : ", ") + v;
    return out;
  }

  static std::string joinCountries(const Ctx& c, const std::vector<std::string>& codes) {
    std::string out;
    for (const auto& v : codes) out += (out.empty() ? "" : ", ") + h(countryName(c.lang, v));
    return out.empty() ? "—" : out;
  }

  void vcard(Ctx& c) {
    const std::string id = c.query.get("id");
    auto stored = record(c, id);
    if (!stored) return;
    if (!stored->record().getBody().isContact())
      return refuse(c, 400, c.t("Only a contact has a vCard."));
    std::string file;
    for (char ch : id)
      file.push_back(std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' ? ch
                                                                                            : '_');
    c.res.set_header("Content-Disposition", "attachment; filename=\"" + file + ".vcf\"");
    c.res.set_content(vcard::contactVcard(stored->record()), "text/vcard; charset=utf-8");
  }

  // ---- alerts ---------------------------------------------------------------------------------

  // The alerts page shows every open alert and the newest closed ones up to this many, unless
  // asked for all (a site holding thousands would otherwise send them all with every refresh).
  static constexpr size_t kClosedShown = 100;

  std::string inboxTable(const Ctx& c, const std::vector<site::AlertRow>& rows, bool all) {
    // Open first (an inbound alert nobody acknowledged yet at the very top), then newest.
    std::vector<const site::AlertRow*> list;
    list.reserve(rows.size());
    size_t closed = 0;
    for (const auto& r : rows) {
      if (!r.open && !all && ++closed > kClosedShown) continue;
      list.push_back(&r);
    }
    auto rank = [](const site::AlertRow* x) {
      return x->open && !x->outbound ? 0 : x->open ? 1 : 2;
    };
    std::stable_sort(
        list.begin(), list.end(),
        [&](const site::AlertRow* a, const site::AlertRow* b) { return rank(a) < rank(b); });
    if (list.empty()) return notice("info", c.t("No alerts at this site."));
    std::string more;
    if (closed > kClosedShown) {
      more = "<p class=\"more\" id=\"inbox-more\">" +
             h(subst(c.t("Showing the newest {} of {} closed alerts."),
                     {std::to_string(kClosedShown), std::to_string(closed)})) +
             " <a href=\"/alerts?all=1\">" + h(c.t("Show all alerts")) + "</a></p>";
    }
    std::string out = more + "<table class=\"alerts\"><caption>" +
                      h(subst(c.t("Alerts: {}"), {std::to_string(rows.size())})) +
                      "</caption><thead><tr><th scope=\"col\">" + h(c.t("State")) +
                      "</th><th scope=\"col\">" + h(c.t("Headline")) + "</th><th scope=\"col\">" +
                      h(c.t("Direction")) + "</th><th scope=\"col\">" + h(c.t("Sender")) +
                      "</th><th scope=\"col\">" + h(c.t("Sent")) + "</th><th scope=\"col\">" +
                      h(c.t("Urgency")) + "</th><th scope=\"col\">" + h(c.t("Severity")) +
                      "</th></tr></thead><tbody>";
    for (const site::AlertRow* a : list) {
      out += std::string("<tr class=\"") + (a->open ? "open" : "closed") + "\" data-alert=\"" +
             h(a->id) + "\"><td>" + h(stateText(c, a->state)) +
             "</td><td><a href=\"/alerts/view?id=" + urlEncode(a->id) + "\">" + h(a->headline) +
             "</a>" +
             (a->msgType != "alert"
                  ? " <span class=\"tag\">" + h(c.w("msgType", a->msgType)) + "</span>"
                  : "") +
             "</td><td>" + h(a->outbound ? c.t("sent") : c.t("received")) + "</td><td>" +
             h(a->sender) + "</td><td>" + timeTag(a->sent) + "</td><td>" +
             h(c.w("urgency", a->urgency)) + "</td><td>" + h(c.w("severity", a->severity)) +
             "</td></tr>";
    }
    return out + "</tbody></table>";
  }

  // "3/8 delivered, 1 acknowledged, escalated" and the single words, in the reader's language.
  std::string stateText(const Ctx& c, const std::string& state) const {
    if (state.find('/') == std::string::npos) return c.w("state", state);
    std::string out;
    size_t start = 0;
    while (start <= state.size()) {
      size_t comma = state.find(", ", start);
      std::string part =
          state.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
      if (!out.empty()) out += ", ";
      if (auto slash = part.find('/'); slash != std::string::npos) {
        auto space = part.find(' ');
        out += subst(c.t("{} of {} delivered"),
                     {part.substr(0, slash), part.substr(slash + 1, space - slash - 1)});
      } else if (auto space = part.find(' '); space != std::string::npos) {
        out += subst(c.t("{} acknowledged"), {part.substr(0, space)});
      } else {
        out += c.w("state", part);
      }
      if (comma == std::string::npos) break;
      start = comma + 2;
    }
    return out;
  }

  // The page carries the version of the inbox it shows (it changes with anything a reader of
  // the inbox would see: a new alert, a state, an answer), so an alert that arrives before the
  // first poll is not missed.
  void alerts(Ctx& c) {
    auto listed = service_.alertList().get(service_.inbox(), clock_.nowSeconds());
    if (!listed->error.empty()) throw std::runtime_error(listed->error);
    const bool all = c.query.get("all") == "1";
    std::string table = inboxTable(c, listed->rows, all);
    if (c.query.get("fragment") == "1") return c.res.set_content(table, "text/html; charset=utf-8");
    std::string body = "<h1>" + h(c.t("Alerts")) +
                       "</h1><p class=\"actions\"><a class=\"button\" id=\"new-alert-link\" "
                       "href=\"/alerts/new\">" +
                       h(c.t("Send an alert")) +
                       "</a></p><div id=\"inbox\" data-refresh=\"/alerts?fragment=1" +
                       (all ? "&amp;all=1" : "") + "\" data-version=\"" + listed->version() +
                       "\" aria-live=\"polite\">" + table + "</div>";
    page(c, std::string(c.t("Alerts")), "alerts", body);
  }

  void poll(Ctx& c) {
    auto listed = service_.alertList().get(service_.inbox(), clock_.nowSeconds());
    if (!listed->error.empty()) throw std::runtime_error(listed->error);
    c.res.set_content(Json{{"version", listed->version()}, {"open", listed->openInbound}}.dump(),
                      "application/json");
  }

  // The form to send an alert (also shown again with what was typed when it was refused).
  void alertForm(Ctx& c, const Form& f, std::string_view error) {
    std::string body = "<h1>" + h(c.t("Send an alert")) + "</h1>";
    if (!error.empty()) body += notice("error", error);
    body += "<form id=\"alert-form\" method=\"post\" action=\"/alerts\">" + csrfField(c);
    std::string person = f.get("person");
    if (person.empty() && c.session) person = c.session->person;
    body += "<fieldset><legend>" + h(c.t("The alert")) + "</legend>";
    body +=
        textField("a-person", "person", c.t("Your name"), person, "required autocomplete=\"name\"");
    body += textField("a-headline", "headline", c.t("Headline"), f.get("headline"),
                      "required maxlength=\"256\"");
    body += textField("a-event", "event", c.t("Event"), f.get("event"), "maxlength=\"256\"");
    body += textField("a-category", "category", c.t("Topic"), f.get("category"), "list=\"topics\"");
    body += textField("a-incident", "incident", c.t("Case reference"), f.get("incident"),
                      "maxlength=\"128\"");
    body += selectField(c, "a-urgency", "urgency", c.t("Urgency"), "urgency",
                        {"immediate", "expected", "future", "past", "unknown"},
                        f.get("urgency").empty() ? "immediate" : f.get("urgency"), false);
    body += selectField(c, "a-severity", "severity", c.t("Severity"), "severity",
                        {"extreme", "severe", "moderate", "minor", "unknown"},
                        f.get("severity").empty() ? "severe" : f.get("severity"), false);
    body += selectField(c, "a-certainty", "certainty", c.t("Certainty"), "certainty",
                        {"observed", "likely", "possible", "unlikely", "unknown"},
                        f.get("certainty").empty() ? "likely" : f.get("certainty"), false);
    body += selectField(c, "a-status", "status", c.t("Kind of message"), "status",
                        {"actual", "exercise", "test"},
                        f.get("status").empty() ? "actual" : f.get("status"), false);
    body += "<div class=\"field wide\"><label for=\"a-description\">" + h(c.t("Description")) +
            "</label><textarea id=\"a-description\" name=\"description\" rows=\"5\" "
            "maxlength=\"8000\">" +
            h(f.get("description")) + "</textarea></div>";
    body += "<div class=\"field wide\"><label for=\"a-instruction\">" +
            h(c.t("What the targets should do")) +
            "</label><textarea id=\"a-instruction\" name=\"instruction\" rows=\"3\" "
            "maxlength=\"8000\">" +
            h(f.get("instruction")) + "</textarea></div>";
    body += "</fieldset><fieldset><legend>" + h(c.t("Who receives it")) +
            "</legend><p class=\"hint\">" +
            h(c.t("Separate several with commas. Every site that matches any of them receives the "
                  "alert.")) +
            "</p>";
    body += textField("a-countries", "countries", c.t("Countries"), f.get("countries"),
                      "placeholder=\"TH, VN\"");
    body += textField("a-roles", "roles", c.t("Roles"), f.get("roles"),
                      "placeholder=\"central-authority\"");
    body += textField("a-networks", "networks", c.t("Networks"), f.get("networks"),
                      "placeholder=\"SEAJust\"");
    body += textField("a-sites", "sites", c.t("Sites"), f.get("sites"), "");
    body += textField("a-focal", "focal", c.t("Focal points (record ids)"),
                      f.has("focal") ? f.get("focal") : c.query.get("focal"), "");
    body +=
        checkField("a-interpol", "interpol", c.t("Forward to Interpol"), f.get("interpol") == "1");
    body +=
        "</fieldset><fieldset><legend>" + h(c.t("Acknowledgement and escalation")) + "</legend>";
    body += checkField("a-ack", "ack", c.t("A person must acknowledge it"),
                       f.fields().empty() || f.get("ack") == "1");
    body += textField("a-deadline", "deadline", c.t("Deadline to acknowledge (minutes)"),
                      f.get("deadline"), "type=\"number\" min=\"1\" max=\"10080\"");
    body +=
        textField("a-escalate", "escalate", c.t("If nobody acknowledges: escalate to these sites"),
                  f.get("escalate"), "");
    body += textField("a-expires", "expires", c.t("Expires after (hours)"),
                      f.get("expires").empty() ? "24" : f.get("expires"),
                      "type=\"number\" min=\"1\" max=\"8760\"");
    body += "</fieldset><div class=\"actions\"><button type=\"submit\">" +
            h(c.t("Send the alert")) + "</button></div></form>";
    body += topicList(c);
    page(c, std::string(c.t("Send an alert")), "alerts", body);
  }

  void newAlert(Ctx& c) { alertForm(c, Form{}, ""); }

  static std::vector<std::string> splitList(const std::string& text) {
    std::vector<std::string> out;
    std::string cur;
    for (char ch : text + ",") {
      if (ch == ',' || ch == ';' || ch == '\n') {
        size_t b = cur.find_first_not_of(" \t\r"), e = cur.find_last_not_of(" \t\r");
        if (b != std::string::npos) out.push_back(cur.substr(b, e - b + 1));
        cur.clear();
      } else {
        cur.push_back(ch);
      }
    }
    return out;
  }

  // The name of the person acting, remembered for the next form.
  std::optional<std::string> person(Ctx& c, std::string_view field = "person") {
    std::string name = c.form.get(field);
    size_t b = name.find_first_not_of(" \t"), e = name.find_last_not_of(" \t");
    name = b == std::string::npos ? "" : name.substr(b, e - b + 1);
    if (name.empty() || name.size() > 200) return std::nullopt;
    sessions_.remember(c.session->id, name);
    c.session->person = name;
    return name;
  }

  void sendAlert(Ctx& c) {
    const Form& f = c.form;
    auto who = person(c);
    if (!who) return failForm(c, c.t("Give your name: the targets see who sent the alert."));
    if (f.get("headline").empty()) return failForm(c, c.t("The headline is required."));
    Json a = Json::object();
    a["senderPerson"] = *who;
    for (const char* key : {"headline", "event", "incident", "urgency", "severity", "certainty",
                            "status", "description", "instruction"}) {
      if (!f.get(key).empty()) a[key] = f.get(key);
    }
    if (!f.get("category").empty()) a["category"] = f.get("category");
    a["language"] = std::string(langCode(c.lang));
    Json targets = Json::object();
    auto put = [&](Json& into, const char* key, const std::string& text, bool upper) {
      for (auto v : splitList(text)) {
        into[key].push_back(upper ? upperCase(v) : v);
      }
    };
    put(targets, "countries", f.get("countries"), true);
    put(targets, "roles", f.get("roles"), false);
    put(targets, "networks", f.get("networks"), false);
    put(targets, "sites", f.get("sites"), false);
    put(targets, "focalPoints", f.get("focal"), false);
    if (targets.empty() && f.get("interpol") != "1") {
      return failForm(
          c,
          c.t("Name at least one target: a country, a role, a network, a site or a focal point."));
    }
    a["targets"] = targets;
    if (f.get("interpol") == "1") a["forwardToInterpol"] = true;
    if (f.get("ack") == "1") a["ackRequired"] = true;
    if (auto d = f.get("deadline"); !d.empty()) {
      char* end = nullptr;
      long minutes = std::strtol(d.c_str(), &end, 10);
      if (end == d.c_str() || *end != 0 || minutes < 1 || minutes > 10080) {
        return failForm(c, c.t("The deadline is a number of minutes (1 to 10080)."));
      }
      a["ackRequired"] = true;
      a["ackDeadline"] = "PT" + std::to_string(minutes) + "M";
    }
    if (auto e = f.get("escalate"); !e.empty()) {
      Json esc = Json::object();
      put(esc, "sites", e, false);
      a["escalateTo"] = esc;
    }
    if (auto e = f.get("expires"); !e.empty()) {
      char* end = nullptr;
      long hours = std::strtol(e.c_str(), &end, 10);
      if (end == e.c_str() || *end != 0 || hours < 1 || hours > 8760) {
        return failForm(c, c.t("Expires after: a number of hours (1 to 8760)."));
      }
      a["expires"] = formatTimestamp(clock_.nowSeconds() + hours * 3600);
    }
    auto r = site::sendAlert(service_, config_, keys_, a);
    if (r.status != 200) return failForm(c, refusalText(c, r));
    spdlog::info("desk: alert={} sent by a signed-in person", r.body.value("id", ""));
    c.res.set_redirect("/alerts/view?id=" + urlEncode(r.body.value("id", "")), 303);
  }

  std::string refusalText(const Ctx& c, const site::OpResult& r) const {
    std::string detail = r.body.value("error", r.body.value("detail", ""));
    if (r.status == 503)
      return std::string(c.t("The broker did not answer: the alert was not sent. Try again when "
                             "the site is connected.")) +
             " (" + detail + ")";
    if (r.status == 422)
      return std::string(c.t("The broker refused the alert:")) + " " + r.body.value("refusal", "") +
             ": " + detail;
    return std::string(c.t("The alert was not sent:")) + " " + detail;
  }

  void failForm(Ctx& c, std::string_view message) {
    refused_.fetch_add(1, std::memory_order_relaxed);
    c.res.status = 400;
    alertForm(c, c.form, message);
  }

  void viewAlert(Ctx& c, std::string_view message, std::string_view kind) {
    const std::string id = c.query.has("id") ? c.query.get("id") : c.form.get("id");
    if (id.empty() || id.size() > 128 || !std::all_of(id.begin(), id.end(), [](char ch) {
          return std::isalnum(static_cast<unsigned char>(ch)) || ch == '.' || ch == '_' ||
                 ch == '-';
        })) {
      return refuse(c, 400, subst(c.t("\"{}\" is not an alert id."), {id}));
    }
    auto r = site::showAlert(service_, id, 1500, clock_.nowSeconds());
    if (r.status == 404) {
      c.res.status = 404;
      return page(c, std::string(c.t("Not found")), "alerts",
                  "<h1>" + h(c.t("Not found")) + "</h1>" +
                      notice("error", subst(c.t("There is no alert {} at this site."), {id})));
    }
    if (r.status != 200) throw std::runtime_error(r.body.value("error", "alert"));
    const Json& a = r.body["alert"];
    const bool inbound = r.body.value("direction", "") == "in";
    const bool open = r.body.value("open", false);
    std::string body;
    if (!message.empty()) body += notice(kind, message);
    body += "<h1>" + h(a.value("headline", "")) + "</h1><p class=\"state\" id=\"alert-state\">" +
            h(stateText(c, r.body.value("state", ""))) + "</p><dl class=\"card\">";
    auto row = [&](std::string_view label, const std::string& html) {
      if (html.empty()) return;
      body += "<dt>" + h(label) + "</dt><dd>" + html + "</dd>";
    };
    row(c.t("Kind of message"), h(c.w("msgType", a.value("msgType", "alert"))) + " · " +
                                    h(c.w("status", a.value("status", "actual"))));
    row(c.t("From"),
        h(a.value("senderSite", "")) +
            (a.contains("senderPerson") ? " · " + h(a.value("senderPerson", "")) : ""));
    row(c.t("Sent"), timeTag(a.value("sent", "")));
    row(c.t("Event"), h(a.value("event", "")));
    row(c.t("Topic"), a.contains("category") ? h(c.w("topic", a.value("category", ""))) : "");
    row(c.t("Case reference"), h(a.value("incident", "")));
    row(c.t("Urgency"), h(c.w("urgency", a.value("urgency", ""))));
    row(c.t("Severity"), h(c.w("severity", a.value("severity", ""))));
    row(c.t("Certainty"), h(c.w("certainty", a.value("certainty", ""))));
    row(c.t("Description"),
        a.contains("description")
            ? "<span class=\"text\">" + h(a.value("description", "")) + "</span>"
            : "");
    row(c.t("What the targets should do"),
        a.contains("instruction")
            ? "<span class=\"text\">" + h(a.value("instruction", "")) + "</span>"
            : "");
    row(c.t("Targets"), h(targetsText(c, a.value("targets", Json::object()))));
    if (a.value("ackRequired", false)) {
      row(c.t("Acknowledgement"),
          h(c.t("required")) +
              (a.contains("ackDeadline")
                   ? " · " + h(subst(c.t("deadline {}"), {a.value("ackDeadline", "")}))
                   : ""));
    }
    if (a.contains("escalateTo")) row(c.t("Escalates to"), h(targetsText(c, a["escalateTo"])));
    if (a.value("forwardToInterpol", false)) row(c.t("Interpol"), h(c.t("forwarded to Interpol")));
    row(c.t("Expires"), timeTag(a.value("expires", "")));
    if (r.body.contains("replacedBy")) {
      row(c.t("Replaced by"),
          "<a href=\"/alerts/view?id=" + urlEncode(r.body.value("replacedBy", "")) + "\">" +
              h(r.body.value("replacedBy", "")) + "</a>");
    }
    if (a.contains("references")) {
      std::string refs;
      for (const auto& x : a["references"]) {
        if (!x.is_string()) continue;
        refs += (refs.empty() ? "" : ", ") + std::string("<a href=\"/alerts/view?id=") +
                urlEncode(x.get<std::string>()) + "\">" + h(x.get<std::string>()) + "</a>";
      }
      row(c.t("Replaces"), refs);
    }
    body += "</dl>";
    // Custody: every target site's state (the sender's view).
    const Json custody = r.body.value("custody", Json());
    if (custody.is_object()) {
      body +=
          "<h2>" + h(c.t("Every target site")) + "</h2><p class=\"hint\">" +
          h(r.body.value("live", false) ? c.t("Now, from the broker.")
                                        : c.t("As last reported: the broker is not reachable.")) +
          "</p><table class=\"custody\" id=\"custody\"><thead><tr><th scope=\"col\">" +
          h(c.t("Site")) + "</th><th scope=\"col\">" + h(c.t("Network")) +
          "</th><th scope=\"col\">" + h(c.t("State")) + "</th><th scope=\"col\">" +
          h(c.t("Delivered")) + "</th><th scope=\"col\">" + h(c.t("Answered")) +
          "</th><th scope=\"col\">" + h(c.t("By")) + "</th></tr></thead><tbody>";
      const Json targets = custody.value("targets", Json::object());
      for (const auto& [site, t] : targets.items()) {
        std::string where = t.value("network", "");
        if (t.value("hop", false)) where = subst(c.t("bridge to {}"), {where});
        std::string who = t.value("by", "");
        if (t.contains("comment")) who += (who.empty() ? "" : ": ") + t.value("comment", "");
        auto timeOf = [&](const char* key) {
          auto it = t.find(key);
          if (it == t.end()) return std::string("—");
          if (it->is_number_integer()) return timeTag(formatTimestamp(it->get<int64_t>()));
          if (it->is_string()) return timeTag(it->get<std::string>());
          return std::string("—");
        };
        body += "<tr data-site=\"" + h(site) + "\"><td>" + h(site) +
                (t.value("escalation", false) ? " (" + h(c.t("escalation")) + ")" : "") +
                "</td><td>" + h(where.empty() ? "—" : where) + "</td><td class=\"target-state\">" +
                h(c.w("state", t.value("state", ""))) + "</td><td>" + timeOf("deliveredAt") +
                "</td><td>" + timeOf("answeredAt") + "</td><td>" + h(who) + "</td></tr>";
      }
      body += "</tbody></table>";
    }
    // Answers (receipts, acknowledgements) stored here.
    const Json answers = r.body.value("answers", Json::array());
    if (!answers.empty()) {
      body += "<h2>" + h(c.t("Answers")) + "</h2><ul class=\"answers\" id=\"answers\">";
      for (const auto& x : answers) {
        body += "<li>" + timeTag(x.value("at", "")) + " · <strong>" + h(x.value("site", "")) +
                "</strong> · " + h(c.w("state", x.value("kind", ""))) +
                (x.contains("by") ? " · " + h(x.value("by", "")) : "") +
                (x.contains("comment") ? " · «" + h(x.value("comment", "")) + "»" : "") + "</li>";
      }
      body += "</ul>";
    }
    std::string name = c.session ? c.session->person : "";
    if (inbound && open) {
      body += "<h2>" + h(c.t("Answer")) +
              "</h2><form id=\"answer-form\" method=\"post\" action=\"/alerts/answer\">" +
              csrfField(c) + "<input type=\"hidden\" name=\"id\" value=\"" + h(id) + "\">" +
              textField("ack-person", "person", c.t("Your name"), name,
                        "required autocomplete=\"name\"") +
              "<div class=\"field wide\"><label for=\"ack-comment\">" +
              h(c.t("Comment (optional)")) +
              "</label><textarea id=\"ack-comment\" name=\"comment\" rows=\"2\" "
              "maxlength=\"2000\"></textarea></div>"
              "<div class=\"actions\"><button type=\"submit\" name=\"answer\" "
              "value=\"acknowledge\" id=\"acknowledge\">" +
              h(c.t("Acknowledge")) +
              "</button> <button type=\"submit\" name=\"answer\" value=\"decline\" "
              "class=\"secondary\">" +
              h(c.t("Decline")) + "</button></div></form>";
    }
    if (!inbound && open && a.value("msgType", "alert") != "cancel") {
      body += "<h2>" + h(c.t("Update or cancel")) +
              "</h2><form id=\"update-form\" method=\"post\" action=\"/alerts/update\">" +
              csrfField(c) + "<input type=\"hidden\" name=\"id\" value=\"" + h(id) + "\">" +
              textField("u-person", "person", c.t("Your name"), name,
                        "required autocomplete=\"name\"") +
              textField("u-headline", "headline", c.t("Headline"), a.value("headline", ""),
                        "required maxlength=\"256\"") +
              "<div class=\"field wide\"><label for=\"u-description\">" + h(c.t("Description")) +
              "</label><textarea id=\"u-description\" name=\"description\" rows=\"4\" "
              "maxlength=\"8000\">" +
              h(a.value("description", "")) +
              "</textarea></div><div class=\"actions\"><button type=\"submit\">" +
              h(c.t("Send the update")) + "</button></div></form>" +
              "<form id=\"cancel-form\" method=\"post\" action=\"/alerts/cancel\">" + csrfField(c) +
              "<input type=\"hidden\" name=\"id\" value=\"" + h(id) + "\">" +
              textField("x-person", "person", c.t("Your name"), name,
                        "required autocomplete=\"name\"") +
              textField("x-reason", "reason", c.t("Why it is cancelled"), "", "maxlength=\"256\"") +
              "<div class=\"actions\"><button type=\"submit\" class=\"danger\">" +
              h(c.t("Cancel the alert")) + "</button></div></form>";
    }
    page(c, a.value("headline", "alert"), "alerts", body);
  }

  void viewAlert(Ctx& c) { viewAlert(c, "", ""); }

  std::string targetsText(const Ctx& c, const Json& t) const {
    std::string out;
    auto add = [&](const char* key, std::string_view label, std::string_view vocabulary) {
      if (!t.contains(key) || !t[key].is_array()) return;
      std::string list;
      for (const auto& v : t[key]) {
        if (!v.is_string()) continue;
        std::string s = v.get<std::string>();
        list += (list.empty() ? "" : ", ") +
                (vocabulary == "country" ? countryName(c.lang, s) : c.w(vocabulary, s));
      }
      out += (out.empty() ? "" : "; ") + std::string(label) + ": " + list;
    };
    add("countries", c.t("countries"), "country");
    add("networks", c.t("networks"), "");
    add("roles", c.t("roles"), "role");
    add("sites", c.t("sites"), "");
    add("focalPoints", c.t("focal points"), "");
    return out;
  }

  void answerAlert(Ctx& c) {
    auto who = person(c);
    c.query = Form{};
    if (!who) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      c.res.status = 400;
      return viewAlert(c, c.t("Give your name: the sender sees who acknowledged."), "error");
    }
    const bool decline = c.form.get("answer") == "decline";
    auto r = site::answerAlert(service_, c.form.get("id"), *who, c.form.get("comment"), decline);
    if (r.status == 404) return viewAlert(c);
    if (r.status == 200) {
      spdlog::info("desk: alert={} {} by a signed-in person", c.form.get("id"),
                   decline ? "declined" : "acknowledged");
      return c.res.set_redirect("/alerts/view?id=" + urlEncode(c.form.get("id")), 303);
    }
    if (r.status == 202)
      return viewAlert(
          c,
          c.t("Stored at this site; it will reach the sender as soon as the broker is reachable."),
          "info");
    c.res.status = r.status;
    viewAlert(c,
              std::string(c.t("The answer was not accepted:")) + " " +
                  r.body.value("error", r.body.value("detail", "")),
              "error");
  }

  void replaceAlert(Ctx& c, const std::string& msgType) {
    const std::string id = c.form.get("id");
    c.query = Form{};
    auto who = person(c);
    if (!who) {
      c.res.status = 400;
      return viewAlert(c, c.t("Give your name: the targets see who sent the alert."), "error");
    }
    Json a = Json::object();
    a["msgType"] = msgType;
    a["references"] = Json::array({id});
    a["senderPerson"] = *who;
    a["language"] = std::string(langCode(c.lang));
    if (msgType == "update") {
      if (c.form.get("headline").empty()) {
        c.res.status = 400;
        return viewAlert(c, c.t("The headline is required."), "error");
      }
      a["headline"] = c.form.get("headline");
      if (!c.form.get("description").empty()) a["description"] = c.form.get("description");
    } else {
      std::string reason = c.form.get("reason");
      a["headline"] = reason.empty() ? "Cancelled: alert " + id : reason;
    }
    auto r = site::sendAlert(service_, config_, keys_, a);
    if (r.status != 200) {
      c.res.status = r.status == 503 ? 503 : 400;
      return viewAlert(c, refusalText(c, r), "error");
    }
    c.res.set_redirect("/alerts/view?id=" + urlEncode(r.body.value("id", "")), 303);
  }

  void updateAlert(Ctx& c) { replaceAlert(c, "update"); }
  void cancelAlert(Ctx& c) { replaceAlert(c, "cancel"); }

  // ---- MLA requests ---------------------------------------------------------------------------
  // The site's RequestDesk (site/requests.h) keeps the requests, their files and their signed
  // trails; these pages show them and take the recipient's two steps (opened, a status). Sending
  // a request (with its files) is the command line's: `liaison request send`.

  static bool isRequestId(const std::string& id) {
    return !id.empty() && id.size() <= 64 && std::all_of(id.begin(), id.end(), [](char ch) {
      return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-';
    });
  }

  static int httpStatus(const Error& e) {
    return e.code == Errc::kInvalidInput ? 400
           : e.code == Errc::kNotFound   ? 404
           : e.code == Errc::kConflict   ? 409
                                         : 500;
  }

  // The desk's requests, or nullptr after showing that this site keeps none.
  site::RequestDesk* requestDesk(Ctx& c) {
    site::RequestDesk* rd = service_.requests();
    if (rd == nullptr) {
      c.res.status = 404;
      page(c, std::string(c.t("MLA requests")), "requests",
           "<h1>" + h(c.t("MLA requests")) + "</h1>" +
               notice("info", c.t("This site keeps no MLA requests.")));
    }
    return rd;
  }

  // "3.1 MB" in the reader's language (a decimal comma in Russian).
  static std::string sizeText(const Ctx& c, uint64_t bytes) {
    if (bytes < 1024) return subst(c.t("{} bytes"), {std::to_string(bytes)});
    const bool mb = bytes >= 1024 * 1024;
    const double value = static_cast<double>(bytes) / (mb ? 1024.0 * 1024.0 : 1024.0);
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.1f", value);
    std::string number = buf;
    if (c.lang == Lang::kRu) std::replace(number.begin(), number.end(), '.', ',');
    return subst(c.t(mb ? "{} MB" : "{} KB"), {number});
  }

  // The reminder of RequestDesk::list ("overdue", "due in N days"), in the reader's language.
  static std::string reminderTag(const Ctx& c, const std::string& reminder) {
    if (reminder.empty()) return "";
    if (reminder == "overdue")
      return " <span class=\"tag red reminder\">" + h(c.t("overdue")) + "</span>";
    std::string days;
    for (char ch : reminder) {
      if (ch >= '0' && ch <= '9') days.push_back(ch);
    }
    return " <span class=\"tag reminder\">" +
           h(days.empty() ? reminder : subst(c.t("due in {} days"), {days})) + "</span>";
  }

  static std::string jsonTime(const Json& j, const char* key) {
    auto it = j.find(key);
    if (it == j.end()) return "—";
    if (it->is_number_integer() && it->get<int64_t>() > 0)
      return timeTag(formatTimestamp(it->get<int64_t>()));
    if (it->is_string()) return timeTag(it->get<std::string>());
    return "—";
  }

  static std::vector<std::string> stringsOf(const Json& j) {
    std::vector<std::string> out;
    if (!j.is_array()) return out;
    for (const auto& v : j) {
      if (v.is_string()) out.push_back(v.get<std::string>());
    }
    return out;
  }

  void requestsPage(Ctx& c) {
    site::RequestDesk* rd = requestDesk(c);
    if (rd == nullptr) return;
    std::string direction = c.query.get("direction");
    const bool onlyOpen = c.query.get("open") == "1";
    std::string body = "<h1>" + h(c.t("MLA requests")) + "</h1>";
    body +=
        "<form id=\"requests-form\" class=\"filters compact\" method=\"get\" action=\"/requests\">";
    body += "<div class=\"field narrow\"><label for=\"r-direction\">" + h(c.t("Which")) +
            "</label><select id=\"r-direction\" name=\"direction\">" +
            option("", c.t("Incoming and outgoing"), direction.empty()) +
            option("incoming", c.t("Incoming"), direction == "incoming") +
            option("outgoing", c.t("Outgoing"), direction == "outgoing") + "</select></div>";
    body += checkField("r-open", "open", c.t("Open only"), onlyOpen);
    body += "<div class=\"actions\"><button type=\"submit\">" + h(c.t("Show requests")) +
            "</button></div></form>";
    if (!direction.empty() && direction != "incoming" && direction != "outgoing") {
      c.res.status = 400;
      body += notice("error", c.t("The request was malformed."));
      return page(c, std::string(c.t("MLA requests")), "requests", body);
    }
    auto listed = rd->list(direction, onlyOpen);
    if (!listed) throw std::runtime_error(listed.error().message);
    const Json list = listed->value("requests", Json::array());
    if (list.empty()) {
      body += notice("info", direction.empty() && !onlyOpen ? c.t("No requests at this site.")
                                                            : c.t("No requests match."));
      return page(c, std::string(c.t("MLA requests")), "requests", body);
    }
    body += "<table class=\"requests\" id=\"requests\"><caption>" +
            h(subst(c.t("Requests: {}"), {std::to_string(list.size())})) +
            "</caption><thead><tr><th scope=\"col\">" + h(c.t("Direction")) +
            "</th><th scope=\"col\">" + h(c.t("Case")) + "</th><th scope=\"col\">" +
            h(c.t("Other side")) + "</th><th scope=\"col\">" + h(c.t("Measures")) +
            "</th><th scope=\"col\">" + h(c.t("State")) + "</th><th scope=\"col\">" +
            h(c.t("Deadline")) + "</th><th scope=\"col\">" + h(c.t("Sent")) +
            "</th></tr></thead><tbody>";
    for (const auto& r : list) {
      const std::string id = r.value("id", "");
      const bool incoming = r.value("direction", "") == "incoming";
      const std::string reminder = r.value("reminder", "");
      std::string rowClass = incoming ? "in" : "out";
      if (reminder == "overdue") rowClass += " overdue";
      if (incoming && r.value("state", "") == "delivered") rowClass += " todo";  // to be opened
      std::string caseText = r.value("case", "");
      if (caseText.empty()) caseText = id;
      body += "<tr class=\"" + rowClass + "\" data-request=\"" + h(id) + "\"><td>" +
              h(c.w("direction", r.value("direction", ""))) +
              "</td><td><a href=\"/requests/view?id=" + urlEncode(id) + "\">" + h(caseText) +
              "</a>" +
              (r.value("urgent", false) ? " <span class=\"tag red\">" + h(c.t("urgent")) + "</span>"
                                        : "") +
              "</td><td>" + h(incoming ? r.value("from", "") : r.value("to", "")) + "</td><td>" +
              joinWords(c, "measure", stringsOf(r.value("measures", Json::array()))) +
              "</td><td class=\"request-state\">" + h(c.w("request", r.value("state", ""))) +
              "</td><td>" + dateTag(r.value("deadline", "")) + reminderTag(c, reminder) +
              "</td><td>" + jsonTime(r, "createdAt") + "</td></tr>";
    }
    body += "</tbody></table>";
    page(c, std::string(c.t("MLA requests")), "requests", body);
  }

  // "UNTOC — United Nations Convention against ..." when this site's replica holds the instrument.
  std::string legalBasisText(const std::string& id) const {
    if (id.empty()) return "";
    if (vocab::isRecordId(id)) {
      auto got = dir_.get(id);
      if (got && *got && (*got)->record().getBody().isInstrument()) {
        return "<strong>" + h(id) + "</strong> " +
               h((*got)->record().getBody().getInstrument().getName());
      }
    }
    return h(id);
  }

  static bool hasStep(const Json& trail, std::string_view kind) {
    return std::any_of(trail.begin(), trail.end(),
                       [&](const Json& s) { return s.value("kind", "") == kind; });
  }

  void viewRequest(Ctx& c, std::string_view message, std::string_view kind) {
    site::RequestDesk* rd = requestDesk(c);
    if (rd == nullptr) return;
    const std::string id = c.query.has("id") ? c.query.get("id") : c.form.get("id");
    if (!isRequestId(id)) return refuse(c, 400, subst(c.t("\"{}\" is not a request id."), {id}));
    auto shown = rd->show(id);
    if (!shown && shown.error().code == Errc::kNotFound) {
      c.res.status = 404;
      return page(c, std::string(c.t("Not found")), "requests",
                  "<h1>" + h(c.t("Not found")) + "</h1>" +
                      notice("error", subst(c.t("There is no request {} at this site."), {id})));
    }
    if (!shown) throw std::runtime_error(shown.error().message);
    const Json& r = (*shown)["request"];
    const Json trail = shown->value("trail", Json::array());
    const bool incoming = r.value("direction", "") == "incoming";
    const std::string state = r.value("state", "");
    const bool opened = hasStep(trail, "opened");
    std::string reminder;
    if (auto listed = rd->list("", false)) {
      for (const auto& x : listed->value("requests", Json::array())) {
        if (x.value("id", "") == id) reminder = x.value("reminder", "");
      }
    }
    std::string body;
    if (!message.empty()) body += notice(kind, message);
    std::string caseText = r.value("case", "");
    body += "<h1>" + h(subst(c.t("Request {}"), {caseText.empty() ? id : caseText})) +
            "</h1><p class=\"state\" id=\"request-state\">" + h(c.w("request", state)) + "</p>";
    if (r.contains("refusal"))
      body += "<p class=\"notice error\" role=\"alert\">" +
              h(c.t("The broker refused this request:")) + " " + h(r.value("refusal", "")) + "</p>";
    body += "<dl class=\"card\" id=\"request\">";
    auto row = [&](std::string_view label, const std::string& html) {
      if (html.empty()) return;
      body += "<dt>" + h(label) + "</dt><dd>" + html + "</dd>";
    };
    row(c.t("Direction"), h(c.w("direction", r.value("direction", ""))));
    row(c.t("Case reference"), h(caseText));
    row(c.t("From"), h(r.value("from", "")));
    std::string to = h(r.value("to", ""));
    if (!r.value("toContact", "").empty()) to += " · " + h(r.value("toContact", ""));
    row(c.t("To"), to);
    row(c.t("Legal basis"), legalBasisText(r.value("legalBasis", "")));
    row(c.t("Measures"), joinWords(c, "measure", stringsOf(r.value("measures", Json::array()))));
    row(c.t("Urgency"), r.value("urgent", false)
                            ? "<span class=\"tag red\">" + h(c.t("urgent")) + "</span>"
                            : h(c.t("normal")));
    row(c.t("Deadline"), dateTag(r.value("deadline", "")) + reminderTag(c, reminder));
    row(c.t("Language"),
        r.value("language", "").empty() ? "" : h(languageName(c.lang, r.value("language", ""))));
    row(c.t("Sent"), jsonTime(r, "createdAt"));
    row(c.t("Summary"), "<span class=\"text\">" + h(r.value("summary", "")) + "</span>");
    // Files: downloads once a person has opened an incoming request (the sender sees who).
    const Json files = r.value("files", Json::array());
    const bool downloads = incoming && opened;
    std::string fileList = "<ul class=\"files\" id=\"files\">";
    for (size_t i = 0; i < files.size(); ++i) {
      const Json& f = files[i];
      const std::string name = f.value("name", "");
      const std::string sha = f.value("sha256", "");
      fileList += "<li>";
      fileList += downloads ? "<a href=\"/requests/file?id=" + urlEncode(id) +
                                  "&amp;f=" + std::to_string(i) + "\" download>" + h(name) + "</a>"
                            : h(name);
      fileList += " <span class=\"note\">" + h(sizeText(c, f.value("size", uint64_t{0}))) +
                  " · SHA-256 <code title=\"" + h(sha) + "\">" + h(sha.substr(0, 16)) +
                  "…</code></span></li>";
    }
    fileList += "</ul>";
    row(c.t("Files"), files.empty() ? "—" : fileList);
    body += "</dl>";

    // The recipient's steps: open it (signs "opened"), then statuses.
    std::string name = c.session ? c.session->person : "";
    if (incoming && (state == "fetching" || state == "damaged")) {
      body += notice(state == "damaged" ? "error" : "info",
                     state == "damaged"
                         ? c.t("The files did not arrive whole: the request cannot be opened.")
                         : c.t("Files arrive before it can be opened."));
    } else if (incoming && !opened) {
      body += "<h2>" + h(c.t("Open the request")) + "</h2><p class=\"hint\">" +
              h(c.t("Opening signs \"opened\" with your name (the sender sees it); then its files "
                    "can be downloaded.")) +
              "</p><form id=\"open-form\" method=\"post\" action=\"/requests/open\">" +
              csrfField(c) + "<input type=\"hidden\" name=\"id\" value=\"" + h(id) + "\">" +
              textField("o-person", "person", c.t("Your name"), name,
                        "required maxlength=\"200\" autocomplete=\"name\"") +
              "<div class=\"actions\"><button type=\"submit\" id=\"open-request\">" +
              h(c.t("Open it")) + "</button></div></form>";
    } else if (incoming) {
      const std::string chosen = c.form.get("status");
      std::string select = "<div class=\"field\"><label for=\"s-status\">" + h(c.t("Status")) +
                           "</label><select id=\"s-status\" name=\"status\" required>";
      for (auto v : requests::statusNames()) select += option(v, c.w("request", v), v == chosen);
      select += "</select></div>";
      body += "<h2>" + h(c.t("Set the status")) + "</h2><p class=\"hint\">" +
              h(c.t("In the sender's trail, under your name.")) + " " +
              h(c.t("A refusal gives its grounds in the comment.")) +
              "</p><form id=\"status-form\" method=\"post\" action=\"/requests/status\">" +
              csrfField(c) + "<input type=\"hidden\" name=\"id\" value=\"" + h(id) + "\">" +
              select +
              textField("s-person", "person", c.t("Your name"), name,
                        "required maxlength=\"200\" autocomplete=\"name\"") +
              textField("s-reference", "reference", c.t("Our reference (optional)"),
                        c.form.get("reference"), "maxlength=\"128\"") +
              "<div class=\"field wide\"><label for=\"s-comment\">" + h(c.t("Grounds or comment")) +
              "</label><textarea id=\"s-comment\" name=\"comment\" rows=\"3\" "
              "maxlength=\"4000\">" +
              h(c.form.get("comment")) +
              "</textarea></div><div class=\"actions\"><button type=\"submit\" "
              "id=\"set-status\">" +
              h(c.t("Set the status")) + "</button></div></form>";
    }
    // The trail, in order, and whether it checks.
    body += "<h2>" + h(c.t("Signed trail")) + "</h2>";
    if (shown->value("verified", false)) {
      body +=
          "<p class=\"notice ok\" id=\"trail-check\" role=\"status\"><strong>" +
          h(c.t("Trail checked")) + "</strong> · " +
          h(c.t("Every step is signed by the party that took it and chained to the one before.")) +
          "</p>";
    } else {
      body += "<p class=\"notice error\" id=\"trail-check\" role=\"alert\">" +
              h(c.t("The trail does not check:")) + " " + h(shown->value("problem", "")) + "</p>";
    }
    body += "<ol class=\"trail\" id=\"trail\">";
    for (const auto& s : trail) {
      const std::string stepKind = s.value("kind", "");
      std::string what =
          stepKind == "status" ? c.w("request", s.value("status", "")) : c.w("step", stepKind);
      const std::string key = s.value("signerKey", "");
      body += "<li data-kind=\"" + h(stepKind) + "\">" + jsonTime(s, "at") + " · <strong>" +
              h(what) + "</strong>";
      if (!s.value("by", "").empty()) body += " · " + h(s.value("by", ""));
      if (!s.value("reference", "").empty())
        body += " · " + h(c.t("Reference")) + " " + h(s.value("reference", ""));
      if (!s.value("comment", "").empty())
        body += " · «<span class=\"text\">" + h(s.value("comment", "")) + "</span>»";
      body += "<br><span class=\"note\">" + h(subst(c.t("signed by {}"), {s.value("signer", "")})) +
              " · <code title=\"" + h(key) + "\">" +
              h(subst(c.t("key {}"), {key.substr(0, 16) + "…"})) + "</code></span></li>";
    }
    body += "</ol>";

    page(c, subst(c.t("Request {}"), {caseText.empty() ? id : caseText}), "requests", body);
  }

  void viewRequest(Ctx& c) { viewRequest(c, "", ""); }

  // After a POST: back to the request's page (303), or the page again with why not.
  void afterRequestStep(Ctx& c, const Result<Json>& r) {
    const std::string id = c.form.get("id");
    if (r) return c.res.set_redirect("/requests/view?id=" + urlEncode(id), 303);
    refused_.fetch_add(1, std::memory_order_relaxed);
    const int status = httpStatus(r.error());
    if (status == 404) {
      c.query = Form{};
      return viewRequest(c);
    }
    c.query = Form{};
    viewRequest(c, std::string(c.t("Not done:")) + " " + r.error().message, "error");
    c.res.status = status;
  }

  void openRequest(Ctx& c) {
    site::RequestDesk* rd = requestDesk(c);
    if (rd == nullptr) return;
    const std::string id = c.form.get("id");
    if (!isRequestId(id)) return refuse(c, 400, subst(c.t("\"{}\" is not a request id."), {id}));
    auto who = person(c);
    c.query = Form{};
    if (!who) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      viewRequest(c, c.t("Give your name: the sender sees who opened the request."), "error");
      c.res.status = 400;
      return;
    }
    auto shown = rd->show(id);
    if (shown && (*shown)["request"].value("direction", "") != "incoming") {
      return afterRequestStep(c, makeError(Errc::kConflict, "only the recipient opens a request"));
    }
    auto r = rd->openFiles(id, *who);
    if (r) spdlog::info("desk: request={} opened by a signed-in person", id);
    afterRequestStep(c, r);
  }

  void setRequestStatus(Ctx& c) {
    site::RequestDesk* rd = requestDesk(c);
    if (rd == nullptr) return;
    const std::string id = c.form.get("id");
    if (!isRequestId(id)) return refuse(c, 400, subst(c.t("\"{}\" is not a request id."), {id}));
    const std::string status = c.form.get("status");
    auto fail = [&](std::string_view message) {
      refused_.fetch_add(1, std::memory_order_relaxed);
      c.query = Form{};
      viewRequest(c, message, "error");
      c.res.status = 400;
    };
    if (!requests::isStatus(status)) return fail(subst(c.t("\"{}\" is not a status."), {status}));
    auto who = person(c);
    if (!who) return fail(c.t("Give your name: the sender sees who set the status."));
    std::string comment = c.form.get("comment");
    if (comment.find_first_not_of(" \t\r\n") == std::string::npos) comment.clear();
    if (status == "refused" && comment.empty())
      return fail(c.t("A refusal gives its grounds in the comment."));
    auto r = rd->setStatus(id, status, *who, c.form.get("reference"), comment);
    if (r) spdlog::info("desk: request={} status {} set by a signed-in person", id, status);
    afterRequestStep(c, r);
  }

  // A file of an opened incoming request, decrypted chunk by chunk as the browser reads it.
  void requestFile(Ctx& c) {
    site::RequestDesk* rd = requestDesk(c);
    if (rd == nullptr) return;
    const std::string id = c.query.get("id");
    if (!isRequestId(id)) return refuse(c, 400, subst(c.t("\"{}\" is not a request id."), {id}));
    auto shown = rd->show(id);
    if (!shown && shown.error().code == Errc::kNotFound) return viewRequest(c);
    if (!shown) throw std::runtime_error(shown.error().message);
    const Json& r = (*shown)["request"];
    const Json files = r.value("files", Json::array());
    const std::string f = c.query.get("f");
    uint32_t file = 0;
    auto [end, ec] = std::from_chars(f.data(), f.data() + f.size(), file);
    if (f.empty() || ec != std::errc() || end != f.data() + f.size() || file >= files.size())
      return refuse(c, 404, subst(c.t("\"{}\" is not one of its files."), {f}));
    if (r.value("direction", "") != "incoming" ||
        !hasStep(shown->value("trail", Json()), "opened")) {
      c.query = Form{};
      c.query.add("id", id);
      viewRequest(c,
                  c.t("Opening signs \"opened\" with your name (the sender sees it); then its "
                      "files can be downloaded."),
                  "error");
      c.res.status = 409;
      return;
    }
    const std::string name = files[file].value("name", "file");
    const uint64_t size = files[file].value("size", uint64_t{0});
    // A name a browser saves safely: ASCII letters, digits, . and - (any run of other characters
    // one _), no leading dot; the name as sent (UTF-8) in filename* for browsers that read it.
    std::string safe;
    for (char ch : name) {
      const auto byte = static_cast<unsigned char>(ch);
      if ((byte & 0xC0) == 0x80) continue;  // one _ for a whole UTF-8 character
      const bool keep = std::isalnum(byte) || ch == '-' || (ch == '.' && !safe.empty());
      if (keep) {
        safe.push_back(ch);
      } else if (safe.empty() || safe.back() != '_') {
        safe.push_back('_');
      }
    }
    if (safe.size() > 120) safe = safe.substr(safe.size() - 120);
    if (safe.empty()) safe = "file";
    c.res.set_header("Content-Disposition",
                     "attachment; filename=\"" + safe + "\"; filename*=UTF-8''" + urlEncode(name));
    spdlog::info("desk: request={} file {} downloaded by a signed-in person", id, file);
    if (size == 0) return c.res.set_content("", "application/octet-stream");
    c.res.set_content_provider(static_cast<size_t>(size), "application/octet-stream",
                               [rd, id, file](size_t offset, size_t, httplib::DataSink& sink) {
                                 const auto index =
                                     static_cast<uint32_t>(offset / requests::kChunkBytes);
                                 auto chunk = rd->plainChunk(id, file, index);
                                 if (!chunk) {
                                   spdlog::error("desk: request={} file {} chunk {}: {}", id, file,
                                                 index, chunk.error().message);
                                   return false;
                                 }
                                 const size_t skip = offset % requests::kChunkBytes;
                                 if (skip >= chunk->size()) return false;
                                 return sink.write(chunk->data() + skip, chunk->size() - skip);
                               });
  }

  // ---- notices and status ---------------------------------------------------------------------

  void notices(Ctx& c) {
    const int64_t now = clock_.nowSeconds();
    directory::Query q;
    q.kind = "notice";
    q.limit = 200;
    std::string error;
    std::string type = c.query.get("type");
    std::string nationality = upperCase(c.query.get("nationality"));
    if (!type.empty()) {
      if (type != "yellow" && type != "red")
        error = subst(c.t("\"{}\" is not a kind of notice."), {type});
      q.noticeType = type;
    }
    if (!nationality.empty()) {
      if (!vocab::isCountry(nationality))
        error =
            subst(c.t("Nationality: \"{}\" is not a country code (KG, TH, ...)."), {nationality});
      q.nationality = nationality;
    }
    std::string body = "<h1>" + h(c.t("Interpol notices")) + "</h1>";
    body += "<form id=\"notices-form\" class=\"filters\" method=\"get\" action=\"/notices\">";
    body += selectField(c, "n-type", "type", c.t("Notice"), "notice", {"yellow", "red"}, type);
    body += textField("n-nationality", "nationality", c.t("Nationality"), nationality,
                      "list=\"countries\" maxlength=\"2\" autocomplete=\"off\"");
    body += "<div class=\"actions\"><button type=\"submit\">" + h(c.t("Show")) +
            "</button></div></form>" + countryList(c);
    if (!error.empty()) {
      c.res.status = 400;
      body += notice("error", error);
      return page(c, std::string(c.t("Notices")), "notices", body);
    }
    auto hits = dir_.find(q, now);
    if (!hits) throw std::runtime_error(hits.error().message);
    if (hits->empty()) {
      body += notice("info", c.t("No notices in this site's replica."));
    } else {
      body += "<table class=\"notices\"><caption>" +
              h(subst(c.t("{} found"), {std::to_string(hits->size())})) +
              "</caption><thead><tr><th scope=\"col\">" + h(c.t("Notice")) +
              "</th><th scope=\"col\">" + h(c.t("Name")) + "</th><th scope=\"col\">" +
              h(c.t("Date of birth")) + "</th><th scope=\"col\">" + h(c.t("Nationalities")) +
              "</th><th scope=\"col\">" + h(c.t("Interpol's reference")) +
              "</th><th scope=\"col\">" + h(c.t("Fetched")) + "</th></tr></thead><tbody>";
      for (const auto& hit : *hits) {
        auto n = hit.stored.record().getBody().getNotice();
        body +=
            "<tr><td><span class=\"tag " + h(n.getNoticeType()) + "\">" +
            h(c.w("notice", str(n.getNoticeType()))) +
            "</span></td><td><a href=\"/contact?id=" + urlEncode(str(hit.stored.record().getId())) +
            "\">" + h(n.getName()) + ", " + h(n.getForename()) + "</a></td><td>" +
            h(n.getDateOfBirth()) + "</td><td>" + joinCountries(c, texts(n.getNationalities())) +
            "</td><td>" + h(n.getEntityId()) + "</td><td>" + timeTag(str(n.getFetchedAt())) +
            "</td></tr>";
      }
      body += "</tbody></table>";
    }
    page(c, std::string(c.t("Notices")), "notices", body);
  }

  void status(Ctx& c) {
    site::SiteStatus s = service_.status();
    auto counts = dir_.counts();
    if (!counts) throw std::runtime_error(counts.error().message);
    std::string body =
        "<h1>" + h(c.t("Status of this site")) + "</h1><dl class=\"card\" id=\"status\">";
    auto row = [&](std::string_view label, const std::string& html) {
      body += "<dt>" + h(label) + "</dt><dd>" + html + "</dd>";
    };
    row(c.t("Site"), h(s.site) + " · " + h(s.network));
    row(c.t("Broker"), s.connected
                           ? "<strong class=\"yes\">" + h(c.t("connected")) + "</strong>"
                           : "<strong class=\"no\">" + h(c.t("not connected")) + "</strong>");
    row(c.t("Replica"), h(c.w("state", s.state)));
    if (s.brokerEpoch != 0 && s.brokerEpoch == s.cursorEpoch && s.brokerHead >= s.cursorSeq) {
      row(c.t("Behind the broker"),
          h(subst(c.t("{} items"), {std::to_string(s.brokerHead - s.cursorSeq)})));
    }
    if (s.lastHeardMsAgo >= 0)
      row(c.t("Last heard from the broker"),
          h(subst(c.t("{} s ago"), {std::to_string(s.lastHeardMsAgo / 1000)})));
    row(c.t("Contacts"), std::to_string(counts->contacts));
    row(c.t("Legal instruments"), std::to_string(counts->instruments));
    row(c.t("Notices"), std::to_string(counts->notices));
    row(c.t("Retired records"), std::to_string(counts->retired));
    row(c.t("Member sites"), std::to_string(counts->members) + " (" +
                                 h(subst(c.t("{} revoked"), {std::to_string(counts->revoked)})) +
                                 ")");
    for (const auto& [net, n] : counts->fromPeers)
      row(subst(c.t("Records from {}"), {net}), std::to_string(n));
    std::string refusedText;
    for (const auto& [reason, n] : s.refused)
      refusedText += (refusedText.empty() ? "" : ", ") + h(reason) + ": " + std::to_string(n);
    row(c.t("Items refused by this replica"), refusedText.empty() ? "0" : refusedText);
    row(c.t("Alerts received"), std::to_string(s.alertsReceived));
    row(c.t("Answers waiting for the broker"), std::to_string(s.answersQueued));
    row(c.t("Requests refused by the desk"),
        std::to_string(refused_.load(std::memory_order_relaxed)));
    body += "</dl>";
    auto peerings = dir_.peerings();
    if (peerings && !peerings->empty()) {
      body += "<h2>" + h(c.t("Peer networks")) + "</h2><ul>";
      for (const auto& p : *peerings) {
        body += "<li>" + h(p.network) + " → " + h(p.peer) + " · " + h(c.w("state", p.status)) +
                " · " +
                h(subst(c.t("valid until {}"), {formatTimestamp(p.validUntil).substr(0, 10)})) +
                "</li>";
      }
      body += "</ul>";
    }
    page(c, std::string(c.t("Status")), "status", body);
  }
};

std::unique_ptr<site::WebPages> makeDesk(const directory::SiteConfig& config,
                                         site::SiteService& service, const trust::KeyPair& keys,
                                         const directory::Directory& dir, const Clock& clock) {
  return std::make_unique<Desk>(config, service, keys, dir, clock);
}

}  // namespace liaison::desk
