#include "directory/store.h"

#include <spdlog/spdlog.h>
#include <sys/stat.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <map>
#include <set>

#include "directory/index.h"

namespace liaison::directory {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

char kindCode(schema::Record::Reader r) {
  switch (r.getBody().which()) {
    case schema::Record::Body::CONTACT:
      return 'c';
    case schema::Record::Body::INSTRUMENT:
      return 'i';
    case schema::Record::Body::NOTICE:
      return 'n';
  }
  return '?';
}

char statusCode(schema::Record::Reader r) {
  auto status = r.getStatus();
  return status == "retired" ? 'r' : status == "suspended" ? 's' : 'a';
}

// The replica's records by kind, kept in meta kTallyKey (big-endian: contacts, instruments,
// notices, retired) and changed by each apply, so a status does not walk every record. A
// replica made before it is counted once when opened for writing.
constexpr std::string_view kTallyKey = "record-counts";
struct Tally {
  int64_t contacts = 0, instruments = 0, notices = 0, retired = 0;
  // A record of `kind` and `status` (RecordHeader's codes) comes (+1) or goes (-1).
  void add(char kind, char status, int sign) {
    if (status == 'r') {
      retired += sign;
    } else if (kind == 'c') {
      contacts += sign;
    } else if (kind == 'i') {
      instruments += sign;
    } else if (kind == 'n') {
      notices += sign;
    }
  }
  Tally& operator+=(const Tally& o) {
    contacts += o.contacts;
    instruments += o.instruments;
    notices += o.notices;
    retired += o.retired;
    return *this;
  }
  bool operator==(const Tally&) const = default;
};

std::string docKey(uint32_t docno) {
  return std::string(reinterpret_cast<const char*>(&docno), sizeof docno);  // INTEGERKEY
}

// The text a record is found by name with.
std::string nameText(schema::Record::Reader r) {
  auto body = r.getBody();
  switch (body.which()) {
    case schema::Record::Body::CONTACT: {
      auto n = body.getContact().getName();
      return str(n.getLatin()) + " " + str(n.getOriginal());
    }
    case schema::Record::Body::NOTICE: {
      auto n = body.getNotice();
      return str(n.getForename()) + " " + str(n.getName());
    }
    case schema::Record::Body::INSTRUMENT:
      return {};
  }
  return {};
}

std::string_view asView(const Bytes& b) {
  return {reinterpret_cast<const char*>(b.data()), b.size()};
}

}  // namespace

// Trust state as seen from inside one transaction (so items earlier in a batch count).
class TxnTrust final : public trust::TrustView {
 public:
  TxnTrust(const lmdb::Txn& txn, const Dbis& dbi) : txn_(txn), dbi_(dbi) {}

  Status load() {
    auto r = txn_.get(dbi_.meta, "root");
    if (!r) return r.error();
    if (*r && (*r)->size() == root_.size()) {
      std::memcpy(root_.data(), (*r)->data(), root_.size());
      hasRoot_ = true;
    }
    return {};
  }
  bool hasRoot() const { return hasRoot_; }
  void setRoot(const SigningKey& k) {
    root_ = k;
    hasRoot_ = true;
  }
  const SigningKey& rootKey() const override { return root_; }

  std::optional<trust::MemberCert> member(std::string_view site) const override {
    auto it = cache_.find(site);
    if (it != cache_.end()) return it->second;
    std::optional<trust::MemberCert> cert;
    auto v = txn_.get(dbi_.members, site);
    if (v && *v) {
      auto env = SignedItem::decodeStored(
          std::span(reinterpret_cast<const uint8_t*>((*v)->data()), (*v)->size()));
      if (env && env->item.reader().which() == schema::Item::MEMBER) {
        cert = trust::memberFromSigned(*env);
      }
    }
    cache_.emplace(std::string(site), cert);
    return cert;
  }
  bool revoked(std::string_view site) const override {
    auto v = txn_.get(dbi_.revoked, site);
    return v && v->has_value();
  }
  void forget(std::string_view site) {
    auto it = cache_.find(site);
    if (it != cache_.end()) cache_.erase(it);
  }
  std::vector<trust::Peering> peerings() const override {
    if (!peerings_) {
      peerings_.emplace();
      auto c = lmdb::Cursor::open(txn_, dbi_.peerings);
      std::string_view k, v;
      for (bool ok = c && c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
        auto env = SignedItem::decodeStored(
            std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
        if (!env || env->item.reader().which() != schema::Item::PEERING) continue;
        auto p = trust::peeringFromReader(env->item.reader().getPeering());
        p.home = env->signerKey == root_;
        peerings_->push_back(std::move(p));
      }
    }
    return *peerings_;
  }
  void forgetPeerings() {
    peerings_.reset();
    cache_.clear();
  }
  // The network a record's signer belongs to: "" home, else the peer network ("?" unknown).
  std::string originOf(std::string_view signer) const {
    auto cert = member(signer);
    if (!cert) return {};
    return trust::issuerNetwork(*cert, *this).value_or("?");
  }

 private:
  const lmdb::Txn& txn_;
  const Dbis& dbi_;
  SigningKey root_{};
  bool hasRoot_ = false;
  mutable std::map<std::string, std::optional<trust::MemberCert>, std::less<>> cache_;
  mutable std::optional<std::vector<trust::Peering>> peerings_;
};

Federation::Federation(const lmdb::Txn& txn, const Dbis& dbi, FederationCache* cache)
    : txn_(txn), dbi_(dbi), cache_(cache) {}
Federation::~Federation() = default;

TxnTrust& Federation::trust() const {
  if (!trust_) {
    trust_ = std::make_unique<TxnTrust>(txn_, dbi_);
    (void)trust_->load();
  }
  return *trust_;
}

void Federation::refresh() const {
  const uint64_t id = mdb_txn_id(txn_.get());
  if (cache_->valid_ && cache_->txnId_ == id) return;
  cache_->peerings_ = trust().peerings();
  cache_->origins_.clear();
  cache_->txnId_ = id;
  cache_->valid_ = true;
}

namespace {
// The peerings of a snapshot as a TrustView, for the decisions that look only at peerings.
class PeeringsView final : public trust::TrustView {
 public:
  explicit PeeringsView(const std::vector<trust::Peering>& peerings) : peerings_(peerings) {}
  const SigningKey& rootKey() const override { return root_; }
  std::optional<trust::MemberCert> member(std::string_view) const override { return {}; }
  bool revoked(std::string_view) const override { return false; }
  std::vector<trust::Peering> peerings() const override { return peerings_; }

 private:
  const std::vector<trust::Peering>& peerings_;
  SigningKey root_{};
};

std::vector<std::string> closedNetworks(const std::vector<trust::Peering>& peerings,
                                        const trust::TrustView& view, int64_t now) {
  std::set<std::string> networks;
  for (const auto& p : peerings) networks.insert(p.home ? p.peer : p.network);
  std::vector<std::string> out;
  for (const auto& n : networks) {
    if (trust::peeringClosed(view, n, now)) out.push_back(n);
  }
  return out;
}
}  // namespace

std::vector<std::string> Federation::closed(int64_t now) const {
  if (cache_ == nullptr) return closedNetworks(trust().peerings(), trust(), now);
  std::lock_guard lock(cache_->mutex_);
  refresh();
  if (cache_->peerings_.empty()) return {};
  return closedNetworks(cache_->peerings_, PeeringsView(cache_->peerings_), now);
}

std::string Federation::origin(std::string_view signer) const {
  auto compute = [&] {
    auto o = trust().originOf(signer);
    return o == "?" ? std::string() : o;
  };
  if (cache_ == nullptr) return compute();
  std::lock_guard lock(cache_->mutex_);
  refresh();
  auto it = cache_->origins_.find(signer);
  if (it != cache_->origins_.end()) return it->second;
  if (cache_->origins_.size() >= 4096) cache_->origins_.clear();  // bounded: signers are sites
  return cache_->origins_.emplace(std::string(signer), compute()).first->second;
}

std::string RecordHeader::encode() const {
  std::string out(kSize, '\0');
  std::memcpy(out.data(), &docno, 4);
  std::memcpy(out.data() + 4, &revision, 8);
  out[12] = kind;
  out[13] = status;
  out[14] = country[0];
  out[15] = country[1];
  return out;
}

std::optional<RecordHeader> RecordHeader::decode(std::string_view value) {
  if (value.size() < kSize) return std::nullopt;
  RecordHeader h;
  std::memcpy(&h.docno, value.data(), 4);
  std::memcpy(&h.revision, value.data() + 4, 8);
  h.kind = value[12];
  h.status = value[13];
  h.country[0] = value[14];
  h.country[1] = value[15];
  return h;
}

std::string RecordHeader::kindName() const {
  switch (kind) {
    case 'c':
      return "contact";
    case 'i':
      return "instrument";
    case 'n':
      return "notice";
  }
  return "record";
}

Result<uint32_t> docCount(const lmdb::Txn& txn, const Dbis& dbi) {
  auto v = txn.get(dbi.meta, "next-docno");
  if (!v) return v.error();
  if (!*v || (*v)->size() != 4) return uint32_t{0};
  uint32_t n = 0;
  std::memcpy(&n, (*v)->data(), 4);
  return n;
}

Result<std::optional<uint32_t>> docnoOf(const lmdb::Txn& txn, const Dbis& dbi,
                                        std::string_view id) {
  auto v = txn.get(dbi.ids, id);
  if (!v) return v.error();
  if (!*v) return std::optional<uint32_t>{};
  if ((*v)->size() != 4) return makeError(Errc::kIo, "id " + std::string(id) + ": index damaged");
  uint32_t docno = 0;
  std::memcpy(&docno, (*v)->data(), 4);
  return std::optional<uint32_t>{docno};
}

namespace {

// The envelope as SignedItem::encode() lays it out: a segment table of one segment, the root
// struct (no data, four pointers: payload, signer, signerKey, signature), each a byte list in
// the same segment. Read in place, where it lies (unaligned), with every offset checked against
// the value; false for any other layout (a far pointer, a null, another size), which the
// general decoder then reads.
struct EnvelopeParts {
  std::string_view payload, signer, signerKey, signature;
};

uint64_t wordAt(std::string_view v, size_t word) {
  uint64_t w;
  std::memcpy(&w, v.data() + word * 8, 8);
  return w;
}

// The byte list that pointer `at` (a word index in the segment) points to.
bool byteList(std::string_view segment, size_t at, std::string_view& out) {
  const size_t words = segment.size() / 8;
  const uint64_t p = wordAt(segment, at);
  if ((p & 3) != 1 || ((p >> 32) & 7) != 2) return false;  // a list of bytes
  const auto offset = static_cast<int64_t>(static_cast<int32_t>(p & 0xffffffffU) >> 2);
  const int64_t start = static_cast<int64_t>(at) + 1 + offset;
  const uint64_t count = p >> 35;
  if (start < 0 || static_cast<uint64_t>(start) > words ||
      count > (words - static_cast<uint64_t>(start)) * 8) {
    return false;
  }
  out = segment.substr(static_cast<size_t>(start) * 8, count);
  return true;
}

bool envelopeParts(std::string_view value, EnvelopeParts& out) {
  if (value.size() < 16 || value.size() % 8 != 0) return false;
  const uint64_t table = wordAt(value, 0);
  if ((table & 0xffffffffU) != 0 || (table >> 32) + 1 != value.size() / 8) return false;
  const std::string_view segment = value.substr(8);
  const uint64_t root = wordAt(segment, 0);
  // A struct pointer to no data words and four pointers.
  if ((root & 3) != 0 || ((root >> 32) & 0xffff) != 0 || (root >> 48) != 4) return false;
  const auto offset = static_cast<int64_t>(static_cast<int32_t>(root & 0xffffffffU) >> 2);
  const int64_t first = 1 + offset;
  if (first < 1 || static_cast<uint64_t>(first) + 4 > segment.size() / 8) return false;
  const auto at = static_cast<size_t>(first);
  if (!byteList(segment, at, out.payload) || !byteList(segment, at + 1, out.signer) ||
      !byteList(segment, at + 2, out.signerKey) || !byteList(segment, at + 3, out.signature)) {
    return false;
  }
  // Text ends with its NUL, which is not part of it.
  if (out.signer.empty() || out.signer.back() != '\0') return false;
  out.signer.remove_suffix(1);
  return true;
}

}  // namespace

Status decodeDoc(std::string_view value, uint32_t docno, StoredRecord& out) {
  auto damaged = [&] {
    return makeError(Errc::kIo, "record #" + std::to_string(docno) + ": stored value is damaged");
  };
  if (value.size() <= RecordHeader::kSize) return damaged();
  value.remove_prefix(RecordHeader::kSize);
  // The envelope read where it lies: only its payload (the item) is copied out to be owned.
  if (EnvelopeParts parts; envelopeParts(value, parts)) {
    SignedItem& item = out.signedItem;
    if (parts.signerKey.size() != item.signerKey.size() ||
        parts.signature.size() != item.signature.size() || parts.payload.empty() ||
        parts.payload.size() % 8 != 0) {
      return damaged();
    }
    std::memcpy(item.signerKey.data(), parts.signerKey.data(), parts.signerKey.size());
    std::memcpy(item.signature.data(), parts.signature.data(), parts.signature.size());
    item.signer.assign(parts.signer);
    auto words = kj::heapArray<capnp::word>(parts.payload.size() / sizeof(capnp::word));
    std::memcpy(words.begin(), parts.payload.data(), parts.payload.size());
    item.item = OwnedItem::fromWords(kj::mv(words));
    return {};
  }
  // As SignedItem::decodeStored, without its allocations: the envelope is read from an aligned
  // copy kept per thread, and only its payload (the item) is copied out to be owned. The store
  // holds envelopes this program validated before writing them.
  if (value.size() < 16 || value.size() % 8 != 0) return damaged();
  // (capnp::word cannot be copied, so no std::vector of it: a kj array kept per thread, grown
  // as needed; an unusually large envelope gets one of its own that is not kept.)
  const size_t wordCount = value.size() / sizeof(capnp::word);
  thread_local kj::Array<capnp::word> kept;
  kj::Array<capnp::word> large;
  capnp::word* scratch = nullptr;
  if (wordCount > 8192) {
    large = kj::heapArray<capnp::word>(wordCount);
    scratch = large.begin();
  } else {
    if (kept.size() < wordCount) kept = kj::heapArray<capnp::word>(std::max<size_t>(wordCount, 512));
    scratch = kept.begin();
  }
  std::memcpy(scratch, value.data(), value.size());
  // encode() writes one segment: a segment table of 8 bytes (count - 1 = 0, size), then the root.
  uint32_t table[2];
  std::memcpy(table, scratch, sizeof table);
  if (table[0] != 0 || table[1] + 1 != wordCount) return damaged();
  auto env = capnp::readMessageUnchecked<schema::Envelope>(scratch + 1);
  auto k = env.getSignerKey();
  auto sig = env.getSignature();
  auto payload = env.getPayload();
  SignedItem& item = out.signedItem;
  if (k.size() != item.signerKey.size() || sig.size() != item.signature.size() ||
      payload.size() == 0 || payload.size() % 8 != 0) {
    return damaged();
  }
  std::memcpy(item.signerKey.data(), k.begin(), k.size());
  std::memcpy(item.signature.data(), sig.begin(), sig.size());
  item.signer.assign(env.getSigner().begin(), env.getSigner().size());
  auto words = kj::heapArray<capnp::word>(payload.size() / sizeof(capnp::word));
  std::memcpy(words.begin(), payload.begin(), payload.size());
  item.item = OwnedItem::fromWords(kj::mv(words));
  return {};
}

Result<std::optional<StoredRecord>> readDoc(const lmdb::Txn& txn, const Dbis& dbi, uint32_t docno) {
  auto v = txn.get(dbi.records, docKey(docno));
  if (!v) return v.error();
  if (!*v) return std::optional<StoredRecord>{};
  std::optional<StoredRecord> rec(
      StoredRecord{SignedItem{OwnedItem::fromWords(nullptr), {}, {}, {}}, {}});
  LIAISON_TRY(decodeDoc(**v, docno, *rec));
  return rec;
}

Result<ReaderPool::Lease> ReaderPool::lease(const lmdb::Env& env) {
  {
    std::unique_lock lock(mutex_);
    if (!idle_.empty()) {
      lmdb::Txn txn = std::move(idle_.back());
      idle_.pop_back();
      lock.unlock();
      if (int rc = mdb_txn_renew(txn.get()); rc != 0) {
        return lmdb::lmdbError(rc, "renew read transaction");
      }
      return Lease(*this, std::move(txn));
    }
  }
  auto txn = lmdb::Txn::beginRead(env);
  if (!txn) return txn.error();
  return Lease(*this, std::move(txn).value());
}

ReaderPool::Lease::~Lease() {
  if (pool_ == nullptr || txn_.get() == nullptr) return;
  mdb_txn_reset(txn_.get());
  std::lock_guard lock(pool_->mutex_);
  if (pool_->idle_.size() < kKept) pool_->idle_.push_back(std::move(txn_));
  // (Otherwise the txn's destructor aborts it.)
}

SnapshotCache::Snapshot SnapshotCache::snapshotOf(const lmdb::Txn& txn) {
  MDB_envinfo info{};
  if (mdb_env_info(mdb_txn_env(txn.get()), &info) != 0) return {};
  return {mdb_txn_id(txn.get()), info.me_mapaddr, true};
}

bool SnapshotCache::refresh(const Snapshot& snapshot) {
  if (!snapshot.known) return false;
  if (snapshot.txnId != txnId_ || snapshot.map != map_) {
    terms_.clear();
    if (++generation_ == 0) {  // (after 2^32 snapshots) no slot may look current
      std::fill(records_.begin(), records_.end(), RecordSlot{});
      generation_ = 1;
    }
    docCount_.reset();
    txnId_ = snapshot.txnId;
    map_ = snapshot.map;
  }
  return true;
}

bool SnapshotCache::lookup(const Snapshot& snapshot, std::string_view term, const char** out,
                       uint32_t chunks) {
  std::lock_guard lock(mutex_);
  if (!refresh(snapshot)) return false;
  auto it = terms_.find(term);
  if (it == terms_.end() || it->second.size() != chunks) return false;
  std::copy(it->second.begin(), it->second.end(), out);
  return true;
}

void SnapshotCache::store(const Snapshot& snapshot, std::string_view term, const char* const* chunks,
                      uint32_t count) {
  std::lock_guard lock(mutex_);
  if (!refresh(snapshot)) return;
  if (terms_.size() >= 4096) terms_.clear();  // bounded: terms come from queries
  terms_.insert_or_assign(std::string(term), std::vector<const char*>(chunks, chunks + count));
}

std::optional<uint32_t> SnapshotCache::docCount(const Snapshot& snapshot) {
  std::lock_guard lock(mutex_);
  if (!refresh(snapshot)) return std::nullopt;
  return docCount_;
}

void SnapshotCache::storeDocCount(const Snapshot& snapshot, uint32_t count) {
  std::lock_guard lock(mutex_);
  if (refresh(snapshot)) docCount_ = count;
}

namespace {
size_t recordSlot(uint32_t docno, int bits) {  // Fibonacci hashing
  return static_cast<size_t>((docno * 2654435769U) >> (32 - bits));
}
}  // namespace

void SnapshotCache::records(const Snapshot& snapshot, const uint32_t* docnos, size_t count,
                        std::string_view* values) {
  std::lock_guard lock(mutex_);
  if (!refresh(snapshot) || records_.empty()) return;
  for (size_t i = 0; i < count; ++i) {
    const RecordSlot& slot = records_[recordSlot(docnos[i], kRecordSlotBits)];
    if (slot.generation == generation_ && slot.docno == docnos[i]) {
      values[i] = std::string_view(slot.data, slot.size);
    }
  }
}

void SnapshotCache::storeRecords(const Snapshot& snapshot, const uint32_t* docnos,
                             const std::string_view* values, size_t count) {
  std::lock_guard lock(mutex_);
  if (!refresh(snapshot)) return;
  if (records_.empty()) records_.resize(size_t{1} << kRecordSlotBits);
  for (size_t i = 0; i < count; ++i) {
    if (values[i].empty() || values[i].size() > UINT32_MAX) continue;
    records_[recordSlot(docnos[i], kRecordSlotBits)] = {
        values[i].data(), static_cast<uint32_t>(values[i].size()), docnos[i], generation_};
  }
}

Result<std::optional<StoredRecord>> readRecord(const lmdb::Txn& txn, const Dbis& dbi,
                                               std::string_view id) {
  auto docno = docnoOf(txn, dbi, id);
  if (!docno) return docno.error();
  if (!*docno) return std::optional<StoredRecord>{};
  return readDoc(txn, dbi, **docno);
}

// ---------------------------------------------------------------------------------------------

Directory::Directory(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Directory::~Directory() = default;

namespace {

// Adds (or removes) an active record's name keys: each folded key → docno, and each key's
// single-deletion variants → key, for tolerant matching.
Status indexName(lmdb::Txn& txn, const Dbis& dbi, names::Folder& folder,
                 schema::Record::Reader record, uint32_t docno, bool on) {
  std::set<std::string> keys;
  for (auto& k : folder.keys(nameText(record))) keys.insert(std::move(k));
  std::string doc = u32be(docno);
  for (const auto& key : keys) {
    if (key.empty() || key.size() > 200) continue;
    if (on) {
      // A key's deletions depend on the key alone: they are written when the key first
      // appears, and a key already held by another record has them (most names are shared).
      auto fresh = txn.tryPut(dbi.names, key, doc, MDB_NOOVERWRITE);
      if (!fresh) return fresh.error();
      if (!*fresh) {
        LIAISON_TRY(txn.put(dbi.names, key, doc, MDB_NODUPDATA));
        continue;
      }
      for (const auto& d : names::deletions(key)) {
        LIAISON_TRY(txn.put(dbi.namedel, d, key, MDB_NODUPDATA));
      }
    } else {
      LIAISON_TRY(txn.del(dbi.names, key, std::string_view(doc)));
    }
  }
  return {};
}

// A replica whose name index was built with other folding rules (meta "name-keys" is not
// names::kKeyFormat, or absent: before the national romanizations) is reindexed when opened for
// writing, in the same transaction: every active record's keys again. Readers opened before see
// the old index until this commits.
Status reindexNamesIfStale(lmdb::Txn& txn, const Dbis& dbi, const std::string& dbDir) {
  const std::string want = std::to_string(names::kKeyFormat);
  auto have = txn.get(dbi.meta, "name-keys");
  if (!have) return have.error();
  if (*have && **have == want) return {};
  if (int rc = mdb_drop(txn.get(), dbi.names, 0); rc != 0) {
    return makeError(Errc::kIo, dbDir + ": emptying the name index: " + mdb_strerror(rc));
  }
  if (int rc = mdb_drop(txn.get(), dbi.namedel, 0); rc != 0) {
    return makeError(Errc::kIo, dbDir + ": emptying the name index: " + mdb_strerror(rc));
  }
  names::Folder folder;
  size_t count = 0;
  auto cursor = lmdb::Cursor::open(txn, dbi.ids);
  if (!cursor) return cursor.error();
  std::string_view key, value;
  for (bool ok = cursor->seek({}, MDB_FIRST, &key, &value); ok;
       ok = cursor->seek({}, MDB_NEXT, &key, &value)) {
    if (value.size() != 4) return makeError(Errc::kIo, dbDir + ": id index damaged");
    uint32_t docno = 0;
    std::memcpy(&docno, value.data(), 4);
    auto rec = readDoc(txn, dbi, docno);
    if (!rec) return rec.error();
    if (!*rec || (*rec)->record().getStatus() != "active") continue;
    LIAISON_TRY(indexName(txn, dbi, folder, (*rec)->record(), docno, true));
    ++count;
  }
  if (count > 0) {
    spdlog::info("{}: name index rebuilt for key format {} ({} records)", dbDir, want, count);
  }
  return txn.put(dbi.meta, "name-keys", want);
}

// Every record counted by walking them (what kTallyKey saves).
Result<Tally> walkTally(lmdb::Txn& txn, const Dbis& dbi) {
  Tally t;
  auto cursor = lmdb::Cursor::open(txn, dbi.records);
  if (!cursor) return cursor.error();
  std::string_view key, value;
  for (bool ok = cursor->seek({}, MDB_FIRST, &key, &value); ok;
       ok = cursor->seek({}, MDB_NEXT, &key, &value)) {
    if (auto h = RecordHeader::decode(value)) t.add(h->kind, h->status, +1);
  }
  return t;
}

// The stored tally; nullopt when the replica has none (made before it, or damaged).
Result<std::optional<Tally>> readTally(lmdb::Txn& txn, const Dbis& dbi) {
  auto v = txn.get(dbi.meta, kTallyKey);
  if (!v) return v.error();
  if (!*v || (*v)->size() != 32) return std::optional<Tally>{};
  auto at = [&](size_t i) { return static_cast<int64_t>(readU64be((*v)->substr(i * 8, 8))); };
  return std::optional<Tally>{Tally{at(0), at(1), at(2), at(3)}};
}

Status writeTally(lmdb::Txn& txn, const Dbis& dbi, const Tally& t) {
  std::string v;
  for (int64_t n : {t.contacts, t.instruments, t.notices, t.retired}) {
    v += u64be(static_cast<uint64_t>(std::max<int64_t>(n, 0)));
  }
  return txn.put(dbi.meta, kTallyKey, v);
}

// The tally with `pending` (this transaction's changes, not yet in the stored tally) added; in a
// replica made before the tally, every record walked (the changes among them).
Result<Tally> tallyWith(lmdb::Txn& txn, const Dbis& dbi, const Tally& pending = {}) {
  auto stored = readTally(txn, dbi);
  if (!stored) return stored.error();
  if (!*stored) return walkTally(txn, dbi);
  Tally t = **stored;
  t += pending;
  return t;
}

// A replica opened for writing without a tally is counted once.
Status tallyIfAbsent(lmdb::Txn& txn, const Dbis& dbi) {
  auto stored = readTally(txn, dbi);
  if (!stored) return stored.error();
  if (*stored) return {};
  auto walked = walkTally(txn, dbi);
  if (!walked) return walked.error();
  return writeTally(txn, dbi, *walked);
}

}  // namespace

Result<std::unique_ptr<Directory>> Directory::open(const std::string& dbDir,
                                                   const Options& options) {
  lmdb::Env::Options envOptions;
  envOptions.mapSize = options.mapSize;
  envOptions.readOnly = options.readOnly;
  envOptions.noSync = options.noSync;
  if (options.readOnly) {
    struct stat st {};
    if (::stat((dbDir + "/data.mdb").c_str(), &st) != 0) {
      return makeError(Errc::kNotFound, dbDir + ": no replica here (run `liaison init` first)");
    }
  }
  auto env = lmdb::Env::open(dbDir, envOptions);
  if (!env) return env.error();
  auto impl = std::make_unique<Impl>(Impl{std::move(env).value(), {}, options.readOnly});
  {
    auto txn =
        options.readOnly ? lmdb::Txn::beginRead(impl->env) : lmdb::Txn::beginWrite(impl->env);
    if (!txn) return txn.error();
    struct Spec {
      MDB_dbi* dbi;
      const char* name;
      unsigned flags;
    } specs[] = {
        {&impl->dbi.meta, "meta", 0},
        {&impl->dbi.ids, "ids", 0},
        {&impl->dbi.records, "records", MDB_INTEGERKEY},
        {&impl->dbi.bits, "bits", 0},
        {&impl->dbi.names, "names", MDB_DUPSORT | MDB_DUPFIXED},
        {&impl->dbi.namedel, "namedel", MDB_DUPSORT},
        {&impl->dbi.members, "members", 0},
        {&impl->dbi.revoked, "revoked", 0},
        {&impl->dbi.peerings, "peerings", 0},
    };
    for (auto& s : specs) {
      auto dbi = lmdb::openDbi(*txn, s.name, s.flags);
      if (!dbi) {
        return makeError(dbi.error().code,
                         dbDir + ": " + dbi.error().message +
                             (options.readOnly ? " (not a Liaison replica?)" : ""));
      }
      *s.dbi = *dbi;
    }
    if (!options.readOnly) {
      LIAISON_TRY(txn->put(impl->dbi.meta, "format", "1"));
      LIAISON_TRY(reindexNamesIfStale(*txn, impl->dbi, dbDir));
      LIAISON_TRY(tallyIfAbsent(*txn, impl->dbi));
    }
    // Committing keeps the handles open; an aborted txn would close them (read-only ones too).
    LIAISON_TRY(std::move(*txn).commit());
  }
  return std::unique_ptr<Directory>(new Directory(std::move(impl)));
}

// ---------------------------------------------------------------------------------------------

struct Directory::Batch::State {
  Impl& impl;
  lmdb::Txn txn;
  BitsWriter bits;
  TxnTrust trust;
  names::Folder& folder;  // impl.writerFolder
  uint32_t nextDoc = 0;
  bool nextDocDirty = false;
  Tally tally;  // what this batch adds to the stored tally

  State(Impl& i, lmdb::Txn t)
      : impl(i), txn(std::move(t)), bits(txn, impl.dbi.bits), trust(txn, impl.dbi), folder(*impl.writerFolder) {}

  // `origin`: the network the record came from ("" home). A foreign record is also found by
  // its network ("n:") and withdrawn by it ("o:", whatever its status).
  Status indexRecord(schema::Record::Reader record, uint32_t docno, bool on,
                     const std::string& origin) {
    for (const auto& term : indexTerms(record)) LIAISON_TRY(bits.set(term, docno, on));
    if (!origin.empty()) {
      LIAISON_TRY(bits.set("o:" + origin, docno, on));
      if (record.getStatus() == "active") LIAISON_TRY(bits.set("n:" + origin, docno, on));
    }
    if (record.getStatus() != "active") return {};
    return indexName(txn, impl.dbi, folder, record, docno, on);
  }

  Result<ApplyResult> applyRecord(const SignedItem& item, int64_t now, bool signatureChecked) {
    auto record = item.item.reader().getRecord();
    ApplyResult result{Outcome::kApplied, itemKind(item.item.reader()), str(record.getId()), {}};
    auto existingDoc = docnoOf(txn, impl.dbi, result.id);
    if (!existingDoc) return existingDoc.error();
    std::optional<RecordHeader> header;
    std::optional<trust::Existing> existing;
    std::optional<StoredRecord> old;
    if (*existingDoc) {
      auto existingValue = txn.get(impl.dbi.records, docKey(**existingDoc));
      if (!existingValue) return existingValue.error();
      if (*existingValue) header = RecordHeader::decode(**existingValue);
      if (!header) return makeError(Errc::kIo, "record " + result.id + ": stored value is damaged");
      auto oldDoc = readDoc(txn, impl.dbi, header->docno);
      if (!oldDoc) return oldDoc.error();
      old = std::move(*oldDoc);
      existing = trust::Existing{header->revision, header->kindName(),
                                 header->kind == 'c' ? std::string(header->country, 2) : "",
                                 old ? trust.originOf(old->signedItem.signer) : ""};
    }
    result.decision = trust::verify(item, trust, now, existing, signatureChecked);
    if (!result.decision.accepted()) {
      result.outcome = result.decision.refusal == trust::Refusal::kStaleRevision
                           ? Outcome::kIgnored
                           : Outcome::kRefused;
      return result;
    }
    uint32_t docno = 0;
    if (header) {
      docno = header->docno;
      if (old) LIAISON_TRY(indexRecord(old->record(), docno, false, existing->network));
      if (!existing->network.empty() && trust.originOf(item.signer).empty()) {
        result.collision = true;  // a home record takes the id a peer's record held
      }
    } else {
      docno = nextDoc++;
      nextDocDirty = true;
      LIAISON_ASSERT(nextDoc != 0, "docno space exhausted");
      LIAISON_TRY(txn.put(impl.dbi.ids, result.id,
                          std::string_view(reinterpret_cast<const char*>(&docno), 4)));
    }
    RecordHeader h;
    h.docno = docno;
    h.revision = record.getRevision();
    h.kind = kindCode(record);
    h.status = statusCode(record);
    if (header) tally.add(header->kind, header->status, -1);
    tally.add(h.kind, h.status, +1);
    if (h.kind == 'c') {
      auto country = record.getBody().getContact().getCountry();
      if (country.size() == 2) std::memcpy(h.country, country.begin(), 2);
    }
    std::string value = h.encode();
    Bytes env = item.encode();
    value.append(asView(env));
    LIAISON_TRY(txn.put(impl.dbi.records, docKey(docno), value));
    LIAISON_TRY(indexRecord(record, docno, true, trust.originOf(item.signer)));
    return result;
  }

  // Removes every record and certificate of `network` (its peering ended).
  Result<uint64_t> withdraw(const std::string& network, const SigningKey& peerRoot) {
    LIAISON_TRY(bits.flush());
    Bitmap docs;
    LIAISON_TRY(loadTerm(txn, impl.dbi.bits, "o:" + network, nextDoc, docs));
    uint64_t removed = 0;
    for (size_t w = 0; w < docs.words.size(); ++w) {
      for (uint64_t b = docs.words[w]; b != 0; b &= b - 1) {
        auto docno = static_cast<uint32_t>(w * 64 + static_cast<size_t>(__builtin_ctzll(b)));
        auto rec = readDoc(txn, impl.dbi, docno);
        if (!rec) return rec.error();
        if (!*rec) continue;
        LIAISON_TRY(indexRecord((*rec)->record(), docno, false, network));
        LIAISON_TRY(txn.del(impl.dbi.records, docKey(docno)));
        tally.add(kindCode((*rec)->record()), statusCode((*rec)->record()), -1);
        LIAISON_TRY(txn.del(impl.dbi.ids, str((*rec)->record().getId())));
        ++removed;
      }
    }
    std::vector<std::string> sites;
    {
      auto c = lmdb::Cursor::open(txn, impl.dbi.members);
      if (!c) return c.error();
      std::string_view k, v;
      for (bool ok = c->seek({}, MDB_FIRST, &k, &v); ok; ok = c->seek({}, MDB_NEXT, &k, &v)) {
        auto env = SignedItem::decodeStored(
            std::span(reinterpret_cast<const uint8_t*>(v.data()), v.size()));
        if (env && env->signerKey == peerRoot) sites.emplace_back(k);
      }
    }
    for (const auto& site : sites) {
      LIAISON_TRY(txn.del(impl.dbi.members, site));
      trust.forget(site);
    }
    return removed;
  }

  uint64_t withdrawn = 0;
};

Directory::Batch::Batch(std::unique_ptr<State> state) : s_(std::move(state)) {}
Directory::Batch::Batch(Batch&&) noexcept = default;
Directory::Batch::~Batch() = default;

Result<Directory::Batch> Directory::begin() {
  if (impl_->readOnly) return makeError(Errc::kInvalidInput, "replica opened read-only");
  auto txn = lmdb::Txn::beginWrite(impl_->env);
  if (!txn) return txn.error();
  auto state = std::make_unique<Batch::State>(*impl_, std::move(txn).value());
  LIAISON_TRY(state->trust.load());
  auto n = docCount(state->txn, impl_->dbi);
  if (!n) return n.error();
  state->nextDoc = *n;
  return Batch(std::move(state));
}

Status Directory::Batch::setRoot(const SigningKey& root) {
  LIAISON_TRY(
      s_->txn.put(s_->impl.dbi.meta, "root",
                  std::string_view(reinterpret_cast<const char*>(root.data()), root.size())));
  s_->trust.setRoot(root);
  return {};
}

Result<ApplyResult> Directory::Batch::apply(const SignedItem& item, int64_t now,
                                            bool signatureChecked) {
  auto reader = item.item.reader();
  if (!s_->trust.hasRoot()) {
    return makeError(Errc::kInvalidInput, "replica has no network root (run `liaison init`)");
  }
  switch (reader.which()) {
    case schema::Item::RECORD:
      return s_->applyRecord(item, now, signatureChecked);
    case schema::Item::MEMBER:
    case schema::Item::REVOCATION: {
      ApplyResult result{Outcome::kApplied, itemKind(reader), itemId(reader), {}};
      std::optional<trust::Existing> none;
      result.decision = trust::verify(item, s_->trust, now, none);
      if (!result.decision.accepted()) {
        result.outcome = Outcome::kRefused;
        return result;
      }
      Bytes env = item.encode();
      if (reader.which() == schema::Item::MEMBER) {
        // A certificate replaces an older one only with a later validity start.
        auto current = s_->trust.member(result.id);
        auto incoming = trust::memberFromReader(reader.getMember());
        if (current && current->notBefore > incoming.notBefore) {
          result.outcome = Outcome::kIgnored;
          result.decision = {trust::Refusal::kStaleRevision,
                             "member " + result.id + ": a newer certificate is stored"};
          return result;
        }
        LIAISON_TRY(s_->txn.put(s_->impl.dbi.members, result.id, asView(env)));
      } else {
        LIAISON_TRY(s_->txn.put(s_->impl.dbi.revoked, result.id, asView(env)));
      }
      s_->trust.forget(result.id);
      return result;
    }
    case schema::Item::PEERING: {
      ApplyResult result{Outcome::kApplied, itemKind(reader), itemId(reader), {}};
      result.decision = trust::verify(item, s_->trust, now, std::nullopt, signatureChecked);
      if (!result.decision.accepted()) {
        result.outcome = Outcome::kRefused;
        return result;
      }
      auto incoming = trust::peeringFromReader(reader.getPeering());
      incoming.home = item.signerKey == s_->trust.rootKey();
      std::optional<trust::Peering> current;
      for (auto& p : s_->trust.peerings()) {
        if (p.id == incoming.id && p.home == incoming.home) current = p;
      }
      if (current && current->revision >= incoming.revision) {
        result.outcome = Outcome::kIgnored;
        result.decision = {trust::Refusal::kStaleRevision, "peering " + result.id + ": revision " +
                                                               std::to_string(incoming.revision) +
                                                               " is not above the stored " +
                                                               std::to_string(current->revision)};
        return result;
      }
      // The peer network whose items this peering governs, and the root they were signed under.
      const std::string peerNetwork = incoming.home ? incoming.peer : incoming.network;
      auto home = trust::homePeering(s_->trust, peerNetwork);
      const bool ending = incoming.status == "retired" ||
                          (incoming.home && current && current->peerRoot != incoming.peerRoot);
      Bytes env = item.encode();
      LIAISON_TRY(s_->txn.put(s_->impl.dbi.peerings, (incoming.home ? "0:" : "1:") + result.id,
                              asView(env)));
      if (ending && home) {
        auto removed = s_->withdraw(peerNetwork, home->peerRoot);
        if (!removed) return removed.error();
        s_->withdrawn += *removed;
      }
      s_->trust.forgetPeerings();
      return result;
    }
    case schema::Item::ALERT:
    case schema::Item::ACK: {
      ApplyResult result{Outcome::kRefused, itemKind(reader), itemId(reader), {}};
      result.decision = {trust::Refusal::kInvalid,
                         "alerts travel on the bus, not in the directory"};
      return result;
    }
  }
  return makeError(Errc::kInvalidInput, "unknown item");
}

Status Directory::Batch::setCursor(const Cursor& cursor) {
  char buf[16];
  std::memcpy(buf, &cursor.epoch, 8);
  std::memcpy(buf + 8, &cursor.seq, 8);
  return s_->txn.put(s_->impl.dbi.meta, "cursor", std::string_view(buf, 16));
}

Status Directory::Batch::commit() && {
  LIAISON_TRY(s_->bits.flush());
  if (s_->tally != Tally{}) {
    auto t = tallyWith(s_->txn, s_->impl.dbi, s_->tally);
    if (!t) return t.error();
    LIAISON_TRY(writeTally(s_->txn, s_->impl.dbi, *t));
  }
  if (s_->nextDocDirty) {
    LIAISON_TRY(s_->txn.put(s_->impl.dbi.meta, "next-docno",
                            std::string_view(reinterpret_cast<const char*>(&s_->nextDoc), 4)));
  }
  auto state = std::move(s_);
  return std::move(state->txn).commit();
}

// ---------------------------------------------------------------------------------------------

Result<std::optional<SigningKey>> Directory::root() const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  auto v = txn->get(impl_->dbi.meta, "root");
  if (!v) return v.error();
  if (!*v || (*v)->size() != 32) return std::optional<SigningKey>{};
  SigningKey k{};
  std::memcpy(k.data(), (*v)->data(), 32);
  return std::optional<SigningKey>{k};
}

Result<Cursor> Directory::cursor() const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  auto v = txn->get(impl_->dbi.meta, "cursor");
  if (!v) return v.error();
  Cursor c;
  if (*v && (*v)->size() == 16) {
    std::memcpy(&c.epoch, (*v)->data(), 8);
    std::memcpy(&c.seq, (*v)->data() + 8, 8);
  }
  return c;
}

Result<std::optional<StoredRecord>> Directory::get(std::string_view id) const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  auto rec = readRecord(*txn, impl_->dbi, id);
  if (!rec || !*rec) return rec;
  Federation federation(*txn, impl_->dbi, impl_->federation.get());
  (*rec)->network = federation.origin((*rec)->signedItem.signer);
  return rec;
}

Result<std::vector<trust::Peering>> Directory::peerings() const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  TxnTrust view(*txn, impl_->dbi);
  LIAISON_TRY(view.load());
  return view.peerings();
}

Result<std::optional<trust::MemberCert>> Directory::member(std::string_view site) const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  TxnTrust view(*txn, impl_->dbi);
  return view.member(site);
}

Result<trust::Decision> Directory::verifyOther(const SignedItem& item, int64_t now,
                                               bool signatureChecked) const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  TxnTrust view(*txn, impl_->dbi);
  LIAISON_TRY(view.load());
  if (!view.hasRoot()) return makeError(Errc::kInvalidInput, "this replica has no network root");
  return trust::verify(item, view, now, std::nullopt, signatureChecked);
}

Result<Counts> Directory::counts() const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  auto t = tallyWith(*txn, impl_->dbi);
  if (!t) return t.error();
  Counts counts;
  counts.contacts = static_cast<uint64_t>(t->contacts);
  counts.instruments = static_cast<uint64_t>(t->instruments);
  counts.notices = static_cast<uint64_t>(t->notices);
  counts.retired = static_cast<uint64_t>(t->retired);
  {
    TxnTrust view(*txn, impl_->dbi);
    LIAISON_TRY(view.load());
    auto docs = docCount(*txn, impl_->dbi);
    if (!docs) return docs.error();
    for (const auto& p : view.peerings()) {
      const std::string& network = p.home ? p.peer : p.network;
      Bitmap bits;
      LIAISON_TRY(loadTerm(*txn, impl_->dbi.bits, "o:" + network, *docs, bits));
      uint64_t n = 0;
      for (auto w : bits.words) n += static_cast<uint64_t>(__builtin_popcountll(w));
      counts.fromPeers[network] = n;
    }
  }
  MDB_stat st{};
  if (mdb_stat(txn->get(), impl_->dbi.members, &st) == 0) counts.members = st.ms_entries;
  if (mdb_stat(txn->get(), impl_->dbi.revoked, &st) == 0) counts.revoked = st.ms_entries;
  return counts;
}

Status Directory::forEachRecord(const std::function<void(const StoredRecord&)>& fn) const {
  auto txn = lmdb::Txn::beginRead(impl_->env);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, impl_->dbi.ids);
  if (!cursor) return cursor.error();
  std::string_view key, value;
  for (bool ok = cursor->seek({}, MDB_FIRST, &key, &value); ok;
       ok = cursor->seek({}, MDB_NEXT, &key, &value)) {
    if (value.size() != 4) return makeError(Errc::kIo, "id index damaged");
    uint32_t docno = 0;
    std::memcpy(&docno, value.data(), 4);
    auto rec = readDoc(*txn, impl_->dbi, docno);
    if (!rec) return rec.error();
    if (*rec) fn(**rec);
  }
  return {};
}

Result<uint64_t> Directory::diskBytes() const {
  MDB_envinfo info{};
  MDB_stat st{};
  if (mdb_env_info(impl_->env.get(), &info) != 0 || mdb_env_stat(impl_->env.get(), &st) != 0) {
    return makeError(Errc::kIo, "cannot read replica size");
  }
  return static_cast<uint64_t>(info.me_last_pgno + 1) * st.ms_psize;
}

}  // namespace liaison::directory
