// Internal to directory/: the LMDB handles and the record value layout.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <optional>
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

// The stored chunks of index terms (directory/index.h), as pointers into the map, kept between
// finds of one snapshot: finding them again was a tenth of a find. A pointer stays valid while a
// read txn of its snapshot is open (LMDB reuses no page such a reader can see), and only a reader
// of that snapshot is given it. Keyed by the snapshot's txn id and the map's address. Thread-safe.
class TermCache {
 public:
  // Copies the chunk pointers of `term` into out[0..chunks) if they are known for `txn`'s
  // snapshot; false otherwise.
  bool lookup(const lmdb::Txn& txn, std::string_view term, const char** out, uint32_t chunks);
  void store(const lmdb::Txn& txn, std::string_view term, const char* const* chunks,
             uint32_t count);

 private:
  // With the lock held: makes the cache hold `txn`'s snapshot; false if it cannot tell which.
  bool refresh(const lmdb::Txn& txn);

  std::mutex mutex_;
  uint64_t txnId_ = 0;
  void* map_ = nullptr;
  std::map<std::string, std::vector<const char*>, std::less<>> terms_;
};

struct Directory::Impl {
  lmdb::Env env;
  Dbis dbi;
  bool readOnly = false;
  std::unique_ptr<FederationCache> federation = std::make_unique<FederationCache>();
  std::unique_ptr<TermCache> terms = std::make_unique<TermCache>();
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
