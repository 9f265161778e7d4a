// What people read: tables and vCards.
#include <gtest/gtest.h>

#include "cli/output.h"
#include "schemas/json.h"
#include "tests/support.h"

namespace liaison {
namespace {

std::string vcardOf(const std::string& extra) {
  auto items = json::parseInput("t", testing::contactJson("kg-gpo-intl-01", extra));
  EXPECT_TRUE(items.ok());
  return cli::contactVcard(std::get<OwnedItem>(items->front()).reader().getRecord());
}

TEST(Vcard, HasTheStandardPropertiesAndExtensions) {
  std::string v = vcardOf(R"("notes": "Requests in Russian; urgent ones, by phone")");
  EXPECT_EQ(v.rfind("BEGIN:VCARD\r\nVERSION:4.0\r\n", 0), 0u);
  for (const char* p : {"FN:Aibek Sadykov\r\n", "N:Sadykov;Aibek;;Mr.;\r\n", "UID:urn:liaison:kg-gpo-intl-01\r\n",
                        "ROLE:prosecutor\r\n", "EMAIL;TYPE=work;PREF=1:a.sadykov@example.kg\r\n",
                        "TEL;TYPE=work,voice:+996 312 000 000\r\n", "LANG;PREF=1:ky\r\n",
                        "LANG;PREF=2:ru\r\n", "TZ:Asia/Bishkek\r\n", "REV:20261101T000000Z\r\n",
                        "X-LIAISON-REVISION:1\r\n", "X-LIAISON-COUNTRY:KG\r\n",
                        "X-LIAISON-ORIGINAL-NAME:Айбек Садыков\r\n",
                        "NOTE:Requests in Russian\\; urgent ones\\, by phone\r\n", "END:VCARD\r\n"}) {
    EXPECT_NE(v.find(p), std::string::npos) << p << "\n" << v;
  }
}

TEST(Vcard, FoldsLongLinesWithoutSplittingCharacters) {
  std::string v = vcardOf(R"("notes": ")" + std::string(60, 'x') + "Жжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжжж\"");
  size_t start = 0;
  while (start < v.size()) {
    size_t end = v.find("\r\n", start);
    ASSERT_NE(end, std::string::npos);
    EXPECT_LE(end - start, 75u);
    start = end + 2;
  }
  EXPECT_TRUE(isValidUtf8(v));
  // Unfolding gives back the note.
  std::string unfolded;
  for (size_t i = 0; i < v.size(); ++i) {
    if (v.compare(i, 3, "\r\n ") == 0) {
      i += 2;
      continue;
    }
    unfolded.push_back(v[i]);
  }
  EXPECT_NE(unfolded.find(std::string(60, 'x') + "Жжжж"), std::string::npos);
}

TEST(Table, AlignsAndCutsLongCells) {
  std::string t = cli::renderTable({"ID", "NAME"}, {{"a", "Кудаяров"}, {"bbb", std::string(50, 'n')}}, 10);
  EXPECT_EQ(t, "ID   NAME\na    Кудаяров\nbbb  nnnnnnnnn…\n");
}

}  // namespace
}  // namespace liaison
