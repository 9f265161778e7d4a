// MLA requests on a real network on 127.0.0.1: a broker and site daemons, driven through
// `liaison request` and the site's API. Checks what the two central authorities would see: the
// request and its files arrive whole at the recipient only, every step is signed and a third
// party can check the trail with the public keys, the broker's files hold no word of the case,
// bad input is refused with its reason, and a transfer cut by kill -9 completes once.
#include <unistd.h>

#include <cstdlib>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>

#include "requests/request.h"
#include "tests/network_fixture.h"
#include "tests/request_fixture.h"

namespace liaison {
namespace {

using namespace std::chrono_literals;
using nlohmann::json;
using testing::waitFor;

constexpr const char* kWord = testing::kCaseWord;

class RequestNetworkTest : public testing::RequestFixture<testing::NetworkTest> {
 protected:
  void SetUp() override {
    NetworkTest::SetUp();
    enroll("kg-bishkek", "KG");
    enroll("th-bangkok", "TH");
    enroll("kz-almaty", "KZ");
    enroll("casc-secretariat", "KZ", "secretariat");  // publishes the instruments
    startBroker();
    for (auto id : {"kg-bishkek", "th-bangkok", "kz-almaty", "casc-secretariat"}) {
      initSite(id);
      startSite(id);
    }
    auto r = publish("casc-secretariat", testing::sourceDir() + "/config/sample/instruments.json");
    ASSERT_EQ(r.exitCode, 0) << r.err;
    ASSERT_TRUE(waitFor([&] { return converged({"kg-bishkek", "th-bangkok", "kz-almaty"}, 6); }, 20s));
  }

  // Sends from Bishkek to Bangkok; the new request's id ("" when the command failed).
  std::string send(const std::vector<std::string>& attach, std::string* err = nullptr,
                   std::vector<std::string> extra = {}) {
    return sendRequest("kg-bishkek", "th-bangkok", attach, err, std::move(extra));
  }
};

TEST_F(RequestNetworkTest, ARequestIsDeliveredOpenedAndAnsweredWithProofAtEveryStep) {
  const std::string pdf = makeFile("request.pdf", 3 * 1024 * 1024 + 12345, 1);
  const std::string annex = tmp / "annex-ru.txt";
  testing::writeText(annex, std::string("Показания свидетеля: Кудаяров, ") + kWord + "\n");
  std::string err;
  const std::string id = send({pdf, annex}, &err);
  ASSERT_FALSE(id.empty()) << err;

  // Delivered: stored at Bangkok with both files checked; the sender sees each step.
  ASSERT_TRUE(waitFor([&] { return state("th-bangkok", id) == "delivered"; }, 60s)) << state("th-bangkok", id);
  ASSERT_TRUE(waitFor([&] { return kinds(show("kg-bishkek", id)) == std::vector<std::string>{"sent", "accepted", "delivered"}; }, 20s))
      << show("kg-bishkek", id).dump();
  // Almaty, on the same broker, never receives it.
  EXPECT_TRUE(list("kz-almaty").empty());

  // Opened by a named person: the files come out as they were sent.
  auto opened = liaison({"request", "open", "--site", site("th-bangkok"), id, "--by", "Pol. Col. Somchai P.", "--out",
                         tmp / "opened"});
  ASSERT_EQ(opened.exitCode, 0) << opened.err;
  EXPECT_EQ(testing::readText(tmp / "opened/request.pdf"), testing::readText(pdf));
  EXPECT_EQ(testing::readText(tmp / "opened/annex-ru.txt"), testing::readText(annex));

  // The requested side's statuses, with its own reference.
  auto reg = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "registered", "--by",
                      "Ms. Kanya R.", "--reference", "OAG-IA-2026-0912"});
  ASSERT_EQ(reg.exitCode, 0) << reg.err;
  auto exec = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "in-execution", "--by",
                       "Ms. Kanya R."});
  ASSERT_EQ(exec.exitCode, 0) << exec.err;
  // The evidence goes back with a status: a file sealed to Bishkek, named and hashed by the step.
  const std::string evidence = makeFile("bank-statement.pdf", 1536 * 1024 + 3, 3);
  auto partly = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "partially-executed", "--by",
                         "Ms. Kanya R.", "--comment", "Bank records enclosed; the witness could not be found",
                         "--attach", evidence});
  ASSERT_EQ(partly.exitCode, 0) << partly.err << partly.out;
  const std::vector<std::string> whole = {"sent", "accepted", "delivered", "opened", "status:registered",
                                          "status:in-execution", "status:partially-executed"};
  ASSERT_TRUE(waitFor([&] { return kinds(show("kg-bishkek", id)) == whole; }, 20s)) << show("kg-bishkek", id).dump();
  auto shown = show("kg-bishkek", id);
  EXPECT_TRUE(shown["verified"].get<bool>()) << shown.dump();
  EXPECT_EQ(shown["trail"][3]["by"], "Pol. Col. Somchai P.");
  EXPECT_EQ(shown["trail"][4]["reference"], "OAG-IA-2026-0912");
  EXPECT_EQ(shown["request"]["summary"].get<std::string>().find(kWord) != std::string::npos, true);
  EXPECT_EQ(kinds(show("th-bangkok", id)), whole);
  EXPECT_EQ(shown["trail"][6]["files"][0]["name"], "bank-statement.pdf");
  // Bishkek receives the evidence, checks it against the status, and writes it out.
  ASSERT_TRUE(waitFor([&] {
    auto got = liaison({"request", "open", "--site", site("kg-bishkek"), id, "--by", "A. Sadykov", "--out", tmp / "back"});
    return got.exitCode == 0 && std::filesystem::exists(tmp / "back/partially-executed-7-bank-statement.pdf");
  }, 30s));
  EXPECT_EQ(testing::readText(tmp / "back/partially-executed-7-bank-statement.pdf"), testing::readText(evidence));

  // A third party holding only the public keys checks the whole trail, and a changed step fails.
  auto sealed = requests::decodeSealed(*fromBase64(shown["sealed"].get<std::string>()));
  ASSERT_TRUE(sealed);
  auto kg = trust::loadPublicKeys(tmp / "kg-bishkek.pub");
  auto th = trust::loadPublicKeys(tmp / "th-bangkok.pub");
  auto brokerKeys = trust::loadPublicKeys(tmp / "broker.pub");
  ASSERT_TRUE(kg && th && brokerKeys);
  requests::TrailKeys keys{"kg-bishkek", "th-bangkok", "broker:CASC", kg->sign, th->sign, brokerKeys->sign};
  auto trail = trailOf(shown);
  ASSERT_EQ(trail.size(), 7u);
  auto checked = requests::verifyTrail(trail, *sealed, keys);
  EXPECT_TRUE(checked) << checked.error().message;
  trail.erase(trail.begin() + 3);  // "opened" left out
  EXPECT_FALSE(requests::verifyTrail(trail, *sealed, keys));

  // Confidential end to end: no word of the case or its files in any of the broker's files.
  EXPECT_TRUE(filesHolding(tmp / "broker-data", kWord).empty());
  EXPECT_TRUE(filesHolding(tmp / "broker-data", "Кудаяров").empty());
  EXPECT_TRUE(filesHolding(tmp / "broker-data", "KG-2026-0147").empty());
  EXPECT_FALSE(filesHolding(site("kg-bishkek"), "KG-2026-0147").empty());  // the check can find it

  // Bad input, refused with its reason; nothing changes.
  auto notMine = liaison({"request", "status", "--site", site("kg-bishkek"), id, "--set", "executed", "--by", "X"});
  EXPECT_NE(notMine.exitCode, 0);
  EXPECT_NE((notMine.err + notMine.out).find("only the requested side"), std::string::npos) << notMine.err;
  auto badStatus = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "approved", "--by", "X"});
  EXPECT_NE(badStatus.exitCode, 0);
  EXPECT_NE((badStatus.err + badStatus.out).find("in-execution"), std::string::npos) << badStatus.err;
  auto noGrounds = liaison({"request", "status", "--site", site("th-bangkok"), id, "--set", "refused", "--by", "X"});
  EXPECT_NE(noGrounds.exitCode, 0);
  auto minsk = liaison({"request", "send", "--site", site("kg-bishkek"), "--to", "th-bangkok", "--legal-basis",
                        "Minsk-1993", "--measure", "bank-records", "--case", "KG-2026-0150", "--summary", "x"});
  EXPECT_NE(minsk.exitCode, 0);
  EXPECT_NE((minsk.err + minsk.out).find("UNTOC"), std::string::npos) << minsk.err;  // names what they share
  EXPECT_EQ(kinds(show("kg-bishkek", id)), whole);
}

TEST_F(RequestNetworkTest, FilesWhoseBytesDoNotMatchTheirHashAreRefusedAtTheSender) {
  // Through the API: the SHA-256 declared is not the bytes uploaded.
  json body = {{"to", "th-bangkok"}, {"legalBasis", "UNTOC"}, {"measures", {"bank-records"}},
               {"case", "KG-2026-0151"}, {"summary", "x"},
               {"files", {{{"name", "a.bin"}, {"size", 5}, {"sha256", std::string(64, '0')}}}}};
  auto created = api("kg-bishkek", "POST", "/v1/requests", body.dump());
  ASSERT_TRUE(created);
  ASSERT_EQ(created->status, 201) << created->body;
  const std::string id = json::parse(created->body)["id"];
  auto bad = api("kg-bishkek", "PUT", "/v1/requests/" + id + "/files/0/chunks/0", "hello", "application/octet-stream");
  ASSERT_TRUE(bad);
  EXPECT_EQ(bad->status, 400);
  EXPECT_NE(bad->body.find("SHA-256"), std::string::npos) << bad->body;
  auto tooLong = api("kg-bishkek", "PUT", "/v1/requests/" + id + "/files/0/chunks/0", "hello!", "application/octet-stream");
  ASSERT_TRUE(tooLong);
  EXPECT_EQ(tooLong->status, 400);
  auto outOfRange = api("kg-bishkek", "PUT", "/v1/requests/" + id + "/files/0/chunks/3", "hello", "application/octet-stream");
  ASSERT_TRUE(outOfRange);
  EXPECT_EQ(outOfRange->status, 400);
  // Never sent: the broker holds nothing of it, Bangkok nothing.
  std::this_thread::sleep_for(1s);
  EXPECT_EQ(state("kg-bishkek", id), "uploading");
  EXPECT_TRUE(list("th-bangkok").empty());
  // A file over 64 MB is refused before anything is stored.
  json big = body;
  big["files"][0]["size"] = (uint64_t{64} << 20) + 1;
  auto over = api("kg-bishkek", "POST", "/v1/requests", big.dump());
  ASSERT_TRUE(over);
  EXPECT_EQ(over->status, 400) << over->body;
}

TEST_F(RequestNetworkTest, ATransferCutByKillNineOfEitherSideOrTheBrokerCompletesOnce) {
  // 40 MB in CI; LIAISON_REQUEST_TEST_MB=200 for the issue's full size (four files of 50 MB).
  const char* mb = std::getenv("LIAISON_REQUEST_TEST_MB");
  const size_t total = (mb != nullptr && std::atoi(mb) > 0 ? static_cast<size_t>(std::atoi(mb)) : 40) << 20;
  std::vector<std::string> files;
  for (size_t i = 0, left = total; left > 0; ++i) {
    const size_t size = std::min<size_t>(left, size_t{50} << 20);
    files.push_back(makeFile("evidence-" + std::to_string(i) + ".bin", size + (i == 0 ? 77 : 0), 7 + static_cast<unsigned>(i)));
    left -= size;
  }
  // The sender's daemon holds the request once `send` returns; it is killed while sending.
  std::string err;
  const std::string id = send(files, &err, {"--wait", "0"});
  ASSERT_FALSE(id.empty()) << err;
  daemons["kg-bishkek"]->kill9();
  startSite("kg-bishkek");
  // The broker is killed while Bangkok fetches, then Bangkok itself.
  ASSERT_TRUE(waitFor([&] { return !state("th-bangkok", id).empty(); }, 60s)) << state("kg-bishkek", id);
  broker->kill9();
  startBroker();
  daemons["th-bangkok"]->kill9();
  startSite("th-bangkok");
  ASSERT_TRUE(waitFor([&] { return state("th-bangkok", id) == "delivered"; }, 600s)) << state("th-bangkok", id);
  ASSERT_TRUE(waitFor([&] { return kinds(show("kg-bishkek", id)) == std::vector<std::string>{"sent", "accepted", "delivered"}; }, 30s))
      << show("kg-bishkek", id).dump();
  auto opened = liaison({"request", "open", "--site", site("th-bangkok"), id, "--by", "Ms. Kanya R.", "--out", tmp / "got"});
  ASSERT_EQ(opened.exitCode, 0) << opened.err;
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string name = "evidence-" + std::to_string(i) + ".bin";
    EXPECT_TRUE(testing::readText(tmp / ("got/" + name)) == testing::readText(files[i])) << name;
  }
  // Once: one request at Bangkok, one "delivered" step.
  EXPECT_EQ(list("th-bangkok").size(), 1u);
  EXPECT_TRUE(show("th-bangkok", id)["verified"].get<bool>());
}

TEST_F(RequestNetworkTest, ADeadlineNearWithoutAnAnswerRemindsBothSidesThroughTheirHook) {
  // Both central authorities run a hook for request events.
  for (auto id : {"kg-bishkek", "th-bangkok"}) {
    daemons[id]->stop();
    std::string toml = testing::readText(site(id) + "/site.toml");
    auto at = toml.find("[requests]\n");
    ASSERT_NE(at, std::string::npos);
    const std::string file = tmp / (std::string(id) + "-events.jsonl");
    toml.insert(at + 11, "on_event = \"cat >> '" + file + "'; echo >> '" + file + "'\"\n");
    testing::writeText(site(id) + "/site.toml", toml);
    startSite(id);
  }
  // A request without files, due the day after tomorrow.
  char date[16];
  const std::time_t due = std::time(nullptr) + 2 * 86400;
  std::strftime(date, sizeof date, "%Y-%m-%d", std::gmtime(&due));
  auto sent = liaison({"request", "send", "--site", site("kg-bishkek"), "--to", "th-bangkok", "--legal-basis", "UNTOC",
                       "--measure", "service-of-documents", "--case", "KG-2026-0160", "--summary", "Summons.",
                       "--deadline", date});
  ASSERT_EQ(sent.exitCode, 0) << sent.err << sent.out;
  auto events = [&](const std::string& id) { return testing::readText(tmp / (id + "-events.jsonl")); };
  auto has = [](const std::string& text, const std::string& what) { return text.find(what) != std::string::npos; };
  // Bangkok hears of the new request, and both sides of the deadline, each once.
  ASSERT_TRUE(waitFor([&] { return has(events("th-bangkok"), R"("event":"new")"); }, 30s)) << events("th-bangkok");
  ASSERT_TRUE(waitFor([&] { return has(events("th-bangkok"), R"("event":"reminder")"); }, 30s)) << events("th-bangkok");
  ASSERT_TRUE(waitFor([&] { return has(events("kg-bishkek"), R"("event":"reminder")"); }, 30s)) << events("kg-bishkek");
  // Bishkek hears each step Bangkok takes.
  ASSERT_TRUE(waitFor([&] { return has(events("kg-bishkek"), R"("kind":"delivered")"); }, 30s)) << events("kg-bishkek");
  EXPECT_TRUE(has(events("kg-bishkek"), "KG-2026-0160"));
  // `request list` shows the reminder at both sites.
  for (auto id : {"kg-bishkek", "th-bangkok"}) {
    auto listed = list(id);
    ASSERT_EQ(listed.size(), 1u) << id;
    EXPECT_EQ(listed[0]["reminder"], "due in 2 days") << listed.dump();
  }
  // A restart does not remind again of the same stage.
  daemons["th-bangkok"]->stop();
  startSite("th-bangkok");
  std::this_thread::sleep_for(2s);
  const std::string text = events("th-bangkok");
  size_t reminders = 0;
  for (size_t at = text.find(R"("event":"reminder")"); at != std::string::npos; at = text.find(R"("event":"reminder")", at + 1)) {
    ++reminders;
  }
  EXPECT_EQ(reminders, 1u) << text;
}

}  // namespace
}  // namespace liaison
