#include "common/lmdb.h"

#include "common/files.h"

#include <sys/stat.h>

namespace liaison::lmdb {

Error lmdbError(int rc, const std::string& context) {
  Errc code = rc == MDB_MAP_FULL || rc == ENOSPC ? Errc::kIo
              : rc == MDB_NOTFOUND              ? Errc::kNotFound
                                                : Errc::kIo;
  return makeError(code, context + ": " + mdb_strerror(rc));
}

Result<Env> Env::open(const std::string& path, const Options& options) {
  MDB_env* env = nullptr;
  int rc = mdb_env_create(&env);
  if (rc != 0) return lmdbError(rc, path);
  Env out(env);
  if ((rc = mdb_env_set_mapsize(env, options.mapSize)) != 0 ||
      (rc = mdb_env_set_maxdbs(env, options.maxDbs)) != 0 ||
      (rc = mdb_env_set_maxreaders(env, options.maxReaders)) != 0) {
    return lmdbError(rc, path);
  }
  unsigned flags = MDB_NOTLS;
  if (options.readOnly) flags |= MDB_RDONLY;
  if (options.noSync) flags |= MDB_NOSYNC;
  if (options.writeMap && !options.readOnly) flags |= MDB_WRITEMAP;
  if (!options.readOnly) ::mkdir(path.c_str(), 0700);
  rc = mdb_env_open(env, path.c_str(), flags, 0600);
  if (rc != 0) return lmdbError(rc, path);
  return out;
}

Env& Env::operator=(Env&& other) noexcept {
  if (this != &other) {
    if (env_ != nullptr) mdb_env_close(env_);
    env_ = std::exchange(other.env_, nullptr);
  }
  return *this;
}

Env::~Env() {
  if (env_ != nullptr) mdb_env_close(env_);
}

Status Env::sync() {
  int rc = mdb_env_sync(env_, 1);
  if (rc != 0) return lmdbError(rc, "sync");
  return {};
}

Result<Txn> Txn::beginRead(const Env& env) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, MDB_RDONLY, &txn);
  if (rc != 0) return lmdbError(rc, "begin read transaction");
  return Txn(txn, true);
}

Result<Txn> Txn::beginWrite(Env& env) {
  MDB_txn* txn = nullptr;
  int rc = mdb_txn_begin(env.get(), nullptr, 0, &txn);
  if (rc != 0) return lmdbError(rc, "begin write transaction");
  return Txn(txn, false);
}

Status Txn::commit() && {
  MDB_txn* txn = std::exchange(txn_, nullptr);
  int rc = mdb_txn_commit(txn);
  if (rc != 0) return lmdbError(rc, "commit");
  return {};
}

void Txn::abort() {
  if (txn_ != nullptr) mdb_txn_abort(std::exchange(txn_, nullptr));
}

Result<std::optional<std::string_view>> Txn::get(MDB_dbi dbi, std::string_view key) const {
  MDB_val k = val(key);
  MDB_val v{};
  int rc = mdb_get(txn_, dbi, &k, &v);
  if (rc == MDB_NOTFOUND) return std::optional<std::string_view>{};
  if (rc != 0) return lmdbError(rc, "get");
  return std::optional<std::string_view>{view(v)};
}

Status Txn::put(MDB_dbi dbi, std::string_view key, std::string_view value, unsigned flags) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, flags);
  if (rc != 0 && !(rc == MDB_KEYEXIST && (flags & (MDB_NODUPDATA | MDB_NOOVERWRITE)) != 0)) {
    return lmdbError(rc, "put");
  }
  return {};
}

Status Txn::del(MDB_dbi dbi, std::string_view key, std::optional<std::string_view> value) {
  MDB_val k = val(key);
  MDB_val v{};
  if (value) v = val(*value);
  int rc = mdb_del(txn_, dbi, &k, value ? &v : nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdbError(rc, "delete");
  return {};
}

Result<MDB_dbi> openDbi(Txn& txn, const char* name, unsigned flags) {
  MDB_dbi dbi = 0;
  int rc = mdb_dbi_open(txn.get(), name, flags | (txn.readOnly() ? 0 : MDB_CREATE), &dbi);
  if (rc != 0) return lmdbError(rc, std::string("open database ") + name);
  return dbi;
}

Result<Cursor> Cursor::open(const Txn& txn, MDB_dbi dbi) {
  MDB_cursor* c = nullptr;
  int rc = mdb_cursor_open(txn.get(), dbi, &c);
  if (rc != 0) return lmdbError(rc, "open cursor");
  return Cursor(c);
}

Cursor::~Cursor() {
  if (cursor_ != nullptr) mdb_cursor_close(cursor_);
}

bool Cursor::seek(std::string_view key, MDB_cursor_op op, std::string_view* keyOut,
                  std::string_view* valueOut, std::string_view value) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  int rc = mdb_cursor_get(cursor_, &k, &v, op);
  if (rc != 0) return false;
  if (keyOut != nullptr) *keyOut = view(k);
  if (valueOut != nullptr) *valueOut = view(v);
  return true;
}

Result<Env> openWithDatabases(const std::string& dir, size_t mapSize,
                              std::initializer_list<std::pair<MDB_dbi*, const char*>> databases) {
  LIAISON_TRY(makeDirectories(dir, 0700));
  Env::Options options;
  options.mapSize = mapSize;
  options.maxDbs = static_cast<unsigned>(databases.size()) + 2;
  auto env = Env::open(dir, options);
  if (!env) return env.error();
  auto txn = Txn::beginWrite(*env);
  if (!txn) return txn.error();
  for (auto [dbi, name] : databases) {
    auto d = openDbi(*txn, name, MDB_CREATE);
    if (!d) return d.error();
    *dbi = *d;
  }
  LIAISON_TRY(std::move(*txn).commit());
  return env;
}

}  // namespace liaison::lmdb
