// Name folding for search: turns display names in any script into ASCII "skeleton" keys so that
// "Kudaiarov", "Kudayarov", "Кудаяров" and "KUDAIAROV" all give the same key, plus the helpers a
// tolerant comparison needs (single-deletion variants, a bounded Damerau distance, a tolerance
// per key length).
//
// Folder::keys(text) pipeline:
//   1. Inputs longer than kMaxInputBytes are cut to their first kMaxInputBytes bytes.
//   2. Pure ASCII input (no byte >= 0x80) is only lowercased; ICU is not touched.
//   3. Otherwise:
//   3a. Thai script is romanised first, in C++, with an approximation of the Royal Thai General
//       System (RTGS), because ICU's Thai-Latin gives ISO 11940 (s̄mchāy for สมชาย):
//        - initials: ก k, ข ฃ ค ฅ ฆ kh, ง ng, จ ฉ ช ฌ ch, ซ ศ ษ ส s, ญ ย y, ฎ ด d, ฏ ต t,
//          ฐ ฑ ฒ ถ ท ธ th, ณ น n, บ b, ป p, ผ พ ภ ph, ฝ ฟ f, ม m, ร r, ล ฬ l, ว w, ห ฮ h,
//          อ silent; clusters kr kl kw khr khl khw tr dr pr pl phr phl br bl fr fl when a vowel
//          follows, ทร ซร ศร สร read s; ห before a sonorant and อ before ย are silent;
//        - finals: k (ก ข ค ฆ), ng, t (จ ช ซ ด ต ถ ท ธ ศ ษ ส ...), n (ญ ณ น ร ล ฬ), p, m,
//          ย i, ว o;
//        - vowels: ะ ั า a, ำ am, ิ ี i, ึ ื(อ) ue, ุ ู u, เ e, แ ae, โ o, ใ ไ ai, เ_า ao,
//          เ_าะ o, เ_ีย ia, เ_ือ uea, เ_อ เ_ิ oe, เ_ย oei, เ_ว eo, แ_ว aeo, _ัว ua, _ัย ai,
//          อ and ว between consonants o and ua, รร a/an; no vowel sign: "o" in a closed
//          syllable (สมชาย somchai), "a" before a consonant that has its own vowel;
//        - ั always takes the next consonant as its final; ์ silences its consonant (with any
//          vowel sign on it), and a lone consonant after a final is silent (จันทร์โอชา
//          chanocha, ชินวัตร chinwat); tone marks, ็ ๆ ฯ are dropped; Thai digits are digits.
//       It is a heuristic without a dictionary: linking vowels and silent Sanskrit endings are
//       not guessed (ชัยภูมิ gives chaiphumi, RTGS Chaiyaphum; they match within tolerance).
//   3b. The text is transliterated with ICU:
//        ::NFC; <Central Asian Cyrillic letters mapped onto Russian ones>; <Armenian>;
//        ::Russian-Latin/BGN; ::Any-Latin; ::Latin-ASCII (except the letters of step 3c);
//        ::Lower;
//      The pre-mapping exists because ICU 72 leaves these letters untouched (or as "ə", "kˌ"):
//        қ ҡ -> к, ң ӊ ӈ ҥ -> н, ө ӫ -> о, ұ ү -> у, һ ҳ -> х, ҷ җ -> ж, ҫ -> с,
//        Azerbaijani Cyrillic ҹ -> дж, ҝ -> г, and ә ӛ -> Latin ə (read "a" or "e", below)
//      (upper case likewise), which is also how Kazakh/Kyrgyz passports romanise them
//      (Қасымов -> Kasymov, Мыңбаев -> Mynbayev, Әлібек -> Alibek). і ғ ў ӣ ӯ are handled by ICU.
//      Armenian is mapped with the national system (passports, BGN/PCGN) rather than ICU's
//      ISO 9985 (Xačʻatryan): ա a, բ b, գ g, դ d, ե e, զ z, է e, ը y, թ t, ժ zh, ի i, լ l,
//      խ kh, ծ ts, կ k, հ h, ձ dz, ղ gh, ճ ch, մ m, յ y, ն n, շ sh, ո o (vo at the start of a
//      word), չ ch, պ p, ջ j, ռ r, ս s, վ v, տ t, ր r, ց ts, ւ v, փ p, ք k, և ev, օ o, ֆ f,
//      ու u (Խաչատրյան = Khachatryan, Ոսկանյան = Voskanyan, Ղազարյան = Ghazaryan).
//      Georgian needs nothing: ICU's Georgian-Latin is the national system of 2002 (ჯ j, ჩ ch,
//      ჭ chʼ, ხ kh, ღ gh, ყ qʼ, შ sh, ჟ zh, წ tsʼ, ც ts, ძ dz, კ kʼ), and the ejective mark ʼ
//      is a joiner (ცხვიტავა = Tskhvitava, ჯანელიძე = Janelidze = Джанелидзе).
//      Invalid UTF-8 becomes U+FFFD and therefore a word separator.
//   3c. After ICU, code points outside ASCII are handled as follows:
//        - national Latin letters: ş ș š -> sh, ç č -> ch, ž -> zh, ğ -> g, ı -> i, ü -> u,
//          ö -> o (Latin-ASCII would give s, c, z); ə is read "a" or "e" and ë (BGN's ё) "e"
//          or "yo" (see "Spelling variants"); ə ğ ı ş mark the word as Azerbaijani/Turkish,
//          ü ö as possibly so; the other letters of the national alphabets (ä ū ñ ň ý ...)
//          are folded by Latin-ASCII (Kazakh 2021 Şäkärım = Шәкәрім, Turkmen Ýazmyradow =
//          Язмырадов, Täzegül = Тазегуль);
//        - joiners, dropped without splitting the word: combining and modifier marks
//          (categories Mn Mc Me Lm Sk, e.g. "ˌ", "ʻ", "ʼ"), format characters (Cf: soft hyphen,
//          zero-width joiners), the middle dot "·" that BGN inserts between letters (ot·syuda),
//          the typographic apostrophes ‘ ’, and letters ICU could not romanise (so the rest of
//          the word still matches within the edit tolerance); so Uzbek oʻ o‘ o' and gʻ are o
//          and g (Oʻzbekiston = Ozbekiston);
//        - anything else (spaces, punctuation, symbols, U+FFFD) separates words.
//   4. The ASCII text is split into words of [a-z0-9]. The apostrophe ', the quote " (BGN's
//      hard sign, Объект -> ob"yekt) and the backtick ` are dropped inside a word without
//      splitting it (nik'a -> nika, Il'ich -> ilich); every other character, including the
//      hyphen, separates words (Abdul-Aziz -> abdul, aziz).
//   5. Each word gives its keys: the skeleton of each of its spelling variants, primary first,
//      distinct, at most kMaxWordKeys; empty keys are dropped. keys() lists all of them word
//      after word; words() groups them by word.
//
// Spelling variants. A word whose spelling is read differently by different national alphabets
// gets one key per reading. Each item below is a binary choice, the first reading primary; the
// keys are all combinations, in order, the primary one first:
//   - ə: "a" or "e", each ə on its own when a word has at most 3 (Məmmədov = Mamedov =
//     Mammadov), else all together (Əliyev = Aliyev = Eliyev = Алиев);
//   - ë (ё): "e" or "yo" ("o" after y): Мирзиёев = Mirziyoyev, Ёқубов = Yoqubov, Фёдор =
//     Fedor = Fyodor;
//   - x: "ks" or "h" (Uzbek and Azerbaijani x is Russian х: Xudoyberdiyev = Худойбердиев,
//     Alexandr = Aleksandr); in an Azerbaijani/Turkish word "h" is primary (Xəlilov = Халилов);
//   - ph: "f" or "p" (Thai RTGS ph is an aspirated p: Phongsak = Pongsak = พงศ์ศักดิ์; Pham
//     = Fam stays primary);
//   - in an Azerbaijani/Turkish word, c not before h: "j" or "c" (Cəfərov = Jafarov =
//     Джафаров), and in such a word or one with ü/ö, an h not after s k c z g p t: "h" or "g"
//     (Russian writes Azerbaijani h as г: Heydər = Гейдар, Hüseynov = Гусейнов).
// Plain ASCII words without x or ph (nearly all) have one key and take the one-key fast path.
//
// skeleton(word) rules, applied in one left-to-right pass, longest match first:
//   shch -> sh              (Щ: Shchukin, Shukin)
//   dzh, dj, zh -> i        (Ж/ДЖ: Dzhaparov = Japarov, Zhumabaev = Jumabaev; "j" then -> "i")
//   kh -> h                 (Х: Khasanov = Hasanov)
//   gh -> g                 (Ғ: Ghafurov = Gafurov)
//   ts, ch -> c             (Ц/Ч: Tsoi = Цой "tsoy"; Tschernow = Chernov)
//   th -> t                 (Thai RTGS th is an aspirated t: Thanawat = Tanawat, Thaksin)
//   ph -> f, q -> k, w -> v, x -> ks
//   y, j -> i               (Sadykov = Sadikov, Kudayarov = Kudaiarov, Dmitriy = Dmitry)
//   "y" or "i" directly before "e" is dropped at the start of a word or after a vowel
//   (a e i o u): BGN writes Е as "ye" there, passports usually as "e"
//   (Жумабаев "zhumabayev" = Zhumabaev, Ерлан "yerlan" = Erlan, Sergeyev = Sergeev);
//   runs of the same letter collapse to one (Mohammed = Mohamed, Dmitrii = Dmitri); runs of
//   digits are kept. Upper-case A-Z input is lowercased and other characters are ignored,
//   but callers are expected to pass one lowercase [a-z0-9] word.
// The j -> i rule trades some precision for recall: Zhakupov/Yakupov and Zhanna/Yana share a
// skeleton. Search ranks exact matches first: a record holding a query word's primary key.
//
// National romanizations covered, by the rules above: Uzbek Latin (oʻ gʻ, q, x, j, sh ch),
// Kazakh Latin 2021 (ä ö ü ū ı ğ q ş ç ñ), Azerbaijani (ə ç ş ğ ı c x q), Turkmen (ä ç ž ň ş
// ü ý w j), Armenian national/BGN (and ISO 9985 input via č š ž x), Georgian national 2002,
// Thai RTGS. Not covered (they match only within the edit tolerance, if at all): Uzbek o where
// Russian writes а/я (Gʻulomov, Гулямов), Thai spellings outside RTGS (Shinawatra, Boonchai for
// Bunchai, j for จ), Thai kh written k, Georgian ISO 9984 (ǯ ʒ c̣).
//
// Key format: kKeyFormat is 2 (1 was the rules before th -> t, the national letters of 3c, the
// Armenian mapping, Thai RTGS and the spelling variants). A replica's name index holds keys, so
// one built with format 1 misses some names (any word with th, ş ç ž ğ ı ü ö ə ë, x or ph, and
// Armenian or Thai script) until it is rebuilt from the broker.
#pragma once

#include <cstddef>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace liaison::names {

// Longest input Folder::keys looks at; the rest of a longer input is ignored.
inline constexpr size_t kMaxInputBytes = 64 * 1024;

// Most keys one word gives (its primary key and variants).
inline constexpr size_t kMaxWordKeys = 16;

// Version of the key rules. Keys are stored in a replica's name index, so a replica indexed
// with another version finds fewer names until it is rebuilt (see "Key format" above).
inline constexpr int kKeyFormat = 2;

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

  // Splits `utf8` into words and returns their keys: for each word its primary key followed by
  // its variant keys (see "Spelling variants"), words in order (empty words dropped, the same
  // key from two words kept twice). This is what the name index stores for a record. Invalid
  // UTF-8 does not crash: invalid bytes separate words.
  std::vector<std::string> keys(std::string_view utf8);

  // The same keys grouped by word: one non-empty group per word, primary key first, then the
  // variants (distinct, at most kMaxWordKeys). A query word matches a record when any key of its
  // group matches one of the record's keys; only the primary counts as an exact match.
  std::vector<std::vector<std::string>> words(std::string_view utf8);

  // True once the ICU transliterator exists (for tests: ASCII input must not create it).
  bool transliteratorCreated() const;

 private:
  template <typename Emit>
  void forEachWord(std::string_view utf8, Emit&& emit);

  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Romanises the Thai letters of `utf8` with the RTGS approximation of rule 3a (aspirates kept
// as kh/th/ph/ch) and leaves every other character as it is; exposed for tests.
std::string rtgs(std::string_view utf8);

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
