// The alert's JSON form and its CAP 1.2 XML.
#include <gtest/gtest.h>

#include "schemas/alert_json.h"
#include "tests/support.h"

namespace liaison {
namespace {

const char* kAlert = R"({"kind": "alert", "id": "7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10",
 "msgType": "alert", "status": "actual", "incident": "KG-2026-0147",
 "category": "trafficking-in-persons", "event": "Victims located",
 "urgency": "immediate", "severity": "severe", "certainty": "observed",
 "headline": "Three Kyrgyz nationals located in Bangkok; suspect leaving tonight",
 "description": "...", "instruction": "Contact the sender before any arrest.",
 "language": "en", "expires": "2026-11-29T12:00:00Z",
 "targets": {"countries": ["TH"], "roles": ["interpol-ncb"]},
 "ackRequired": true, "ackDeadline": "PT30M",
 "escalateTo": {"networks": ["INTERPOL"]}, "forwardToInterpol": true})";

json::AlertDefaults defaults() { return {json::newUuid(), "kg-bishkek", "2026-11-28T10:00:00Z"}; }

std::string errorFor(const std::string& patch) {
  auto j = json::Json::parse(kAlert);
  auto p = json::Json::parse(patch);
  for (auto it = p.begin(); it != p.end(); ++it) {
    if (it->is_null()) {
      j.erase(it.key());
    } else {
      j[it.key()] = *it;
    }
  }
  auto r = json::alertFromJson(j, defaults(), "alert.json");
  return r.ok() ? "" : r.error().message;
}

TEST(AlertJson, TheDesignExampleRoundTrips) {
  auto in = json::Json::parse(kAlert);
  auto item = json::alertFromJson(in, defaults(), "alert.json");
  ASSERT_TRUE(item.ok()) << item.error().message;
  auto out = json::alertToJson(item->reader().getAlert());
  for (auto it = in.begin(); it != in.end(); ++it) EXPECT_EQ(out[it.key()], *it) << it.key();
  EXPECT_EQ(out["senderSite"], "kg-bishkek");
  EXPECT_EQ(out["sent"], "2026-11-28T10:00:00Z");
}

TEST(AlertJson, AnIdIsMadeWhenLeftOut) {
  auto j = json::Json::parse(kAlert);
  j.erase("id");
  auto d = defaults();
  auto item = json::alertFromJson(j, d, "a");
  ASSERT_TRUE(item.ok());
  EXPECT_EQ(std::string(item->reader().getAlert().getId().cStr()), d.id);
  EXPECT_EQ(d.id.size(), 36u);
  EXPECT_EQ(d.id[14], '4');
  EXPECT_NE(json::newUuid(), json::newUuid());
}

TEST(AlertJson, BadFieldsAreNamed) {
  EXPECT_NE(errorFor(R"({"urgency": "now"})").find("urgency: \"now\" is not"), std::string::npos);
  EXPECT_NE(errorFor(R"({"targets": {}, "forwardToInterpol": false})").find("targets: names nobody"), std::string::npos);
  EXPECT_NE(errorFor(R"({"targets": {"countries": ["Thailand"]}})").find("targets.countries[0]"), std::string::npos);
  EXPECT_NE(errorFor(R"({"targets": {"planets": ["Mars"]}})").find("targets.planets: unknown key"), std::string::npos);
  EXPECT_NE(errorFor(R"({"expires": "tomorrow"})").find("expires"), std::string::npos);
  EXPECT_NE(errorFor(R"({"ackDeadline": "30 minutes"})").find("ackDeadline"), std::string::npos);
  EXPECT_NE(errorFor(R"({"headline": null})").find("headline: is required"), std::string::npos);
  EXPECT_NE(errorFor(R"({"msgType": "cancel"})").find("must name the alert"), std::string::npos);
  EXPECT_NE(errorFor(R"({"references": ["7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10"]})").find("replaces nothing"), std::string::npos);
  EXPECT_NE(errorFor(R"({"headline": ")" + std::string(300, 'h') + "\"}").find("longer than 256"), std::string::npos);
  EXPECT_NE(errorFor(R"({"description": ")" + std::string(8001, 'd') + "\"}").find("longer than 8000"), std::string::npos);
  EXPECT_NE(errorFor(R"({"colour": "red"})").find("colour: unknown key"), std::string::npos);
  EXPECT_EQ(errorFor(R"({"msgType": "update", "references": ["7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10"]})"), "");
}

TEST(AlertCap, IsWellFormedCap12) {
  auto item = json::alertFromJson(json::Json::parse(kAlert), defaults(), "a");
  ASSERT_TRUE(item.ok());
  std::string xml = json::alertToCap(item->reader().getAlert());
  for (const char* part : {"<alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\">",
                           "<identifier>7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10</identifier>",
                           "<sender>kg-bishkek</sender>", "<sent>2026-11-28T10:00:00+00:00</sent>",
                           "<status>Actual</status>", "<msgType>Alert</msgType>", "<scope>Restricted</scope>",
                           "<urgency>Immediate</urgency>", "<severity>Severe</severity>",
                           "<certainty>Observed</certainty>", "<expires>2026-11-29T12:00:00+00:00</expires>",
                           "<headline>Three Kyrgyz nationals located in Bangkok; suspect leaving tonight</headline>"}) {
    EXPECT_NE(xml.find(part), std::string::npos) << part << "\n" << xml;
  }
  testing::TempDir tmp;
  testing::writeText(tmp / "a.xml", xml);
  auto parsed = testing::run({"/usr/bin/python3", "-c",
                              "import sys, xml.dom.minidom as m; d = m.parse(sys.argv[1]);"
                              "print(d.documentElement.namespaceURI)", tmp / "a.xml"});
  EXPECT_EQ(parsed.exitCode, 0) << parsed.err;
  EXPECT_EQ(parsed.out, "urn:oasis:names:tc:emergency:cap:1.2\n");
}

// Valid against the CAP 1.2 schema (tests/data/cap-1.2.xsd, checked by xmllint): a full alert,
// a minimal one, a cancel, and an acknowledgement (msgType Ack).
TEST(AlertCap, ValidatesAgainstTheCap12Schema) {
  testing::TempDir tmp;
  const std::string xsd = testing::sourceDir() + "/tests/data/cap-1.2.xsd";
  auto valid = [&](const std::string& name, const std::string& xml) {
    testing::writeText(tmp / name, xml);
    auto r = testing::run({"/usr/bin/xmllint", "--noout", "--schema", xsd, tmp / name});
    EXPECT_EQ(r.err.find("parser error"), std::string::npos) << r.err;
    return r.exitCode == 0;
  };
  auto validate = [&](const std::string& name, const std::string& xml) {
    EXPECT_TRUE(valid(name, xml)) << name << "\n" << xml;
  };
  auto full = json::alertFromJson(json::Json::parse(kAlert), defaults(), "a");
  ASSERT_TRUE(full.ok());
  validate("full.xml", json::alertToCap(full->reader().getAlert()));
  auto minimal = json::alertFromJson(json::Json::parse(R"({"headline": "x < y & z", "targets": {"countries": ["TH"]}})"),
                                     defaults(), "a");
  ASSERT_TRUE(minimal.ok()) << minimal.error().message;
  validate("minimal.xml", json::alertToCap(minimal->reader().getAlert()));
  auto cancel = json::alertFromJson(json::Json::parse(R"({"headline": "Cancelled", "msgType": "cancel",
      "references": ["7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10"]})"), json::AlertDefaults{"7f0c9a52-0000-4c1e-9d8a-2b1e5c4d7a11", "kg-bishkek", "2026-11-28T11:00:00Z"}, "a");
  ASSERT_TRUE(cancel.ok()) << cancel.error().message;
  validate("cancel.xml", json::alertToCap(cancel->reader().getAlert()));
  auto ack = json::ackItem("7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10", "th-bangkok", json::kAcknowledged,
                           "Pol. Col. Somchai P.", "Team <dispatched> & waiting", "2026-11-28T10:05:00Z");
  std::string ackXml = json::ackToCap(ack.reader().getAck(), full->reader().getAlert());
  EXPECT_NE(ackXml.find("<msgType>Ack</msgType>"), std::string::npos);
  EXPECT_NE(ackXml.find("<references>kg-bishkek,7f0c9a52-3f7e-4c1e-9d8a-2b1e5c4d7a10,2026-11-28T10:00:00+00:00</references>"),
            std::string::npos) << ackXml;
  validate("ack.xml", ackXml);
  // The schema does refuse what CAP refuses (so the checks above mean something).
  EXPECT_FALSE(valid("bad.xml", "<?xml version=\"1.0\"?><alert xmlns=\"urn:oasis:names:tc:emergency:cap:1.2\"><identifier>x</identifier></alert>"));
}

}  // namespace
}  // namespace liaison
