#include "directory/names.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <random>
#include <string>
#include <vector>

namespace liaison::names {
namespace {

using Keys = std::vector<std::string>;

// The single key of a one-word name.
std::string key(Folder& folder, std::string_view name) {
  Keys keys = folder.keys(name);
  EXPECT_EQ(keys.size(), 1u) << name;
  return keys.empty() ? std::string() : keys.front();
}

// True when `k` is a non-empty run of [a-z0-9].
bool isKey(const std::string& k) {
  return !k.empty() && std::all_of(k.begin(), k.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
  });
}

void expectSameKey(std::initializer_list<std::string_view> names) {
  Folder folder;
  const std::string first = key(folder, *names.begin());
  EXPECT_FALSE(first.empty());
  for (std::string_view name : names) {
    EXPECT_EQ(key(folder, name), first) << name << " vs " << *names.begin();
  }
}

TEST(NamesTest, SpellingsAndScriptsShareAKey) {
  expectSameKey({"Kudaiarov", "Kudayarov", "Кудаяров", "KUDAIAROV"});
  expectSameKey({"Sadykov", "Садыков", "Sadikov"});
  expectSameKey({"Zhumabaev", "Жумабаев", "Jumabaev", "Zhumabayev"});
  expectSameKey({"Khasanov", "Hasanov", "Хасанов"});
  expectSameKey({"Tsoi", "Цой", "Tsoy"});
  expectSameKey({"Dzhaparov", "Japarov", "Джапаров", "Djaparov"});
  expectSameKey({"Mohammed", "Mohamed"});
  expectSameKey({"Aibek", "Aybek", "Айбек"});
  expectSameKey({"Dmitriy", "Dmitry", "Dmitrii", "Дмитрий"});
  expectSameKey({"Sergeev", "Sergeyev", "Сергеев"});
  expectSameKey({"Erlan", "Yerlan", "Ерлан"});
  expectSameKey({"Shchukin", "Щукин"});
  expectSameKey({"Aleksandr", "Alexandr", "Александр"});
}

TEST(NamesTest, CentralAsianCyrillic) {
  expectSameKey({"Alibek", "Әлібек"});
  expectSameKey({"Kasymov", "Қасымов", "Qasymov"});
  expectSameKey({"Nursultan", "Нұрсұлтан"});
  expectSameKey({"Mynbaev", "Мыңбаев"});
  expectSameKey({"Omirzakov", "Өмірзақов"});
  expectSameKey({"Umitov", "Үмітов"});
  expectSameKey({"Galym", "Ғалым", "Ghalym"});
  expectSameKey({"Hakimov", "Һакимов", "Ҳакимов", "Khakimov"});
  expectSameKey({"Juraev", "Ҷӯраев", "Djuraev"});
  expectSameKey({"Sharipov", "Шәріпов"});
  expectSameKey({"Kodirov", "Қодиров", "Qodirov"});
  // Upper case goes through the same mapping.
  expectSameKey({"ZHUMABAEVA", "ЖҰМАБАЕВА"});
}

TEST(NamesTest, OtherScripts) {
  expectSameKey({"Nguyen", "Nguyễn", "NGUYỄN"});
  expectSameKey({"Giorgi", "გიორგი"});
  expectSameKey({"Beridze", "ბერიძე"});
  expectSameKey({"Hovhannisyan", "Հովհաննիսյան"});
  Folder folder;
  for (std::string_view name : {"สมชาย", "ทักษิณ ชินวัตร", "ประยุทธ์", "Արամ", "ქართ"}) {
    Keys keys = folder.keys(name);
    EXPECT_FALSE(keys.empty()) << name;
    for (const std::string& k : keys) {
      EXPECT_TRUE(isKey(k)) << name << " -> " << k;
    }
  }
  EXPECT_GE(folder.keys("ทักษิณ ชินวัตร").size(), 2u);  // ICU may split Thai words further.
}

TEST(NamesTest, DifferentNamesStayDifferent) {
  Folder folder;
  const std::string sadykov = key(folder, "Sadykov");
  const std::string sadyrov = key(folder, "Sadyrov");
  EXPECT_NE(sadykov, sadyrov);
  EXPECT_EQ(distance(sadykov, sadyrov, 2), 1);
  EXPECT_NE(key(folder, "Ivanov"), key(folder, "Petrov"));
  EXPECT_GT(distance(key(folder, "Ivanov"), key(folder, "Petrov"), 2), 2);
  EXPECT_NE(key(folder, "Khasanov"), key(folder, "Kasanov"));
  EXPECT_NE(key(folder, "Tsoi"), key(folder, "Soi"));
}

TEST(NamesTest, SplitsWords) {
  Folder folder;
  EXPECT_EQ(folder.keys("Kudaiarov Aibek"), (Keys{"kudaiarov", "aibek"}));
  EXPECT_EQ(folder.keys("Abdul-Aziz"), (Keys{"abdul", "aziz"}));
  EXPECT_EQ(folder.keys("Nik'a"), (Keys{"nika"}));
  EXPECT_EQ(folder.keys("Nik’a"), (Keys{"nika"}));
  EXPECT_EQ(folder.keys("O‘zbek Oʻzbek"), (Keys{"ozbek", "ozbek"}));
  EXPECT_EQ(folder.keys("  Ivan,ivan.\tIVAN  "), (Keys{"ivan", "ivan", "ivan"}));
  EXPECT_EQ(folder.keys("Ильич"), folder.keys("Il'ich"));
  EXPECT_EQ(folder.keys("Иванов Иван Иванович").size(), 3u);
  EXPECT_EQ(folder.keys("Kudaiarov — Кудаяров"), (Keys{"kudaiarov", "kudaiarov"}));
  EXPECT_EQ(folder.keys("Room 101"), (Keys{"rom", "101"}));
}

TEST(NamesTest, EmptyAndJunkInput) {
  Folder folder;
  EXPECT_TRUE(folder.keys("").empty());
  EXPECT_TRUE(folder.keys("   ").empty());
  EXPECT_TRUE(folder.keys("-- , . ' \"").empty());
  EXPECT_TRUE(folder.keys("— « » …").empty());
  EXPECT_TRUE(folder.keys(std::string_view("\0\0", 2)).empty());
}

TEST(NamesTest, InvalidUtf8SeparatesWords) {
  Folder folder;
  EXPECT_EQ(folder.keys(std::string("abc\xff") + "def"), (Keys{"abc", "def"}));
  EXPECT_TRUE(folder.keys("\xc3").empty());
  EXPECT_TRUE(folder.keys("\xff\xfe\xfd").empty());
  EXPECT_EQ(folder.keys("Кудаяров\xd0"), (Keys{"kudaiarov"}));
  EXPECT_EQ(folder.keys(std::string("\xe0\x80\x80") + "Sadykov\xed\xa0\x80"), (Keys{"sadikov"}));
  // Random bytes never crash and only produce [a-z0-9] keys.
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> byte(0, 255);
  for (int round = 0; round < 200; ++round) {
    std::string junk;
    for (int i = 0; i < 40; ++i) junk.push_back(static_cast<char>(byte(rng)));
    for (const std::string& k : folder.keys(junk)) {
      EXPECT_TRUE(isKey(k)) << k;
    }
  }
}

TEST(NamesTest, LongInputIsCut) {
  Folder folder;
  std::string text;
  while (text.size() < kMaxInputBytes + 100) text += "Кудаяров ";
  const Keys keys = folder.keys(text);
  EXPECT_FALSE(keys.empty());
  EXPECT_LE(keys.size(), kMaxInputBytes / 17 + 1);
  const std::string longWord(200, 'x');
  EXPECT_EQ(folder.keys(longWord).size(), 1u);
}

TEST(NamesTest, AsciiNeverCreatesTheTransliterator) {
  Folder folder;
  EXPECT_EQ(folder.keys("Kudaiarov, Aibek-Uulu"), (Keys{"kudaiarov", "aibek", "ulu"}));
  EXPECT_TRUE(folder.keys("").empty());
  EXPECT_FALSE(folder.transliteratorCreated());
  EXPECT_EQ(folder.keys("Кудаяров"), (Keys{"kudaiarov"}));
  EXPECT_TRUE(folder.transliteratorCreated());

  Folder moved = std::move(folder);
  EXPECT_TRUE(moved.transliteratorCreated());
  EXPECT_EQ(moved.keys("Садыков"), (Keys{"sadikov"}));
  // A moved-from Folder still works.
  EXPECT_EQ(folder.keys("Садыков"), (Keys{"sadikov"}));  // NOLINT(bugprone-use-after-move)
}

TEST(NamesTest, SkeletonRules) {
  EXPECT_EQ(skeleton("shchukin"), "shukin");
  EXPECT_EQ(skeleton("dzhaparov"), "iaparov");
  EXPECT_EQ(skeleton("djaparov"), "iaparov");
  EXPECT_EQ(skeleton("zhanna"), "iana");
  EXPECT_EQ(skeleton("khan"), "han");
  EXPECT_EQ(skeleton("ghafurov"), "gafurov");
  EXPECT_EQ(skeleton("tsoi"), "coi");
  EXPECT_EQ(skeleton("chernov"), "cernov");
  EXPECT_EQ(skeleton("tschernow"), "cernov");
  EXPECT_EQ(skeleton("pham"), "fam");
  EXPECT_EQ(skeleton("qodirov"), "kodirov");
  EXPECT_EQ(skeleton("wichai"), "vicai");
  EXPECT_EQ(skeleton("alexander"), "aleksander");
  EXPECT_EQ(skeleton("yuliya"), "iulia");
  EXPECT_EQ(skeleton("iuliia"), "iulia");
  EXPECT_EQ(skeleton("yelena"), "elena");
  EXPECT_EQ(skeleton("zhumabayev"), "iumabaev");
  EXPECT_EQ(skeleton("daniel"), "daniel");  // "ie" after a consonant stays.
  EXPECT_EQ(skeleton("obyekt"), "obiekt");
  EXPECT_EQ(skeleton("mohammed"), "mohamed");
  EXPECT_EQ(skeleton("room1100"), "rom1100");  // Digit runs are kept.
  EXPECT_EQ(skeleton("kxs"), "ks");
  std::string manyKs;
  for (int i = 0; i < 100; ++i) manyKs += "ks";
  EXPECT_EQ(skeleton(std::string(100, 'x')), manyKs);  // Longer than the stack buffer.
  EXPECT_EQ(skeleton(std::string(20, 'x')), manyKs.substr(0, 40));
  EXPECT_EQ(skeleton(""), "");
  // Defensive: upper case is lowered and other characters ignored.
  EXPECT_EQ(skeleton("Kudai-arov"), "kudaiarov");
  EXPECT_EQ(skeleton("e"), "e");
  EXPECT_EQ(skeleton("ye"), "e");
}

TEST(NamesTest, Deletions) {
  EXPECT_TRUE(deletions("").empty());
  EXPECT_TRUE(deletions("abc").empty());
  EXPECT_EQ(deletions("abcd"), (Keys{"bcd", "acd", "abd", "abc"}));
  EXPECT_EQ(deletions("abbc"), (Keys{"bbc", "abc", "abb"}));
  EXPECT_EQ(deletions("aaaa"), (Keys{"aaa"}));
  EXPECT_EQ(deletions("sadikov").size(), 7u);
  for (const std::string& d : deletions("kudaiarov")) EXPECT_EQ(d.size(), 8u);
}

// Plain full-table optimal-string-alignment distance, for comparison.
int referenceDistance(std::string_view a, std::string_view b) {
  const size_t n = a.size();
  const size_t m = b.size();
  std::vector<std::vector<int>> d(n + 1, std::vector<int>(m + 1));
  for (size_t i = 0; i <= n; ++i) d[i][0] = static_cast<int>(i);
  for (size_t j = 0; j <= m; ++j) d[0][j] = static_cast<int>(j);
  for (size_t i = 1; i <= n; ++i) {
    for (size_t j = 1; j <= m; ++j) {
      const int cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

TEST(NamesTest, Distance) {
  EXPECT_EQ(distance("", "", 0), 0);
  EXPECT_EQ(distance("kudaiarov", "kudaiarov", 0), 0);
  EXPECT_EQ(distance("", "abc", 3), 3);
  EXPECT_EQ(distance("", "abc", 2), 3);
  EXPECT_EQ(distance("abcd", "abdc", 2), 1);  // Transposition.
  EXPECT_EQ(distance("sadikov", "saidkov", 2), 1);
  EXPECT_EQ(distance("ca", "abc", 5), 3);  // OSA, not unrestricted Damerau (which gives 2).
  EXPECT_EQ(distance("kitten", "sitting", 5), 3);
  EXPECT_EQ(distance("kitten", "sitting", 2), 3);  // Early exit returns max + 1.
  EXPECT_EQ(distance("abcdef", "uvwxyz", 1), 2);
  EXPECT_EQ(distance("a", "abcdefgh", 2), 3);  // Length difference alone exceeds max.
  EXPECT_EQ(distance("abc", "abd", 0), 1);
  EXPECT_EQ(distance("abc", "abd", -3), 1);
  const std::string longA(300, 'a');
  std::string longB = longA;
  longB[150] = 'b';
  std::swap(longB[10], longB[11]);
  EXPECT_EQ(distance(longA, longB, 2), 1);
  longB[10] = 'c';
  longB[290] = 'd';
  EXPECT_EQ(distance(longA, longB, 2), 3);
  EXPECT_EQ(distance(longA, longB, 5), 3);
}

TEST(NamesTest, DistanceMatchesReference) {
  std::mt19937 rng(42);
  std::uniform_int_distribution<int> len(0, 9);
  std::uniform_int_distribution<int> letter(0, 2);
  std::uniform_int_distribution<int> maxes(0, 4);
  for (int round = 0; round < 20000; ++round) {
    std::string a(len(rng), 'a');
    std::string b(len(rng), 'a');
    for (char& c : a) c = static_cast<char>('a' + letter(rng));
    for (char& c : b) c = static_cast<char>('a' + letter(rng));
    const int max = maxes(rng);
    const int expected = std::min(referenceDistance(a, b), max + 1);
    ASSERT_EQ(distance(a, b, max), expected) << a << " " << b << " max " << max;
    ASSERT_EQ(distance(b, a, max), expected) << b << " " << a << " max " << max;
  }
}

TEST(NamesTest, Tolerance) {
  EXPECT_EQ(tolerance(0), 0);
  EXPECT_EQ(tolerance(4), 0);
  EXPECT_EQ(tolerance(5), 1);
  EXPECT_EQ(tolerance(8), 1);
  EXPECT_EQ(tolerance(9), 2);
  EXPECT_EQ(tolerance(40), 2);
}

}  // namespace
}  // namespace liaison::names
