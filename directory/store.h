// Internal to directory/: the LMDB handles and the record value layout.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string_view>
#include <vector>

#include "common/lmdb.h"
#include "directory/directory.h"
#include "directory/names.h"

namespace liaison::directory {

struct Dbis {
  MDB_dbi meta = 0, ids = 0, records = 0, bits = 0, names = 0, namedel = 0, members = 0,
          revoked = 0, peerings = 0;
};

// The fixed header before the envelope in a `records` value.
struct RecordHeader {
  uint32_t docno = 0;
  uint64_t revision = 0;
  char kind = 'c';     // c(ontact) i(nstrument) n(otice)
  char status = 'a';   // a(ctive) s(uspended) r(etired)
  char country[2] = {0, 0};
  static constexpr size_t kSize = 16;

  std::string encode() const;
  static std::optional<RecordHeader> decode(std::string_view value);
  std::string kindName() const;
};

class TxnTrust;
class Federation;

// What Federation reads from one snapshot of the replica (the peerings, and the network of each
// signer asked about so far), kept between reads: decoding them again cost more than the rest of
// a find. Keyed by the snapshot's LMDB txn id, which every commit changes. Thread-safe.
class FederationCache {
 private:
  friend class Federation;
  std::mutex mutex_;
  bool valid_ = false;
  uint64_t txnId_ = 0;
  std::vector<trust::Peering> peerings_;
  std::map<std::string, std::string, std::less<>> origins_;
};

// What a find looks up in one snapshot, as pointers into the map, kept between finds of that
// snapshot: the stored chunks of index terms (directory/index.h; finding them again was a tenth
// of a find), the number of docnos, and where the records of hits lie (a record's B-tree
// descent, a binary search through branch pages that are seldom in the nearest caches, cost a
// find more than reading the record). A pointer stays valid while a read txn of its snapshot is
// open (LMDB reuses no page such a reader can see), and only a reader of that snapshot is given
// it. Keyed by the snapshot's txn id and the map's address: any commit empties it. Bounded:
// 4,096 terms (emptied when full); records in a direct-mapped table of 16,384 slots (384 KiB,
// made at the first find), a record replacing the one in its slot. Thread-safe.
class SnapshotCache {
 public:
  // Which snapshot a read txn sees (taken once per find).
  struct Snapshot {
    uint64_t txnId = 0;
    void* map = nullptr;
    bool known = false;  // false: LMDB could not tell; nothing is cached for it
  };
  static Snapshot snapshotOf(const lmdb::Txn& txn);

  // Copies the chunk pointers of `term` into out[0..chunks) if they are known for the
  // snapshot; false otherwise.
  bool lookup(const Snapshot& snapshot, std::string_view term, const char** out, uint32_t chunks);
  void store(const Snapshot& snapshot, std::string_view term, const char* const* chunks,
             uint32_t count);
  // The number of docnos handed out as of the snapshot, if known.
  std::optional<uint32_t> docCount(const Snapshot& snapshot);
  void storeDocCount(const Snapshot& snapshot, uint32_t count);
  // Sets values[i] to the `records` value of docnos[i] where it is known for the snapshot (and
  // leaves the others as they are).
  void records(const Snapshot& snapshot, const uint32_t* docnos, size_t count,
               std::string_view* values);
  // Keeps the values of docnos[i] (the non-empty ones).
  void storeRecords(const Snapshot& snapshot, const uint32_t* docnos,
                    const std::string_view* values, size_t count);

 private:
  // With the lock held: makes the cache hold `snapshot`; false if it is not known.
  bool refresh(const Snapshot& snapshot);

  std::mutex mutex_;
  uint64_t txnId_ = 0;
  void* map_ = nullptr;
  std::optional<uint32_t> docCount_;
  std::map<std::string, std::vector<const char*>, std::less<>> terms_;
  // Direct-mapped by docno; a slot holds a record of this snapshot when its generation is
  // `generation_` (so that emptying the table is a new generation).
  struct RecordSlot {
    const char* data = nullptr;
    uint32_t size = 0, docno = 0, generation = 0;
  };
  static constexpr int kRecordSlotBits = 14;
  std::vector<RecordSlot> records_;
  uint32_t generation_ = 1;
};

// Read transactions kept open between reads, reset (they hold a reader slot but no snapshot),
// and renewed for the next read: beginning one costs a reader-table scan under its lock and an
// allocation, a tenth of a find. The environment is opened with MDB_NOTLS, so any thread may
// renew one. At most kKept are kept; more may be lent at once. Thread-safe. Every lease must
// be of the same env, which must outlive the pool.
class ReaderPool {
 public:
  // A read transaction of the last committed state, given back to the pool when it ends.
  class Lease {
   public:
    Lease(ReaderPool& pool, lmdb::Txn txn) : pool_(&pool), txn_(std::move(txn)) {}
    Lease(Lease&& other) noexcept
        : pool_(std::exchange(other.pool_, nullptr)), txn_(std::move(other.txn_)) {}
    Lease& operator=(Lease&&) = delete;
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease();
    const lmdb::Txn& txn() const { return txn_; }

   private:
    ReaderPool* pool_;
    lmdb::Txn txn_;
  };
  Result<Lease> lease(const lmdb::Env& env);

 private:
  static constexpr size_t kKept = 8;
  std::mutex mutex_;
  std::vector<lmdb::Txn> idle_;  // reset
};

struct Directory::Impl {
  lmdb::Env env;
  Dbis dbi;
  bool readOnly = false;
  // Declared after `env`: its transactions end before the env closes.
  std::unique_ptr<ReaderPool> readers = std::make_unique<ReaderPool>();
  std::unique_ptr<FederationCache> federation = std::make_unique<FederationCache>();
  std::unique_ptr<SnapshotCache> snapshotCache = std::make_unique<SnapshotCache>();
  // The writer's name folder, kept for the life of the directory: building its ICU
  // transliterator costs about as much as indexing a few hundred names, and only one write
  // batch exists at a time (LMDB's write lock), so every batch uses this one.
  std::unique_ptr<names::Folder> writerFolder = std::make_unique<names::Folder>();
};

// Federation as seen from one read transaction: which peer networks' records are served now, and
// which network a record's signer belongs to. Borrows `txn`, which must outlive it, and `cache`
// (may be null: nothing kept between transactions).
class Federation {
 public:
  Federation(const lmdb::Txn& txn, const Dbis& dbi, FederationCache* cache = nullptr);
  ~Federation();
  // Peer networks whose records are not served at `now`: a peering missing, ended or expired.
  std::vector<std::string> closed(int64_t now) const;
  // "" for a home signer (or unknown), else the peer network.
  std::string origin(std::string_view signer) const;

 private:
  TxnTrust& trust() const;
  // Makes the cache hold this txn's snapshot (with its lock held).
  void refresh() const;

  const lmdb::Txn& txn_;
  const Dbis& dbi_;
  FederationCache* cache_;
  mutable std::unique_ptr<TxnTrust> trust_;  // made on first need
};

// Reads the number of docnos handed out so far.
Result<uint32_t> docCount(const lmdb::Txn& txn, const Dbis& dbi);
Result<std::optional<StoredRecord>> readRecord(const lmdb::Txn& txn, const Dbis& dbi,
                                               std::string_view id);
Result<std::optional<StoredRecord>> readDoc(const lmdb::Txn& txn, const Dbis& dbi, uint32_t docno);
// Decodes a `records` value (header and envelope) of `docno` into `out`.
Status decodeDoc(std::string_view value, uint32_t docno, StoredRecord& out);

}  // namespace liaison::directory
