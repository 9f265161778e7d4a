#include "common/lmdb.h"

#include "common/files.h"

#include <sys/stat.h>

#include <cstring>

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
  Txn out(txn, false);
  out.journal_ = env.journal();
  return out;
}

Status Txn::commit() && {
  MDB_txn* txn = std::exchange(txn_, nullptr);
  int rc = mdb_txn_commit(txn);
  if (rc != 0) return lmdbError(rc, "commit");
  if (journal_ != nullptr) journal_->append(written_);
  written_.clear();
  return {};
}

namespace {

// Journal records: [op 'P'|'D'][u32 dbi][u32 key size][key][u32 value size or kNoValue][value].
constexpr uint32_t kNoValue = 0xffffffffU;

void appendU32(std::string& out, uint32_t v) { out.append(reinterpret_cast<const char*>(&v), 4); }

}  // namespace

void Txn::record(char op, MDB_dbi dbi, std::string_view key, const std::string_view* value) {
  written_.push_back(op);
  appendU32(written_, dbi);
  appendU32(written_, static_cast<uint32_t>(key.size()));
  written_.append(key);
  appendU32(written_, value != nullptr ? static_cast<uint32_t>(value->size()) : kNoValue);
  if (value != nullptr) written_.append(*value);
}

Status applyJournal(Env& env, std::string_view journal) {
  auto txn = Txn::beginWrite(env);
  if (!txn) return txn.error();
  txn->journal_ = nullptr;  // a copy applying changes does not journal them again
  size_t at = 0;
  auto u32 = [&](uint32_t& v) {
    if (journal.size() - at < 4) return false;
    std::memcpy(&v, journal.data() + at, 4);
    at += 4;
    return true;
  };
  auto bytes = [&](uint32_t n, std::string_view& out) {
    if (journal.size() - at < n) return false;
    out = journal.substr(at, n);
    at += n;
    return true;
  };
  while (at < journal.size()) {
    const char op = journal[at++];
    uint32_t dbi = 0, keySize = 0, valueSize = 0;
    std::string_view key, value;
    if ((op != 'P' && op != 'D') || !u32(dbi) || !u32(keySize) || !bytes(keySize, key) || !u32(valueSize) ||
        (valueSize != kNoValue && !bytes(valueSize, value))) {
      return makeError(Errc::kInvalidInput, "journal malformed at byte " + std::to_string(at));
    }
    if (op == 'P') {
      LIAISON_TRY(txn->put(dbi, key, value));
    } else {
      LIAISON_TRY(txn->del(dbi, key, valueSize == kNoValue ? std::nullopt : std::optional(value)));
    }
  }
  return std::move(*txn).commit();
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
  auto wrote = tryPut(dbi, key, value, flags);
  if (!wrote) return wrote.error();
  return {};
}

Result<bool> Txn::tryPut(MDB_dbi dbi, std::string_view key, std::string_view value,
                         unsigned flags) {
  MDB_val k = val(key);
  MDB_val v = val(value);
  int rc = mdb_put(txn_, dbi, &k, &v, flags);
  if (rc == MDB_KEYEXIST && (flags & (MDB_NODUPDATA | MDB_NOOVERWRITE)) != 0) return false;
  if (rc != 0) return lmdbError(rc, "put");
  if (journal_ != nullptr) record('P', dbi, key, &value);
  return true;
}

Status Txn::del(MDB_dbi dbi, std::string_view key, std::optional<std::string_view> value) {
  MDB_val k = val(key);
  MDB_val v{};
  if (value) v = val(*value);
  int rc = mdb_del(txn_, dbi, &k, value ? &v : nullptr);
  if (rc != 0 && rc != MDB_NOTFOUND) return lmdbError(rc, "delete");
  if (rc == 0 && journal_ != nullptr) record('D', dbi, key, value ? &*value : nullptr);
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
