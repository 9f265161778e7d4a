// The JSON forms: what a user writes is checked field by field, and printed back the same.
#include <gtest/gtest.h>

#include <filesystem>

#include <random>

#include "schemas/json.h"
#include "schemas/vocab.h"
#include "tests/support.h"

namespace liaison {
namespace {

using testing::contactJson;

std::string parseError(const std::string& text, const std::string& file = "in.json") {
  auto r = json::parseInput(file, text);
  EXPECT_FALSE(r.ok()) << "accepted: " << text;
  return r.ok() ? "" : r.error().message;
}

TEST(JsonForm, ContactRoundTripsThroughTheSchema) {
  std::string text = contactJson("kg-1");
  auto items = json::parseInput("in.json", text);
  ASSERT_TRUE(items.ok()) << items.error().message;
  ASSERT_EQ(items->size(), 1u);
  auto& item = std::get<OwnedItem>((*items)[0]);
  auto back = json::recordToJson(item.reader().getRecord());
  EXPECT_EQ(back, json::Json::parse(text));
}

TEST(JsonForm, AcceptsObjectArrayAndJsonLines) {
  auto one = json::parseInput("a", contactJson("a-1"));
  auto arr = json::parseInput("b", "[" + contactJson("b-1") + "," + contactJson("b-2") + "]");
  auto lines = json::parseInput("c", contactJson("c-1") + "\n\n" + contactJson("c-2") + "\n" +
                                         contactJson("c-3") + "\n");
  ASSERT_TRUE(one.ok() && arr.ok() && lines.ok());
  EXPECT_EQ(one->size(), 1u);
  EXPECT_EQ(arr->size(), 2u);
  EXPECT_EQ(lines->size(), 3u);
}

TEST(JsonForm, ErrorsNameFileRecordAndField) {
  std::string text = contactJson("ok-1") + "\n" +
                     contactJson("bad-2", R"("channels": [{"kind": "email", "value": "nope"}])");
  EXPECT_EQ(parseError(text, "people.jsonl"),
            "people.jsonl: record 2 (bad-2): channels[0].value: \"nope\" is not an e-mail address");
}

struct BadCase {
  const char* name;
  std::string extra;
  const char* expected;  // a part of the message
};

void PrintTo(const BadCase& c, std::ostream* os) { *os << c.name; }

class BadContact : public ::testing::TestWithParam<BadCase> {};

TEST_P(BadContact, IsRefusedWithTheField) {
  std::string message = parseError(contactJson("x-1", GetParam().extra));
  EXPECT_NE(message.find(GetParam().expected), std::string::npos) << message;
  EXPECT_EQ(message.find('\n'), std::string::npos) << "one line";
}

INSTANTIATE_TEST_SUITE_P(
    Fields, BadContact,
    ::testing::Values(
        BadCase{"UnknownKey", R"("nickname": "Ab")", "nickname: unknown key"},
        BadCase{"NestedUnknownKey", R"("name": {"latin": "A", "middle": "B"})", "name.middle: unknown key"},
        BadCase{"WrongType", R"("revision": "3")", "revision: must be a whole number"},
        BadCase{"RevisionZero", R"("revision": 0)", "revision: must be at least 1"},
        BadCase{"RevisionFloat", R"("revision": 1.5)", "revision: must be a whole number"},
        BadCase{"MissingName", R"("name": null)", "name.latin: is required"},
        BadCase{"MissingRole", R"("role": null)", "role: is required"},
        BadCase{"MissingOrganization", R"("organization": null)", "organization: is required"},
        BadCase{"NoChannels", R"("channels": [])", "channels: must list at least one channel"},
        BadCase{"BadCountry", R"("country": "XX")", "country: \"XX\" is not an ISO 3166-1"},
        BadCase{"LowerCountry", R"("country": "kg")", "is not an ISO 3166-1"},
        BadCase{"BadLanguage", R"("languages": ["russian"])", "languages[0]: \"russian\" is not a BCP 47"},
        BadCase{"UnknownLanguage", R"("languages": ["qq"])", "is not a BCP 47"},
        BadCase{"DuplicateLanguage", R"("languages": ["ru", "ru"])", "listed twice"},
        BadCase{"BadRole", R"("role": "boss")", "role: \"boss\" is not a role"},
        BadCase{"BadCompetence", R"("competences": ["magic"])", "competences[0]"},
        BadCase{"BadPhone", R"("channels": [{"kind": "phone", "value": "call me"}])", "is not a phone number"},
        BadCase{"ShortPhone", R"("channels": [{"kind": "mobile", "value": "+99"}])", "is not a phone number"},
        BadCase{"BadChannelKind", R"("channels": [{"kind": "pigeon", "value": "x"}])", "channels[0].kind"},
        BadCase{"BadDate", R"("verification": {"verifiedAt": "2026-02-30"})", "verification.verifiedAt: \"2026-02-30\" is not a date"},
        BadCase{"BadHours", R"("availability": {"hours": "whenever"})", "availability.hours"},
        BadCase{"BadZone", R"("availability": {"timezone": "bishkek"})", "availability.timezone"},
        BadCase{"Oversized", R"("title": ")" + std::string(300, 'x') + "\"", "title: longer than 256"},
        BadCase{"ControlChar", R"("title": "a\u0007b")", "title: contains a control character"},
        BadCase{"BadKind", R"("kind": "person")", "kind: \"person\" is not a record kind"},
        BadCase{"BadId", R"("id": "has space")", "id: \"has space\" is not a record id"},
        BadCase{"BadStatus", R"("status": "gone")", "status"}),
    [](const ::testing::TestParamInfo<BadCase>& param) { return std::string(param.param.name); });

TEST(JsonForm, DuplicateIdsInOneFileAreRefused) {
  std::string message = parseError("[" + contactJson("same") + "," + contactJson("same") + "]");
  EXPECT_NE(message.find("appears twice"), std::string::npos) << message;
}

TEST(JsonForm, NonUtf8IsRefusedWithItsLine) {
  std::string text = contactJson("a-1") + "\n" + contactJson("a-2");
  text.insert(text.size() - 20, "\xff");
  EXPECT_EQ(parseError(text, "f.jsonl"), "f.jsonl: line 2: not valid UTF-8");
}

TEST(JsonForm, BrokenJsonIsOneLine) {
  std::string message = parseError("{\"kind\": \"contact\", ");
  EXPECT_NE(message.find("not JSON"), std::string::npos);
  EXPECT_EQ(message.find('\n'), std::string::npos);
  parseError("");
  parseError("42");
}

TEST(Vocab, OpeningHours) {
  auto h = vocab::parseOpeningHours("Mo-Th 08:30-17:30; Fr 08:30-12:00");
  ASSERT_TRUE(h);
  EXPECT_TRUE(h->openAt(0, 8 * 60 + 30));
  EXPECT_FALSE(h->openAt(0, 17 * 60 + 30));
  EXPECT_TRUE(h->openAt(4, 11 * 60));
  EXPECT_FALSE(h->openAt(4, 13 * 60));
  EXPECT_FALSE(h->openAt(5, 10 * 60));
  EXPECT_TRUE(vocab::parseOpeningHours("24/7")->always);
  EXPECT_TRUE(vocab::parseOpeningHours("Sa-Mo 10:00-11:00")->openAt(6, 10 * 60));
  EXPECT_FALSE(vocab::parseOpeningHours("Mo 18:00-09:00"));
  EXPECT_FALSE(vocab::parseOpeningHours("Xx 09:00-10:00"));
}

TEST(Vocab, LanguagesCountriesContacts) {
  EXPECT_TRUE(vocab::isLanguageTag("ru"));
  EXPECT_TRUE(vocab::isLanguageTag("uz-Cyrl"));
  EXPECT_TRUE(vocab::isLanguageTag("en-GB"));
  EXPECT_TRUE(vocab::isLanguageTag("fil"));
  EXPECT_FALSE(vocab::isLanguageTag("EN"));
  EXPECT_FALSE(vocab::isLanguageTag("ru-XX"));
  EXPECT_TRUE(vocab::isCountry("TL"));
  EXPECT_FALSE(vocab::isCountry("UK"));
  EXPECT_TRUE(vocab::isEmail("a.b@example.kg"));
  EXPECT_FALSE(vocab::isEmail("a@b"));
  EXPECT_FALSE(vocab::isEmail("a@@example.kg"));
  EXPECT_TRUE(vocab::isPhone("+66 2 000 0303"));
  EXPECT_FALSE(vocab::isPhone("0312 000 000"));
  EXPECT_EQ(vocab::parseDuration("PT30M"), 1800);
  EXPECT_EQ(vocab::parseDuration("P1DT2H"), 93600);
  EXPECT_FALSE(vocab::parseDuration("PT"));
  EXPECT_FALSE(vocab::parseDuration("30M"));
  EXPECT_TRUE(vocab::isLegalBasis("bilateral:TH"));
  EXPECT_FALSE(vocab::isLegalBasis("bilateral:XX"));
}

TEST(Armor, SurvivesRoundTripAndRejectsDamage) {
  auto keys = trust::generateKeyPair();
  auto cert = testing::certFor("kg-bishkek", keys, {"KG"}, "authority", 0, 100);
  auto signedItem = trust::sign(trust::memberItem(cert), "root", keys);
  std::string text = json::armor(signedItem);
  auto back = json::dearmor("m", text);
  ASSERT_TRUE(back.ok()) << back.error().message;
  EXPECT_EQ(back->front().item.reader().getMember().getSite(), "kg-bishkek");
  EXPECT_TRUE(trust::signatureValid(back->front()));
  std::string damaged = text;
  damaged[damaged.find("\n\n") + 10] = '!';
  EXPECT_FALSE(json::dearmor("m", damaged).ok());
  EXPECT_FALSE(json::dearmor("m", text.substr(0, text.size() / 2)).ok());
}

TEST(Envelope, GarbageNeverCrashesTheDecoder) {
  std::mt19937 rng(7);
  for (int i = 0; i < 2000; ++i) {
    Bytes b(static_cast<size_t>(rng() % 512) & ~size_t{7});
    for (auto& x : b) x = static_cast<uint8_t>(rng());
    auto r = SignedItem::decode(b);
    if (r.ok()) (void)itemKind(r->item.reader());
  }
  SUCCEED();
}

// Inputs the fuzzers found (tests/data/fuzz-regressions/json_forms): each is an input error
// with a reason, never an exception.
TEST(JsonForms, InputsTheFuzzersFoundAreErrorsNotExceptions) {
  const std::string dir = testing::sourceDir() + "/tests/data/fuzz-regressions/json_forms";
  size_t files = 0;
  for (const auto& entry : std::filesystem::directory_iterator(dir)) {
    ++files;
    std::string text = testing::readText(entry.path());
    EXPECT_NO_THROW({
      auto r = json::parseInput("fuzz.json", text);
      EXPECT_FALSE(r.ok()) << entry.path();
    });
  }
  EXPECT_GE(files, 1u);
  auto r = json::parseInput("big.json", "[1e999999999]");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.error().message.find("number overflow"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace liaison
