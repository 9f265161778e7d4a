#include "directory/names.h"

#include <unicode/translit.h>
#include <unicode/uchar.h>
#include <unicode/unistr.h>
#include <unicode/utf16.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <utility>

namespace liaison::names {
namespace {

// Letters ICU 72's Cyrillic transliterators leave untouched are mapped onto the Russian letter
// a Kazakh/Kyrgyz/Tajik/Uzbek passport romanises them like; then the compound the design names.
constexpr const char* kRules =
    "::NFC;\n"
    "Ә > А; ә > а; Ӛ > А; ӛ > а;\n"
    "Қ > К; қ > к; Ҡ > К; ҡ > к;\n"
    "Ң > Н; ң > н; Ӊ > Н; ӊ > н; Ӈ > Н; ӈ > н; Ҥ > Н; ҥ > н;\n"
    "Ө > О; ө > о; Ӫ > О; ӫ > о;\n"
    "Ұ > У; ұ > у; Ү > У; ү > у;\n"
    "Һ > Х; һ > х; Ҳ > Х; ҳ > х;\n"
    "Ҷ > Ж; ҷ > ж; Җ > Ж; җ > ж;\n"
    "Ҫ > С; ҫ > с;\n"
    "::Russian-Latin/BGN;\n"
    "::Any-Latin;\n"
    "::Latin-ASCII;\n"
    "::Lower;\n";

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
template <typename Emit>
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
    if (isAlnum(c)) {
      append(c);
    } else if (!isAsciiJoiner(c)) {
      flush();
    }
  }
  flush();
}

void addKey(std::vector<std::string>& keys, std::string_view word) {
  std::string key = skeleton(word);
  if (!key.empty()) keys.push_back(std::move(key));
}

// What a non-ASCII code point left after transliteration turns into: a letter, nothing (joined
// into the word) or a separator.
enum class Fold { kLetterA, kJoin, kSeparate };

Fold foldNonAscii(UChar32 c) {
  if (c == 0x0259 || c == 0x018F) return Fold::kLetterA;              // ə Ə
  if (c == 0x00B7 || c == 0x2018 || c == 0x2019) return Fold::kJoin;  // · ‘ ’
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

}  // namespace

struct Folder::Impl {
  std::unique_ptr<icu::Transliterator> transliterator;
  bool attempted = false;  // Creation is tried once, even when it fails.
  icu::UnicodeString text;
  std::string folded;

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

std::vector<std::string> Folder::keys(std::string_view utf8) {
  if (utf8.size() > kMaxInputBytes) utf8 = utf8.substr(0, kMaxInputBytes);
  std::vector<std::string> result;
  auto emit = [&](std::string_view word) { addKey(result, word); };

  const bool ascii = std::all_of(utf8.begin(), utf8.end(),
                                 [](char c) { return static_cast<unsigned char>(c) < 0x80; });
  if (ascii) {
    splitAscii(utf8, emit);
    return result;
  }

  if (!impl_) impl_ = std::make_unique<Impl>();
  icu::Transliterator* transliterator = impl_->get();
  if (transliterator == nullptr) {
    splitAscii(utf8, emit);  // Non-ASCII bytes separate words.
    return result;
  }

  icu::UnicodeString& text = impl_->text;
  text = icu::UnicodeString::fromUTF8(
      icu::StringPiece(utf8.data(), static_cast<int32_t>(utf8.size())));
  transliterator->transliterate(text);

  std::string& folded = impl_->folded;
  folded.clear();
  const int32_t length = text.length();
  for (int32_t i = 0; i < length;) {
    const UChar32 c = text.char32At(i);
    i += U16_LENGTH(c);
    if (c < 0x80) {
      folded.push_back(static_cast<char>(c));
      continue;
    }
    switch (foldNonAscii(c)) {
      case Fold::kLetterA:
        folded.push_back('a');
        break;
      case Fold::kJoin:
        break;
      case Fold::kSeparate:
        folded.push_back(' ');
        break;
    }
  }
  splitAscii(folded, emit);
  return result;
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
