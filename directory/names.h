// Name folding for search: turns display names in any script into ASCII "skeleton" keys so that
// "Kudaiarov", "Kudayarov", "Кудаяров" and "KUDAIAROV" all give the same key, plus the helpers a
// tolerant comparison needs (single-deletion variants, a bounded Damerau distance, a tolerance
// per key length).
//
// Folder::keys(text) pipeline:
//   1. Inputs longer than kMaxInputBytes are cut to their first kMaxInputBytes bytes.
//   2. Pure ASCII input (no byte >= 0x80) is only lowercased; ICU is not touched.
//   3. Otherwise the text is transliterated with ICU:
//        ::NFC; <Central Asian Cyrillic letters mapped onto Russian ones>;
//        ::Russian-Latin/BGN; ::Any-Latin; ::Latin-ASCII; ::Lower;
//      The pre-mapping exists because ICU 72 leaves these letters untouched (or as "ə", "kˌ"):
//        ә ӛ -> а, қ ҡ -> к, ң ӊ ӈ ҥ -> н, ө ӫ -> о, ұ ү -> у, һ ҳ -> х, ҷ җ -> ж, ҫ -> с
//      (upper case likewise), which is also how Kazakh/Kyrgyz passports romanise them
//      (Қасымов -> Kasymov, Мыңбаев -> Mynbayev, Әлібек -> Alibek). і ғ ў ӣ ӯ are handled by ICU.
//      Invalid UTF-8 becomes U+FFFD and therefore a word separator.
//      After ICU, code points outside ASCII are handled as follows:
//        - "ə"/"Ə" (left by ICU for a few letters) -> "a";
//        - joiners, dropped without splitting the word: combining and modifier marks
//          (categories Mn Mc Me Lm Sk, e.g. "ˌ", "ʻ", "ʼ"), format characters (Cf: soft hyphen,
//          zero-width joiners), the middle dot "·" that BGN inserts between letters (ot·syuda),
//          the typographic apostrophes ‘ ’, and letters ICU could not romanise (so the rest of
//          the word still matches within the edit tolerance);
//        - anything else (spaces, punctuation, symbols, U+FFFD) separates words.
//   4. The ASCII text is split into words of [a-z0-9]. The apostrophe ', the quote " (BGN's
//      hard sign, Объект -> ob"yekt) and the backtick ` are dropped inside a word without
//      splitting it (nik'a -> nika, Il'ich -> ilich); every other character, including the
//      hyphen, separates words (Abdul-Aziz -> abdul, aziz).
//   5. Each word becomes skeleton(word); empty words are dropped, duplicates are kept in order.
//
// skeleton(word) rules, applied in one left-to-right pass, longest match first:
//   shch -> sh              (Щ: Shchukin, Shukin)
//   dzh, dj, zh -> i        (Ж/ДЖ: Dzhaparov = Japarov, Zhumabaev = Jumabaev; "j" then -> "i")
//   kh -> h                 (Х: Khasanov = Hasanov)
//   gh -> g                 (Ғ: Ghafurov = Gafurov)
//   ts, ch -> c             (Ц/Ч: Tsoi = Цой "tsoy"; Tschernow = Chernov)
//   ph -> f, q -> k, w -> v, x -> ks
//   y, j -> i               (Sadykov = Sadikov, Kudayarov = Kudaiarov, Dmitriy = Dmitry)
//   "y" or "i" directly before "e" is dropped at the start of a word or after a vowel
//   (a e i o u): BGN writes Е as "ye" there, passports usually as "e"
//   (Жумабаев "zhumabayev" = Zhumabaev, Ерлан "yerlan" = Erlan, Sergeyev = Sergeev);
//   runs of the same letter collapse to one (Mohammed = Mohamed, Dmitrii = Dmitri); runs of
//   digits are kept. Upper-case A-Z input is lowercased and other characters are ignored,
//   but callers are expected to pass one lowercase [a-z0-9] word.
// The j -> i rule trades some precision for recall: Zhakupov/Yakupov and Zhanna/Yana share a
// skeleton. Search should rank exact (unfolded) matches first if that matters.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace liaison::names {

// Longest input Folder::keys looks at; the rest of a longer input is ignored.
inline constexpr size_t kMaxInputBytes = 64 * 1024;

// Turns display names into search keys. Holds an ICU transliterator, created lazily the first
// time non-ASCII input is seen (creating it costs ~20-30 ms, so ASCII-only input never creates
// it). If ICU cannot create it (missing data), non-ASCII characters are treated as word
// separators and creation is not retried. Never throws for bad input.
// Not thread-safe: use one Folder per thread. A moved-from Folder is still usable.
class Folder {
 public:
  Folder() noexcept;
  ~Folder();
  Folder(const Folder&) = delete;
  Folder& operator=(const Folder&) = delete;
  Folder(Folder&&) noexcept;
  Folder& operator=(Folder&&) noexcept;

  // Splits `utf8` into words and returns one skeleton key per word (empty words dropped,
  // duplicates kept in order). Invalid UTF-8 does not crash: invalid bytes separate words.
  std::vector<std::string> keys(std::string_view utf8);

  // True once the ICU transliterator exists (for tests: ASCII input must not create it).
  bool transliteratorCreated() const;

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Skeleton of one already-ASCII lowercase word (rules above; exposed for tests). For a clean word
// it allocates only when the result is longer than the small-string buffer.
std::string skeleton(std::string_view asciiLowerWord);

// The variants of `key` with exactly one character deleted (distinct, in order of the deleted
// position), only when key.size() >= 4; otherwise empty.
std::vector<std::string> deletions(std::string_view key);

// Optimal-string-alignment (restricted Damerau-Levenshtein) distance: insertions, deletions,
// substitutions and transpositions of adjacent characters each cost 1. Stops early and returns
// max + 1 as soon as the distance is known to exceed `max` (negative max is treated as 0).
// Does not allocate for strings up to 64 bytes.
int distance(std::string_view a, std::string_view b, int max);

// How many edits a query key of this length may differ from an indexed key:
// 0 for length < 5, 1 for 5..8, 2 for 9 and more.
int tolerance(size_t length);

}  // namespace liaison::names
