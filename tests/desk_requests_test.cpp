// The desk's MLA request pages (desk/desk.cpp, "MLA requests") on a real network on 127.0.0.1: a
// broker and the site daemons of Bishkek, Bangkok and the secretariat. Bishkek sends a request with
// `liaison request send`; Bangkok's desk lists it, shows its fields and signed trail, opens it with
// a person's name, hands out its files (decrypted, byte for byte, as attachments), and sets a
// status; Bishkek's desk then shows the whole trail of its outgoing request. In English and in
// Russian; every form needs the session's CSRF token; what the sender wrote is escaped.
#include <httplib.h>

#include <cctype>
#include <random>

#include "common/clock.h"
#include "desk/core.h"
#include "desk/strings.h"
#include "tests/network_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

const std::string kCase = "KG-2026-0147";
const std::string kAnnex = "Приложение \"1\".txt";  // a quote and Cyrillic in a file's name

class DeskRequestsTest : public testing::NetworkTest {
 protected:
  void SetUp() override {
    NetworkTest::SetUp();
    enroll("kg-bishkek", "KG");
    enroll("th-bangkok", "TH");
    enroll("casc-secretariat", "KZ", "secretariat");  // publishes the instruments
    startBroker();
    for (auto id : {"kg-bishkek", "th-bangkok", "casc-secretariat"}) {
      initSite(id);
      startSite(id);
    }
    auto r = publish("casc-secretariat", testing::sourceDir() + "/config/sample/instruments.json");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok"}, 6); }, 20s));
  }

  static std::string trimmed(std::string s) {
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
    return s;
  }

  // A signed-in browser at one site's desk.
  struct Browser {
    std::string endpoint, cookie, csrf;
  };

  Browser signIn(const std::string& at) {
    Browser b;
    b.endpoint = trimmed(testing::readText(site(at) + "/api.endpoint"));
    httplib::Client cli("http://" + b.endpoint);
    auto link = cli.Post(
        "/v1/desk/link",
        {{"Authorization", "Bearer " + trimmed(testing::readText(site(at) + "/api.token"))}}, "",
        "text/plain");
    EXPECT_TRUE(link && link->status == 200);
    if (!link) return b;
    std::string url = json::parse(link->body).value("link", "");
    auto signedIn = cli.Get(url.substr(url.find("/signin")));
    EXPECT_TRUE(signedIn && signedIn->status == 303);
    if (!signedIn) return b;
    std::string setCookie = signedIn->get_header_value("Set-Cookie");
    b.cookie = setCookie.substr(0, setCookie.find(';'));
    // Every signed-in page carries the token in its sign-out form.
    auto page = get(b, "/requests");
    const std::string marker = "name=\"csrf\" value=\"";
    if (page) {
      auto p = page->body.find(marker);
      if (p != std::string::npos) b.csrf = page->body.substr(p + marker.size(), 64);
    }
    EXPECT_EQ(b.csrf.size(), 64u);
    return b;
  }

  httplib::Result get(const Browser& b, const std::string& path,
                      const std::string& lang = "en-GB,en") {
    httplib::Client cli("http://" + b.endpoint);
    cli.set_read_timeout(30, 0);
    return cli.Get(path, {{"Cookie", b.cookie}, {"Accept-Language", lang}});
  }

  httplib::Result post(const Browser& b, const std::string& path, const std::string& form) {
    httplib::Client cli("http://" + b.endpoint);
    cli.set_read_timeout(30, 0);
    return cli.Post(path, {{"Cookie", b.cookie}, {"Origin", "http://" + b.endpoint}}, form,
                    "application/x-www-form-urlencoded");
  }

  json show(const std::string& at, const std::string& id) {
    auto r = liaison({"request", "show", "--site", site(at), id, "--format", "json"}, 30);
    if (r.exitCode != 0) return {};
    return json::parse(r.out, nullptr, false);
  }
  std::string state(const std::string& at, const std::string& id) {
    auto s = show(at, id);
    return s.is_object() && s.contains("request") ? s["request"].value("state", "") : "";
  }
  size_t steps(const std::string& at, const std::string& id) {
    auto s = show(at, id);
    return s.is_object() && s.contains("trail") ? s["trail"].size() : 0;
  }

  static size_t count(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (size_t at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
  }
};

TEST_F(DeskRequestsTest, TheRecipientOpensDownloadsAndAnswersAtTheDeskAndTheSenderSeesTheTrail) {
  // Files: one over a chunk (1 MiB) so it streams in two, and one with an awkward name.
  std::string pdf(1024 * 1024 + 4321, '\0');
  std::mt19937 rng(7);
  for (auto& ch : pdf) ch = static_cast<char>(rng());
  testing::writeText(tmp / "request.pdf", pdf);
  const std::string annex = "Показания свидетеля: Кудаяров\n";
  testing::writeText(tmp / kAnnex, annex);
  const std::string deadline =
      formatTimestamp(SystemClock().nowSeconds() + 2 * 86400).substr(0, 10);
  auto sent = liaison({"request",
                       "send",
                       "--site",
                       site("kg-bishkek"),
                       "--to",
                       "th-bangkok",
                       "--legal-basis",
                       "UNTOC",
                       "--measure",
                       "hearing-of-witness",
                       "--measure",
                       "bank-records",
                       "--case",
                       kCase,
                       "--summary",
                       "Three victims recruited in Osh. <script>alert(1)</script>",
                       "--urgent",
                       "--deadline",
                       deadline,
                       "--attach",
                       tmp / "request.pdf",
                       "--attach",
                       tmp / kAnnex},
                      180);
  ASSERT_EQ(sent.exitCode, 0) << sent.err << sent.out;
  auto listed = liaison({"request", "list", "--site", site("kg-bishkek"), "--format", "json"});
  ASSERT_EQ(listed.exitCode, 0) << listed.err;
  json all = json::parse(listed.out);
  if (all.is_object()) all = all["requests"];
  ASSERT_EQ(all.size(), 1u) << listed.out;
  const std::string id = all[0]["id"];
  ASSERT_TRUE(waitFor([&] { return state("th-bangkok", id) == "delivered"; }, 60s))
      << state("th-bangkok", id);

  Browser bk = signIn("th-bangkok");
  const std::string view = "/requests/view?id=" + id;

  // Without a session: the sign-in page, not the request.
  {
    httplib::Client cli("http://" + bk.endpoint);
    for (const std::string& path :
         {std::string("/requests"), view, "/requests/file?id=" + id + "&f=0"}) {
      auto r = cli.Get(path);
      ASSERT_TRUE(r) << path;
      EXPECT_EQ(r->status, 401) << path;
      EXPECT_EQ(r->body.find(kCase), std::string::npos) << path;
    }
  }

  // The list: one incoming request, its row linking to its page, the deadline near.
  auto list = get(bk, "/requests");
  ASSERT_TRUE(list);
  EXPECT_EQ(list->status, 200);
  EXPECT_EQ(list->get_header_value("Cache-Control"), "no-store");
  EXPECT_NE(list->body.find("href=\"/requests\" aria-current=\"page\""), std::string::npos)
      << "the nav entry";
  EXPECT_NE(list->body.find("data-request=\"" + id + "\""), std::string::npos) << list->body;
  EXPECT_NE(list->body.find("<a href=\"/requests/view?id=" + id + "\">" + kCase + "</a>"),
            std::string::npos);
  EXPECT_NE(list->body.find("Incoming"), std::string::npos);
  EXPECT_NE(list->body.find("kg-bishkek"), std::string::npos) << "the other side";
  EXPECT_NE(list->body.find("Hearing of a witness, Bank records"), std::string::npos);
  EXPECT_NE(list->body.find(">Delivered<"), std::string::npos);
  EXPECT_NE(list->body.find("class=\"tag reminder\">due in "), std::string::npos)
      << "the deadline is near";
  EXPECT_NE(list->body.find(">urgent<"), std::string::npos);
  EXPECT_NE(get(bk, "/requests?direction=outgoing")->body.find("No requests match."),
            std::string::npos);
  EXPECT_NE(get(bk, "/requests?direction=incoming&open=1")->body.find(kCase), std::string::npos);
  EXPECT_EQ(get(bk, "/requests?direction=sideways")->status, 400);

  // The request's page: its fields, its files, the trail so far, checked; the form to open it.
  auto page = get(bk, view);
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Cache-Control"), "no-store");
  const std::string& b1 = page->body;
  EXPECT_NE(b1.find("Request " + kCase), std::string::npos);
  EXPECT_NE(b1.find("UNTOC"), std::string::npos);
  EXPECT_NE(b1.find("Three victims recruited in Osh. &lt;script&gt;alert(1)&lt;/script&gt;"),
            std::string::npos);
  EXPECT_EQ(b1.find("<script>alert"), std::string::npos);
  EXPECT_NE(b1.find("Приложение &quot;1&quot;.txt"), std::string::npos) << "a file's name, escaped";
  EXPECT_NE(b1.find("1.0 MB"), std::string::npos) << "a file's size";
  EXPECT_NE(b1.find(deadline), std::string::npos);
  EXPECT_NE(b1.find("Trail checked"), std::string::npos) << b1;
  EXPECT_EQ(count(b1, "<li data-kind="), 3u) << "sent, accepted, delivered";
  EXPECT_NE(b1.find("signed by broker:CASC"), std::string::npos);
  EXPECT_NE(b1.find("id=\"open-form\""), std::string::npos);
  EXPECT_EQ(b1.find("id=\"status-form\""), std::string::npos) << "a status only once opened";
  EXPECT_EQ(b1.find("/requests/file?"), std::string::npos) << "no downloads before it is opened";
  EXPECT_EQ(get(bk, "/requests/file?id=" + id + "&f=0")->status, 409);
  EXPECT_EQ(get(bk, "/requests/view?id=%3Cx%3E")->status, 400);
  EXPECT_EQ(get(bk, "/requests/view?id=0000-nothing")->status, 404);

  // Opening: the token is required, then a name; it signs "opened".
  EXPECT_EQ(post(bk, "/requests/open", "id=" + id + "&person=Somchai")->status, 403);
  auto noName = post(bk, "/requests/open", "csrf=" + bk.csrf + "&id=" + id + "&person=+");
  ASSERT_TRUE(noName);
  EXPECT_EQ(noName->status, 400);
  EXPECT_NE(noName->body.find("Give your name"), std::string::npos);
  auto opened =
      post(bk, "/requests/open", "csrf=" + bk.csrf + "&id=" + id + "&person=Pol.+Col.+Somchai+P.");
  ASSERT_TRUE(opened);
  EXPECT_EQ(opened->status, 303);
  EXPECT_EQ(opened->get_header_value("Location"), view);
  auto afterOpen = get(bk, view);
  const std::string& b2 = afterOpen->body;
  EXPECT_NE(b2.find("<li data-kind=\"opened\">"), std::string::npos);
  EXPECT_NE(b2.find("Pol. Col. Somchai P."), std::string::npos);
  EXPECT_EQ(b2.find("id=\"open-form\""), std::string::npos);
  EXPECT_NE(b2.find("id=\"status-form\""), std::string::npos);
  EXPECT_NE(b2.find("href=\"/requests/file?id=" + id + "&amp;f=0\""), std::string::npos);
  EXPECT_NE(b2.find("value=\"Pol. Col. Somchai P.\""), std::string::npos)
      << "the name is offered again";
  EXPECT_NE(b2.find("Trail checked"), std::string::npos);

  // The files, byte for byte, as attachments with safe names, not cached.
  auto f0 = get(bk, "/requests/file?id=" + id + "&f=0");
  ASSERT_TRUE(f0);
  EXPECT_EQ(f0->status, 200);
  EXPECT_TRUE(f0->body == pdf) << "request.pdf: " << f0->body.size() << " bytes, not "
                               << pdf.size();
  EXPECT_EQ(f0->get_header_value("Content-Disposition").substr(0, 34),
            "attachment; filename=\"request.pdf\"");
  EXPECT_EQ(f0->get_header_value("Cache-Control"), "no-store");
  EXPECT_EQ(f0->get_header_value("Content-Type"), "application/octet-stream");
  auto f1 = get(bk, "/requests/file?id=" + id + "&f=1");
  ASSERT_TRUE(f1);
  EXPECT_EQ(f1->body, annex);
  const std::string disposition = f1->get_header_value("Content-Disposition");
  // The name as sent goes %-encoded in filename* (this httplib's client decodes header values).
  const std::string plain = "attachment; filename=\"_1_.txt\"; filename*=UTF-8''";
  EXPECT_TRUE(disposition == plain + desk::urlEncode(kAnnex) || disposition == plain + kAnnex)
      << disposition;
  EXPECT_EQ(get(bk, "/requests/file?id=" + id + "&f=2")->status, 404);
  EXPECT_EQ(get(bk, "/requests/file?id=" + id + "&f=x")->status, 404);

  // A status: one of the six, a name, and grounds for a refusal.
  EXPECT_EQ(post(bk, "/requests/status", "id=" + id + "&status=registered&person=Kanya")->status,
            403);
  auto bogus =
      post(bk, "/requests/status", "csrf=" + bk.csrf + "&id=" + id + "&status=lost&person=Kanya");
  EXPECT_EQ(bogus->status, 400);
  auto bare = post(bk, "/requests/status",
                   "csrf=" + bk.csrf + "&id=" + id + "&status=refused&person=Kanya&comment=+");
  EXPECT_EQ(bare->status, 400);
  EXPECT_NE(bare->body.find("A refusal gives its grounds in the comment."), std::string::npos);
  auto registered = post(
      bk, "/requests/status",
      "csrf=" + bk.csrf + "&id=" + id +
          "&status=registered&person=Ms.+Kanya+R.&reference=OAG-IA-2026-0912&comment=Assigned");
  ASSERT_TRUE(registered);
  EXPECT_EQ(registered->status, 303) << registered->body;
  auto afterStatus = get(bk, view);
  EXPECT_NE(afterStatus->body.find("id=\"request-state\">Registered<"), std::string::npos);
  EXPECT_NE(afterStatus->body.find("OAG-IA-2026-0912"), std::string::npos);
  EXPECT_EQ(count(afterStatus->body, "<li data-kind="), 5u);

  // In Russian: the words and the vocabularies, and no label of the catalogue left in English.
  for (const std::string& path : {std::string("/requests"), view}) {
    auto ru = get(bk, path, "ru-RU,ru;q=0.9");
    ASSERT_TRUE(ru) << path;
    EXPECT_NE(ru->body.find("<html lang=\"ru\">"), std::string::npos) << path;
    for (size_t i = 0; i < desk::translationCount(); ++i) {
      const std::string en(desk::translationAt(i, desk::Lang::kEn));
      if (en.find("{}") != std::string::npos || en == desk::translationAt(i, desk::Lang::kRu))
        continue;
      EXPECT_EQ(ru->body.find(">" + desk::escapeHtml(en) + "<"), std::string::npos)
          << path << " shows \"" << en << "\" in English";
    }
  }
  auto ruList = get(bk, "/requests", "ru")->body;
  EXPECT_NE(ruList.find("Запросы о правовой помощи"), std::string::npos);
  EXPECT_NE(ruList.find("Входящий"), std::string::npos);
  EXPECT_NE(ruList.find("Допрос свидетеля, Банковские документы"), std::string::npos);
  EXPECT_NE(ruList.find("Зарегистрирован"), std::string::npos);
  EXPECT_NE(ruList.find("осталось дней: "), std::string::npos);
  auto ruView = get(bk, view, "ru")->body;
  EXPECT_NE(ruView.find("Подписанный журнал"), std::string::npos);
  EXPECT_NE(ruView.find("Журнал проверен"), std::string::npos);
  EXPECT_NE(ruView.find("Принят брокером"), std::string::npos);
  EXPECT_NE(ruView.find("Открыт"), std::string::npos);
  EXPECT_NE(ruView.find("Исполняется"), std::string::npos) << "the statuses offered, in Russian";
  EXPECT_NE(ruView.find("Отказано в исполнении"), std::string::npos);
  EXPECT_NE(ruView.find("1,0 МБ"), std::string::npos);

  // The sender's desk: the outgoing request with the whole trail, and no forms of the recipient.
  ASSERT_TRUE(waitFor([&] { return steps("kg-bishkek", id) == 5; }, 30s))
      << show("kg-bishkek", id).dump();
  Browser kg = signIn("kg-bishkek");
  auto out = get(kg, "/requests?direction=outgoing");
  EXPECT_NE(out->body.find("Outgoing"), std::string::npos);
  EXPECT_NE(out->body.find("th-bangkok"), std::string::npos);
  EXPECT_NE(out->body.find(">Registered<"), std::string::npos);
  auto sender = get(kg, view);
  ASSERT_TRUE(sender);
  EXPECT_EQ(sender->status, 200);
  EXPECT_NE(sender->body.find("Trail checked"), std::string::npos);
  EXPECT_EQ(count(sender->body, "<li data-kind="), 5u);
  EXPECT_NE(sender->body.find("Pol. Col. Somchai P."), std::string::npos);
  EXPECT_NE(sender->body.find("OAG-IA-2026-0912"), std::string::npos);
  EXPECT_EQ(sender->body.find("id=\"open-form\""), std::string::npos);
  EXPECT_EQ(sender->body.find("id=\"status-form\""), std::string::npos);
  EXPECT_EQ(sender->body.find("/requests/file?"), std::string::npos);
  EXPECT_EQ(get(kg, "/requests/file?id=" + id + "&f=0")->status, 409)
      << "the sender downloads nothing here";
  auto notMine = post(kg, "/requests/status",
                      "csrf=" + kg.csrf + "&id=" + id + "&status=executed&person=Aibek");
  EXPECT_EQ(notMine->status, 409);
  EXPECT_NE(notMine->body.find("only the requested side sets a status"), std::string::npos);
  auto notMineOpen = post(kg, "/requests/open", "csrf=" + kg.csrf + "&id=" + id + "&person=Aibek");
  EXPECT_EQ(notMineOpen->status, 409);
  EXPECT_EQ(steps("kg-bishkek", id), 5u);
}

// Every text the pages look up (c.t("...") in desk/desk.cpp, literals joined across lines) has its
// Russian: the daemon's own missing-word counter is out of reach of a test in another process.
TEST(DeskCatalogue, EveryWordThePagesLookUpHasItsRussian) {
  const std::string code = testing::readText(testing::sourceDir() + "/desk/desk.cpp");
  ASSERT_FALSE(code.empty());
  size_t looked = 0;
  for (size_t at = code.find("c.t(\""); at != std::string::npos; at = code.find("c.t(\"", at + 1)) {
    std::string text;
    size_t p = at + 4;
    while (p < code.size() && code[p] == '"') {  // one literal, then maybe another after spaces
      for (++p; p < code.size() && code[p] != '"'; ++p) {
        if (code[p] == '\\' && p + 1 < code.size()) ++p;
        text.push_back(code[p]);
      }
      ++p;
      while (p < code.size() && std::isspace(static_cast<unsigned char>(code[p]))) ++p;
    }
    const size_t before = desk::missingTranslations();
    (void)desk::tr(desk::Lang::kRu, text);
    EXPECT_EQ(desk::missingTranslations(), before) << "no Russian for \"" << text << "\"";
    ++looked;
  }
  EXPECT_GT(looked, 150u);
}

}  // namespace
}  // namespace liaison
