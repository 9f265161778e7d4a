// `liaison request send|list|show|open|status`: MLA requests through the site daemon's local API
// (site/api.h). The daemon seals a request and its files to the recipient, sends them and holds
// the signed trail; this command hands it the plaintext, chunk by chunk, and reads back what it
// holds. Files are read and written a chunk at a time (the daemon's chunkBytes, 1 MiB), so memory
// stays bounded whatever their size.
#include <fcntl.h>
#include <sodium.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <map>
#include <set>
#include <thread>
#include <utility>

#include "cli/api_client.h"
#include "cli/commands.h"
#include "cli/output.h"
#include "common/clock.h"
#include "common/encoding.h"
#include "common/files.h"

namespace liaison::cli {

namespace {

using json::Json;

// The largest chunk this command takes from the daemon's "chunkBytes" (it says 1 MiB): a bound
// on the memory one chunk may cost.
constexpr uint64_t kMaxChunkBytes = uint64_t{16} << 20;
// How much of a file is read at a time to measure it.
constexpr size_t kReadBytes = size_t{1} << 20;
constexpr auto kPollInterval = std::chrono::milliseconds(200);

// Accessors that never throw on an answer of an unexpected shape.
std::string text(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_string() ? j[key].get<std::string>()
                                                                : std::string();
}
uint64_t count(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_number_unsigned() ? j[key].get<uint64_t>()
                                                                         : 0;
}
bool flag(const Json& j, const char* key) {
  return j.is_object() && j.contains(key) && j[key].is_boolean() && j[key].get<bool>();
}
const Json& member(const Json& j, const char* key) {
  static const Json kNull;
  return j.is_object() && j.contains(key) ? j[key] : kNull;
}
std::string timeOf(const Json& j, const char* key) {
  const Json& t = member(j, key);
  return t.is_number_integer() ? formatTimestamp(t.get<int64_t>()) : "-";
}
std::string joinedStrings(const Json& list) {
  std::string out;
  if (!list.is_array()) return out;
  for (const auto& s : list) {
    if (s.is_string()) out += (out.empty() ? "" : ", ") + s.get<std::string>();
  }
  return out;
}
// A refusal as the daemon gives it: a sentence, or a structure shown as JSON.
std::string refusalText(const Json& request) {
  const Json& r = member(request, "refusal");
  if (r.is_string()) return r.get<std::string>();
  return r.is_null() ? std::string() : r.dump();
}

// An answer other than the expected one, as an error carrying the daemon's "error" as is.
Error answerError(int status, const Json& body) {
  std::string message = text(body, "error");
  if (message.empty()) message = "the site daemon answered HTTP " + std::to_string(status);
  Errc code = status == 404   ? Errc::kNotFound
              : status == 409 ? Errc::kConflict
              : status >= 500 ? Errc::kUnavailable
                              : Errc::kInvalidInput;
  return makeError(code, message);
}

// The same error with what was being done in front.
Error inContext(const std::string& context, const Error& e) {
  return makeError(e.code, context + ": " + e.message);
}

// A request id as the daemon makes them (a UUID): anything else names no request, and is never
// put into a path.
bool isRequestId(std::string_view id) {
  if (id.size() != 36) return false;
  for (size_t i = 0; i < id.size(); ++i) {
    const bool dash = i == 8 || i == 13 || i == 18 || i == 23;
    if (dash ? id[i] != '-' : !std::isxdigit(static_cast<unsigned char>(id[i]))) return false;
  }
  return true;
}

Status checkRequestId(const std::string& id) {
  if (!isRequestId(id)) return makeError(Errc::kNotFound, "no request " + id + " (ids are UUIDs)");
  return {};
}

Result<ApiClient> daemonOf(const Context& ctx) {
  auto config = siteConfig(ctx);
  if (!config) return config.error();
  if (!config->networked()) {
    return makeError(Errc::kInvalidInput,
                     config->dir +
                         " is a standalone site: requests travel on a network's bus "
                         "(make the site with --broker)");
  }
  return ApiClient::find(*config);
}

// GET of a JSON answer; anything but 200 is an error.
Result<Json> getJson(const ApiClient& api, const std::string& path) {
  auto answer = api.getBytes(path);
  if (!answer) return answer.error();
  Json body = Json::parse(answer->second, nullptr, /*allow_exceptions=*/false);
  if (answer->first != 200) return answerError(answer->first, body);
  if (body.is_discarded() || !body.is_object()) {
    return makeError(
        Errc::kIo, "the site daemon at " + api.endpoint() + " answered " + path + " without JSON");
  }
  return body;
}

// POST of a JSON body; `expected` is the status of success, anything else is an error.
Result<Json> postJson(const ApiClient& api, const std::string& path, const Json& body,
                      int expected = 200) {
  auto answer = api.call("POST", path, body.dump());
  if (!answer) return answer.error();
  if (answer->first != expected) return answerError(answer->first, answer->second);
  return std::move(answer->second);
}

// An open file descriptor, closed once.
class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  Fd& operator=(Fd&&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

Result<Fd> openForReading(const std::string& path) {
  Fd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (fd.get() < 0) return makeError(Errc::kIo, path + ": " + std::strerror(errno));
  return fd;
}

// Up to `want` bytes (fewer only at the end of the file).
Result<std::string> readUpTo(int fd, size_t want, const std::string& path) {
  std::string out(want, '\0');
  size_t done = 0;
  while (done < want) {
    ssize_t n = ::read(fd, out.data() + done, want - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(Errc::kIo, path + ": " + std::strerror(errno));
    if (n == 0) break;
    done += static_cast<size_t>(n);
  }
  out.resize(done);
  return out;
}

Status writeAll(int fd, std::string_view bytes, const std::string& path) {
  while (!bytes.empty()) {
    ssize_t n = ::write(fd, bytes.data(), bytes.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return makeError(Errc::kIo, path + ": " + std::strerror(errno));
    bytes.remove_prefix(static_cast<size_t>(n));
  }
  return {};
}

// SHA-256 over bytes given piece by piece (libsodium's streaming interface).
class Sha256 {
 public:
  Sha256() { crypto_hash_sha256_init(&state_); }
  void update(std::string_view bytes) {
    crypto_hash_sha256_update(&state_, reinterpret_cast<const unsigned char*>(bytes.data()),
                              bytes.size());
  }
  // Lowercase hex; call once.
  std::string hex() {
    std::array<uint8_t, crypto_hash_sha256_BYTES> digest{};
    crypto_hash_sha256_final(&state_, digest.data());
    return toHex(digest);
  }

 private:
  crypto_hash_sha256_state state_{};
};

std::string lowercase(std::string s) {
  std::transform(s.begin(), s.end(), s.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return s;
}

// ---- send

struct Attachment {
  std::string path;  // as given
  std::string name;  // its base name: what the request names it
  uint64_t size = 0;
  std::string sha256;  // lowercase hex
};

// Every --attach names a regular file, and no two the same base name.
Result<std::vector<Attachment>> attachmentsOf(const std::vector<std::string>& paths) {
  std::vector<Attachment> out;
  std::map<std::string, std::string> byName;
  for (const auto& path : paths) {
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) {
      return makeError(Errc::kInvalidInput, "--attach " + path + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) {
      return makeError(Errc::kInvalidInput, "--attach " + path + ": not a regular file");
    }
    std::string name = std::filesystem::path(path).filename().string();
    auto [it, fresh] = byName.emplace(name, path);
    if (!fresh) {
      return makeError(Errc::kInvalidInput, "--attach " + path + ": " + it->second +
                                                " has the same name, " + name +
                                                " (the recipient gets files by name)");
    }
    out.push_back(Attachment{path, std::move(name), 0, {}});
  }
  return out;
}

// Size and SHA-256 of the file's bytes, read a chunk at a time.
Status measure(Attachment& a) {
  auto fd = openForReading(a.path);
  if (!fd) return fd.error();
  Sha256 hash;
  a.size = 0;
  for (;;) {
    auto piece = readUpTo(fd->get(), kReadBytes, a.path);
    if (!piece) return piece.error();
    if (piece->empty()) break;
    hash.update(*piece);
    a.size += piece->size();
  }
  a.sha256 = hash.hex();
  return {};
}

// The files as the daemon's API takes them: name, size, SHA-256.
Json filesJson(const std::vector<Attachment>& files) {
  Json list = Json::array();
  for (const auto& a : files) {
    list.push_back(Json{{"name", a.name}, {"size", a.size}, {"sha256", a.sha256}});
  }
  return list;
}

Json requestJson(const RequestFlags& f, const std::vector<Attachment>& files) {
  Json measures = Json::array();
  for (const auto& m : f.measures) {
    for (auto& one : splitList(m)) measures.push_back(std::move(one));
  }
  Json list = filesJson(files);
  return Json{{"to", f.to},
              {"legalBasis", f.legalBasis},
              {"measures", measures},
              {"case", f.caseReference},
              {"summary", f.summary},
              {"urgent", f.urgent},
              {"deadline", f.deadline},
              {"language", f.language},
              {"files", list}};
}

uint64_t chunkCount(uint64_t size, uint64_t chunkBytes) {
  return size == 0 ? 1 : (size + chunkBytes - 1) / chunkBytes;
}

// What the daemon answered a created request: the chunks it expects of each file.
struct Created {
  std::string id;
  std::vector<uint64_t> chunks;
  uint64_t chunkBytes = 0;
};

Result<Created> createdFrom(const Json& body, const std::vector<Attachment>& files) {
  Created c{text(body, "id"), {}, count(body, "chunkBytes")};
  if (!isRequestId(c.id)) {
    return makeError(Errc::kIo, "the site daemon answered without a request id");
  }
  const std::string context = "request " + c.id + ": the site daemon";
  if (c.chunkBytes == 0 || c.chunkBytes > kMaxChunkBytes) {
    return makeError(Errc::kIo, context + " asks for chunks of " + std::to_string(c.chunkBytes) +
                                    " bytes (this command takes 1 to " +
                                    std::to_string(kMaxChunkBytes) + ")");
  }
  const Json& chunks = member(body, "chunks");
  for (size_t i = 0; chunks.is_array() && i < chunks.size(); ++i) {
    c.chunks.push_back(chunks[i].is_number_unsigned() ? chunks[i].get<uint64_t>() : 0);
  }
  if (c.chunks.size() != files.size()) {
    return makeError(Errc::kIo, context + " lists chunks for " + std::to_string(c.chunks.size()) +
                                    " files, not " + std::to_string(files.size()));
  }
  for (size_t f = 0; f < files.size(); ++f) {
    if (c.chunks[f] != chunkCount(files[f].size, c.chunkBytes)) {
      return makeError(Errc::kIo, context + " expects " + std::to_string(c.chunks[f]) +
                                      " chunks of " + files[f].name + ", not " +
                                      std::to_string(chunkCount(files[f].size, c.chunkBytes)));
    }
  }
  return c;
}

// Sends file `f` in order, chunk by chunk. The bytes must still be those measured: the last
// chunk is not sent when the size or the SHA-256 changed since.
Status upload(const ApiClient& api, const Created& c, size_t f, const Attachment& a) {
  auto fd = openForReading(a.path);
  if (!fd) return fd.error();
  Sha256 hash;
  uint64_t size = 0;
  const std::string base = "/v1/requests/" + c.id + "/files/" + std::to_string(f) + "/chunks/";
  for (uint64_t i = 0; i < c.chunks[f]; ++i) {
    auto piece = readUpTo(fd->get(), c.chunkBytes, a.path);
    if (!piece) return piece.error();
    hash.update(*piece);
    size += piece->size();
    if (i + 1 == c.chunks[f]) {
      auto more = readUpTo(fd->get(), 1, a.path);
      if (!more) return more.error();
      if (!more->empty() || size != a.size || hash.hex() != a.sha256) {
        return makeError(Errc::kConflict, a.path +
                                              " changed while it was being sent; send the "
                                              "request again with the file as it is now");
      }
    }
    auto answer = api.put(base + std::to_string(i), std::move(*piece));
    if (!answer) return answer.error();
    if (answer->first != 200) {
      return inContext(
          a.name + ", chunk " + std::to_string(i + 1) + " of " + std::to_string(c.chunks[f]),
          answerError(answer->first, answer->second));
    }
  }
  return {};
}

enum class Outcome { kAccepted, kRefused, kWaiting };

// The "accepted" step of a trail, or null.
const Json* acceptedStep(const Json& shown) {
  const Json& trail = member(shown, "trail");
  if (!trail.is_array()) return nullptr;
  for (const auto& step : trail) {
    if (text(step, "kind") == "accepted") return &step;
  }
  return nullptr;
}

// Asks the daemon every kPollInterval until the broker accepted or refused the request, or
// `waitSeconds` passed; prints the outcome.
Result<Outcome> awaitBroker(const ApiClient& api, const std::string& id, int waitSeconds) {
  const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(waitSeconds);
  for (;;) {
    auto shown = getJson(api, "/v1/requests/" + id);
    if (!shown) return shown.error();
    if (const Json* step = acceptedStep(*shown)) {
      std::cout << "request " << id << ": accepted by the broker at " << timeOf(*step, "at")
                << "; it is delivered when the recipient has stored and checked it\n";
      return Outcome::kAccepted;
    }
    const Json& request = member(*shown, "request");
    if (text(request, "state") == "refused") {
      const std::string why = refusalText(request);
      std::cerr << "liaison: request " << id << " refused"
                << (why.empty() ? std::string() : ": " + why) << "\n";
      return Outcome::kRefused;
    }
    if (std::chrono::steady_clock::now() + kPollInterval > until) break;
    std::this_thread::sleep_for(kPollInterval);
  }
  std::cout << "request " << id << ": not accepted by the broker within " << waitSeconds
            << " s; the site daemon holds it and keeps sending it (see `liaison request show " << id
            << "`)\n";
  return Outcome::kWaiting;
}

// ---- open

// A name the sender gave a file, fit to be one entry in the output folder.
bool isPlainFileName(const std::string& name) {
  if (name.empty() || name == "." || name == ".." || name.size() > 255) return false;
  return std::none_of(name.begin(), name.end(), [](char c) { return c == '/' || c == '\0'; });
}

// A file being written under a temporary name in `dir`: removed unless kept.
class TempFile {
 public:
  static Result<TempFile> create(const std::string& dir) {
    std::string path = dir + "/.liaison-request-XXXXXX";
    int fd = ::mkostemp(path.data(), O_CLOEXEC);  // mode 0600
    if (fd < 0) return makeError(Errc::kIo, dir + ": " + std::strerror(errno));
    return TempFile(std::move(path), fd);
  }
  TempFile(TempFile&& other) noexcept
      : path_(std::move(other.path_)),
        fd_(std::exchange(other.fd_, -1)),
        kept_(std::exchange(other.kept_, true)) {}
  TempFile(const TempFile&) = delete;
  TempFile& operator=(const TempFile&) = delete;
  TempFile& operator=(TempFile&&) = delete;
  ~TempFile() {
    if (fd_ >= 0) ::close(fd_);
    if (!kept_) ::unlink(path_.c_str());
  }
  int fd() const { return fd_; }

  // Flushes it to disk and gives it its name; refuses to replace a file of that name.
  Status keepAs(const std::string& target) {
    if (::fsync(fd_) != 0 || ::close(std::exchange(fd_, -1)) != 0) {
      return makeError(Errc::kIo, target + ": " + std::strerror(errno));
    }
    if (::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, target.c_str(), RENAME_NOREPLACE) != 0) {
      return makeError(errno == EEXIST ? Errc::kConflict : Errc::kIo,
                       target + ": " + std::strerror(errno));
    }
    kept_ = true;
    return {};
  }

 private:
  TempFile(std::string path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::string path_;
  int fd_ = -1;
  bool kept_ = false;
};

struct Listed {
  std::string name, sha256;
  uint64_t size = 0, chunks = 0;
  std::string parcel;  // evidence sent back with a status: the parcel that holds it
  uint64_t file = 0;   // its place in that parcel
};

// Every file of `files` (name, ...) may be written into `dir`: a plain name, given once, that
// nothing in `dir` has yet.
Status checkTargets(const Json& files, const std::string& dir) {
  std::set<std::string> names;
  for (size_t i = 0; files.is_array() && i < files.size(); ++i) {
    const std::string name = text(files[i], "name");
    if (!isPlainFileName(name)) {
      return makeError(Errc::kInvalidInput,
                       "a file of the request is named \"" + name +
                           "\", which is not a plain file name; nothing written");
    }
    if (!names.insert(name).second) {
      return makeError(Errc::kInvalidInput,
                       "two files of the request are named " + name + "; nothing written");
    }
    const std::string target = dir + "/" + name;
    struct stat st {};
    if (::lstat(target.c_str(), &st) == 0) {
      return makeError(Errc::kConflict, target +
                                            " exists; nothing written (liaison does not "
                                            "replace files: choose another --out)");
    }
    if (errno != ENOENT) return makeError(Errc::kIo, target + ": " + std::strerror(errno));
  }
  return {};
}

// The files an open answer lists, checked as checkTargets does.
Result<std::vector<Listed>> listedFiles(const Json& body, const std::string& dir) {
  const Json& files = member(body, "files");
  if (!files.is_array()) return makeError(Errc::kIo, "the site daemon listed no files");
  LIAISON_TRY(checkTargets(files, dir));
  std::vector<Listed> out;
  for (const auto& f : files) {
    Listed l{text(f, "name"), lowercase(text(f, "sha256")), count(f, "size"), count(f, "chunks"),
             text(f, "parcel"), count(f, "file")};
    if (l.chunks == 0) return makeError(Errc::kIo, l.name + ": the site daemon lists no chunks");
    out.push_back(std::move(l));
  }
  return out;
}

// Fetches file `f` chunk by chunk into a temporary file in `dir`, checks its size and SHA-256
// against the listed ones, and only then gives it its name.
Status download(const ApiClient& api, const std::string& id, size_t f, const Listed& l,
                const std::string& dir) {
  const std::string target = dir + "/" + l.name;
  auto temp = TempFile::create(dir);
  if (!temp) return temp.error();
  Sha256 hash;
  uint64_t size = 0;
  const std::string base = "/v1/requests/" + (l.parcel.empty() ? id : l.parcel) + "/files/" +
                           std::to_string(l.parcel.empty() ? f : l.file) + "/chunks/";
  for (uint64_t i = 0; i < l.chunks; ++i) {
    auto answer = api.getBytes(base + std::to_string(i));
    if (!answer) return answer.error();
    if (answer->first != 200) {
      return inContext(
          l.name + ", chunk " + std::to_string(i + 1) + " of " + std::to_string(l.chunks),
          answerError(answer->first, Json::parse(answer->second, nullptr, false)));
    }
    size += answer->second.size();
    if (size > l.size) break;  // checked below; no more is written than was listed
    hash.update(answer->second);
    LIAISON_TRY(writeAll(temp->fd(), answer->second, target));
  }
  if (size != l.size || hash.hex() != l.sha256) {
    return makeError(Errc::kIo, l.name +
                                    ": the bytes received are not those the request lists "
                                    "(size or SHA-256 differs); not written");
  }
  return temp->keepAs(target);
}

// --out DIR: made (0700) when missing; an existing one is used as it is.
Status outputDir(const std::string& dir) {
  struct stat st {};
  if (::stat(dir.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) {
      return makeError(Errc::kInvalidInput, "--out " + dir + ": not a directory");
    }
    return {};
  }
  if (errno != ENOENT) return makeError(Errc::kIo, "--out " + dir + ": " + std::strerror(errno));
  return makeDirectories(dir, 0700);
}

// ---- list and show

std::string deadlineText(const Json& r) {
  std::string when = text(r, "deadline");
  const std::string reminder = text(r, "reminder");
  if (!reminder.empty()) when += (when.empty() ? "(" : " (") + reminder + ")";
  if (flag(r, "urgent")) when = "urgent" + (when.empty() ? "" : ", " + when);
  return when.empty() ? "-" : when;
}

std::string requestTable(const Json& requests) {
  std::vector<std::vector<std::string>> rows;
  for (const auto& r : requests) {
    const bool incoming = text(r, "direction") == "incoming";
    rows.push_back({text(r, "id"), incoming ? "in" : "out", text(r, "case"),
                    text(r, incoming ? "from" : "to"), text(r, "state"), deadlineText(r)});
  }
  return renderTable({"ID", "DIR", "CASE", "OTHER SIDE", "STATE", "DEADLINE"}, rows, 48);
}

void printRequestFields(const Json& r) {
  auto line = [](const char* label, const std::string& v) {
    if (!v.empty()) std::cout << label << v << "\n";
  };
  std::string to = text(r, "to");
  if (!text(r, "toContact").empty()) to += " (focal point " + text(r, "toContact") + ")";
  line("request:      ", text(r, "id"));
  line("direction:    ", text(r, "direction"));
  line("case:         ", text(r, "case"));
  line("from:         ", text(r, "from"));
  line("to:           ", to);
  line("legal basis:  ", text(r, "legalBasis"));
  line("measures:     ", joinedStrings(member(r, "measures")));
  line("urgent:       ", flag(r, "urgent") ? "yes" : "");
  if (!text(r, "deadline").empty() || !text(r, "reminder").empty()) {
    line("deadline:     ",
         deadlineText(Json{{"deadline", text(r, "deadline")}, {"reminder", text(r, "reminder")}}));
  }
  line("language:     ", text(r, "language"));
  line("created:      ", timeOf(r, "createdAt"));
  line("state:        ", text(r, "state"));
  line("refusal:      ", refusalText(r));
  line("summary:      ", text(r, "summary"));
  const Json& files = member(r, "files");
  if (files.is_array() && !files.empty()) {
    std::vector<std::vector<std::string>> rows;
    for (const auto& f : files) {
      rows.push_back({text(f, "name"), std::to_string(count(f, "size")), text(f, "sha256")});
    }
    std::cout << "files:\n" << renderTable({"NAME", "BYTES", "SHA-256"}, rows, 64);
  }
}

void printTrail(const Json& shown) {
  std::vector<std::vector<std::string>> rows;
  const Json& trail = member(shown, "trail");
  for (size_t i = 0; trail.is_array() && i < trail.size(); ++i) {
    const Json& s = trail[i];
    const std::string status = text(s, "status");
    rows.push_back({std::to_string(count(s, "n")), timeOf(s, "at"),
                    text(s, "kind") + (status.empty() ? "" : " (" + status + ")"), text(s, "by"),
                    text(s, "reference"), text(s, "comment"), text(s, "signer")});
  }
  std::cout << "trail:\n"
            << renderTable({"N", "AT", "STEP", "BY", "REFERENCE", "COMMENT", "SIGNED BY"}, rows,
                           60);
  if (flag(shown, "verified")) {
    std::cout << "trail verified: every step signed and chained\n";
  } else {
    const std::string problem = text(shown, "problem");
    std::cout << "trail NOT verified: " << (problem.empty() ? "no reason given" : problem) << "\n";
  }
}

}  // namespace

int cmdRequestSend(const Context& ctx, const RequestFlags& flags) {
  if (!flags.deadline.empty() && !parseDate(flags.deadline)) {
    return failWith(makeError(Errc::kInvalidInput,
                              "--deadline: \"" + flags.deadline + "\" is not a date (YYYY-MM-DD)"));
  }
  auto files = attachmentsOf(flags.attachments);
  if (!files) return failWith(files.error());
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  for (auto& a : *files) {
    if (auto st = measure(a); !st) return failWith(st.error());
  }
  auto body = postJson(*api, "/v1/requests", requestJson(flags, *files), 201);
  if (!body) return failWith(body.error());
  auto created = createdFrom(*body, *files);
  if (!created) return failWith(created.error());
  std::cout << "request " << created->id << ": held by the site daemon"
            << (files->empty() ? std::string()
                               : "; sending " + std::to_string(files->size()) + " file(s)")
            << "\n";
  for (size_t f = 0; f < files->size(); ++f) {
    const Attachment& a = (*files)[f];
    if (auto st = upload(*api, *created, f, a); !st) {
      return failWith(inContext("request " + created->id, st.error()));
    }
    std::cout << "  " << a.name << ": " << a.size << " bytes sent\n";
  }
  auto outcome = awaitBroker(*api, created->id, flags.waitSeconds);
  if (!outcome) return failWith(inContext("request " + created->id, outcome.error()));
  return *outcome == Outcome::kRefused ? kExitUsage : kExitOk;
}

int cmdRequestList(const Context& ctx, const std::string& direction, bool onlyOpen) {
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  std::string query;
  if (!direction.empty()) query += "direction=" + direction;
  if (onlyOpen) query += (query.empty() ? "" : "&") + std::string("open=1");
  auto body = getJson(*api, "/v1/requests" + (query.empty() ? "" : "?" + query));
  if (!body) return failWith(body.error());
  const Json& requests = member(*body, "requests");
  const bool none = !requests.is_array() || requests.empty();
  if (ctx.format == "json") {
    std::cout << (requests.is_array() ? requests : Json::array()).dump(2) << "\n";
    return none ? kExitNoMatch : kExitOk;
  }
  if (none) {
    std::cerr << "liaison: no " << (onlyOpen ? "open " : "")
              << (direction.empty() ? "" : direction + " ") << "requests at this site\n";
    return kExitNoMatch;
  }
  std::cout << requestTable(requests);
  return kExitOk;
}

int cmdRequestShow(const Context& ctx, const std::string& id) {
  if (auto st = checkRequestId(id); !st) return failWith(st.error());
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  auto shown = getJson(*api, "/v1/requests/" + id);
  if (!shown) return failWith(shown.error());
  if (ctx.format == "json") {
    std::cout << shown->dump(2) << "\n";
    return kExitOk;
  }
  printRequestFields(member(*shown, "request"));
  printTrail(*shown);
  return kExitOk;
}

int cmdRequestOpen(const Context& ctx, const std::string& id, const std::string& by,
                   const std::string& outDir) {
  if (auto st = checkRequestId(id); !st) return failWith(st.error());
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  // The names are checked before the daemon signs the "opened" step, so that a refusal to
  // replace a file leaves no opening on the trail (an undelivered request lists none yet).
  auto shown = getJson(*api, "/v1/requests/" + id);
  if (!shown) return failWith(shown.error());
  if (auto st = outputDir(outDir); !st) return failWith(st.error());
  const bool incoming = text(member(*shown, "request"), "direction") == "incoming";
  if (auto st = incoming ? checkTargets(member(member(*shown, "request"), "files"), outDir) : Status{}; !st) {
    return failWith(inContext("request " + id, st.error()));
  }
  auto body = postJson(*api, "/v1/requests/" + id + "/open", Json{{"by", by}});
  if (!body) return failWith(inContext("request " + id, body.error()));
  auto files = listedFiles(*body, outDir);
  if (!files) return failWith(inContext("request " + id, files.error()));
  if (incoming) {
    std::cout << "request " << id << " opened by " << by << "; " << files->size() << " file(s)\n";
  } else {
    std::cout << "request " << id << ": " << files->size() << " file(s) of evidence sent back so far\n";
  }
  for (size_t f = 0; f < files->size(); ++f) {
    const Listed& l = (*files)[f];
    if (auto st = download(*api, id, f, l, outDir); !st) {
      return failWith(inContext("request " + id, st.error()));
    }
    std::cout << "  wrote " << outDir << "/" << l.name << " (" << l.size << " bytes)\n";
  }
  return kExitOk;
}

int cmdRequestStatus(const Context& ctx, const std::string& id, const RequestStatusFlags& flags) {
  if (auto st = checkRequestId(id); !st) return failWith(st.error());
  auto api = daemonOf(ctx);
  if (!api) return failWith(api.error());
  auto files = attachmentsOf(flags.attachments);
  if (!files) return failWith(files.error());
  for (auto& a : *files) {
    if (auto st = measure(a); !st) return failWith(st.error());
  }
  Json body{{"set", flags.set}, {"by", flags.by}};
  if (!flags.reference.empty()) body["reference"] = flags.reference;
  if (!flags.comment.empty()) body["comment"] = flags.comment;
  if (!files->empty()) body["files"] = filesJson(*files);
  auto answer = postJson(*api, "/v1/requests/" + id + "/status", body);
  if (!answer) return failWith(inContext("request " + id, answer.error()));
  std::cout << "request " << id << ": " << text(*answer, "state") << " (set by " << flags.by
            << ")\n";
  if (files->empty()) return kExitOk;
  // The evidence: a parcel of its own, sealed to the requesting site, uploaded like a request.
  Json expected = *answer;
  expected["id"] = id;
  auto created = createdFrom(expected, *files);
  if (!created) return failWith(inContext("request " + id, created.error()));
  created->id = text(*answer, "parcel");
  for (size_t f = 0; f < files->size(); ++f) {
    const Attachment& a = (*files)[f];
    if (auto st = upload(*api, *created, f, a); !st) return failWith(inContext("request " + id, st.error()));
    std::cout << "  " << a.name << ": " << a.size << " bytes sent back\n";
  }
  return kExitOk;
}

}  // namespace liaison::cli
