// The real `liaison` binary against real LMDB directories in temporary folders.
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "tests/support.h"

namespace liaison {
namespace {

using testing::contactJson;
using testing::readText;
using testing::run;
using testing::RunResult;
using testing::writeText;

class CliTest : public ::testing::Test {
 protected:
  testing::TempDir tmp;
  std::string bin = testing::binDir() + "/liaison";
  std::string site = tmp / "kg";

  RunResult liaison(std::vector<std::string> args, const std::string& input = "") {
    args.insert(args.begin(), bin);
    return run(args, input);
  }
  RunResult at(const std::string& siteDir, std::vector<std::string> args) {
    args.push_back("--site");
    args.push_back(siteDir);
    return liaison(std::move(args));
  }

  // Makes root keys and a site `id` allowed to publish for `countries`.
  void makeSite(const std::string& dir, const std::string& id, const std::string& countries,
                const std::string& role = "authority") {
    if (!std::filesystem::exists(tmp / "root.key")) {
      ASSERT_EQ(liaison({"keygen", "--out", tmp / "root"}).exitCode, 0);
    }
    ASSERT_EQ(liaison({"keygen", "--out", tmp / id}).exitCode, 0);
    auto cert = liaison({"enroll", "--root", tmp / "root.key", "--site", id, "--public",
                         tmp / (id + ".pub"), "--country", countries, "--role", role,
                         "--network", "CASC", "--days", "30"});
    ASSERT_EQ(cert.exitCode, 0) << cert.err;
    writeText(tmp / (id + ".member"), cert.out);
    auto init = liaison({"init", "--site", dir, "--id", id, "--root", tmp / "root.pub", "--key",
                         tmp / (id + ".key"), "--member", tmp / (id + ".member")});
    ASSERT_EQ(init.exitCode, 0) << init.err;
  }

  void SetUp() override { makeSite(site, "kg-bishkek", "KG,KZ,TH"); }

  std::string sample(const std::string& name) { return testing::sourceDir() + "/config/sample/" + name; }
};

TEST_F(CliTest, InitMakesAPrivateSite) {
  struct stat st{};
  ASSERT_EQ(::stat((site + "/site.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  auto again = liaison({"init", "--site", site, "--id", "kg-bishkek", "--root", tmp / "root.pub",
                        "--key", tmp / "kg-bishkek.key", "--member", tmp / "kg-bishkek.member"});
  EXPECT_EQ(again.exitCode, 2);
  EXPECT_NE(again.err.find("already holds a site"), std::string::npos);
  // A certificate for another key is refused.
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "other"}).exitCode, 0);
  auto wrong = liaison({"init", "--site", tmp / "x", "--id", "kg-bishkek", "--root", tmp / "root.pub",
                        "--key", tmp / "other.key", "--member", tmp / "kg-bishkek.member"});
  EXPECT_EQ(wrong.exitCode, 2);
  EXPECT_NE(wrong.err.find("other keys"), std::string::npos) << wrong.err;
  auto status = at(site, {"status", "--format", "json"});
  ASSERT_EQ(status.exitCode, 0);
  auto j = nlohmann::json::parse(status.out);
  EXPECT_EQ(j["site"], "kg-bishkek");
  EXPECT_EQ(j["mode"], "standalone");
  EXPECT_EQ(j["counts"]["members"], 1);
}

TEST_F(CliTest, PublishFindShowExportRetire) {
  std::string file = tmp / "kg.jsonl";
  writeText(file, contactJson("kg-1") + "\n" +
                      contactJson("kg-2", R"("name": {"latin": "Bakyt Kudaiarov", "original": "Бакыт Кудаяров"}, "role": "central-authority")") +
                      "\n");
  auto pub = at(site, {"publish", file});
  ASSERT_EQ(pub.exitCode, 0) << pub.err;
  EXPECT_NE(pub.out.find("published 2"), std::string::npos);

  auto found = at(site, {"find", "--name", "Кудаяров"});
  ASSERT_EQ(found.exitCode, 0) << found.err;
  EXPECT_NE(found.out.find("kg-2"), std::string::npos);
  EXPECT_EQ(found.out.find("kg-1"), std::string::npos);

  auto json = at(site, {"find", "--country", "KG", "--role", "prosecutor", "--format", "json"});
  ASSERT_EQ(json.exitCode, 0);
  auto arr = nlohmann::json::parse(json.out);
  ASSERT_EQ(arr.size(), 1u);
  EXPECT_EQ(arr[0]["id"], "kg-1");

  auto none = at(site, {"find", "--country", "TH"});
  EXPECT_EQ(none.exitCode, 1);
  auto usage = at(site, {"find", "--country", "Thailand"});
  EXPECT_EQ(usage.exitCode, 2);
  EXPECT_NE(usage.err.find("--country"), std::string::npos);

  auto show = at(site, {"show", "kg-2"});
  ASSERT_EQ(show.exitCode, 0);
  EXPECT_NE(show.out.find("Bakyt Kudaiarov (Бакыт Кудаяров)"), std::string::npos);
  EXPECT_NE(show.out.find("signed by: kg-bishkek"), std::string::npos);
  EXPECT_EQ(at(site, {"show", "nope"}).exitCode, 1);

  // Export, then publish the export into a second site: the same records arrive.
  auto exported = at(site, {"export"});
  ASSERT_EQ(exported.exitCode, 0);
  writeText(tmp / "export.jsonl", exported.out);
  makeSite(tmp / "kg2", "kg-osh", "KG");
  ASSERT_EQ(at(tmp / "kg2", {"publish", tmp / "export.jsonl"}).exitCode, 0);
  EXPECT_EQ(at(tmp / "kg2", {"export"}).out, exported.out);

  auto retired = at(site, {"retire", "kg-1"});
  ASSERT_EQ(retired.exitCode, 0) << retired.err;
  EXPECT_EQ(at(site, {"find", "--role", "prosecutor"}).exitCode, 1);
  EXPECT_NE(at(site, {"show", "kg-1"}).out.find("status: retired"), std::string::npos);
  EXPECT_NE(at(site, {"show", "kg-1"}).out.find("revision: 2"), std::string::npos);
}

TEST_F(CliTest, BadFilePublishesNothing) {
  ASSERT_EQ(at(site, {"publish", [&] {
              writeText(tmp / "good.json", contactJson("kg-1"));
              return tmp / "good.json";
            }()}).exitCode, 0);
  std::string before = at(site, {"export"}).out;
  struct Case {
    std::string content, expect;
  } cases[] = {
      {contactJson("kg-2") + "\n" + contactJson("kg-3", R"("languages": ["klingon"])"),
       "record 2 (kg-3): languages[0]"},
      {contactJson("kg-2") + "\n" + contactJson("kg-2"), "appears twice"},
      {contactJson("kg-2") + "\n" + contactJson("th-1", R"("country": "XX")"), "country"},
      {contactJson("kg-2", R"("availability": {"timezone": "Asia/Nowhere"})"), "not a known IANA time zone"},
      {contactJson("kg-2") + "\n" + contactJson("ge-1", R"("country": "GE")"), "may not publish for GE"},
      {"\xff\xfe", "not valid UTF-8"},
  };
  for (const auto& c : cases) {
    writeText(tmp / "bad.jsonl", c.content);
    auto r = at(site, {"publish", tmp / "bad.jsonl"});
    EXPECT_EQ(r.exitCode, 2) << c.expect;
    EXPECT_NE(r.err.find(c.expect), std::string::npos) << r.err;
    EXPECT_NE(r.err.find("bad.jsonl"), std::string::npos) << r.err;
    EXPECT_EQ(at(site, {"export"}).out, before) << "nothing stored changed: " << c.expect;
  }
  EXPECT_EQ(at(site, {"publish", tmp / "missing.json"}).exitCode, 2);
}

TEST_F(CliTest, RevocationStopsAMember) {
  makeSite(tmp / "kz", "kz-almaty", "KZ");
  // The KG site learns KZ's certificate, then its revocation.
  ASSERT_EQ(at(site, {"publish", tmp / "kz-almaty.member"}).exitCode, 0);
  auto revocation = liaison({"revoke", "--root", tmp / "root.key", "--site", "kz-almaty"});
  ASSERT_EQ(revocation.exitCode, 0);
  writeText(tmp / "kz.revocation", revocation.out);
  ASSERT_EQ(at(site, {"publish", tmp / "kz.revocation"}).exitCode, 0);
  auto status = nlohmann::json::parse(at(site, {"status", "--format", "json"}).out);
  EXPECT_EQ(status["counts"]["revoked"], 1);
  // A revocation signed by anyone but the root is refused.
  ASSERT_EQ(liaison({"keygen", "--out", tmp / "fake-root"}).exitCode, 0);
  auto forged = liaison({"revoke", "--root", tmp / "fake-root.key", "--site", "kg-bishkek"});
  writeText(tmp / "forged.revocation", forged.out);
  auto r = at(site, {"publish", tmp / "forged.revocation"});
  EXPECT_EQ(r.exitCode, 2);
  EXPECT_NE(r.err.find("not signed by this network's root key"), std::string::npos) << r.err;
}

TEST_F(CliTest, SampleDirectoryCounterpartAndVcard) {
  // A secretariat site for every sample country publishes the sample directory.
  std::string all = "AM,AZ,GE,KG,KZ,TJ,TM,UZ,BN,KH,ID,LA,MY,MM,PH,TH,VN,BD,LK,TL,NP";
  makeSite(tmp / "sec", "casc-secretariat", all, "secretariat");
  auto pub = at(tmp / "sec", {"publish", sample("contacts.jsonl"), sample("instruments.json")});
  ASSERT_EQ(pub.exitCode, 0) << pub.err;
  auto cp = at(tmp / "sec", {"counterpart", "--from", "KG", "--to", "TH", "--topic",
                             "trafficking-in-persons", "--competence", "mla", "--language", "ru",
                             "--format", "json"});
  ASSERT_EQ(cp.exitCode, 0) << cp.err;
  auto j = nlohmann::json::parse(cp.out);
  ASSERT_FALSE(j["counterparts"].empty());
  const auto& best = j["counterparts"][0];
  EXPECT_EQ(best["country"], "TH");
  EXPECT_EQ(best["role"], "central-authority");
  bool acceptsRussian = false;
  for (const auto& l : best["languages"]) acceptsRussian |= l == "ru";
  EXPECT_TRUE(acceptsRussian);
  std::vector<std::string> bases;
  for (const auto& b : j["legalBases"]) bases.push_back(b["id"]);
  EXPECT_NE(std::find(bases.begin(), bases.end(), "UNTOC"), bases.end());
  EXPECT_EQ(std::find(bases.begin(), bases.end(), "Minsk-1993"), bases.end()) << "TH is no party";

  // vCard export parses with a standard parser (python3-vobject).
  auto vcards = at(tmp / "sec", {"export", "--format", "vcard"});
  ASSERT_EQ(vcards.exitCode, 0);
  writeText(tmp / "all.vcf", vcards.out);
  auto parsed = run({"/usr/bin/python3", "-c",
                     "import sys, vobject\n"
                     "cards = list(vobject.readComponents(open(sys.argv[1], encoding='utf-8').read()))\n"
                     "assert all(c.version.value == '4.0' for c in cards)\n"
                     "names = [c.fn.value for c in cards]\n"
                     "print(len(cards)); print('Bakyt Kudaiarov' in names)\n",
                     tmp / "all.vcf"});
  ASSERT_EQ(parsed.exitCode, 0) << parsed.err;
  int contacts = static_cast<int>(std::count(vcards.out.begin(), vcards.out.end(), '\n')) > 0
                     ? static_cast<int>(nlohmann::json::parse(at(tmp / "sec", {"status", "--format", "json"}).out)["counts"]["contacts"])
                     : 0;
  EXPECT_EQ(parsed.out, std::to_string(contacts) + "\nTrue\n");
}

TEST_F(CliTest, HundredThousandRecordDirectory) {
  std::string file = tmp / "big.jsonl";
  auto gen = run({testing::binDir() + "/liaison-gendir", "--count", "100000", "--seed", "42",
                  "--countries", "KG,KZ,TH", "--out", file});
  ASSERT_EQ(gen.exitCode, 0) << gen.err;
  auto pub = run({bin, "publish", "--site", site, file}, "", 600);
  ASSERT_EQ(pub.exitCode, 0) << pub.err;
  EXPECT_NE(pub.out.find("published 100000"), std::string::npos) << pub.out;
  auto status = nlohmann::json::parse(at(site, {"status", "--format", "json"}).out);
  EXPECT_EQ(status["counts"]["contacts"], 100000);
  // A structured query agrees with a scan of the same file.
  size_t expected = 0;
  {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line)) {
      auto j = nlohmann::json::parse(line);
      bool topic = false;
      for (const auto& t : j["topics"]) topic |= t == "trafficking-in-persons";
      if (j["country"] == "TH" && j["role"] == "central-authority" && topic) ++expected;
    }
  }
  ASSERT_GT(expected, 0u);
  auto found = at(site, {"find", "--country", "TH", "--role", "central-authority", "--topic",
                         "trafficking-in-persons", "--limit", "10000", "--format", "json"});
  ASSERT_EQ(found.exitCode, 0) << found.err;
  EXPECT_EQ(nlohmann::json::parse(found.out).size(), expected);
}

}  // namespace
}  // namespace liaison
