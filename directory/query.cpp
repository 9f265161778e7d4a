// find: index intersection, tolerant name matching, ranking.
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

Status nameBitmap(const lmdb::Txn& txn, const Dbis& dbi, const std::string& key, Bitmap& out) {
  auto cursor = lmdb::Cursor::open(txn, dbi.names);
  if (!cursor) return cursor.error();
  std::string_view k, v;
  for (bool ok = cursor->seek(key, MDB_SET_KEY, &k, &v); ok;
       ok = cursor->seek({}, MDB_NEXT_DUP, &k, &v)) {
    if (v.size() == 4) out.set(readU32be(v));
  }
  return {};
}

int roleRank(const std::vector<std::string>& preference, capnp::Text::Reader role) {
  for (size_t i = 0; i < preference.size(); ++i) {
    if (role == preference[i].c_str()) return static_cast<int>(preference.size() - i);
  }
  return 0;
}

}  // namespace

Result<std::vector<Hit>> Directory::find(const Query& query, int64_t now) const {
  auto txnR = lmdb::Txn::beginRead(impl_->env);
  if (!txnR) return txnR.error();
  const lmdb::Txn& txn = *txnR;
  const Dbis& dbi = impl_->dbi;
  auto countR = docCount(txn, dbi);
  if (!countR) return countR.error();
  const size_t docs = *countR;

  std::vector<std::string> terms;
  auto add = [&](const char* prefix, const std::optional<std::string>& v) {
    if (v) terms.push_back(prefix + *v);
  };
  add("c:", query.country);
  add("r:", query.role);
  add("t:", query.topic);
  add("m:", query.competence);
  if (query.language) terms.push_back("l:" + std::string(primaryLanguage(*query.language)));
  add("n:", query.network);
  add("b:", query.legalBasis);
  add("nt:", query.noticeType);
  add("nat:", query.nationality);
  for (const auto& p : query.parties) terms.push_back("party:" + p);
  if (query.kind != "any") terms.push_back("k:" + query.kind);
  if (terms.empty()) terms.emplace_back("*");

  Bitmap match;
  LIAISON_TRY(loadTerm(txn, dbi.bits, terms[0], docs, match));
  for (size_t i = 1; i < terms.size() && match.any(); ++i) {
    LIAISON_TRY(andTerm(txn, dbi.bits, terms[i], match));
  }
  // Records of a peer network are not served while its peering is not in force.
  Federation federation(txn, dbi);
  for (const auto& network : federation.closed(now)) {
    if (!match.any()) break;
    Bitmap closed;
    LIAISON_TRY(loadTerm(txn, dbi.bits, "o:" + network, docs, closed));
    for (size_t i = 0; i < match.words.size() && i < closed.words.size(); ++i) match.words[i] &= ~closed.words[i];
  }
  if (!query.anyOfRoles.empty() && match.any()) {
    Bitmap roles(docs);
    for (const auto& r : query.anyOfRoles) {
      LIAISON_TRY(orTermMasked(txn, dbi.bits, "r:" + r, match, roles));
    }
    match = std::move(roles);
  }

  // Name: every word of the query must match some name key of the record, through any of the
  // word's keys (its spelling variants); a record holding the word's primary key is exact.
  Bitmap exactNames;  // sized when a name is asked for
  bool haveName = false;
  if (query.name && match.any()) {
    thread_local names::Folder folder;  // its ICU transliterator is costly to build
    for (const auto& variants : folder.words(*query.name)) {
      haveName = true;
      std::set<std::string> keys;
      for (const auto& v : variants) LIAISON_TRY(matchingKeys(txn, dbi, v, keys));
      Bitmap wordDocs(docs);
      if (exactNames.words.empty()) exactNames = Bitmap(docs);
      for (const auto& k : keys) {
        LIAISON_TRY(nameBitmap(txn, dbi, k, wordDocs));
        if (k == variants.front()) LIAISON_TRY(nameBitmap(txn, dbi, k, exactNames));
      }
      match.andWith(wordDocs);
    }
    if (!haveName) match.andWith(Bitmap(docs));  // a name of only punctuation matches nothing
  }

  // Ranking signals as bitmaps: first language, accepted language, 24/7, verified recently.
  // Each is filled only where `match` has bits (and sized only when used).
  Bitmap firstLang, acceptsLang, always, recent;
  if (match.any()) {
    for (const auto& l : query.preferLanguages) {
      std::string p(primaryLanguage(l));
      LIAISON_TRY(orTermMasked(txn, dbi.bits, "p:" + p, match, firstLang));
      LIAISON_TRY(orTermMasked(txn, dbi.bits, "l:" + p, match, acceptsLang));
    }
    if (query.urgent || query.availableNow) {
      LIAISON_TRY(orTermMasked(txn, dbi.bits, "a:247", match, always));
    }
    int64_t y = 0;
    unsigned m = 0, d = 0;
    civilFromDays(daysOf(now), y, m, d);
    for (int64_t year : {y, y - 1}) {
      LIAISON_TRY(orTermMasked(txn, dbi.bits, "v:" + std::to_string(year), match, recent));
    }
  }

  struct Candidate {
    uint32_t docno;
    int score;
  };
  std::vector<Candidate> candidates;
  for (size_t w = 0; w < match.words.size(); ++w) {
    uint64_t bits = match.words[w];
    while (bits != 0) {
      auto docno = static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(bits)));
      bits &= bits - 1;
      int score = (haveName && exactNames.test(docno) ? 32 : 0) +
                  (firstLang.test(docno) ? 16 : 0) + (acceptsLang.test(docno) ? 8 : 0) +
                  (always.test(docno) ? 4 : 0) + (recent.test(docno) ? 2 : 0);
      candidates.push_back({docno, score});
    }
  }
  auto better = [](const Candidate& a, const Candidate& b) {
    return a.score != b.score ? a.score > b.score : a.docno < b.docno;
  };
  const bool postFilter = query.availableNow || query.verifiedWithinDays.has_value();
  const bool roleOrder = !query.rolePreference.empty();
  // Without post-filters or role order only the first `limit` need sorting.
  if (!postFilter && !roleOrder && candidates.size() > query.limit) {
    std::partial_sort(candidates.begin(),
                      candidates.begin() + static_cast<std::ptrdiff_t>(query.limit),
                      candidates.end(), better);
    candidates.resize(query.limit);
  } else {
    std::sort(candidates.begin(), candidates.end(), better);
  }

  std::vector<Hit> hits;
  const int64_t today = daysOf(now);
  for (const auto& c : candidates) {
    if (!roleOrder && hits.size() >= query.limit) break;
    auto rec = readDoc(txn, dbi, c.docno);
    if (!rec) return rec.error();
    if (!*rec) continue;
    Hit hit{std::move(**rec), false, std::nullopt, c.score};
    hit.stored.network = federation.origin(hit.stored.signedItem.signer);
    auto record = hit.stored.record();
    if (record.getBody().isContact()) {
      auto contact = record.getBody().getContact();
      hit.stale = isStale(contact, now);
      if (query.availableNow) {
        hit.availableNow = availableAt(contact, now);
        if (!*hit.availableNow) continue;
      }
      if (query.verifiedWithinDays) {
        auto at = parseDate(std::string_view(contact.getVerification().getVerifiedAt().begin(),
                                             contact.getVerification().getVerifiedAt().size()));
        if (!at || today - *at > *query.verifiedWithinDays) continue;
      }
      if (roleOrder) hit.score += 64 * roleRank(query.rolePreference, contact.getRole());
    } else if (query.availableNow || query.verifiedWithinDays) {
      continue;
    }
    hits.push_back(std::move(hit));
  }
  if (roleOrder) {
    std::stable_sort(hits.begin(), hits.end(),
                     [](const Hit& a, const Hit& b) { return a.score > b.score; });
    if (hits.size() > query.limit) hits.erase(hits.begin() + static_cast<std::ptrdiff_t>(query.limit), hits.end());
  }
  return hits;
}

}  // namespace liaison::directory
