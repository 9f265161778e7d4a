// One RAII type per LMDB handle: Env, Txn (write txns commit explicitly; the destructor
// aborts), Cursor. Non-copyable. A write Txn belongs to the thread that began it.
// Values returned as string_view point into the map and are valid until the txn ends.
#pragma once

#include <lmdb.h>

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>

#include "common/result.h"

namespace liaison::lmdb {

Error lmdbError(int rc, const std::string& context);

class Env {
 public:
  struct Options {
    size_t mapSize = size_t{4} << 30;  // 4 GiB of address space; grows on disk only as used
    unsigned maxDbs = 16;
    unsigned maxReaders = 126;
    bool readOnly = false;
    bool noSync = false;  // tests and benchmarks of the page cache only
    // Writes go straight into the file's mapping (MDB_WRITEMAP) instead of pages allocated for
    // the transaction: a large transaction costs the daemon no memory of its own. The file is
    // then as large as the map from the start (sparse: disk is used only as pages are written).
    bool writeMap = false;
  };
  // Opens (creating when writable) the environment in directory `path`.
  static Result<Env> open(const std::string& path, const Options& options);

  Env(Env&& other) noexcept
      : env_(std::exchange(other.env_, nullptr)), journal_(std::exchange(other.journal_, nullptr)) {}
  Env& operator=(Env&& other) noexcept;
  Env(const Env&) = delete;
  Env& operator=(const Env&) = delete;
  ~Env();

  MDB_env* get() const { return env_; }
  Status sync();

  // Replication (the broker pair): while a journal is set, every write transaction that commits
  // appends what it wrote to it, for a copy of this environment to apply with applyJournal().
  // Aborted transactions append nothing. nullptr stops journaling.
  void setJournal(std::string* journal) { journal_ = journal; }
  std::string* journal() const { return journal_; }

 private:
  explicit Env(MDB_env* env) : env_(env) {}
  MDB_env* env_ = nullptr;
  std::string* journal_ = nullptr;
};

class Txn {
 public:
  static Result<Txn> beginRead(const Env& env);
  static Result<Txn> beginWrite(Env& env);

  Txn(Txn&& other) noexcept
      : txn_(std::exchange(other.txn_, nullptr)),
        readOnly_(other.readOnly_),
        journal_(std::exchange(other.journal_, nullptr)),
        written_(std::move(other.written_)) {}
  Txn& operator=(Txn&&) = delete;
  Txn(const Txn&) = delete;
  Txn& operator=(const Txn&) = delete;
  ~Txn() { abort(); }

  // Consumes the txn. On failure nothing was written.
  Status commit() &&;
  void abort();

  MDB_txn* get() const { return txn_; }
  bool readOnly() const { return readOnly_; }

  // nullopt when the key is absent; an error only when LMDB failed.
  Result<std::optional<std::string_view>> get(MDB_dbi dbi, std::string_view key) const;
  Status put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags = 0);
  // As put, telling whether it wrote: false when MDB_NOOVERWRITE found the key (with
  // MDB_DUPSORT, any value of it) or MDB_NODUPDATA the pair.
  Result<bool> tryPut(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags);
  // Deletes the key (or one duplicate when `value` is given); absent is not an error.
  Status del(MDB_dbi dbi, std::string_view key, std::optional<std::string_view> value = {});

 private:
  Txn(MDB_txn* txn, bool readOnly) : txn_(txn), readOnly_(readOnly) {}
  friend Status applyJournal(Env& env, std::string_view journal);
  void record(char op, MDB_dbi dbi, std::string_view key, const std::string_view* value);
  MDB_txn* txn_ = nullptr;
  bool readOnly_ = true;
  std::string* journal_ = nullptr;  // the env's, when journaling
  std::string written_;             // this txn's part of the journal, appended at commit
};

// Applies a journal (Env::setJournal) to a copy of the environment it came from, in one synced
// write transaction. The copy must have opened the same named databases in the same order (the
// journal names databases by handle). On error (a malformed journal, LMDB failing) nothing was
// written.
Status applyJournal(Env& env, std::string_view journal);

// Opens (creating) an environment of its own in `dir` (made 0700 when missing) and its named
// databases (created when missing), setting each handle: the common case of a small store.
Result<Env> openWithDatabases(const std::string& dir, size_t mapSize,
                              std::initializer_list<std::pair<MDB_dbi*, const char*>> databases);

// Opens (creating in a write txn) a named database. The handle stays valid for the Env.
Result<MDB_dbi> openDbi(Txn& txn, const char* name, unsigned flags);

class Cursor {
 public:
  static Result<Cursor> open(const Txn& txn, MDB_dbi dbi);
  Cursor(Cursor&& other) noexcept : cursor_(std::exchange(other.cursor_, nullptr)) {}
  Cursor(const Cursor&) = delete;
  Cursor& operator=(const Cursor&) = delete;
  ~Cursor();

  // Positions the cursor; false when there is no such entry (MDB_NOTFOUND).
  bool seek(std::string_view key, MDB_cursor_op op, std::string_view* keyOut,
            std::string_view* valueOut, std::string_view value = {});
  MDB_cursor* get() const { return cursor_; }

 private:
  explicit Cursor(MDB_cursor* c) : cursor_(c) {}
  MDB_cursor* cursor_ = nullptr;
};

inline MDB_val val(std::string_view s) {
  return MDB_val{s.size(), const_cast<char*>(s.data())};
}
inline std::string_view view(const MDB_val& v) {
  return {static_cast<const char*>(v.mv_data), v.mv_size};
}

}  // namespace liaison::lmdb
