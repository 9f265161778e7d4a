// find: index intersection, tolerant name matching, ranking.
//
// The filter terms are AND-ed straight from the map, 16 words of a chunk at a time, which leaves
// the candidates as docnos; a name query starts from the docnos of its name keys instead.
// Every ranking signal (first language, accepted language, 24/7, verified recently, role order)
// is a bit looked up in a term's chunk for each candidate. Candidates come in docno order and
// rank by score, then docno, so a find without post-filters stops as soon as `limit` of them
// have the best score its signals allow. They are put in rank order by counting (scores are
// small), so only the records of the hits returned are read and decoded; where those records
// lie is kept for the snapshot (SnapshotCache), and a record's envelope is read where it lies,
// only its payload copied out. The working vectors live per thread and are reused: a find
// allocates only for what it returns.
#include <algorithm>
#include <set>

#include "directory/index.h"
#include "directory/store.h"

namespace liaison::directory {

namespace {

// The name keys in the index that a query key matches: itself, keys it is a prefix of
// (from 3 letters), and keys within names::tolerance() edits (via the deletion index).
Status matchingKeys(const lmdb::Txn& txn, const Dbis& dbi, const std::string& q,
                    std::set<std::string>& out) {
  auto names = lmdb::Cursor::open(txn, dbi.names);
  if (!names) return names.error();
  std::string_view key, value;
  // Exact and prefix: keys in [q, q + 0xff).
  size_t prefixBudget = 64;
  for (bool ok = names->seek(q, MDB_SET_RANGE, &key, &value); ok && key.starts_with(q);
       ok = names->seek({}, MDB_NEXT_NODUP, &key, &value)) {
    if (key.size() != q.size() && q.size() < 3) break;
    out.emplace(key);
    if (--prefixBudget == 0) break;
  }
  int tolerance = names::tolerance(q.size());
  if (tolerance == 0) return {};
  // Candidates: keys one deletion away either way, and keys sharing a deletion (substitution).
  std::set<std::string> candidates;
  auto dels = lmdb::Cursor::open(txn, dbi.namedel);
  if (!dels) return dels.error();
  auto collect = [&](const std::string& variant) {
    for (bool ok = dels->seek(variant, MDB_SET_KEY, &key, &value); ok;
         ok = dels->seek({}, MDB_NEXT_DUP, &key, &value)) {
      candidates.emplace(value);
    }
    std::string_view k2, v2;
    if (names->seek(variant, MDB_SET_KEY, &k2, &v2)) candidates.insert(variant);
  };
  collect(q);
  auto qdels = names::deletions(q);
  for (const auto& d : qdels) collect(d);
  for (const auto& c : candidates) {
    if (out.count(c) != 0) continue;
    if (names::distance(q, c, tolerance) <= tolerance) out.insert(c);
  }
  return {};
}

// Calls fn(docno) for every docno holding name key `key`.
template <typename Fn>
void nameDocs(lmdb::Cursor& cursor, const std::string& key, Fn&& fn) {
  std::string_view k, v;
  for (bool ok = cursor.seek(key, MDB_SET_KEY, &k, &v); ok;
       ok = cursor.seek({}, MDB_NEXT_DUP, &k, &v)) {
    if (v.size() == 4) fn(readU32be(v));
  }
}

// The words of a chunk a structured find works on at a time.
constexpr size_t kBlockWords = 16;
static_assert(kChunkWords % kBlockWords == 0);

// acc = the AND of words [first, first + kBlockWords) of every chunk in `chunks` (one or more).
void andBlock(uint64_t* acc, size_t first, const std::vector<const char*>& chunks) {
  const char* a = chunks[0];
  for (size_t j = 0; j < kBlockWords; ++j) acc[j] = chunkWord(a, first + j);
  for (size_t t = 1; t < chunks.size(); ++t) {
    const char* b = chunks[t];
    for (size_t j = 0; j < kBlockWords; ++j) acc[j] &= chunkWord(b, first + j);
  }
}

struct Candidate {
  uint32_t docno;
  uint32_t score;
};

// Scores: exact name 32, then the signals (first language 16, accepted language 8, 24/7 4,
// verified this year or last 2), plus 64 for each step of role preference.
enum Signal { kFirstLanguage, kAcceptsLanguage, kAlways, kRecent, kSignals };
// What a find holds term handles for: filters, closed peer networks, roles any of which will do,
// preferred roles, then one list per ranking signal.
enum HandleKind {
  kAll,
  kClosed,
  kAnyRole,
  kRoles,
  kSignalHandles,
  kHandleKinds = kSignalHandles + kSignals
};
constexpr uint32_t kSignalScore[kSignals] = {16, 8, 4, 2};
constexpr uint32_t kRoleStep = 64;

// The working memory of a find, kept per thread between finds. Only vectors: a find on the same
// thread reuses their capacity (and gives back what one unusually large find took).
struct Scratch {
  std::string key, term;
  std::vector<std::string> terms;  // the filter terms, AND-ed (the first `termCount`)
  size_t termCount = 0;
  std::vector<const char*> chunks;    // per term of `Terms` below, `chunkCount` pointers
  std::vector<Candidate> candidates;  // in docno order
  std::vector<uint64_t> nameBits, wordBits, exactBits;  // name search, a bit per docno
  std::vector<uint32_t> counts;                         // candidates per score
  std::vector<uint32_t> order;                          // indexes into candidates, in rank order
  std::vector<std::string_view> values;                 // records of the hits being read
  std::vector<uint32_t> docnos;                         // their docnos
  std::vector<size_t> looked;                           // those not known for the snapshot
  std::vector<uint32_t> lookedDocnos;
  std::vector<std::string_view> lookedValues;
  std::vector<size_t> handles[kHandleKinds];                    // term handles, by use (see find)
  std::vector<const char*> signalChunks[kSignals], roleChunks;  // of the chunk being ranked
  std::vector<const char*> filterChunks, closedChunks, anyRoleChunks;  // of the same chunk

  void trim() {
    constexpr size_t kKeep = size_t{1} << 16;
    auto trimOne = [](auto& v) {
      if (v.capacity() > kKeep) std::remove_reference_t<decltype(v)>().swap(v);
    };
    trimOne(chunks);
    trimOne(candidates);
    trimOne(nameBits);
    trimOne(wordBits);
    trimOne(exactBits);
    trimOne(order);
    trimOne(values);
    trimOne(docnos);
    trimOne(looked);
    trimOne(lookedDocnos);
    trimOne(lookedValues);
  }
};

// Terms whose chunks a find reads, each a range of `Scratch::chunks`.
class Terms {
 public:
  Terms(Scratch& s, SnapshotCache& cache, const SnapshotCache::Snapshot& snapshot,
        const lmdb::Txn& txn, MDB_dbi bits, uint32_t chunkCount)
      : s_(s), cache_(cache), snapshot_(snapshot), txn_(txn), bits_(bits), chunkCount_(chunkCount) {
    s_.chunks.clear();
  }

  // Finds the chunk pointers of `term` (known for this snapshot, or read); returns its handle.
  Result<size_t> add(std::string_view term) {
    size_t at = s_.chunks.size();
    s_.chunks.resize(at + chunkCount_);
    const char** out = s_.chunks.data() + at;
    if (!cache_.lookup(snapshot_, term, out, chunkCount_)) {
      if (!cursor_) {  // opened on the first term not known for this snapshot
        auto c = lmdb::Cursor::open(txn_, bits_);
        if (!c) return c.error();
        cursor_.emplace(std::move(c).value());
      }
      LIAISON_TRY(termChunks(*cursor_, term, s_.key, out, chunkCount_));
      cache_.store(snapshot_, term, out, chunkCount_);
    }
    return at;
  }
  // The same for the term prefix + value.
  Result<size_t> add(std::string_view prefix, std::string_view value) {
    s_.term.assign(prefix);
    s_.term.append(value);
    return add(std::string_view(s_.term));
  }
  const char* chunk(size_t term, uint32_t c) const { return s_.chunks[term + c]; }
  bool test(size_t term, uint32_t docno) const {
    const char* c = s_.chunks[term + docno / kChunkBits];
    return c != nullptr && chunkBit(c, docno % kChunkBits);
  }
  bool any(const std::vector<size_t>& terms, uint32_t docno) const {
    for (size_t t : terms) {
      if (test(t, docno)) return true;
    }
    return false;
  }

 private:
  Scratch& s_;
  SnapshotCache& cache_;
  const SnapshotCache::Snapshot& snapshot_;
  const lmdb::Txn& txn_;
  MDB_dbi bits_;
  std::optional<lmdb::Cursor> cursor_;
  uint32_t chunkCount_;
};

}  // namespace

Result<std::vector<Hit>> Directory::find(const Query& query, int64_t now) const {
  thread_local Scratch scratch;
  struct TrimAfter {
    Scratch& s;
    ~TrimAfter() { s.trim(); }
  } trimAfter{scratch};
  Scratch& s = scratch;

  auto reader = impl_->readers->lease(impl_->env);
  if (!reader) return reader.error();
  const lmdb::Txn& txn = reader->txn();
  const Dbis& dbi = impl_->dbi;
  SnapshotCache& cache = *impl_->snapshotCache;
  const auto snapshot = SnapshotCache::snapshotOf(txn);
  uint32_t docs = 0;
  if (auto known = cache.docCount(snapshot)) {
    docs = *known;
  } else {
    auto countR = docCount(txn, dbi);
    if (!countR) return countR.error();
    docs = *countR;
    cache.storeDocCount(snapshot, docs);
  }
  const uint32_t chunkCount = (docs + kChunkBits - 1) / kChunkBits;
  std::vector<Hit> hits;
  if (docs == 0 || query.limit == 0) return hits;

  // The filter terms, built in strings kept from the last find.
  s.termCount = 0;
  auto filter = [&](std::string_view prefix, std::string_view value) {
    if (s.termCount == s.terms.size()) s.terms.emplace_back();
    std::string& t = s.terms[s.termCount++];
    t.assign(prefix);
    t.append(value);
  };
  auto add = [&](std::string_view prefix, const std::optional<std::string>& v) {
    if (v) filter(prefix, *v);
  };
  add("c:", query.country);
  add("r:", query.role);
  add("t:", query.topic);
  add("m:", query.competence);
  if (query.language) filter("l:", primaryLanguage(*query.language));
  add("n:", query.network);
  add("b:", query.legalBasis);
  add("nt:", query.noticeType);
  add("nat:", query.nationality);
  for (const auto& p : query.parties) filter("party:", p);
  if (query.kind != "any") filter("k:", query.kind);
  if (s.termCount == 0) filter("*", "");

  Terms terms(s, cache, snapshot, txn, dbi.bits, chunkCount);
  // Handles of the terms by use (a few each).
  auto& all = s.handles[kAll];
  auto& closed = s.handles[kClosed];
  auto& anyRole = s.handles[kAnyRole];
  auto& roles = s.handles[kRoles];
  auto* signals = s.handles + kSignalHandles;
  for (auto& h : s.handles) h.clear();
  for (size_t i = 0; i < s.termCount; ++i) {
    auto h = terms.add(std::string_view(s.terms[i]));
    if (!h) return h.error();
    all.push_back(*h);
  }
  // Records of a peer network are not served while its peering is not in force.
  Federation federation(txn, dbi, impl_->federation.get());
  for (const auto& network : federation.closed(now)) {
    auto h = terms.add("o:", network);
    if (!h) return h.error();
    closed.push_back(*h);
  }
  for (const auto& r : query.anyOfRoles) {
    auto h = terms.add("r:", r);
    if (!h) return h.error();
    anyRole.push_back(*h);
  }
  auto admitted = [&](uint32_t docno) {
    for (size_t t : all) {
      if (!terms.test(t, docno)) return false;
    }
    if (terms.any(closed, docno)) return false;
    return anyRole.empty() || terms.any(anyRole, docno);
  };

  // Ranking signals: first language, accepted language, 24/7, verified recently, role order.
  // signals[g] holds the terms of signal g (any of them counts); roles, the preferred roles.
  auto addTo = [&](std::vector<size_t>& group, std::string_view prefix,
                   std::string_view value) -> Status {
    auto h = terms.add(prefix, value);
    if (!h) return h.error();
    group.push_back(*h);
    return {};
  };
  for (const auto& l : query.preferLanguages) {
    const std::string_view p = primaryLanguage(l);
    LIAISON_TRY(addTo(signals[kFirstLanguage], "p:", p));
    LIAISON_TRY(addTo(signals[kAcceptsLanguage], "l:", p));
  }
  if (query.urgent || query.availableNow) LIAISON_TRY(addTo(signals[kAlways], "a:247", ""));
  {
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civilFromDays(daysOf(now), y, m, d);
    for (int64_t year : {y, y - 1}) {
      LIAISON_TRY(addTo(signals[kRecent], "v:", std::to_string(year)));
    }
  }
  // A contact holds one role: the first preferred role it has ranks it.
  for (const auto& r : query.rolePreference) LIAISON_TRY(addTo(roles, "r:", r));
  // has(i): the candidate holds roles[i].
  auto roleScore = [&](auto&& has) -> uint32_t {
    for (size_t i = 0; i < roles.size(); ++i) {
      if (has(i)) return kRoleStep * static_cast<uint32_t>(roles.size() - i);
    }
    return 0;
  };

  // Candidates with their scores, in docno order. A name narrows most: start from its docnos.
  // Every word of the name must match some name key of the record, through any of the word's
  // keys (its spelling variants); a record holding a word's primary key is exact.
  s.candidates.clear();
  uint32_t maxScore = 0;
  // With no post-filter, only the first `limit` in rank order are read.
  const bool postFilter = query.availableNow || query.verifiedWithinDays.has_value();
  if (query.name) {
    thread_local names::Folder folder;  // its ICU transliterator is costly to build
    auto namesCursor = lmdb::Cursor::open(txn, dbi.names);
    if (!namesCursor) return namesCursor.error();
    // Docnos as bits over the replica: a common name holds thousands, which a bitmap takes in
    // without sorting.
    const size_t words = (docs + 63) / 64;
    s.nameBits.assign(words, 0);
    s.exactBits.assign(words, 0);
    bool first = true, any = false;
    for (const auto& variants : folder.words(*query.name)) {
      std::set<std::string> keys;
      for (const auto& v : variants) LIAISON_TRY(matchingKeys(txn, dbi, v, keys));
      s.wordBits.assign(words, 0);
      for (const auto& k : keys) {
        const bool exact = k == variants.front();
        nameDocs(*namesCursor, k, [&](uint32_t d) {
          if (d >= docs) return;
          s.wordBits[d / 64] |= uint64_t{1} << (d % 64);
          if (exact) s.exactBits[d / 64] |= uint64_t{1} << (d % 64);
        });
      }
      any = false;
      for (size_t i = 0; i < words; ++i) {
        s.nameBits[i] = first ? s.wordBits[i] : s.nameBits[i] & s.wordBits[i];
        any = any || s.nameBits[i] != 0;
      }
      first = false;
      if (!any) break;
    }
    // (A name of only punctuation has no word, and matches nothing.)
    for (size_t i = 0; any && i < words; ++i) {
      for (uint64_t w = s.nameBits[i]; w != 0; w &= w - 1) {
        const auto d = static_cast<uint32_t>(i * 64 + static_cast<size_t>(__builtin_ctzll(w)));
        if (!admitted(d)) continue;
        uint32_t score = (s.exactBits[i] >> (d % 64) & 1) != 0 ? 32 : 0;
        for (int g = 0; g < kSignals; ++g) {
          if (terms.any(signals[g], d)) score += kSignalScore[g];
        }
        score += roleScore([&](size_t r) { return terms.test(roles[r], d); });
        s.candidates.push_back({d, score});
        maxScore = std::max(maxScore, score);
      }
    }
  } else {
    // The filter terms AND-ed (and the closed networks taken out, any of the roles kept) a chunk
    // at a time; then each signal as a word of bits beside each word of candidates.
    // Candidates come in docno order, and rank by score, then docno: once `limit` of them have
    // the highest score the query's signals allow, no later one can rank among them.
    uint32_t best = roles.empty() ? 0 : kRoleStep * static_cast<uint32_t>(roles.size());
    for (int g = 0; g < kSignals; ++g) best += signals[g].empty() ? 0 : kSignalScore[g];
    const size_t enough = postFilter ? SIZE_MAX : query.limit;
    size_t atBest = 0;
    auto* signalChunks = s.signalChunks;
    auto& roleChunks = s.roleChunks;
    auto& filterChunks = s.filterChunks;
    auto& closedChunks = s.closedChunks;
    auto& anyRoleChunks = s.anyRoleChunks;
    for (uint32_t c = 0; c < chunkCount && atBest < enough; ++c) {
      // This chunk's stored words of each term (a filter term without one: no candidate here).
      filterChunks.clear();
      for (size_t t : all) {
        if (const char* ch = terms.chunk(t, c)) filterChunks.push_back(ch);
      }
      if (filterChunks.size() != all.size()) continue;
      closedChunks.clear();
      for (size_t t : closed) {
        if (const char* ch = terms.chunk(t, c)) closedChunks.push_back(ch);
      }
      anyRoleChunks.clear();
      for (size_t t : anyRole) {
        if (const char* ch = terms.chunk(t, c)) anyRoleChunks.push_back(ch);
      }
      if (!anyRole.empty() && anyRoleChunks.empty()) continue;
      for (int g = 0; g < kSignals; ++g) {
        signalChunks[g].clear();
        for (size_t t : signals[g]) {
          if (const char* ch = terms.chunk(t, c)) signalChunks[g].push_back(ch);
        }
      }
      roleChunks.clear();
      for (size_t t : roles) roleChunks.push_back(terms.chunk(t, c));
      // A block of words at a time: the terms AND-ed, then the words that hold candidates
      // listed without a branch per word (a quarter or so of the words of a three-term query
      // do, in no pattern a branch predictor could learn), then their candidates scored. A
      // block, not the chunk: a find that has enough stops within the first.
      for (size_t first = 0; first < kChunkWords && atBest < enough; first += kBlockWords) {
        uint64_t acc[kBlockWords];
        andBlock(acc, first, filterChunks);
        for (const char* ch : closedChunks) {
          for (size_t j = 0; j < kBlockWords; ++j) acc[j] &= ~chunkWord(ch, first + j);
        }
        if (!anyRole.empty()) {
          uint64_t any[kBlockWords] = {};
          for (const char* ch : anyRoleChunks) {
            for (size_t j = 0; j < kBlockWords; ++j) any[j] |= chunkWord(ch, first + j);
          }
          for (size_t j = 0; j < kBlockWords; ++j) acc[j] &= any[j];
        }
        uint8_t nonzero[kBlockWords];
        size_t count = 0;
        for (size_t j = 0; j < kBlockWords; ++j) {
          nonzero[count] = static_cast<uint8_t>(j);
          count += acc[j] != 0 ? 1 : 0;
        }
        for (size_t n = 0; n < count; ++n) {
          const size_t i = first + nonzero[n];
          uint64_t w = acc[nonzero[n]];
          uint64_t signal[kSignals];
          for (int g = 0; g < kSignals; ++g) {
            signal[g] = 0;
            for (const char* ch : signalChunks[g]) signal[g] |= chunkWord(ch, i);
          }
          const uint32_t base = c * kChunkBits + static_cast<uint32_t>(i * 64);
          for (; w != 0; w &= w - 1) {
            const int b = __builtin_ctzll(w);
            const uint32_t d = base + static_cast<uint32_t>(b);
            if (d >= docs) break;
            uint32_t score = 0;
            for (int g = 0; g < kSignals; ++g) score += kSignalScore[g] * ((signal[g] >> b) & 1);
            if (!roleChunks.empty()) {
              score += roleScore([&](size_t r) {
                return roleChunks[r] != nullptr && (chunkWord(roleChunks[r], i) >> b & 1) != 0;
              });
            }
            s.candidates.push_back({d, score});
            maxScore = std::max(maxScore, score);
            atBest += score == best ? 1 : 0;
          }
        }
      }
    }
  }
  if (s.candidates.empty()) return hits;

  // Rank order: score descending, then docno. Counting sort, stable over the docno order.
  s.counts.assign(maxScore + 2, 0);
  for (const auto& c : s.candidates) ++s.counts[maxScore - c.score + 1];
  for (size_t i = 1; i < s.counts.size(); ++i) s.counts[i] += s.counts[i - 1];
  // Without post-filters only the first `limit` are needed.
  const size_t wanted =
      postFilter ? s.candidates.size() : std::min(query.limit, s.candidates.size());
  s.order.resize(wanted);
  for (uint32_t i = 0; i < s.candidates.size(); ++i) {
    uint32_t& at = s.counts[maxScore - s.candidates[i].score];
    if (at < wanted) s.order[at] = i;
    ++at;
  }

  // The records of the hits: where they lie (known for this snapshot, or looked up), their
  // bytes prefetched as soon as that is known, so that the misses of one record overlap those
  // of the next; then decoded.
  const int64_t today = daysOf(now);
  hits.reserve(std::min(query.limit, s.order.size()));
  std::vector<std::string_view>& values = s.values;
  std::string lastSigner, lastOrigin;
  bool haveOrigin = false;
  size_t next = 0;
  while (next < s.order.size() && hits.size() < query.limit) {
    const size_t batch = std::min(s.order.size() - next, query.limit - hits.size());
    auto prefetch = [](std::string_view v) {
      for (size_t line = 0; line < v.size(); line += 64) __builtin_prefetch(v.data() + line);
    };
    s.docnos.clear();
    for (size_t i = next; i < next + batch; ++i) s.docnos.push_back(s.candidates[s.order[i]].docno);
    values.assign(batch, std::string_view());
    cache.records(snapshot, s.docnos.data(), batch, values.data());
    for (auto v : values) prefetch(v);
    s.looked.clear();
    for (size_t i = 0; i < batch; ++i) {
      if (values[i].data() != nullptr) continue;
      const uint32_t docno = s.docnos[i];
      auto v = txn.get(dbi.records, std::string_view(reinterpret_cast<const char*>(&docno), 4));
      if (!v) return v.error();
      values[i] = v->value_or(std::string_view());
      prefetch(values[i]);
      s.looked.push_back(i);
    }
    if (!s.looked.empty()) {
      s.lookedDocnos.clear();
      s.lookedValues.clear();
      for (size_t i : s.looked) {
        s.lookedDocnos.push_back(s.docnos[i]);
        s.lookedValues.push_back(values[i]);
      }
      cache.storeRecords(snapshot, s.lookedDocnos.data(), s.lookedValues.data(), s.looked.size());
    }
    for (size_t i = 0; i < batch; ++i) {
      const Candidate& c = s.candidates[s.order[next + i]];
      if (values[i].empty()) continue;
      Hit& hit = hits.emplace_back(
          Hit{StoredRecord{SignedItem{OwnedItem::fromWords(nullptr), {}, {}, {}}, {}}, false,
              std::nullopt, static_cast<int>(c.score)});
      LIAISON_TRY(decodeDoc(values[i], c.docno, hit.stored));
      // Hits mostly share a few signers: their origin is asked once each.
      if (!haveOrigin || hit.stored.signedItem.signer != lastSigner) {
        lastSigner = hit.stored.signedItem.signer;
        lastOrigin = federation.origin(lastSigner);
        haveOrigin = true;
      }
      hit.stored.network = lastOrigin;
      auto record = hit.stored.record();
      bool keep = true;
      if (record.getBody().isContact()) {
        auto contact = record.getBody().getContact();
        hit.stale = isStale(contact, now);
        if (query.availableNow) {
          hit.availableNow = availableAt(contact, now);
          keep = *hit.availableNow;
        }
        if (keep && query.verifiedWithinDays) {
          auto at = parseDate(std::string_view(contact.getVerification().getVerifiedAt().begin(),
                                               contact.getVerification().getVerifiedAt().size()));
          keep = at && today - *at <= *query.verifiedWithinDays;
        }
      } else {
        keep = !postFilter;
      }
      if (!keep) hits.pop_back();
    }
    next += batch;
  }
  return hits;
}

}  // namespace liaison::directory
