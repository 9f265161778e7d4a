// The desk (desk/desk.h): its pure core (forms, escaping, languages, sessions), and every security
// rule over HTTP on a real socket — the site's ApiServer with the desk mounted, a fake SiteService
// in place of the event loop, a real Directory. The pages in a real browser, with real processes,
// are tests/desk/browser_test.py.
#include "desk/desk.h"

#include <gtest/gtest.h>

#include "desk/core.h"
#include "desk/strings.h"
#include "requests/request.h"
#include "schemas/alert_json.h"
#include "site/api.h"
#include "tests/api_fixture.h"

namespace liaison {
namespace {

using desk::Lang;
using json::Json;
using namespace apitest;  // NOLINT(google-build-using-namespace): the shared fixture

// ---- forms -------------------------------------------------------------------------------------

TEST(DeskForm, DecodesPercentEscapesPlusAndRepeatedNames) {
  auto f = desk::parseForm(
      "name=%D0%9A%D1%83%D0%B4%D0%B0%D1%8F%D1%80%D0%BE%D0%B2&q=a+b&r=1&r=2&&empty=");
  ASSERT_TRUE(f.ok()) << f.error().message;
  EXPECT_EQ(f->get("name"), "Кудаяров");
  EXPECT_EQ(f->get("q"), "a b");
  EXPECT_EQ(f->all("r"), (std::vector<std::string>{"1", "2"}));
  EXPECT_TRUE(f->has("empty"));
  EXPECT_EQ(f->get("missing"), "");
}

TEST(DeskForm, RefusesMalformedInputNamingTheField) {
  auto bad = [](std::string_view body) {
    auto f = desk::parseForm(body);
    return f.ok() ? std::string("accepted") : f.error().message;
  };
  EXPECT_NE(bad("a=%ZZ").find("a: a malformed %-escape"), std::string::npos);
  EXPECT_NE(bad("a=%4").find("malformed"), std::string::npos);
  EXPECT_NE(bad("a=%FF%FE").find("a: not valid UTF-8"), std::string::npos);
  EXPECT_NE(bad("a=%00").find("not valid UTF-8 text"), std::string::npos);
  EXPECT_NE(bad("a=%ED%A0%80").find("not valid UTF-8"), std::string::npos);  // a surrogate
  EXPECT_NE(bad("%3Cscript%3E=1").find("field name"), std::string::npos);
  EXPECT_NE(bad("=1").find("field name"), std::string::npos);
  std::string many;
  for (int i = 0; i <= 200; ++i) many += "f" + std::to_string(i) + "=1&";
  EXPECT_NE(bad(many).find("more than 200 fields"), std::string::npos);
  EXPECT_NE(bad("a=" + std::string(70 * 1024, 'x')).find("a: longer than 64 KiB"),
            std::string::npos);
  EXPECT_NE(bad(std::string(300 * 1024, 'x')).find("larger than 256 KiB"), std::string::npos);
  // Tabs and line ends are text (a comment in a textarea).
  EXPECT_EQ(bad("c=line1%0D%0Aline2%09x"), "accepted");
}

TEST(DeskHtml, EscapesMarkupQuotesAndInvalidUtf8) {
  EXPECT_EQ(desk::escapeHtml("<script>alert('x')</script> & \"q\""),
            "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;");
  EXPECT_EQ(desk::escapeHtml("Кудаяров"), "Кудаяров");
  EXPECT_EQ(desk::escapeHtml("a\xff"
                             "b"),
            "a\xEF\xBF\xBD"
            "b");
  EXPECT_EQ(desk::urlEncode("kg/a b:1?&"), "kg%2Fa%20b%3A1%3F%26");
}

TEST(DeskLanguage, CookieFirstThenAcceptLanguageByQualityThenEnglish) {
  EXPECT_EQ(desk::chooseLang("", "ru-RU,ru;q=0.9,en;q=0.8"), Lang::kRu);
  EXPECT_EQ(desk::chooseLang("", "de-DE,en;q=0.5,ru;q=0.7"), Lang::kRu);
  EXPECT_EQ(desk::chooseLang("", "th-TH,th;q=0.9"), Lang::kEn);
  EXPECT_EQ(desk::chooseLang("", ""), Lang::kEn);
  EXPECT_EQ(desk::chooseLang("en", "ru"), Lang::kEn);  // the switch sticks
  EXPECT_EQ(desk::chooseLang("ru", "en"), Lang::kRu);
  EXPECT_EQ(desk::chooseLang("xx", "ru"), Lang::kRu);  // an unknown cookie is ignored
}

TEST(DeskCookies, FindsTheNamedCookieOnly) {
  EXPECT_EQ(desk::cookieValue("a=1; liaison_session=abc ; b=2", "liaison_session"), "abc");
  EXPECT_EQ(desk::cookieValue("xliaison_session=abc", "liaison_session"), "");
  EXPECT_EQ(desk::cookieValue("", "liaison_session"), "");
}

TEST(DeskPaths, OnlyLocalPathsAreFollowedBack) {
  EXPECT_EQ(desk::localPath("/search?name=a"), "/search?name=a");
  EXPECT_EQ(desk::localPath("//evil.example/x"), "/");
  EXPECT_EQ(desk::localPath("http://evil.example/"), "/");
  EXPECT_EQ(desk::localPath("/\\evil.example"), "/");
  EXPECT_EQ(desk::localPath("/a b"), "/");
  EXPECT_EQ(desk::localPath(""), "/");
}

TEST(DeskSessions, ACodeWorksOnceAndOnlyWithinItsLifetime) {
  ManualClock clock(1'800'000'000);
  desk::Sessions sessions(clock);
  auto code = sessions.newCode();
  ASSERT_TRUE(code.ok());
  EXPECT_EQ(code->size(), 64u);
  auto s = sessions.signIn(*code);
  ASSERT_TRUE(s.has_value());
  EXPECT_EQ(s->id.size(), 64u);
  EXPECT_EQ(s->csrf.size(), 64u);
  EXPECT_NE(s->id, *code);
  EXPECT_FALSE(sessions.signIn(*code).has_value()) << "a code is good once";

  auto late = sessions.newCode();
  ASSERT_TRUE(late.ok());
  clock.advance(desk::kCodeLifetime.count());
  EXPECT_FALSE(sessions.signIn(*late).has_value()) << "a code is good for kCodeLifetime";
  EXPECT_FALSE(sessions.signIn("").has_value());
}

TEST(DeskSessions, ASessionEndsWhenIdleAfterItsLifetimeOrWhenSignedOut) {
  ManualClock clock(1'800'000'000);
  desk::Sessions sessions(clock);
  auto signIn = [&] { return *sessions.signIn(*sessions.newCode()); };

  auto idle = signIn();
  clock.advance(desk::kSessionIdle.count() - 1);
  EXPECT_TRUE(sessions.touch(idle.id).has_value());
  clock.advance(desk::kSessionIdle.count());
  EXPECT_FALSE(sessions.touch(idle.id).has_value()) << "idle too long";

  auto busy = signIn();
  for (int64_t t = 0; t < desk::kSessionLifetime.count(); t += 3600) {
    clock.advance(3600);
    if (t + 3600 < desk::kSessionLifetime.count()) {
      EXPECT_TRUE(sessions.touch(busy.id).has_value()) << t;
    }
  }
  EXPECT_FALSE(sessions.touch(busy.id).has_value()) << "past its lifetime, however busy";

  auto out = signIn();
  sessions.signOut(out.id);
  EXPECT_FALSE(sessions.touch(out.id).has_value());
}

TEST(DeskSessions, TheOldestGoesWhenTooManyAreOpen) {
  ManualClock clock(1'800'000'000);
  desk::Sessions sessions(clock);
  auto first = *sessions.signIn(*sessions.newCode());
  for (size_t i = 0; i < desk::kMaxSessions; ++i) {
    clock.advance(1);
    ASSERT_TRUE(sessions.signIn(*sessions.newCode()).has_value());
  }
  EXPECT_EQ(sessions.size(), desk::kMaxSessions);
  EXPECT_FALSE(sessions.touch(first.id).has_value());
}

TEST(DeskStrings, EveryWordHasARussianTranslationInCyrillic) {
  ASSERT_GT(desk::translationCount(), 250u);
  for (size_t i = 0; i < desk::translationCount(); ++i) {
    auto en = desk::translationAt(i, Lang::kEn);
    auto ru = desk::translationAt(i, Lang::kRu);
    EXPECT_FALSE(ru.empty()) << en;
    // Every Russian text holds Cyrillic (Cyrillic letters are 0xD0/0xD1 lead bytes in UTF-8),
    // except the few that are names or numbers in both.
    bool cyrillic =
        ru.find('\xD0') != std::string_view::npos || ru.find('\xD1') != std::string_view::npos;
    EXPECT_TRUE(cyrillic || en == "Interpol I-24/7" || en == "E-mail") << en << " → " << ru;
  }
  EXPECT_EQ(desk::word(Lang::kRu, "role", "central-authority"), "Центральный орган");
  EXPECT_EQ(desk::word(Lang::kRu, "competence", "mla"), "Взаимная правовая помощь");
  EXPECT_EQ(desk::word(Lang::kEn, "topic", "trafficking-in-persons"), "Trafficking in persons");
  EXPECT_EQ(desk::word(Lang::kRu, "topic", "a-new-topic"), "a-new-topic");
  EXPECT_EQ(desk::countryName(Lang::kRu, "TH"), "Таиланд");
  EXPECT_EQ(desk::countryName(Lang::kEn, "KG"), "Kyrgyzstan");
  EXPECT_EQ(desk::languageName(Lang::kRu, "ru"), "русский");
  EXPECT_EQ(desk::subst("{} of {}", {"3", "8"}), "3 of 8");
  // MLA requests: every measure and status of the vocabulary (requests/request.h) has its words,
  // and so has every step of a trail.
  for (auto m : requests::measureNames()) {
    EXPECT_NE(desk::word(Lang::kEn, "measure", m), m) << m;
    EXPECT_NE(desk::word(Lang::kRu, "measure", m), desk::word(Lang::kEn, "measure", m)) << m;
  }
  for (auto st : requests::statusNames()) {
    EXPECT_NE(desk::word(Lang::kEn, "request", st), st) << st;
    EXPECT_NE(desk::word(Lang::kRu, "request", st), desk::word(Lang::kEn, "request", st)) << st;
  }
  for (auto k : {"sent", "accepted", "delivered", "opened", "status"})
    EXPECT_NE(desk::word(Lang::kRu, "step", k), k) << k;
  EXPECT_EQ(desk::word(Lang::kRu, "request", "refused"), "Отказано в исполнении");
}

// ---- over HTTP --------------------------------------------------------------------------------

class DeskHttp : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  trust::KeyPair th = trust::generateKeyPair();
  int64_t now = SystemClock().nowSeconds();
  ManualClock clock{now};
  FakeService service;
  std::unique_ptr<Directory> dir;
  directory::SiteConfig config;
  std::unique_ptr<site::WebPages> desk;
  std::unique_ptr<site::ApiServer> server;

  // Stores `alert` (JSON form) in the inbox as received from th-bangkok, signed by it.
  void storeReceived(const std::string& id, const Json& alert, int64_t receivedAt,
                     const std::string& state) {
    auto item = json::alertFromJson(alert, {id, "th-bangkok", formatTimestamp(now)}, "a");
    ASSERT_TRUE(item.ok()) << item.error().message;
    site::StoredAlert stored;
    stored.id = id;
    stored.envelope = trust::sign(std::move(item).value(), "th-bangkok", th).encode();
    stored.receivedAt = receivedAt;
    stored.state = state;
    service.storeAlert(stored);
  }
  std::string host;
  int port = 0;

  void SetUp() override {
    dir = makeDirectory(tmp / "db", root, kg, th, now);
    storeContact(*dir, "kg-gpo-1", kg, now,
                 R"("name": {"latin": "Nurlan Kudaiarov"}, "role": "central-authority")");
    storeContact(
        *dir, "kg-gpo-2", kg, now,
        R"("name": {"latin": "<script>alert(1)</script> Evil \"Quote\""}, "notes": "<img src=x onerror=alert(2)>")");
    config.dir = tmp.path();
    config.id = "kg-bishkek";
    config.network = "CASC";
    config.api = "127.0.0.1:0";
    desk = desk::makeDesk(config, service, kg, *dir, clock);
    auto started = site::ApiServer::start(config, service, kg, *dir, kToken, desk.get());
    ASSERT_TRUE(started.ok()) << started.error().message;
    server = std::move(started).value();
    std::tie(host, port) = hostPort(testing::readText(tmp / "api.endpoint"));
  }

  std::string hostHeader() const { return host + ":" + std::to_string(port); }

  httplib::Result get(const std::string& path, httplib::Headers headers = {}) {
    httplib::Client c(host, port);
    c.set_read_timeout(10, 0);
    return c.Get(path.c_str(), headers);
  }

  httplib::Result post(const std::string& path, const std::string& body,
                       httplib::Headers headers = {}) {
    httplib::Client c(host, port);
    c.set_read_timeout(15, 0);
    return c.Post(path.c_str(), headers, body, "application/x-www-form-urlencoded");
  }

  // A signed-in browser: the session cookie and the CSRF token of its forms.
  struct Browser {
    std::string cookie, csrf;
  };

  std::string newCode() {
    httplib::Client c(host, port);
    auto r = c.Post("/v1/desk/link", {{"Authorization", "Bearer " + kToken}}, "", "text/plain");
    EXPECT_TRUE(r && r->status == 200);
    std::string link = Json::parse(r->body).value("link", "");
    EXPECT_TRUE(link.starts_with("http://" + hostHeader() + "/signin?code=")) << link;
    return link.substr(link.find("code=") + 5);
  }

  Browser signIn() {
    auto r = get("/signin?code=" + newCode());
    EXPECT_TRUE(r);
    EXPECT_EQ(r->status, 303);
    std::string setCookie = r->get_header_value("Set-Cookie");
    Browser b;
    b.cookie = setCookie.substr(0, setCookie.find(';'));
    auto page = get("/alerts/new", {{"Cookie", b.cookie}});
    EXPECT_TRUE(page && page->status == 200);
    // The token of the page's forms (no std::regex: GCC 12 warns inside it under ASan).
    const std::string marker = "name=\"csrf\" value=\"";
    if (page) {
      auto at = page->body.find(marker);
      if (at != std::string::npos) b.csrf = page->body.substr(at + marker.size(), 64);
    }
    EXPECT_EQ(b.csrf.size(), 64u);
    return b;
  }
};

TEST_F(DeskHttp, WithoutASessionEveryPageIsTheSignInPageAndNoData) {
  for (const char* path :
       {"/search?name=Kudaiarov", "/search?name=Kudaiarov&fragment=1", "/contact?id=kg-gpo-1",
        "/contact/vcard?id=kg-gpo-1", "/counterpart?from=TH&to=KG", "/alerts", "/alerts/poll",
        "/alerts/new", "/notices", "/status", "/requests", "/requests/view?id=abc",
        "/requests/file?id=abc&f=0", "/"}) {
    auto r = get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 401) << path;
    EXPECT_EQ(r->body.find("Nurlan"), std::string::npos) << path;  // the record's, not the query's
    EXPECT_EQ(r->body.find("General Prosecutor"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("a.sadykov@example.kg"), std::string::npos) << path;
  }
  auto page = get("/search");
  EXPECT_NE(page->body.find("liaison desk"), std::string::npos)
      << "the sign-in page says how to sign in";
  // A made-up session cookie is no session.
  auto forged =
      get("/search?name=Kudaiarov",
          {{"Cookie", "liaison_session_" + std::to_string(port) + "=" + std::string(64, 'a')}});
  EXPECT_EQ(forged->status, 401);
}

TEST_F(DeskHttp, SignInSetsAStrictHttpOnlyCookieOnceAndTheCodeIsThenSpent) {
  std::string code = newCode();
  auto first = get("/signin?code=" + code);
  ASSERT_TRUE(first);
  EXPECT_EQ(first->status, 303);
  EXPECT_EQ(first->get_header_value("Location"), "/search");
  std::string cookie = first->get_header_value("Set-Cookie");
  EXPECT_TRUE(cookie.starts_with("liaison_session_" + std::to_string(port) + "=")) << cookie;
  EXPECT_NE(cookie.find("HttpOnly"), std::string::npos) << cookie;
  EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos) << cookie;
  EXPECT_EQ(cookie.find(code), std::string::npos) << "the session is not the code";

  auto again = get("/signin?code=" + code);
  EXPECT_EQ(again->status, 401);
  EXPECT_TRUE(again->get_header_value("Set-Cookie").empty());

  auto page = get("/search?name=Kudaiarov", {{"Cookie", cookie.substr(0, cookie.find(';'))}});
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_NE(page->body.find("Nurlan Kudaiarov"), std::string::npos);
}

TEST_F(DeskHttp, CodesAndSessionsExpire) {
  std::string code = newCode();
  clock.advance(desk::kCodeLifetime.count() + 1);
  EXPECT_EQ(get("/signin?code=" + code)->status, 401);

  Browser b = signIn();
  EXPECT_EQ(get("/status", {{"Cookie", b.cookie}})->status, 200);
  clock.advance(desk::kSessionIdle.count() + 1);
  EXPECT_EQ(get("/status", {{"Cookie", b.cookie}})->status, 401);
}

TEST_F(DeskHttp, SigningInNeedsTheTokenForTheLink) {
  httplib::Client c(host, port);
  auto none = c.Post("/v1/desk/link", "", "text/plain");
  EXPECT_EQ(none->status, 401);
  auto wrong = c.Post("/v1/desk/link", {{"Authorization", "Bearer " + std::string(64, 'b')}}, "",
                      "text/plain");
  EXPECT_EQ(wrong->status, 401);
  EXPECT_EQ(wrong->body.find("code="), std::string::npos);
}

TEST_F(DeskHttp, EveryPostNeedsTheFormsCsrfTokenAndItsOwnOrigin) {
  Browser b = signIn();
  httplib::Headers cookie{{"Cookie", b.cookie}};
  // Without, and with a wrong token: refused before anything happens.
  auto none = post("/alerts", "person=A&headline=H&sites=th-bangkok", cookie);
  EXPECT_EQ(none->status, 403);
  auto wrong = post(
      "/alerts", "csrf=" + std::string(64, '0') + "&person=A&headline=H&sites=th-bangkok", cookie);
  EXPECT_EQ(wrong->status, 403);
  auto other =
      post("/signout", "csrf=" + b.csrf, {{"Cookie", b.cookie}, {"Origin", "http://evil.example"}});
  EXPECT_EQ(other->status, 403);
  auto opaque = post("/signout", "csrf=" + b.csrf, {{"Cookie", b.cookie}, {"Origin", "null"}});
  EXPECT_EQ(opaque->status, 403);
  EXPECT_EQ(get("/status", cookie)->status, 200) << "a refused sign-out signed nobody out";
  // The request pages' forms too.
  EXPECT_EQ(post("/requests/open", "id=abc&person=A", cookie)->status, 403);
  EXPECT_EQ(post("/requests/status", "id=abc&status=registered&person=A", cookie)->status, 403);
  // Another session's token is no good either.
  Browser b2 = signIn();
  EXPECT_EQ(post("/signout", "csrf=" + b2.csrf, cookie)->status, 403);
  // With it, the form is handled: the fake broker is unreachable, so the page says so.
  auto sent =
      post("/alerts", "csrf=" + b.csrf + "&person=Aibek&headline=Victims+located&sites=th-bangkok",
           cookie);
  ASSERT_TRUE(sent);
  EXPECT_EQ(sent->status, 400);
  EXPECT_NE(sent->body.find("The broker did not answer"), std::string::npos) << sent->body;
  EXPECT_NE(sent->body.find("value=\"Victims located\""), std::string::npos)
      << "what was typed stays";
  // Sign out (with the token): the cookie is no good after.
  auto out = post("/signout", "csrf=" + b.csrf,
                  {{"Cookie", b.cookie}, {"Origin", "http://" + hostHeader()}});
  EXPECT_EQ(out->status, 200);
  EXPECT_EQ(get("/status", cookie)->status, 401);
  // A form that is not urlencoded is refused.
  httplib::Client c(host, port);
  auto json = c.Post("/alerts", {{"Cookie", b2.cookie}}, "{}", "application/json");
  EXPECT_EQ(json->status, 415);
}

TEST_F(DeskHttp, TheHostMustBeTheAddressTheSiteListensOn) {
  Browser b = signIn();
  for (const std::string& bad : std::vector<std::string>{
           "evil.example", "evil.example:" + std::to_string(port), "127.0.0.1:1", "localhost:1"}) {
    auto r = get("/search?name=Kudaiarov", {{"Cookie", b.cookie}, {"Host", bad}});
    ASSERT_TRUE(r) << bad;
    EXPECT_EQ(r->status, 403) << bad;
    EXPECT_EQ(r->body.find("Kudaiarov"), std::string::npos) << bad;
  }
  auto local = get("/search?name=Kudaiarov",
                   {{"Cookie", b.cookie}, {"Host", "localhost:" + std::to_string(port)}});
  EXPECT_EQ(local->status, 200);
}

TEST_F(DeskHttp, PagesCarryAStrictPolicyAndAreNotCached) {
  Browser b = signIn();
  for (const char* path : {"/search", "/contact?id=kg-gpo-1", "/alerts", "/status", "/nowhere"}) {
    auto r = get(path, {{"Cookie", b.cookie}});
    ASSERT_TRUE(r) << path;
    std::string csp = r->get_header_value("Content-Security-Policy");
    EXPECT_NE(csp.find("default-src 'none'"), std::string::npos) << path;
    EXPECT_NE(csp.find("script-src 'self'"), std::string::npos) << path;
    EXPECT_EQ(csp.find("unsafe-inline"), std::string::npos) << path;
    EXPECT_NE(csp.find("frame-ancestors 'none'"), std::string::npos) << path;
    EXPECT_EQ(r->get_header_value("Cache-Control"), "no-store") << path;
    EXPECT_EQ(r->get_header_value("X-Content-Type-Options"), "nosniff") << path;
    // Not no-referrer: under it a browser posts forms with "Origin: null", refused by the check.
    EXPECT_EQ(r->get_header_value("Referrer-Policy"), "same-origin") << path;
    // No inline script or style anywhere in the page.
    EXPECT_EQ(r->body.find("<script>"), std::string::npos) << path;
    EXPECT_EQ(r->body.find(" style=\""), std::string::npos) << path;
    EXPECT_EQ(r->body.find(" onclick"), std::string::npos) << path;
  }
  EXPECT_EQ(get("/nowhere", {{"Cookie", b.cookie}})->status, 404);
}

TEST_F(DeskHttp, TextFromARecordIsEscapedEverywhere) {
  Browser b = signIn();
  for (const char* path :
       {"/search?name=Evil", "/search?name=Evil&fragment=1", "/contact?id=kg-gpo-2"}) {
    auto r = get(path, {{"Cookie", b.cookie}});
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 200) << path;
    EXPECT_NE(r->body.find("&lt;script&gt;alert(1)&lt;/script&gt;"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("<script>alert"), std::string::npos) << path;
    EXPECT_EQ(r->body.find("<img src=x"), std::string::npos) << path;
  }
  // What the reader typed comes back escaped too.
  auto typed = get("/search?name=%22%3E%3Cscript%3Ex%3C%2Fscript%3E", {{"Cookie", b.cookie}});
  EXPECT_EQ(typed->body.find("\"><script>x"), std::string::npos);
  EXPECT_NE(typed->body.find("&quot;&gt;&lt;script&gt;x"), std::string::npos);
  // A malformed query gets a clear error, not a crash.
  auto bad = get("/search?name=%ZZ", {{"Cookie", b.cookie}});
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("malformed"), std::string::npos);
  auto badId = get("/contact?id=%3Cx%3E", {{"Cookie", b.cookie}});
  EXPECT_EQ(badId->status, 400);
  EXPECT_NE(badId->body.find("&lt;x&gt;"), std::string::npos);
}

TEST_F(DeskHttp, SearchFindsTheLatinRecordFromItsCyrillicSpellingAndFiltersLikeFind) {
  Browser b = signIn();
  auto r = get("/search?name=%D0%9A%D1%83%D0%B4%D0%B0%D1%8F%D1%80%D0%BE%D0%B2&fragment=1",
               {{"Cookie", b.cookie}});
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_NE(r->body.find("Nurlan Kudaiarov"), std::string::npos) << r->body;
  EXPECT_EQ(r->body.find("<html"), std::string::npos) << "a fragment is the results alone";
  auto role = get("/search?role=central-authority&country=kg&fragment=1", {{"Cookie", b.cookie}});
  EXPECT_NE(role->body.find("Nurlan Kudaiarov"), std::string::npos);
  EXPECT_EQ(role->body.find("Evil"), std::string::npos);
  auto badRole = get("/search?role=king", {{"Cookie", b.cookie}});
  EXPECT_EQ(badRole->status, 400);
  EXPECT_NE(badRole->body.find("is not a role"), std::string::npos);
}

TEST_F(DeskHttp, TheCardLinksEveryChannelAndOffersTheVcard) {
  Browser b = signIn();
  auto r = get("/contact?id=kg-gpo-1", {{"Cookie", b.cookie}});
  ASSERT_TRUE(r);
  EXPECT_NE(r->body.find("href=\"mailto:a.sadykov@example.kg\""), std::string::npos);
  EXPECT_NE(r->body.find("href=\"tel:+996312000000\""), std::string::npos);
  EXPECT_NE(r->body.find("Asia/Bishkek"), std::string::npos);
  auto v = get("/contact/vcard?id=kg-gpo-1", {{"Cookie", b.cookie}});
  EXPECT_EQ(v->status, 200);
  EXPECT_TRUE(v->get_header_value("Content-Type").starts_with("text/vcard"));
  EXPECT_NE(v->get_header_value("Content-Disposition").find("kg-gpo-1.vcf"), std::string::npos);
  EXPECT_NE(v->body.find("FN:Nurlan Kudaiarov"), std::string::npos);
  EXPECT_EQ(get("/contact?id=kg-nobody", {{"Cookie", b.cookie}})->status, 404);
}

TEST_F(DeskHttp, EveryPageInRussianHasNoUntranslatedWord) {
  // An alert in the inbox, so its pages render too.
  Json a{{"headline", "Жертвы обнаружены"},
         {"targets", {{"sites", {"kg-bishkek"}}}},
         {"ackRequired", true}};
  auto item = json::alertFromJson(
      a, {"3b0c8a4e-0f1d-4c36-9b0e-6b6f3f0e2a11", "th-bangkok", formatTimestamp(now)}, "a");
  ASSERT_TRUE(item.ok()) << item.error().message;
  site::StoredAlert stored;
  stored.id = "3b0c8a4e-0f1d-4c36-9b0e-6b6f3f0e2a11";
  stored.envelope = trust::sign(std::move(item).value(), "th-bangkok", th).encode();
  stored.receivedAt = now;
  stored.state = "new";
  service.storeAlert(stored);

  Browser b = signIn();
  httplib::Headers ru{{"Cookie", b.cookie}, {"Accept-Language", "ru-RU,ru;q=0.9"}};
  const size_t before = desk::missingTranslations();
  for (const char* path :
       {"/search", "/search?name=Kudaiarov", "/counterpart?from=TH&to=KG", "/contact?id=kg-gpo-1",
        "/alerts", "/alerts/new", "/alerts/view?id=3b0c8a4e-0f1d-4c36-9b0e-6b6f3f0e2a11",
        "/notices", "/status", "/nowhere", "/search?country=ZZ", "/requests",
        "/requests/view?id=abc"}) {
    auto r = get(path, ru);
    ASSERT_TRUE(r) << path;
    EXPECT_NE(r->body.find("<html lang=\"ru\">"), std::string::npos) << path;
    EXPECT_EQ(desk::missingTranslations(), before) << path << " shows a word with no Russian";
  }
  auto search = get("/search", ru);
  EXPECT_NE(search->body.find("Найти контакт"), std::string::npos);
  EXPECT_NE(search->body.find("Центральный орган"), std::string::npos) << "the roles' names too";
  auto requests = get("/requests", ru);
  EXPECT_NE(requests->body.find("Этот узел не ведёт запросы о правовой помощи."), std::string::npos)
      << "a site without a request store says so";
  EXPECT_NE(requests->body.find(">Запросы</a>"), std::string::npos) << "the nav entry";
  auto view = get("/alerts/view?id=3b0c8a4e-0f1d-4c36-9b0e-6b6f3f0e2a11", ru);
  EXPECT_NE(view->body.find("Подтвердить"), std::string::npos);
  // The switch sets a cookie that wins over the browser's language, and goes back only locally.
  auto sw = get("/lang?to=en&back=%2Fstatus", ru);
  EXPECT_EQ(sw->status, 303);
  EXPECT_EQ(sw->get_header_value("Location"), "/status");
  EXPECT_NE(sw->get_header_value("Set-Cookie").find("liaison_lang=en"), std::string::npos);
  auto away = get("/lang?to=ru&back=%2F%2Fevil.example", ru);
  EXPECT_EQ(away->get_header_value("Location"), "/");
  auto en = get("/search", {{"Cookie", b.cookie + "; liaison_lang=en"}, {"Accept-Language", "ru"}});
  EXPECT_NE(en->body.find("Find a contact"), std::string::npos);
}

// The alert page's poll answers from the list it made last while nothing changed; a new alert,
// and an alert expiring with nothing written, each change what it says at once.
TEST_F(DeskHttp, ThePollSeesANewAlertAndAnExpiryAtOnce) {
  auto store = [&](const std::string& id, const std::string& headline, int64_t expiresIn) {
    storeReceived(id,
                  Json{{"headline", headline},
                       {"targets", {{"sites", {"kg-bishkek"}}}},
                       {"ackRequired", true},
                       {"expires", formatTimestamp(now + expiresIn)}},
                  now, "new");
  };
  Browser b = signIn();
  auto poll = [&] {
    auto r = get("/alerts/poll", {{"Cookie", b.cookie}});
    EXPECT_TRUE(r && r->status == 200);
    return r ? Json::parse(r->body, nullptr, false) : Json();
  };
  Json empty = poll();
  EXPECT_EQ(empty["open"], 0);
  EXPECT_EQ(poll()["version"], empty["version"]) << "nothing changed";
  store("5d1c7e2a-8b3f-4a6e-9c2d-1f0e3b4a5c6d", "Victims found at the border", 600);
  Json one = poll();
  EXPECT_EQ(one["open"], 1);
  EXPECT_NE(one["version"], empty["version"]);
  store("6e2d8f3b-9c4a-4b7f-8d3e-2a1f4c5b6d7e", "Second group expected", 60);
  Json two = poll();
  EXPECT_EQ(two["open"], 2);
  EXPECT_NE(two["version"], one["version"]);
  auto page = get("/alerts?fragment=1", {{"Cookie", b.cookie}});
  EXPECT_NE(page->body.find("Second group expected"), std::string::npos);
  // A minute on, the second has expired: nothing was written, the poll says so all the same.
  clock.advance(61);
  Json expired = poll();
  EXPECT_EQ(expired["open"], 1);
  EXPECT_NE(expired["version"], two["version"]);
  clock.advance(600);
  EXPECT_EQ(poll()["open"], 0);
}

// One list of alerts for the daemon: GET /v1/alerts and the desk's page show the same alerts,
// the API newest first with every field, the open ones alone when asked, an expiry seen by both.
TEST_F(DeskHttp, TheApiAndTheDeskListTheSameAlerts) {
  auto store = [&](const std::string& id, const std::string& headline, int64_t receivedAt,
                   const std::string& state) {
    storeReceived(id,
                  Json{{"headline", headline},
                       {"targets", {{"sites", {"kg-bishkek"}}}},
                       {"ackRequired", true},
                       {"urgency", "immediate"},
                       {"expires", formatTimestamp(now + 600)}},
                  receivedAt, state);
  };
  const std::string older = "5d1c7e2a-8b3f-4a6e-9c2d-1f0e3b4a5c6d";
  const std::string newer = "6e2d8f3b-9c4a-4b7f-8d3e-2a1f4c5b6d7e";
  store(older, "Victims found at the border", now - 60, "new");
  store(newer, "Second group expected", now, "acknowledged");
  httplib::Client c(host, port);
  auto list = [&](const std::string& path) {
    auto r = c.Get(path, {{"Authorization", "Bearer " + kToken}});
    EXPECT_TRUE(r && r->status == 200) << path;
    Json ids = Json::array();
    Json body = r ? Json::parse(r->body, nullptr, false) : Json();
    for (const auto& a : body.value("alerts", Json::array())) ids.push_back(a["id"]);
    return std::make_pair(ids, body);
  };
  auto [ids, all] = list("/v1/alerts");
  EXPECT_EQ(ids, (Json{newer, older})) << "newest first";
  const Json& first = all["alerts"][1];
  EXPECT_EQ(first["headline"], "Victims found at the border");
  EXPECT_EQ(first["direction"], "in");
  EXPECT_EQ(first["sender"], "th-bangkok");
  EXPECT_EQ(first["urgency"], "immediate");
  EXPECT_EQ(first["state"], "new");
  EXPECT_EQ(first["open"], true);
  EXPECT_EQ(first["receivedAt"], formatTimestamp(now - 60));
  EXPECT_FALSE(first.contains("replacedBy"));
  EXPECT_EQ(all["alerts"][0]["state"], "acknowledged");
  EXPECT_EQ(all["alerts"][0]["open"], false);
  EXPECT_EQ(list("/v1/alerts?open=1").first, (Json{older}));
  // The desk: both, the one still open first.
  Browser b = signIn();
  auto page = get("/alerts?fragment=1", {{"Cookie", b.cookie}});
  ASSERT_TRUE(page && page->status == 200);
  size_t open = page->body.find("Victims found at the border");
  size_t closed = page->body.find("Second group expected");
  ASSERT_NE(open, std::string::npos);
  ASSERT_NE(closed, std::string::npos);
  EXPECT_LT(open, closed);
  // A write to one alert changes its row alone.
  const std::string version =
      Json::parse(get("/alerts/poll", {{"Cookie", b.cookie}})->body)["version"];
  store(newer, "Second group expected", now, "declined");
  auto [again, changed] = list("/v1/alerts");
  EXPECT_EQ(again, (Json{newer, older}));
  EXPECT_EQ(changed["alerts"][0]["state"], "declined");
  EXPECT_EQ(changed["alerts"][1], all["alerts"][1]);
  EXPECT_NE(Json::parse(get("/alerts/poll", {{"Cookie", b.cookie}})->body)["version"], version);
  // Past its expiry (on the desk's clock) nothing asks anything of this site; the API then
  // answers from the list the desk's poll made, not one of its own.
  clock.advance(601);
  auto poll = get("/alerts/poll", {{"Cookie", b.cookie}});
  ASSERT_TRUE(poll && poll->status == 200);
  EXPECT_EQ(Json::parse(poll->body)["open"], 0);
  EXPECT_EQ(list("/v1/alerts?open=1").first, Json::array());
  EXPECT_EQ(list("/v1/alerts").second["alerts"][1]["state"], "expired");
}

// GET /v1/alerts page by page: ?limit=N gives the newest N and "next", ?before=NEXT what follows;
// the open ones alone page the same way; a bad limit or an unknown alert is refused with a reason.
TEST_F(DeskHttp, TheApiListsAlertsPageByPage) {
  std::vector<std::string> ids;  // newest first
  for (int k = 0; k < 5; ++k) {
    const std::string id = "7f3e9a4c-0d5b-4c8a-9e4f-3b2a5d6c7e0" + std::to_string(k);
    ids.insert(ids.begin(), id);
    storeReceived(
        id,
        Json{{"headline", "Alert " + std::to_string(k)}, {"targets", {{"sites", {"kg-bishkek"}}}}},
        now - 100 + k, k % 2 == 0 ? "new" : "acknowledged");
  }
  httplib::Client c(host, port);
  auto get = [&](const std::string& path) {
    auto r = c.Get(path, {{"Authorization", "Bearer " + kToken}});
    EXPECT_TRUE(r) << path;
    return r ? std::make_pair(r->status, Json::parse(r->body, nullptr, false))
             : std::make_pair(0, Json());
  };
  auto idsOf = [](const Json& body) {
    std::vector<std::string> out;
    for (const auto& a : body.value("alerts", Json::array())) out.push_back(a["id"]);
    return out;
  };
  auto [status, first] = get("/v1/alerts?limit=2");
  EXPECT_EQ(status, 200);
  EXPECT_EQ(idsOf(first), (std::vector<std::string>{ids[0], ids[1]}));
  EXPECT_EQ(first["next"], ids[1]);
  auto second = get("/v1/alerts?limit=2&before=" + ids[1]).second;
  EXPECT_EQ(idsOf(second), (std::vector<std::string>{ids[2], ids[3]}));
  EXPECT_EQ(second["next"], ids[3]);
  auto last = get("/v1/alerts?limit=2&before=" + ids[3]).second;
  EXPECT_EQ(idsOf(last), (std::vector<std::string>{ids[4]}));
  EXPECT_FALSE(last.contains("next")) << "nothing follows the last page";
  // Exactly a page's worth left: no "next" either.
  EXPECT_FALSE(get("/v1/alerts?limit=5").second.contains("next"));
  EXPECT_FALSE(get("/v1/alerts").second.contains("next"));
  // The open ones (k = 0, 2, 4) page alone.
  auto open = get("/v1/alerts?open=1&limit=2").second;
  EXPECT_EQ(idsOf(open), (std::vector<std::string>{ids[0], ids[2]}));
  EXPECT_EQ(open["next"], ids[2]);
  EXPECT_EQ(idsOf(get("/v1/alerts?open=1&limit=2&before=" + ids[2]).second),
            (std::vector<std::string>{ids[4]}));
  for (const char* bad : {"limit=0", "limit=1001", "limit=abc", "limit=-1", "before=..%2F..",
                          "before=7f3e9a4c-0d5b-4c8a-9e4f-3b2a5d6c7eff"}) {
    auto [code, body] = get(std::string("/v1/alerts?") + bad);
    EXPECT_EQ(code, 400) << bad;
    EXPECT_FALSE(body.value("error", "").empty()) << bad;
  }
  EXPECT_NE(get("/v1/alerts?before=7f3e9a4c-0d5b-4c8a-9e4f-3b2a5d6c7eff")
                .second.value("error", "")
                .find("no alert"),
            std::string::npos);
}

// A site holding many closed alerts: the page shows the open ones and the newest 100 closed,
// says how many more there are and links to them all; its refresh keeps to what it shows.
TEST_F(DeskHttp, TheAlertPageShowsTheOpenAndTheNewestClosedAlerts) {
  auto store = [&](const std::string& id, int64_t receivedAt, const std::string& state) {
    storeReceived(id,
                  Json{{"headline", "Alert " + id},
                       {"targets", {{"sites", {"kg-bishkek"}}}},
                       {"expires", formatTimestamp(now + 600)}},
                  receivedAt, state);
  };
  auto idOf = [](int i) {
    char id[40];
    std::snprintf(id, sizeof id, "00000000-0000-4000-8000-%012d", i);
    return std::string(id);
  };
  for (int i = 0; i < 105; ++i) store(idOf(i), now - 1000 + i, "acknowledged");
  store(idOf(200), now - 5000, "new");  // the oldest, and open
  Browser b = signIn();
  auto rowsOf = [&](const std::string& path) {
    auto r = get(path, {{"Cookie", b.cookie}});
    EXPECT_TRUE(r && r->status == 200) << path;
    std::vector<std::string> ids;
    const std::string mark = "data-alert=\"";
    for (size_t at = r->body.find(mark); at != std::string::npos; at = r->body.find(mark, at + 1)) {
      ids.push_back(r->body.substr(at + mark.size(), 36));
    }
    return std::make_pair(ids, r->body);
  };
  auto [ids, page] = rowsOf("/alerts");
  ASSERT_EQ(ids.size(), 101u);
  EXPECT_EQ(ids[0], idOf(200)) << "the open alert first, old as it is";
  EXPECT_EQ(ids[1], idOf(104)) << "then the newest closed";
  EXPECT_EQ(ids[100], idOf(5));
  EXPECT_NE(page.find("Alerts: 106"), std::string::npos);
  EXPECT_NE(page.find("Showing the newest 100 of 105 closed alerts."), std::string::npos);
  EXPECT_NE(page.find("href=\"/alerts?all=1\""), std::string::npos);
  EXPECT_NE(page.find("data-refresh=\"/alerts?fragment=1\""), std::string::npos);
  EXPECT_EQ(rowsOf("/alerts?fragment=1").first, ids);
  auto [all, allPage] = rowsOf("/alerts?all=1");
  EXPECT_EQ(all.size(), 106u);
  EXPECT_EQ(allPage.find("id=\"inbox-more\""), std::string::npos);
  EXPECT_NE(allPage.find("data-refresh=\"/alerts?fragment=1&amp;all=1\""), std::string::npos);
  EXPECT_EQ(rowsOf("/alerts?fragment=1&all=1").first.size(), 106u);
}

TEST_F(DeskHttp, TheApiTokenStillWorksForPrograms) {
  httplib::Client c(host, port);
  auto status = c.Get("/v1/status");
  EXPECT_EQ(status->status, 200);
  auto alerts = c.Get("/v1/alerts", {{"Authorization", "Bearer " + kToken}});
  EXPECT_EQ(alerts->status, 200);
  auto noToken = c.Get("/v1/alerts");
  EXPECT_EQ(noToken->status, 401);
  // A session cookie is not the API token.
  Browser b = signIn();
  EXPECT_EQ(c.Get("/v1/alerts", {{"Cookie", b.cookie}})->status, 401);
}

}  // namespace
}  // namespace liaison
