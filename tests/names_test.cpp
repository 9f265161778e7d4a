#include "directory/names.h"

#include <gtest/gtest.h>

#include "common/clock.h"
#include "directory/directory.h"
#include "schemas/json.h"
#include "tests/support.h"

#include <algorithm>
#include <random>
#include <set>
#include <string>
#include <vector>

namespace liaison::names {
namespace {

using Keys = std::vector<std::string>;

// The primary key of a one-word name.
std::string key(Folder& folder, std::string_view name) {
  const std::vector<Keys> words = folder.words(name);
  EXPECT_EQ(words.size(), 1u) << name;
  return words.empty() ? std::string() : words.front().front();
}

// All keys (primary and variants) of a one-word name.
Keys variants(Folder& folder, std::string_view name) {
  const std::vector<Keys> words = folder.words(name);
  EXPECT_EQ(words.size(), 1u) << name;
  return words.empty() ? Keys() : words.front();
}

bool contains(const Keys& keys, const std::string& k) {
  return std::find(keys.begin(), keys.end(), k) != keys.end();
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
  EXPECT_EQ(folder.words(longWord).size(), 1u);  // one word (with an "h" variant for x)
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

// ---- National romanizations (names.h, "Spelling variants" and steps 3a-3c) ----------------

// Every name after the first has, among its keys, the primary key of the first.
void expectVariantOf(std::string_view primaryName, std::initializer_list<std::string_view> names) {
  Folder folder;
  const std::string primary = key(folder, primaryName);
  EXPECT_FALSE(primary.empty());
  for (std::string_view name : names) {
    EXPECT_TRUE(contains(variants(folder, name), primary)) << name << " lacks " << primary;
  }
}

TEST(NationalRomanization, UzbekLatinOApostropheIsO) {
  expectSameKey({"Oʻzbekiston", "O'zbekiston", "O‘zbekiston", "O’zbekiston", "Ozbekiston"});
  expectSameKey({"Oʻrinboyev", "O'rinboyev", "Orinboyev"});
}

TEST(NationalRomanization, UzbekLatinGApostropheIsG) {
  expectSameKey({"Gʻulomov", "G'ulomov", "Ғуломов", "Gulomov", "Ghulomov"});
}

TEST(NationalRomanization, UzbekLatinQIsK) { expectSameKey({"Qurbonov", "Қурбонов", "Kurbonov"}); }

TEST(NationalRomanization, UzbekLatinJIsZh) { expectSameKey({"Jamshid", "Жамшид", "Zhamshid"}); }

TEST(NationalRomanization, UzbekLatinXIsKhBesideKs) {
  // Uzbek x is Russian х: Xudoyberdiyev = Худойбердиев = Khudoyberdiev, while x = ks stays the
  // primary reading (Alexandr = Aleksandr).
  expectVariantOf("Худойбердиев", {"Xudoyberdiyev", "Khudoyberdiev"});
  Folder folder;
  EXPECT_EQ(key(folder, "Alexandr"), key(folder, "Aleksandr"));
  EXPECT_EQ(variants(folder, "Xurshid"), (Keys{"ksurshid", "hurshid"}));
}

TEST(NationalRomanization, CyrillicYoIsEOrYo) {
  // Uzbek Latin writes ё as yo; BGN gives ë, read "e" (primary, as before) or "yo".
  expectVariantOf("Mirziyoyev", {"Мирзиёев"});
  expectVariantOf("Yoqubov", {"Ёқубов"});
  expectVariantOf("Fyodor", {"Фёдор"});
  Folder folder;
  EXPECT_EQ(key(folder, "Фёдор"), key(folder, "Fedor"));
  EXPECT_EQ(folder.words("Шавкат Мирзиёев"), (std::vector<Keys>{{"shavkat"}, {"mirziev", "mirzioev"}}));
}

TEST(NationalRomanization, KazakhLatin2021LettersFoldToPassportSpelling) {
  expectSameKey({"Qasymov", "Қасымов", "Kasymov"});      // q
  expectSameKey({"Nūrsūltan", "Нұрсұлтан", "Nursultan"});  // ū
  expectSameKey({"Äbılqaiyr", "Әбілқайыр", "Abilkair"});  // ä ı q; y/i
  expectSameKey({"Şäkärım", "Шәкәрім", "Shakarim"});      // ş ä ı
  expectSameKey({"Myñbaev", "Мыңбаев", "Mynbaev"});        // ñ
  expectSameKey({"Ğalym", "Ғалым", "Galym"});              // ğ
  expectSameKey({"Ömırzaqov", "Өмірзақов", "Omirzakov"});  // ö
  expectSameKey({"Ümıtov", "Үмітов", "Umitov"});          // ü
}

TEST(NationalRomanization, AzerbaijaniSchwaIsAOrE) {
  expectVariantOf("Aliyev", {"Əliyev", "Әлијев"});
  expectVariantOf("Eliyev", {"Əliyev"});
  expectVariantOf("Алиев", {"Əliyev"});
  // Each ə on its own: Russian Мамедов has a then e.
  expectVariantOf("Мамедов", {"Məmmədov"});
  expectVariantOf("Mammadov", {"Məmmədov"});
  expectVariantOf("Memmedov", {"Məmmədov"});
  Folder folder;
  EXPECT_EQ(key(folder, "Əliyev"), key(folder, "Aliyev"));  // "a" is primary
}

TEST(NationalRomanization, AzerbaijaniCIsJ) {
  expectVariantOf("Джафаров", {"Cəfərov"});
  expectVariantOf("Jafarov", {"Cəfərov"});
  expectVariantOf("Dzhafarov", {"Cəfərov"});
  expectVariantOf("Cafarov", {"Cəfərov"});  // the c reading is kept as a variant
  Folder folder;
  EXPECT_EQ(key(folder, "Cəfərov"), key(folder, "Джафаров"));  // j is primary
  // Without an Azerbaijani letter, c stays c only.
  EXPECT_EQ(variants(folder, "Cafarov"), (Keys{"cafarov"}));
  EXPECT_EQ(variants(folder, "Çələbi").front(), key(folder, "Chalabi"));  // ç is ch, not j
}

TEST(NationalRomanization, AzerbaijaniXIsKh) {
  Folder folder;
  EXPECT_EQ(key(folder, "Xəlilov"), key(folder, "Халилов"));  // primary in an Azerbaijani word
  EXPECT_EQ(key(folder, "Xəlilov"), key(folder, "Khalilov"));
}

TEST(NationalRomanization, AzerbaijaniShGhDotlessI) {
  expectSameKey({"Şahin", "Shahin", "Шахин"});
  expectSameKey({"Ağayev", "Агаев", "Agaev"});
  expectSameKey({"Qasımov", "Qasymov", "Kasimov"});
}

TEST(NationalRomanization, AzerbaijaniHIsAlsoRussianG) {
  expectVariantOf("Гейдар", {"Heydər"});
  expectVariantOf("Гусейнов", {"Hüseynov"});
  expectVariantOf("Гасанов", {"Həsənov"});
  Folder folder;
  EXPECT_EQ(key(folder, "Hüseynov"), key(folder, "Huseynov"));  // h stays primary
  EXPECT_EQ(variants(folder, "Huseynov"), (Keys{"huseinov"}));    // not without ü ö ə ğ ı ş
}

TEST(NationalRomanization, TurkmenLetters) {
  expectSameKey({"Ýazmyradow", "Язмырадов", "Yazmyradov"});  // ý, w
  expectSameKey({"Täzegül", "Тазегуль", "Tazegul"});          // ä ü
  expectSameKey({"Meňli", "Меньли", "Menli"});               // ň
  expectSameKey({"Çary", "Чары", "Chary"});                  // ç
  expectSameKey({"Şirin", "Ширин", "Shirin"});              // ş
  expectSameKey({"Aždar", "Аждар", "Azhdar"});               // ž
  expectSameKey({"Jumaýew", "Джумаев", "Dzhumaev"});          // j = дж
}

TEST(NationalRomanization, CaronLettersAreDigraphs) {
  // ISO 9 / scholarly Russian and ICU's ISO 9985 Armenian write ж ш ч as ž š č.
  expectSameKey({"Žukov", "Жуков", "Zhukov"});
  expectSameKey({"Šamil", "Шамиль", "Shamil"});
  expectSameKey({"Čapaev", "Чапаев", "Chapaev"});
}

TEST(NationalRomanization, ArmenianNationalSystem) {
  expectSameKey({"Խաչատրյան", "Khachatryan", "Хачатрян"});  // խ kh, չ ch
  expectSameKey({"Ղազարյան", "Ghazaryan", "Газарян", "Gazaryan"});
  expectSameKey({"Ծատուրյան", "Tsaturyan", "Цатурян"});  // ծ ts, ու u
  expectSameKey({"Ոսկանյան", "Voskanyan", "Восканян"});  // initial ո vo
  expectSameKey({"Փաշինյան", "Pashinyan", "Пашинян"});  // փ p, շ sh
  expectSameKey({"Թովմասյան", "Tovmasyan", "Товмасян"});  // թ t
  expectSameKey({"Քոչարյան", "Kocharyan", "Кочарян"});    // ք k
  expectSameKey({"Ջհանգիրյան", "Jhangiryan"});             // ջ j
  expectSameKey({"Ժորա", "Zhora", "Жора"});                // ժ zh
  expectSameKey({"Երևան", "Yerevan", "Ереван"});           // ե e, և ev
  expectSameKey({"Ձորիկ", "Dzorik"});                      // ձ dz
  expectSameKey({"Հովհաննիսյան", "Hovhannisyan"});
}

TEST(NationalRomanization, ArmenianIso9985InputMeetsNationalSystem) {
  expectVariantOf("Khachatryan", {"Xačʻatryan"});
  expectSameKey({"Pʻašinyan", "Pashinyan"});
  expectSameKey({"Ġazaryan", "Ghazaryan"});
}

TEST(NationalRomanization, GeorgianNationalSystem2002) {
  expectSameKey({"ცხვიტავა", "Tskhvitava", "Цхвитава"});              // ც ts, ხ kh
  expectSameKey({"ჯანელიძე", "Janelidze", "Джанелидзе"});              // ჯ j, ძ dz
  expectSameKey({"გვანცა", "Gvantsa", "Гванца"});
  expectSameKey({"ქართველიშვილი", "Kartvelishvili", "Картвелишвили"});  // ქ k, შ sh
  expectSameKey({"კაკაბაძე", "K'ak'abadze", "Kakabadze", "Какабадзе"});  // კ k'
  expectSameKey({"ჭავჭავაძე", "Ch'avch'avadze", "Chavchavadze", "Чавчавадзе"});  // ჭ ch'
  expectSameKey({"ჩხეიძე", "Chkheidze", "Чхеидзе"});                  // ჩ ch
  expectSameKey({"ღვინიაშვილი", "Ghviniashvili", "Гвиниашвили"});      // ღ gh
  expectSameKey({"ყიფიანი", "Q'ipiani", "Qipiani", "Кипиани"});          // ყ q'
  expectSameKey({"ჟღენტი", "Zhghenti", "Жгенти"});                    // ჟ zh
  expectSameKey({"წერეთელი", "Ts'ereteli", "Tsereteli", "Церетели"});   // წ ts'
}

TEST(NationalRomanization, ThaiRtgsConsonantsAndVowels) {
  EXPECT_EQ(rtgs("สมชาย"), "somchai");  // implicit o in a closed syllable; ย final i
  EXPECT_EQ(rtgs("วิชัย"), "wichai");   // ว w; ัย ai
  EXPECT_EQ(rtgs("ทักษิณ ชินวัตร"), "thaksin chinwat");  // ั takes its final; ร after a final
  EXPECT_EQ(rtgs("ประยุทธ์"), "prayut");    // cluster pr; ์ silences ธ
  EXPECT_EQ(rtgs("ธนาธร"), "thanathon");   // implicit a before a voweled consonant; ร final n
  EXPECT_EQ(rtgs("สมหมาย"), "sommai");     // ห before a sonorant is silent
  EXPECT_EQ(rtgs("วงศ์สวัสดิ์"), "wongsawat");
  EXPECT_EQ(rtgs("ไทย"), "thai");
  EXPECT_EQ(rtgs("เดือน"), "duean");
  EXPECT_EQ(rtgs("แก้ว"), "kaeo");  // tone mark dropped
  EXPECT_EQ(rtgs("เขา"), "khao");
  EXPECT_EQ(rtgs("ทอง"), "thong");  // อ as a vowel
  EXPECT_EQ(rtgs("สวน"), "suan");   // ว as a vowel
  EXPECT_EQ(rtgs("กรรม"), "kam");   // รร
  EXPECT_EQ(rtgs("ศรี"), "si");     // ศร reads s
  EXPECT_EQ(rtgs("กวาง"), "kwang");  // cluster kw
  EXPECT_EQ(rtgs("ขวัญ"), "khwan");
  EXPECT_EQ(rtgs("ทำ"), "tham");
  EXPECT_EQ(rtgs("อนุชา"), "anucha");
  EXPECT_EQ(rtgs("๒๕๖๙"), "2569");
  EXPECT_EQ(rtgs("Somchai สมชาย."), "Somchai somchai.");  // other text untouched
}

TEST(NationalRomanization, ThaiRtgsKaranSilencesLetters) {
  EXPECT_EQ(rtgs("จันทร์โอชา"), "chanocha");
  EXPECT_EQ(rtgs("พงศ์ศักดิ์"), "phongsak");
  EXPECT_EQ(rtgs("สมศักดิ์"), "somsak");
  EXPECT_EQ(rtgs("หงส์"), "hong");
}

TEST(NationalRomanization, ThaiScriptMeetsRtgsLatin) {
  expectSameKey({"สมชาย", "Somchai"});
  expectSameKey({"ทักษิณ", "Thaksin", "Taksin"});
  expectSameKey({"ประยุทธ์", "Prayut", "Prayuth"});
  expectSameKey({"วิชัย", "Wichai", "Vichai"});
  expectSameKey({"สมศักดิ์", "Somsak"});
  Folder folder;
  EXPECT_EQ(folder.keys("ทักษิณ ชินวัตร"), (Keys{"taksin", "cinvat"}));
}

TEST(NationalRomanization, RtgsAspiratePhIsAlsoP) {
  expectVariantOf("Pongsak", {"Phongsak", "พงศ์ศักดิ์"});
  Folder folder;
  EXPECT_EQ(key(folder, "Phongsak"), key(folder, "พงศ์ศักดิ์"));
  EXPECT_EQ(key(folder, "Pham"), "fam");  // f stays primary (Vietnamese Phạm, Philip)
  EXPECT_EQ(variants(folder, "Phạm"), (Keys{"fam", "pam"}));
}

TEST(NationalRomanization, RtgsAspirateThIsT) {
  expectSameKey({"Thanawat", "Tanawat"});
  expectSameKey({"ธนาธร", "Thanathon", "Tanaton"});
  EXPECT_EQ(skeleton("thaksin"), "taksin");
  EXPECT_EQ(skeleton("tschernow"), "cernov");  // ts still wins
}

TEST(NationalRomanization, VariantsAreBoundedDistinctAndPrimaryFirst) {
  Folder folder;
  const Keys many = variants(folder, "Əəəəəcəxph");
  EXPECT_LE(many.size(), kMaxWordKeys);
  EXPECT_EQ(many.front(), skeleton("aaaaajahf"));  // every first reading (x is h here)
  EXPECT_EQ(std::set<std::string>(many.begin(), many.end()).size(), many.size());
  // keys() is words() flattened, word after word.
  const std::string text = "Cəfər Əliyev, Alexandr Phongsak Sadykov";
  Keys flat;
  for (const Keys& w : folder.words(text)) flat.insert(flat.end(), w.begin(), w.end());
  EXPECT_EQ(folder.keys(text), flat);
  EXPECT_EQ(folder.words(text).size(), 5u);
  // A plain word keeps exactly one key; control bytes never act as variant markers.
  EXPECT_EQ(folder.words("Kudaiarov Sadykov"), (std::vector<Keys>{{"kudaiarov"}, {"sadikov"}}));
  EXPECT_EQ(folder.keys(std::string("a\x01" "b\x03" "c Кудаяров")),
            (Keys{"a", "b", "c", "kudaiarov"}));
}

TEST(NationalRomanization, DifferentNamesStayDifferent) {
  Folder folder;
  EXPECT_NE(key(folder, "Çoqan"), key(folder, "Шоқан"));  // ç is ch, not sh
  EXPECT_NE(key(folder, "Aliyev"), key(folder, "Eliyev"));  // only ə is both
  EXPECT_FALSE(contains(variants(folder, "Əliyev"), key(folder, "Oliyev")));
  EXPECT_NE(key(folder, "สมชาย"), key(folder, "สมศักดิ์"));
  EXPECT_NE(key(folder, "Խաչատրյան"), key(folder, "Ծատուրյան"));
  EXPECT_NE(key(folder, "Kocharyan"), key(folder, "Kacharyan"));
  EXPECT_EQ(variants(folder, "Sadykov").size(), 1u);
  EXPECT_EQ(variants(folder, "Thaksin").size(), 1u);
}

}  // namespace
}  // namespace liaison::names

namespace liaison {
namespace {

// ---- End to end: national spellings through Directory::find (index and query sides) -------

class NationalRomanizationSearch : public ::testing::Test {
 protected:
  liaison::testing::TempDir tmp;
  trust::KeyPair root = trust::generateKeyPair();
  trust::KeyPair kg = trust::generateKeyPair();
  std::unique_ptr<directory::Directory> dir;
  int64_t now = *parseTimestamp("2026-11-25T06:00:00Z");

  void SetUp() override {
    auto d = directory::Directory::open(tmp / "db", directory::Directory::Options{});
    ASSERT_TRUE(d.ok()) << d.error().message;
    dir = std::move(d).value();
    auto batch = dir->begin();
    ASSERT_TRUE(batch.ok());
    ASSERT_TRUE(batch->setRoot(root.pub.sign).ok());
    auto cert = liaison::testing::certFor("kg-bishkek", kg, {"KG"}, "authority", now - 86400,
                                          now + 400 * 86400);
    ASSERT_TRUE(batch->apply(trust::sign(trust::memberItem(cert), "root", root), now).ok());
    ASSERT_TRUE(std::move(*batch).commit().ok());
    // Docnos in this order: where two records tie, the earlier one comes first.
    const std::vector<std::pair<std::string, std::string>> people = {
        {"az", R"("latin": "Cəfər Əliyev")"},
        {"uz", R"("latin": "Shavkat Mirziyoyev")"},
        {"uz-x", R"("latin": "Xurshid Xudoyberdiyev")"},
        {"am", R"("latin": "Nikol", "original": "Փաշինյան")"},
        {"ge", R"("latin": "Nino", "original": "ცხვიტავა")"},
        {"th", R"("latin": "Khun", "original": "สมชาย วงศ์สวัสดิ์")"},
        {"th-p", R"("latin": "Pongsak Sukjai")"},
        {"th-ph", R"("latin": "Phongsak Sukjai")"},
    };
    auto publish = dir->begin();
    ASSERT_TRUE(publish.ok());
    for (const auto& [id, name] : people) {
      auto items = json::parseInput("t", liaison::testing::contactJson(id, R"("name": {)" + name + "}"));
      ASSERT_TRUE(items.ok()) << (items.ok() ? "" : items.error().message);
      auto r = publish->apply(
          trust::sign(std::move(std::get<OwnedItem>(items->front())), "kg-bishkek", kg), now);
      ASSERT_TRUE(r.ok() && r->outcome == directory::Outcome::kApplied) << id;
    }
    ASSERT_TRUE(std::move(*publish).commit().ok());
  }

  std::vector<std::string> ids(const directory::Query& q) {
    auto hits = dir->find(q, now);
    EXPECT_TRUE(hits.ok()) << (hits.ok() ? "" : hits.error().message);
    std::vector<std::string> out;
    for (const auto& h : *hits) out.emplace_back(h.stored.record().getId().cStr());
    return out;
  }

  std::vector<std::string> byName(const std::string& name) {
    // On the heap: GCC 12 warns (maybe-uninitialized) about a local Query in this file.
    auto q = std::make_unique<directory::Query>();
    q->name = name;
    return ids(*q);
  }
};

using Ids = std::vector<std::string>;

TEST_F(NationalRomanizationSearch, AzerbaijaniNameFoundByRussianAndLatinSpellings) {
  for (const char* q : {"Джафар Алиев", "Jafar Aliyev", "Dzhafar Eliyev", "Cəfər Əliyev",
                        "Cafar Aliyev"}) {
    EXPECT_EQ(byName(q), Ids{"az"}) << q;
  }
}

TEST_F(NationalRomanizationSearch, UzbekLatinNameFoundByCyrillic) {
  EXPECT_EQ(byName("Шавкат Мирзиёев"), Ids{"uz"});
  EXPECT_EQ(byName("Mirziyoyev"), Ids{"uz"});
  EXPECT_EQ(byName("Хуршид Худойбердиев"), Ids{"uz-x"});  // Uzbek x = Russian х
  EXPECT_EQ(byName("Khurshid Khudoyberdiev"), Ids{"uz-x"});
}

TEST_F(NationalRomanizationSearch, ArmenianAndGeorgianScriptsFoundByNationalSystems) {
  EXPECT_EQ(byName("Nikol Pashinyan"), Ids{"am"});
  EXPECT_EQ(byName("Никол Пашинян"), Ids{"am"});
  EXPECT_EQ(byName("Nino Tskhvitava"), Ids{"ge"});
  EXPECT_EQ(byName("Цхвитава"), Ids{"ge"});
  EXPECT_EQ(byName("ნინო"), Ids{"ge"});  // Georgian script against the Latin field
}

TEST_F(NationalRomanizationSearch, ThaiScriptFoundByRtgs) {
  EXPECT_EQ(byName("Somchai Wongsawat"), Ids{"th"});
  EXPECT_EQ(byName("สมชาย"), Ids{"th"});
  EXPECT_TRUE(byName("Somsak").empty());  // precision: a different name
}

TEST_F(NationalRomanizationSearch, RtgsAspirateVariantRanksExactSpellingFirst) {
  // Both spellings find both records. "Phongsak" (primary key fongsak) is exact only for the
  // record spelled so, which ranks first although its docno is later. "Pongsak" is exact for
  // both (the Phongsak record also holds the pongsak key), so the docno order decides.
  EXPECT_EQ(byName("Phongsak"), (Ids{"th-ph", "th-p"}));
  EXPECT_EQ(byName("Pongsak"), (Ids{"th-p", "th-ph"}));
  EXPECT_EQ(byName("พงศ์ศักดิ์").size(), 2u);
}

}  // namespace
}  // namespace liaison
