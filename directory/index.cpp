#include "directory/index.h"

#include <algorithm>

namespace liaison::directory {

namespace {
std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }
}  // namespace

std::string_view primaryLanguage(std::string_view tag) {
  return tag.substr(0, std::min(tag.find('-'), tag.size()));
}

std::vector<std::string> indexTerms(schema::Record::Reader record) {
  std::vector<std::string> terms;
  if (record.getStatus() != "active") return terms;
  terms.emplace_back("*");
  auto body = record.getBody();
  switch (body.which()) {
    case schema::Record::Body::CONTACT: {
      auto c = body.getContact();
      terms.emplace_back("k:contact");
      terms.push_back("c:" + str(c.getCountry()));
      terms.push_back("r:" + str(c.getRole()));
      for (auto t : c.getTopics()) terms.push_back("t:" + str(t));
      for (auto t : c.getCompetences()) terms.push_back("m:" + str(t));
      for (auto t : c.getNetworks()) terms.push_back("n:" + str(t));
      for (auto t : c.getLegalBases()) terms.push_back("b:" + str(t));
      bool first = true;
      for (auto t : c.getLanguages()) {
        std::string primary(primaryLanguage(std::string_view(t.begin(), t.size())));
        if (first) terms.push_back("p:" + primary);
        first = false;
        terms.push_back("l:" + primary);
      }
      if (c.getAvailability().getAlways()) terms.emplace_back("a:247");
      auto verified = c.getVerification().getVerifiedAt();
      if (verified.size() >= 4) terms.push_back("v:" + std::string(verified.begin(), 4));
      break;
    }
    case schema::Record::Body::INSTRUMENT: {
      auto i = body.getInstrument();
      terms.emplace_back("k:instrument");
      for (auto p : i.getParties()) terms.push_back("party:" + str(p));
      break;
    }
    case schema::Record::Body::NOTICE: {
      auto n = body.getNotice();
      terms.emplace_back("k:notice");
      terms.push_back("nt:" + str(n.getNoticeType()));
      for (auto p : n.getNationalities()) terms.push_back("nat:" + str(p));
      break;
    }
  }
  std::sort(terms.begin(), terms.end());
  terms.erase(std::unique(terms.begin(), terms.end()), terms.end());
  return terms;
}

std::string bitsKey(std::string_view term, uint32_t chunk) {
  std::string key(term);
  key.push_back('\0');
  key += u32be(chunk);
  return key;
}

namespace {
// Calls fn(chunk, words) for every stored chunk of `term`, in chunk order.
template <typename Fn>
Status forEachChunk(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term, Fn&& fn) {
  auto cursor = lmdb::Cursor::open(txn, bits);
  if (!cursor) return cursor.error();
  std::string prefix(term);
  prefix.push_back('\0');
  std::string_view key, value;
  bool found = cursor->seek(prefix, MDB_SET_RANGE, &key, &value);
  while (found && key.size() == prefix.size() + 4 && key.starts_with(prefix)) {
    if (value.size() == kChunkBytes) fn(readU32be(key.substr(prefix.size())), value.data());
    found = cursor->seek({}, MDB_NEXT, &key, &value);
  }
  return {};
}
}  // namespace

Status termChunks(lmdb::Cursor& cursor, std::string_view term, std::string& key, const char** out,
                  uint32_t chunks) {
  std::fill(out, out + chunks, nullptr);
  key.assign(term);
  key.push_back('\0');
  const size_t prefix = key.size();
  std::string_view k, v;
  for (bool found = cursor.seek(key, MDB_SET_RANGE, &k, &v);
       found && k.size() == prefix + 4 && k.substr(0, prefix) == std::string_view(key);
       found = cursor.seek({}, MDB_NEXT, &k, &v)) {
    uint32_t chunk = readU32be(k.substr(prefix));
    if (chunk >= chunks) break;
    if (v.size() == kChunkBytes) out[chunk] = v.data();
  }
  return {};
}

Status loadTerm(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term, size_t docCount,
                Bitmap& out) {
  out.words.assign((docCount + 63) / 64, 0);
  return forEachChunk(txn, bits, term, [&](uint32_t chunk, const char* data) {
    size_t first = size_t{chunk} * kChunkWords;
    if (first >= out.words.size()) return;
    std::memcpy(out.words.data() + first, data, std::min(kChunkWords, out.words.size() - first) * 8);
  });
}

Status andTerm(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term, Bitmap& acc) {
  size_t done = 0;  // words of acc already handled
  auto st = forEachChunk(txn, bits, term, [&](uint32_t chunk, const char* data) {
    size_t first = size_t{chunk} * kChunkWords;
    if (first >= acc.words.size()) return;
    for (size_t i = done; i < first; ++i) acc.words[i] = 0;  // chunks the term lacks
    size_t n = std::min(kChunkWords, acc.words.size() - first);
    for (size_t i = 0; i < n; ++i) {
      uint64_t w;
      std::memcpy(&w, data + i * 8, 8);
      acc.words[first + i] &= w;
    }
    done = first + n;
  });
  for (size_t i = done; i < acc.words.size(); ++i) acc.words[i] = 0;
  return st;
}

Status orTermMasked(const lmdb::Txn& txn, MDB_dbi bits, std::string_view term,
                    const Bitmap& mask, Bitmap& out) {
  if (out.words.size() < mask.words.size()) out.words.resize(mask.words.size(), 0);
  return forEachChunk(txn, bits, term, [&](uint32_t chunk, const char* data) {
    size_t first = size_t{chunk} * kChunkWords;
    if (first >= mask.words.size()) return;
    size_t n = std::min(kChunkWords, mask.words.size() - first);
    for (size_t i = 0; i < n; ++i) {
      uint64_t m = mask.words[first + i];
      if (m == 0) continue;
      uint64_t w;
      std::memcpy(&w, data + i * 8, 8);
      out.words[first + i] |= w & m;
    }
  });
}

Status BitsWriter::set(std::string_view term, uint32_t docno, bool on) {
  std::string key = bitsKey(term, docno / kChunkBits);
  auto it = dirty_.find(key);
  if (it == dirty_.end()) {
    std::vector<uint64_t> chunk(kChunkWords, 0);
    auto existing = txn_.get(bits_, key);
    if (!existing) return existing.error();
    if (*existing && (*existing)->size() == kChunkBytes) {
      std::memcpy(chunk.data(), (*existing)->data(), kChunkBytes);
    }
    it = dirty_.emplace(std::move(key), std::move(chunk)).first;
  }
  uint32_t bit = docno % kChunkBits;
  uint64_t mask = uint64_t{1} << (bit % 64);
  if (on) {
    it->second[bit / 64] |= mask;
  } else {
    it->second[bit / 64] &= ~mask;
  }
  return {};
}

Status BitsWriter::flush() {
  for (auto& [key, chunk] : dirty_) {
    bool empty = std::all_of(chunk.begin(), chunk.end(), [](uint64_t w) { return w == 0; });
    if (empty) {
      LIAISON_TRY(txn_.del(bits_, key));
    } else {
      LIAISON_TRY(txn_.put(bits_, key,
                           std::string_view(reinterpret_cast<const char*>(chunk.data()),
                                            kChunkBytes)));
    }
  }
  dirty_.clear();
  return {};
}

}  // namespace liaison::directory
