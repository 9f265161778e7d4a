#include "directory/names.h"

#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <string>
#include <unordered_map>
#include <utility>

namespace liaison::names {
namespace {

// Letters ICU 72's Cyrillic transliterators leave untouched are mapped onto the Russian letter
// a Kazakh/Kyrgyz/Tajik/Uzbek passport romanises them like (ә becomes the Latin schwa, which is
// read as "a" or "e" below); Armenian is romanised with the national system (ICU's
// Armenian-Latin is ISO 9985, x/č/c/ġ); then the compound the design names. The Latin letters
// handled in C++ (see foldNonAscii) are kept out of Latin-ASCII.
constexpr const char* kRules =
    "::NFC;\n"
    "Ә > Ə; ә > ə; Ӛ > Ə; ӛ > ə;\n"
    "Қ > К; қ > к; Ҡ > К; ҡ > к;\n"
    "Ң > Н; ң > н; Ӊ > Н; ӊ > н; Ӈ > Н; ӈ > н; Ҥ > Н; ҥ > н;\n"
    "Ө > О; ө > о; Ӫ > О; ӫ > о;\n"
    "Ұ > У; ұ > у; Ү > У; ү > у;\n"
    "Һ > Х; һ > х; Ҳ > Х; ҳ > х;\n"
    "Ҷ > Ж; ҷ > ж; Җ > Ж; җ > ж;\n"
    "Ҫ > С; ҫ > с;\n"
    "Ҹ > Дж; ҹ > дж; Ҝ > Г; ҝ > г;\n"
    // Armenian, national system (passports, BGN/PCGN 1981): ու u, initial Ո vo, և ev.
    "ու > u; Ու > U; ՈՒ > U;\n"
    "[^[:L:][:M:]] { Ո > Vo; [^[:L:][:M:]] { ո > vo;\n"
    "Ա > A; ա > a; Բ > B; բ > b; Գ > G; գ > g; Դ > D; դ > d; Ե > E; ե > e; Զ > Z; զ > z;\n"
    "Է > E; է > e; Ը > Y; ը > y; Թ > T; թ > t; Ժ > Zh; ժ > zh; Ի > I; ի > i; Լ > L; լ > l;\n"
    "Խ > Kh; խ > kh; Ծ > Ts; ծ > ts; Կ > K; կ > k; Հ > H; հ > h; Ձ > Dz; ձ > dz;\n"
    "Ղ > Gh; ղ > gh; Ճ > Ch; ճ > ch; Մ > M; մ > m; Յ > Y; յ > y; Ն > N; ն > n;\n"
    "Շ > Sh; շ > sh; Ո > O; ո > o; Չ > Ch; չ > ch; Պ > P; պ > p; Ջ > J; ջ > j;\n"
    "Ռ > R; ռ > r; Ս > S; ս > s; Վ > V; վ > v; Տ > T; տ > t; Ր > R; ր > r;\n"
    "Ց > Ts; ց > ts; Ւ > V; ւ > v; Փ > P; փ > p; Ք > K; ք > k; և > ev; Օ > O; օ > o;\n"
    "Ֆ > F; ֆ > f;\n"
    "::Russian-Latin/BGN;\n"
    "::Any-Latin;\n"
    "::[^əƏëËğĞıŞşȘșÇçŠšŽžČčüÜöÖ] Latin-ASCII;\n"
    "::Lower;\n";

// Markers foldNonAscii leaves in a word for wordKeys() to expand (never produced from ASCII
// input: the ASCII path treats these bytes as separators).
constexpr char kSchwa = '\x01';   // ə: "a" or "e"
constexpr char kYo = '\x02';      // ë (Russian ё): "e" or "yo"
constexpr char kTurkic = '\x03';  // the word has ə ğ ı or ş: Azerbaijani/Turkish readings
constexpr char kUmlaut = '\x04';  // the word has ü or ö: h may also be read g
constexpr bool isMarker(char c) { return c >= kSchwa && c <= kUmlaut; }

constexpr bool isLower(char c) { return c >= 'a' && c <= 'z'; }
constexpr bool isDigit(char c) { return c >= '0' && c <= '9'; }
constexpr bool isAlnum(char c) { return isLower(c) || isDigit(c); }
constexpr bool isVowel(char c) { return c == 'a' || c == 'e' || c == 'i' || c == 'o' || c == 'u'; }
// Characters dropped inside a word without splitting it (see the header).
constexpr bool isAsciiJoiner(char c) { return c == '\'' || c == '"' || c == '`'; }

// Appends one character, collapsing a run of the same letter.
inline void put(char* out, size_t& len, char c) {
  if (len > 0 && out[len - 1] == c && isLower(c)) return;
  out[len++] = c;
}

// Core of skeleton(): `in` holds only [a-z0-9]; `out` has room for 2 * n characters.
size_t skeletonInto(const char* in, size_t n, char* out) {
  size_t len = 0;
  size_t i = 0;
  auto at = [&](size_t k) -> char { return k < n ? in[k] : '\0'; };
  while (i < n) {
    const char c = in[i];
    const char c1 = at(i + 1);
    switch (c) {
      case 's':
        if (c1 == 'h' && at(i + 2) == 'c' && at(i + 3) == 'h') {
          put(out, len, 's');
          put(out, len, 'h');
          i += 4;
          continue;
        }
        break;
      case 'd':
        if (c1 == 'z' && at(i + 2) == 'h') {
          put(out, len, 'i');
          i += 3;
          continue;
        }
        if (c1 == 'j') {
          put(out, len, 'i');
          i += 2;
          continue;
        }
        break;
      case 'z':
        if (c1 == 'h') {
          put(out, len, 'i');
          i += 2;
          continue;
        }
        break;
      case 'k':
        if (c1 == 'h') {
          put(out, len, 'h');
          i += 2;
          continue;
        }
        break;
      case 'g':
        if (c1 == 'h') {
          put(out, len, 'g');
          i += 2;
          continue;
        }
        break;
      case 't':
        if (c1 == 's') {
          put(out, len, 'c');
          i += 2;
          continue;
        }
        if (c1 == 'h') {
          put(out, len, 't');
          i += 2;
          continue;
        }
        break;
      case 'c':
        if (c1 == 'h') {
          put(out, len, 'c');
          i += 2;
          continue;
        }
        break;
      case 'p':
        if (c1 == 'h') {
          put(out, len, 'f');
          i += 2;
          continue;
        }
        break;
      case 'q':
        put(out, len, 'k');
        ++i;
        continue;
      case 'w':
        put(out, len, 'v');
        ++i;
        continue;
      case 'x':
        put(out, len, 'k');
        put(out, len, 's');
        ++i;
        continue;
      case 'y':
      case 'i':
        // BGN's iotated "ye" at the start of a word or after a vowel reads as plain "e".
        if (c1 == 'e' && (len == 0 || isVowel(out[len - 1]))) {
          ++i;
          continue;
        }
        put(out, len, 'i');
        ++i;
        continue;
      case 'j':
        put(out, len, 'i');
        ++i;
        continue;
      default:
        break;
    }
    put(out, len, c);
    ++i;
  }
  return len;
}

// Calls `emit(std::string_view word)` for each word of ASCII `text`: runs of [a-z0-9] (A-Z
// lowercased), with joiners dropped and every other byte (including bytes >= 0x80) separating.
template <bool kMarkers, typename Emit>
void splitAscii(std::string_view text, Emit&& emit) {
  constexpr size_t kStack = 64;
  char stack[kStack];
  std::string heap;  // Used only for words longer than kStack.
  size_t len = 0;
  bool onHeap = false;
  auto flush = [&] {
    if (onHeap) {
      emit(std::string_view(heap));
      heap.clear();
      onHeap = false;
    } else if (len > 0) {
      emit(std::string_view(stack, len));
    }
    len = 0;
  };
  auto append = [&](char c) {
    if (onHeap) {
      heap.push_back(c);
    } else if (len < kStack) {
      stack[len++] = c;
    } else {
      heap.assign(stack, len);
      heap.push_back(c);
      onHeap = true;
    }
  };
  for (const char raw : text) {
    char c = raw;
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    if (isAlnum(c) || (kMarkers && isMarker(c))) {
      append(c);
    } else if (!isAsciiJoiner(c)) {
      flush();
    }
  }
  flush();
}

// What a non-ASCII code point left after transliteration turns into: ASCII letters (with the
// markers above), nothing (joined into the word) or a separator.
enum class Fold { kLetters, kJoin, kSeparate };

// For Fold::kLetters, `letters` holds what to append.
Fold foldNonAscii(UChar32 c, std::string_view& letters) {
  switch (c) {
    case 0x0259: case 0x018F: letters = "\x01\x03"; return Fold::kLetters;  // ə Ə
    case 0x00EB: case 0x00CB: letters = "\x02"; return Fold::kLetters;      // ë Ë
    case 0x011F: case 0x011E: letters = "g\x03"; return Fold::kLetters;     // ğ Ğ
    case 0x0131: letters = "i\x03"; return Fold::kLetters;                  // ı
    case 0x015F: case 0x015E: letters = "sh\x03"; return Fold::kLetters;    // ş Ş
    case 0x0219: case 0x0218:                                               // ș Ș
    case 0x0161: case 0x0160: letters = "sh"; return Fold::kLetters;        // š Š
    case 0x00E7: case 0x00C7:                                               // ç Ç
    case 0x010D: case 0x010C: letters = "ch"; return Fold::kLetters;        // č Č
    case 0x017E: case 0x017D: letters = "zh"; return Fold::kLetters;        // ž Ž
    case 0x00FC: case 0x00DC: letters = "u\x04"; return Fold::kLetters;    // ü Ü
    case 0x00F6: case 0x00D6: letters = "o\x04"; return Fold::kLetters;    // ö Ö
    case 0x00B7: case 0x2018: case 0x2019: return Fold::kJoin;              // · ‘ ’
    default: break;
  }
  switch (u_charType(c)) {
    case U_NON_SPACING_MARK:
    case U_ENCLOSING_MARK:
    case U_COMBINING_SPACING_MARK:
    case U_MODIFIER_LETTER:
    case U_MODIFIER_SYMBOL:
    case U_FORMAT_CHAR:
    case U_UPPERCASE_LETTER:
    case U_LOWERCASE_LETTER:
    case U_TITLECASE_LETTER:
    case U_OTHER_LETTER:
      return Fold::kJoin;
    default:
      return Fold::kSeparate;
  }
}

// Appends the keys of one word to `out`: the skeleton of each spelling variant (see the header,
// "Spelling variants"), primary first, distinct, at most kMaxWordKeys. `word` holds [a-z0-9]
// and the markers.
void wordKeys(std::string_view word, std::vector<std::string>& out) {
  const size_t n = word.size();
  bool plain = true;
  for (size_t i = 0; i < n && plain; ++i) {
    const char c = word[i];
    plain = !(c == 'x' || isMarker(c) || (c == 'p' && i + 1 < n && word[i + 1] == 'h'));
  }
  if (plain) {  // The common case: one key.
    std::string key = skeleton(word);
    if (!key.empty()) out.push_back(std::move(key));
    return;
  }

  const bool turkic = word.find(kTurkic) != std::string_view::npos;
  const bool gForH = turkic || word.find(kUmlaut) != std::string_view::npos;
  auto isDigraphHead = [](char c) {
    return c == 's' || c == 'k' || c == 'c' || c == 'z' || c == 'g' || c == 'p' || c == 't';
  };
  size_t schwas = 0;
  bool yo = false, x = false, ph = false, c = false, h = false;
  for (size_t i = 0; i < n; ++i) {
    const char ch = word[i];
    const char next = i + 1 < n ? word[i + 1] : '\0';
    if (ch == kSchwa) ++schwas;
    if (ch == kYo) yo = true;
    if (ch == 'x') x = true;
    if (ch == 'p' && next == 'h') ph = true;
    if (turkic && ch == 'c' && next != 'h') c = true;
    if (gForH && ch == 'h' && (i == 0 || !isDigraphHead(word[i - 1]))) h = true;
  }
  // One binary choice per dimension; bit 0 of a dimension is the primary reading.
  const bool schwaEach = schwas <= 3;  // each ə on its own, else all of them together
  const int schwaDims = schwas == 0 ? 0 : (schwaEach ? static_cast<int>(schwas) : 1);
  int dims = schwaDims;
  const int yoDim = yo ? dims++ : -1;
  const int xDim = x ? dims++ : -1;
  const int phDim = ph ? dims++ : -1;
  const int cDim = c ? dims++ : -1;
  const int hDim = h ? dims++ : -1;

  const size_t first = out.size();
  std::string spelling;
  spelling.reserve(n + 8);
  for (unsigned combo = 0; combo < (1u << dims) && out.size() - first < kMaxWordKeys; ++combo) {
    auto alt = [&](int dim) { return dim >= 0 && ((combo >> dim) & 1u) != 0; };
    spelling.clear();
    size_t schwa = 0;
    for (size_t i = 0; i < n; ++i) {
      const char ch = word[i];
      const char next = i + 1 < n ? word[i + 1] : '\0';
      if (ch == kTurkic || ch == kUmlaut) continue;
      if (ch == kSchwa) {
        const int dim = schwaEach ? static_cast<int>(schwa) : 0;
        ++schwa;
        spelling.push_back(alt(dim) ? 'e' : 'a');
      } else if (ch == kYo) {
        if (!alt(yoDim)) {
          spelling.push_back('e');
        } else {
          if (spelling.empty() || spelling.back() != 'y') spelling.push_back('y');
          spelling.push_back('o');
        }
      } else if (ch == 'x') {
        // Azerbaijani (and Uzbek) x is Russian х; in a Turkic-marked word that is the primary.
        if (alt(xDim) != turkic) {
          spelling.push_back('h');
        } else {
          spelling.push_back('x');
        }
      } else if (ch == 'p' && next == 'h' && alt(phDim)) {
        spelling.push_back('p');
        ++i;  // "ph" read as an aspirated p (Thai RTGS), not f
      } else if (cDim >= 0 && ch == 'c' && next != 'h') {
        spelling.push_back(alt(cDim) ? 'c' : 'j');  // Azerbaijani/Turkish c = dzh
      } else if (hDim >= 0 && ch == 'h' && (i == 0 || !isDigraphHead(word[i - 1]))) {
        spelling.push_back(alt(hDim) ? 'g' : 'h');  // Azerbaijani h, Russian г (Heydər, Гейдар)
      } else {
        spelling.push_back(ch);
      }
    }
    std::string key = skeleton(spelling);
    if (key.empty()) continue;
    if (std::find(out.begin() + static_cast<std::ptrdiff_t>(first), out.end(), key) != out.end()) {
      continue;
    }
    out.push_back(std::move(key));
  }
}

// ---- Thai script, romanised with RTGS ------------------------------------------------------

constexpr UChar32 kThKoKai = 0x0E01, kThKhoKhai = 0x0E02, kThKhoKhwai = 0x0E04,
                  kThNgoNgu = 0x0E07, kThYoYing = 0x0E0D, kThSoSo = 0x0E0B, kThDoDek = 0x0E14,
                  kThToTao = 0x0E15, kThThoThahan = 0x0E17, kThNoNu = 0x0E19,
                  kThBoBaimai = 0x0E1A, kThPoPla = 0x0E1B, kThPhoPhueng = 0x0E1C,
                  kThPhoPhan = 0x0E1E, kThFoFan = 0x0E1F, kThMoMa = 0x0E21, kThYoYak = 0x0E22,
                  kThRoRuea = 0x0E23, kThRue = 0x0E24, kThLoLing = 0x0E25, kThLue = 0x0E26,
                  kThWoWaen = 0x0E27, kThSoSala = 0x0E28, kThSoSuea = 0x0E2A,
                  kThHoHip = 0x0E2B, kThOAng = 0x0E2D;
constexpr UChar32 kThSaraA = 0x0E30, kThMaiHanAkat = 0x0E31, kThSaraAa = 0x0E32,
                  kThSaraAm = 0x0E33, kThSaraI = 0x0E34, kThSaraIi = 0x0E35, kThSaraUe = 0x0E36,
                  kThSaraUee = 0x0E37, kThSaraU = 0x0E38, kThSaraUu = 0x0E39, kThSaraE = 0x0E40,
                  kThSaraAe = 0x0E41, kThSaraO = 0x0E42, kThThanthakhat = 0x0E4C,
                  kThNikhahit = 0x0E4D, kThZero = 0x0E50, kThNine = 0x0E59;

struct ThaiConsonant {
  const char* initial;
  const char* final;  // "" when the letter does not close a syllable
};
// U+0E01 ko kai .. U+0E2E ho nokhuk (ฤ and ฦ are vowels and handled apart).
constexpr std::array<ThaiConsonant, 46> kThaiConsonants = {{
    {"k", "k"},  {"kh", "k"}, {"kh", "k"}, {"kh", "k"},  {"kh", "k"}, {"kh", "k"},  // ก ข ฃ ค ฅ ฆ
    {"ng", "ng"}, {"ch", "t"}, {"ch", "t"}, {"ch", "t"}, {"s", "t"},  {"ch", "t"},  // ง จ ฉ ช ซ ฌ
    {"y", "n"},  {"d", "t"},  {"t", "t"},  {"th", "t"},  {"th", "t"}, {"th", "t"},  // ญ ฎ ฏ ฐ ฑ ฒ
    {"n", "n"},  {"d", "t"},  {"t", "t"},  {"th", "t"},  {"th", "t"}, {"th", "t"},  // ณ ด ต ถ ท ธ
    {"n", "n"},  {"b", "p"},  {"p", "p"},  {"ph", "p"},  {"f", "p"},  {"ph", "p"},  // น บ ป ผ ฝ พ
    {"f", "p"},  {"ph", "p"}, {"m", "m"},  {"y", "i"},   {"r", "n"},  {"rue", ""},  // ฟ ภ ม ย ร ฤ
    {"l", "n"},  {"lue", ""}, {"w", "o"},  {"s", "t"},   {"s", "t"},  {"s", "t"},   // ล ฦ ว ศ ษ ส
    {"h", ""},   {"l", "n"},  {"", ""},    {"h", ""},                               // ห ฬ อ ฮ
}};

constexpr bool isThai(UChar32 c) { return c >= 0x0E01 && c <= 0x0E5B; }
constexpr bool isThaiConsonant(UChar32 c) {
  return c >= 0x0E01 && c <= 0x0E2E && c != kThRue && c != kThLue;
}
const ThaiConsonant& thaiConsonant(UChar32 c) {
  return kThaiConsonants[static_cast<size_t>(c - kThKoKai)];
}
// Vowel signs written after, above or below their consonant (ะ ั า ำ ิ ี ึ ื ุ ู).
constexpr bool isThaiVowelSign(UChar32 c) { return c >= kThSaraA && c <= kThSaraUu; }
// Vowels written before their consonant (เ แ โ ใ ไ).
constexpr bool isThaiPreposed(UChar32 c) { return c >= 0x0E40 && c <= 0x0E44; }
constexpr bool isThaiSonorant(UChar32 c) {
  return c == kThNgoNgu || c == kThYoYing || c == kThNoNu || c == kThMoMa || c == kThYoYak ||
         c == kThRoRuea || c == kThLoLing || c == kThWoWaen;
}
// First letters of the initial clusters kr kl kw khr khl khw tr pr pl phr phl br bl dr fr fl.
constexpr bool isThaiClusterHead(UChar32 c, UChar32 second) {
  if (second == kThWoWaen) return c == kThKoKai || c == kThKhoKhai || c == kThKhoKhwai;
  if (second != kThRoRuea && second != kThLoLing) return false;
  return c == kThKoKai || c == kThKhoKhai || c == kThKhoKhwai || c == kThPoPla ||
         c == kThPhoPhueng || c == kThPhoPhan || c == kThBoBaimai || c == kThFoFan ||
         ((c == kThToTao || c == kThDoDek) && second == kThRoRuea);
}

// Romanises one run of Thai letters into `out` (rules in the header). `t` is scratch space.
void romanizeThaiRun(std::u32string_view in, std::u32string& t, std::string& out) {
  t.clear();
  const size_t count = in.size();
  for (size_t k = 0; k < count; ++k) {
    const auto c = static_cast<UChar32>(in[k]);
    if (c >= 0x0E45 && c <= 0x0E4B) continue;  // ๅ ๆ ็ and the tone marks
    if (c == 0x0E3A || c == 0x0E4E || c == 0x0E4F || c == 0x0E2F || c == 0x0E5A ||
        c == 0x0E5B) {
      continue;  // phinthu, yamakkan, signs
    }
    if (c == kThNikhahit) {  // ํ + า is ำ
      if (k + 1 < count && in[k + 1] == kThSaraAa) {
        t.push_back(static_cast<char32_t>(kThSaraAm));
        ++k;
      }
      continue;
    }
    if (c == kThThanthakhat) {  // ์ silences its consonant, with the vowel signs on it
      while (!t.empty() && isThaiVowelSign(static_cast<UChar32>(t.back()))) t.pop_back();
      if (!t.empty() && isThaiConsonant(static_cast<UChar32>(t.back()))) t.pop_back();
      continue;
    }
    t.push_back(static_cast<char32_t>(c));
  }

  const size_t n = t.size();
  auto at = [&](size_t k) -> UChar32 { return k < n ? static_cast<UChar32>(t[k]) : 0; };
  // The consonant at k would be a final: no vowel sign of its own, not the head of a cluster
  // whose syllable follows, and a letter that closes syllables.
  auto canClose = [&](size_t k) {
    const UChar32 f = at(k);
    if (!isThaiConsonant(f) || isThaiVowelSign(at(k + 1))) return false;
    if (isThaiClusterHead(f, at(k + 1)) && isThaiVowelSign(at(k + 2))) return false;
    return *thaiConsonant(f).final != '\0';
  };
  bool closed = false;  // the syllable before ended with a final consonant
  size_t i = 0;
  while (i < n) {
    UChar32 c = at(i);
    if (c >= kThZero && c <= kThNine) {
      out.push_back(static_cast<char>('0' + (c - kThZero)));
      ++i;
      closed = false;
      continue;
    }
    if (c == kThRue || c == kThLue) {
      out += c == kThRue ? "rue" : "lue";
      ++i;
      closed = false;
      continue;
    }
    UChar32 pre = 0;
    if (isThaiPreposed(c)) {
      pre = c;
      c = at(++i);
    }
    if (!isThaiConsonant(c)) {  // a vowel sign without its consonant is not pronounced
      if (pre == 0) ++i;
      closed = false;
      continue;
    }
    // Leading ห before a sonorant and อ before ย only set the tone.
    if (((c == kThHoHip && isThaiSonorant(at(i + 1))) || (c == kThOAng && at(i + 1) == kThYoYak)) &&
        at(i + 2) != 0) {
      c = at(++i);
    }
    const UChar32 initial = c;
    std::string syllable = thaiConsonant(c).initial;
    ++i;
    bool single = true;
    const UChar32 second = at(i);
    const bool vowelNext = isThaiVowelSign(at(i + 1));
    if ((c == kThThoThahan || c == kThSoSo || c == kThSoSala || c == kThSoSuea) &&
        second == kThRoRuea && (vowelNext || pre != 0)) {
      syllable = "s";  // ทร ซร ศร สร read s
      ++i;
      single = false;
    } else if (isThaiClusterHead(c, second) &&
               (pre != 0 ? (second != kThWoWaen || at(i + 1) != 0) : vowelNext)) {
      syllable += thaiConsonant(second).initial;
      ++i;
      single = false;
    }

    const char* vowel = "";
    bool mayClose = true;   // a final consonant may follow
    bool mustClose = false;  // ั: the next consonant is the final whatever follows it
    bool implicit = false;
    const UChar32 v = at(i);
    auto take = [&](const char* written, size_t used, bool close = true) {
      vowel = written;
      i += used;
      mayClose = close;
    };
    if (pre == kThSaraE) {
      if (v == kThSaraAa && at(i + 1) == kThSaraA) {
        take("o", 2, false);
      } else if (v == kThSaraAa) {
        take("ao", 1, false);
      } else if (v == kThSaraIi && at(i + 1) == kThYoYak) {
        take("ia", 2);
      } else if (v == kThSaraUee && at(i + 1) == kThOAng) {
        take("uea", 2);
      } else if (v == kThOAng || v == kThSaraI) {
        take("oe", 1);
      } else if (v == kThSaraA) {
        take("e", 1, false);
      } else if (v == kThYoYak && !isThaiVowelSign(at(i + 1))) {
        take("oei", 1, false);
      } else if (v == kThWoWaen && !isThaiVowelSign(at(i + 1))) {
        take("eo", 1, false);
      } else {
        vowel = "e";
      }
    } else if (pre == kThSaraAe) {
      if (v == kThSaraA) {
        take("ae", 1, false);
      } else if (v == kThWoWaen && !isThaiVowelSign(at(i + 1))) {
        take("aeo", 1, false);
      } else {
        vowel = "ae";
      }
    } else if (pre == kThSaraO) {
      take("o", v == kThSaraA ? 1 : 0, v != kThSaraA);
    } else if (pre != 0) {  // ใ ไ
      vowel = "ai";
    } else if (v == kThSaraA) {
      take("a", 1, false);
    } else if (v == kThMaiHanAkat) {
      if (at(i + 1) == kThWoWaen) {
        take("ua", 2);
      } else if (at(i + 1) == kThYoYak && !isThaiVowelSign(at(i + 2))) {
        take("ai", 2, false);
      } else {
        take("a", 1);
        mustClose = true;
      }
    } else if (v == kThSaraAa) {
      take("a", 1);
    } else if (v == kThSaraAm) {
      take("am", 1, false);
    } else if (v == kThSaraI || v == kThSaraIi) {
      take("i", 1);
    } else if (v == kThSaraUe) {
      take("ue", 1);
    } else if (v == kThSaraUee) {
      take("ue", 1);
      if (at(i) == kThOAng) ++i;
    } else if (v == kThSaraU || v == kThSaraUu) {
      take("u", 1);
    } else if (v == kThOAng && !isThaiVowelSign(at(i + 1))) {
      take("o", 1);  // อ as a vowel
    } else if (v == kThWoWaen && isThaiConsonant(at(i + 1)) && !isThaiVowelSign(at(i + 2))) {
      take("ua", 1);  // ว as a vowel between consonants
    } else if (v == kThRoRuea && at(i + 1) == kThRoRuea) {  // รร
      i += 2;
      vowel = canClose(i) ? "a" : "an";
      mayClose = canClose(i);
    } else if (canClose(i)) {
      take("o", 0);
      implicit = true;  // closed syllable without a vowel sign
    } else if (isThaiConsonant(v)) {
      take("a", 0, false);  // the next consonant carries its own vowel
    } else if (closed && single && pre == 0 && initial != kThOAng) {
      syllable.clear();  // a lone letter after a final (จันทร์, ชินวัตร) is silent
      mayClose = false;
    } else {
      take("a", 0, false);
    }
    syllable += vowel;

    bool final = false;
    if (mustClose && isThaiConsonant(at(i)) && *thaiConsonant(at(i)).final != '\0') {
      final = true;
    } else if (mayClose && canClose(i)) {
      // After a written vowel, a consonant followed by one lone consonant starts a syllable of
      // its own (ธนาธร thanathon), except after ั.
      const bool startsOwn = !implicit && isThaiConsonant(at(i + 1)) &&
                             !isThaiVowelSign(at(i + 2)) && !isThaiConsonant(at(i + 2)) &&
                             at(i + 2) != kThOAng;
      final = !startsOwn;
    }
    if (final) {
      // ไ ใ ั + ย: the ย adds nothing to "ai" (ไทย thai).
      if (!(at(i) == kThYoYak && !syllable.empty() && syllable.back() == 'i')) {
        syllable += thaiConsonant(at(i)).final;
      }
      ++i;
    }
    closed = final || (closed && syllable.empty());
    out += syllable;
  }
}

// Replaces every run of Thai letters in `text` by its RTGS romanisation (ASCII).
void romanizeThai(icu::UnicodeString& text, std::u32string& run, std::u32string& scratch,
                  std::string& rtgs) {
  icu::UnicodeString result;
  const int32_t length = text.length();
  int32_t i = 0;
  while (i < length) {
    UChar32 c = text.char32At(i);
    if (!isThai(c)) {
      result.append(c);
      i += U16_LENGTH(c);
      continue;
    }
    run.clear();
    while (i < length && isThai(c = text.char32At(i))) {
      run.push_back(static_cast<char32_t>(c));
      i += U16_LENGTH(c);
    }
    rtgs.clear();
    romanizeThaiRun(run, scratch, rtgs);
    result.append(icu::UnicodeString::fromUTF8(rtgs));
  }
  text = std::move(result);
}

bool hasThai(const icu::UnicodeString& text) {
  const int32_t length = text.length();
  for (int32_t i = 0; i < length; ++i) {
    const char16_t u = text.charAt(i);
    if (u >= 0x0E01 && u <= 0x0E5B) return true;
  }
  return false;
}

}  // namespace

struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

struct Folder::Impl {
  static constexpr size_t kCachedWords = 20000;
  // A word's folded form (ASCII, before splitting), computed once.
  const std::string& foldWord(std::string_view word, icu::Transliterator& rules);
  std::unordered_map<std::string, std::string, StringHash, std::equal_to<>> cache;
  std::unique_ptr<icu::Transliterator> transliterator;
  bool attempted = false;  // Creation is tried once, even when it fails.
  icu::UnicodeString text;
  std::string folded;
  std::u32string thaiRun, thaiScratch;
  std::string rtgs;

  icu::Transliterator* get() {
    if (!attempted) {
      attempted = true;
      UErrorCode status = U_ZERO_ERROR;
      UParseError parseError;
      std::unique_ptr<icu::Transliterator> created(icu::Transliterator::createFromRules(
          "liaison-names", icu::UnicodeString::fromUTF8(kRules), UTRANS_FORWARD, parseError,
          status));
      if (U_SUCCESS(status) && created) transliterator = std::move(created);
    }
    return transliterator.get();
  }
};

Folder::Folder() noexcept = default;
Folder::~Folder() = default;
Folder::Folder(Folder&&) noexcept = default;
Folder& Folder::operator=(Folder&&) noexcept = default;

bool Folder::transliteratorCreated() const { return impl_ && impl_->transliterator; }

template <typename Emit>
void Folder::forEachWord(std::string_view utf8, Emit&& emit) {
  if (utf8.size() > kMaxInputBytes) utf8 = utf8.substr(0, kMaxInputBytes);
  const bool ascii = std::all_of(utf8.begin(), utf8.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    splitAscii<false>(utf8, emit);
    return;
  }

  if (!impl_) impl_ = std::make_unique<Impl>();
  icu::Transliterator* transliterator = impl_->get();
  if (transliterator == nullptr) {
    splitAscii<false>(utf8, emit);  // Non-ASCII bytes separate words.
    return;
  }

  // Word by word (ASCII spaces separate words in every script, and no rule looks across one),
  // each word folded once: names repeat (surnames, given names, the words of organisations), and
  // the transliteration is most of the cost of indexing a record.
  std::string& folded = impl_->folded;
  folded.clear();
  size_t at = 0;
  while (at < utf8.size()) {
    size_t end = utf8.find_first_of(" \t\n\r", at);
    if (end == std::string_view::npos) end = utf8.size();
    if (end > at) {
      folded.append(impl_->foldWord(utf8.substr(at, end - at), *transliterator));
    }
    folded.push_back(' ');
    at = end + 1;
  }
  splitAscii<true>(folded, emit);
}

const std::string& Folder::Impl::foldWord(std::string_view word, icu::Transliterator& rules) {
  if (auto it = cache.find(word); it != cache.end()) return it->second;
  if (cache.size() >= kCachedWords) cache.clear();  // bounded: start again rather than grow
  std::string out;
  text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(word.data(), static_cast<int32_t>(word.size())));
  if (hasThai(text)) romanizeThai(text, thaiRun, thaiScratch, rtgs);
  rules.transliterate(text);
  const int32_t length = text.length();
  for (int32_t i = 0; i < length;) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (c < 0x80) {
      // Control bytes would read as markers: they separate words, as on the ASCII path.
      out.push_back(isMarker(static_cast<char>(c)) ? ' ' : static_cast<char>(c));
      continue;
    }
    std::string_view letters;
    switch (foldNonAscii(c, letters)) {
      case Fold::kLetters:
        out.append(letters);
        break;
      case Fold::kJoin:
        break;
      case Fold::kSeparate:
        out.push_back(' ');
        break;
    }
  }
  return cache.emplace(std::string(word), std::move(out)).first->second;
}

std::vector<std::string> Folder::keys(std::string_view utf8) {
  std::vector<std::string> result;
  forEachWord(utf8, [&](std::string_view word) { wordKeys(word, result); });
  return result;
}

std::vector<std::vector<std::string>> Folder::words(std::string_view utf8) {
  std::vector<std::vector<std::string>> result;
  forEachWord(utf8, [&](std::string_view word) {
    std::vector<std::string> keys;
    wordKeys(word, keys);
    if (!keys.empty()) result.push_back(std::move(keys));
  });
  return result;
}

std::string rtgs(std::string_view utf8) {
  icu::UnicodeString text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(std::min(utf8.size(), kMaxInputBytes))));
  std::u32string run, scratch;
  std::string buffer;
  romanizeThai(text, run, scratch, buffer);
  std::string out;
  text.toUTF8String(out);
  return out;
}

std::string skeleton(std::string_view asciiLowerWord) {
  constexpr size_t kStack = 64;
  // Normalise to [a-z0-9] first (cheap check; callers normally pass clean words).
  std::string cleaned;
  std::string_view in = asciiLowerWord;
  if (!std::all_of(in.begin(), in.end(), [](char c) { return isAlnum(c); })) {
    for (char c : in) {
      if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
      if (isAlnum(c)) cleaned.push_back(c);
    }
    in = cleaned;
  }
  // x -> ks is the only rule that grows the word, so 2 * n is always enough.
  if (in.size() <= kStack / 2) {
    std::array<char, kStack> out;
    const size_t len = skeletonInto(in.data(), in.size(), out.data());
    return std::string(out.data(), len);
  }
  std::string out(2 * in.size(), '\0');
  out.resize(skeletonInto(in.data(), in.size(), out.data()));
  return out;
}

std::vector<std::string> deletions(std::string_view key) {
  std::vector<std::string> result;
  if (key.size() < 4) return result;
  result.reserve(key.size());
  for (size_t i = 0; i < key.size(); ++i) {
    // Deleting any character of a run gives the same string: keep only the first of the run.
    if (i > 0 && key[i] == key[i - 1]) continue;
    std::string variant;
    variant.reserve(key.size() - 1);
    variant.append(key.substr(0, i));
    variant.append(key.substr(i + 1));
    result.push_back(std::move(variant));
  }
  return result;
}

int distance(std::string_view a, std::string_view b, int max) {
  if (max < 0) max = 0;
  const int over = max + 1;
  // Common prefixes and suffixes never change the OSA distance.
  while (!a.empty() && !b.empty() && a.front() == b.front()) {
    a.remove_prefix(1);
    b.remove_prefix(1);
  }
  while (!a.empty() && !b.empty() && a.back() == b.back()) {
    a.remove_suffix(1);
    b.remove_suffix(1);
  }
  if (a.size() > b.size()) std::swap(a, b);  // a is the shorter one.
  const size_t n = a.size();
  const size_t m = b.size();
  if (m - n > static_cast<size_t>(max)) return over;
  if (n == 0) return static_cast<int>(m);

  // Three rows (i - 2, i - 1, i) over b, restricted to the band |i - j| <= max: a cell outside
  // it is at least |i - j| > max, so it is stored as `over` and values are capped there.
  constexpr size_t kStackRow = 65;
  std::array<int, 3 * kStackRow> stack;
  std::vector<int> heap;
  int* rows = stack.data();
  if (m + 1 > kStackRow) {
    heap.resize(3 * (m + 1));
    rows = heap.data();
  }
  const size_t width = m + 1;
  int* prev2 = rows;
  int* prev = rows + width;
  int* cur = rows + 2 * width;
  const size_t band = static_cast<size_t>(max);

  for (size_t j = 0; j <= m; ++j) prev[j] = std::min(static_cast<int>(j), over);
  int prevMin = 0;
  for (size_t i = 1; i <= n; ++i) {
    const size_t lo = i > band ? i - band : 1;
    const size_t hi = std::min(m, i + band);
    cur[lo - 1] = lo == 1 ? std::min(static_cast<int>(i), over) : over;
    int rowMin = cur[lo - 1];
    const char ai = a[i - 1];
    for (size_t j = lo; j <= hi; ++j) {
      const char bj = b[j - 1];
      int v = std::min(prev[j] + 1, cur[j - 1] + 1);
      v = std::min(v, prev[j - 1] + (ai == bj ? 0 : 1));
      if (i > 1 && j > 1 && ai == b[j - 2] && a[i - 2] == bj && ai != bj) {
        v = std::min(v, prev2[j - 2] + 1);
      }
      v = std::min(v, over);
      cur[j] = v;
      rowMin = std::min(rowMin, v);
    }
    if (hi < m) cur[hi + 1] = over;
    // Row i + 1 takes from rows i (+0 or +1) and i - 1 (+1 for a transposition).
    if (rowMin > max && prevMin >= max) return over;
    prevMin = rowMin;
    int* recycled = prev2;
    prev2 = prev;
    prev = cur;
    cur = recycled;
  }
  return std::min(prev[m], over);
}

int tolerance(size_t length) {
  if (length < 5) return 0;
  if (length <= 8) return 1;
  return 2;
}

}  // namespace liaison::names
