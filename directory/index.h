// Internal to directory/: index terms of a record and the chunked bitmaps that hold them.
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/lmdb.h"
#include "schemas/record.capnp.h"

namespace liaison::directory {

inline constexpr uint32_t kChunkBits = 16384;
inline constexpr size_t kChunkWords = kChunkBits / 64;
inline constexpr size_t kChunkBytes = kChunkWords * 8;

// The terms a record is found by: "k:contact", "c:KG", "r:prosecutor", "t:<topic>",
// "m:<competence>", "l:<lang>", "p:<first lang>", "n:<network>", "b:<basis>", "a:247",
// "v:<year verified>", "nt:<notice type>", "nat:<nationality>", "party:<country>", and "*".
// Only active records have terms (retired and suspended ones are not found).
std::vector<std::string> indexTerms(schema::Record::Reader record);

// The primary language subtag of a BCP 47 tag: "ru-RU" → "ru".
std::string_view primaryLanguage(std::string_view tag);

std::string bitsKey(std::string_view term, uint32_t chunk);

inline std::string u32be(uint32_t v) {
  char b[4] = {static_cast<char>(v >> 24), static_cast<char>(v >> 16), static_cast<char>(v >> 8),
               static_cast<char>(v)};
  return std::string(b, 4);
}
inline uint32_t readU32be(std::string_view s) {
  auto u = [&](size_t i) { return static_cast<uint32_t>(static_cast<uint8_t>(s[i])); };
  return (u(0) << 24) | (u(1) << 16) | (u(2) << 8) | u(3);
}

// A dense bitmap over docnos, in memory, for a query.
struct Bitmap {
  std::vector<uint64_t> words;
  explicit Bitmap(size_t bits = 0) : words((bits + 63) / 64, 0) {}
  void set(uint32_t bit) {
    if (bit / 64 >= words.size()) words.resize(bit / 64 + 1, 0);
    words[bit / 64] |= uint64_t{1} << (bit % 64);
  }
  bool test(uint32_t bit) const {
    return bit / 64 < words.size() && (words[bit / 64] >> (bit % 64) & 1) != 0;
  }
  void andWith(const Bitmap& other) {
    size_t n = std::min(words.size(), other.words.size());
    for (size_t i = 0; i < n; ++i) words[i] &= other.words[i];
    for (size_t i = n; i < words.size(); ++i) words[i] = 0;
  }
  void orWith(const Bitmap& other) {
    if (other.words.size() > words.size()) words.resize(other.words.size(), 0);
    for (size_t i = 0; i < other.words.size(); ++i) words[i] |= other.words[i];
  }
  bool any() const {
    for (auto w : words) {
      if (w != 0) return true;
    }
    return false;
  }
};

// Reads the bitmap of `term` into `out` (sized to cover `docCount`).
Status loadTerm(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term, size_t docCount,
                Bitmap& out);
// acc &= term, reading the term's chunks straight from the map (no copy).
Status andTerm(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term, Bitmap& acc);
// out |= term & mask, touching only the chunks where `mask` has bits (ranking signals).
Status orTermMasked(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term,
                    const Bitmap& mask, Bitmap& out);

// One word of a stored chunk (chunks are arrays of native 64-bit words; LMDB gives no alignment).
inline uint64_t chunkWord(const char* chunk, size_t i) {
  uint64_t w;
  std::memcpy(&w, chunk + i * 8, 8);
  return w;
}
inline bool chunkBit(const char* chunk, uint32_t bit) {
  return (chunkWord(chunk, bit / 64) >> (bit % 64) & 1) != 0;
}

// Points out[0..chunks) at the stored chunks of `term` (into the map: valid while the cursor's
// txn lives), nullptr where the term has no bit; chunks past `chunks` are ignored. Reads only the
// term's own entries (one seek, then one step per chunk). `key` is scratch space.
Status termChunks(lmdb::Cursor& cursor, std::string_view term, std::string& key, const char** out,
                  uint32_t chunks);

// Pending bitmap changes of one write transaction: chunks are loaded once, changed in memory and
// written back by flush(), so a batch of 100,000 records writes each chunk once.
class BitsWriter {
 public:
  BitsWriter(lmdb::Txn& txn, MDB_dbi bits) : txn_(txn), bits_(bits) {}
  Status set(std::string_view term, uint32_t docno, bool on);
  Status flush();

 private:
  lmdb::Txn& txn_;
  MDB_dbi bits_;
  std::map<std::string, std::vector<uint64_t>, std::less<>> dirty_;
};

}  // namespace liaison::directory
