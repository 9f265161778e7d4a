#include "site/requests.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <numeric>

#include "schemas/alert_json.h"
#include "site/alerts.h"
#include "site/request_relay.h"

namespace liaison::site {

namespace {

using json::Json;

constexpr int64_t kPutRetryMs = 5000;
constexpr int64_t kChunkRetryMs = 15000;
constexpr int64_t kStepRetryMs = 5000;
constexpr int64_t kDay = 86400;

std::string_view view(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }
Bytes bytes(std::string_view v) { return Bytes(v.begin(), v.end()); }
Error invalid(const std::string& what) { return makeError(Errc::kInvalidInput, what); }

std::string chunkKey(const std::string& id, uint64_t position) {
  return "c/" + id + "/" + std::to_string(position >> 32) + "/" + std::to_string(position & 0xffffffffu);
}
std::string stepKey(const std::string& id, uint32_t n) {
  char num[16];
  std::snprintf(num, sizeof num, "%04u", n);
  return "s/" + id + "/" + num;
}
uint64_t position(uint32_t file, uint32_t index) { return uint64_t{file} << 32 | index; }

uint32_t total(const Json& rec) {
  auto chunks = rec.value("chunks", std::vector<uint32_t>{});
  return std::accumulate(chunks.begin(), chunks.end(), uint32_t{0});
}

bool finalStatus(const std::string& state) {
  return state == "executed" || state == "partially-executed" || state == "refused";
}

// "overdue", "due in N days" within a week, or "" (no deadline, a final status, or far off).
// The deadline's first second (Unix seconds), or nullopt.
std::optional<int64_t> deadlineOf(const Json& rec) {
  auto days = parseDate(rec.value("deadline", ""));
  if (!days) return std::nullopt;
  return *days * kDay;
}

std::string reminderText(const Json& rec, int64_t now) {
  auto due = deadlineOf(rec);
  if (!due || finalStatus(rec.value("state", ""))) return "";
  if (*due + kDay <= now) return "overdue";
  const int64_t days = (*due + kDay - now) / kDay;
  return days <= 7 ? "due in " + std::to_string(days) + (days == 1 ? " day" : " days") : "";
}

// Files as the API gives them: [{name, size, sha256 (hex)}].
Result<std::vector<requests::FileRef>> fileRefs(const Json& files) {
  std::vector<requests::FileRef> out;
  if (!files.is_array()) return invalid("files: a list of {name, size, sha256}");
  for (const auto& f : files) {
    if (!f.is_object()) return invalid("files: a list of {name, size, sha256}");
    requests::FileRef ref;
    ref.name = f.value("name", Json("")).is_string() ? f.value("name", "") : "";
    ref.size = f.value("size", Json(0)).is_number_unsigned() ? f.value("size", uint64_t{0}) : 0;
    auto hash = fromHex(f.value("sha256", Json("")).is_string() ? f.value("sha256", "") : "");
    if (!hash || hash->size() != ref.sha256.size()) return invalid("files: \"" + ref.name + "\" has no SHA-256 (64 hex digits)");
    std::copy(hash->begin(), hash->end(), ref.sha256.begin());
    out.push_back(std::move(ref));
  }
  return out;
}

// The parcel of evidence that status step `step` of request `id` sends back.
std::string parcelId(const std::string& id, uint32_t step) { return requests::evidenceId(id, step); }

Json fileJson(const requests::FileRef& f) {
  return Json{{"name", f.name}, {"size", f.size}, {"sha256", toHex(f.sha256)}};
}

Json stepJson(uint32_t n, const requests::SignedStep& s) {
  return Json{{"n", n},
              {"kind", s.step.kind},
              {"status", s.step.status},
              {"by", s.step.by},
              {"reference", s.step.reference},
              {"comment", s.step.comment},
              {"at", s.step.at},
              {"signer", s.signer},
              {"signerKey", toHex(s.signerKey)},
              {"signature", toHex(s.signature)},
              {"step", toBase64(s.stepBytes)},
              {"files", [&] {
                 Json files = Json::array();
                 for (const auto& f : s.step.files) files.push_back(fileJson(f));
                 return files;
               }()}};
}

}  // namespace

Result<std::unique_ptr<RequestDesk>> RequestDesk::open(const std::string& dir, Transport& transport,
                                                       const trust::KeyPair& keys, std::string site,
                                                       std::string network, const directory::Directory& directory,
                                                       const Clock& clock, size_t mapSize) {
  MDB_dbi reqs = 0, blobs = 0;
  auto env = lmdb::openWithDatabases(dir, mapSize, {{&reqs, "reqs"}, {&blobs, "blobs"}});
  if (!env) return env.error();
  std::unique_ptr<RequestDesk> desk(new RequestDesk(std::move(env).value(), transport, keys, std::move(site),
                                                    std::move(network), directory, clock));
  desk->reqs_ = reqs;
  desk->blobs_ = blobs;
  LIAISON_TRY(desk->load());
  return desk;
}

RequestDesk::RequestDesk(lmdb::Env env, Transport& transport, const trust::KeyPair& keys, std::string site,
                         std::string network, const directory::Directory& directory, const Clock& clock)
    : env_(std::move(env)),
      transport_(transport),
      keys_(keys),
      site_(std::move(site)),
      network_(std::move(network)),
      dir_(directory),
      clock_(clock) {}

Status RequestDesk::load() {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, reqs_);
  if (!cursor) return cursor.error();
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    auto rec = Json::parse(v, nullptr, false);
    if (rec.is_discarded()) return makeError(Errc::kIo, "request store damaged at " + std::string(k));
    const std::string state = rec.value("state", "");
    if (state == "sending" || state == "fetching" || !rec.value("pending", Json::array()).empty()) {
      active_.insert(std::string(k));
    }
  }
  return {};
}

Result<Json> RequestDesk::record(const lmdb::Txn& txn, const std::string& id) const {
  auto v = txn.get(reqs_, id);
  if (!v) return v.error();
  if (!*v) return makeError(Errc::kNotFound, "no request " + id + " at this site");
  auto rec = Json::parse(**v, nullptr, false);
  if (rec.is_discarded()) return makeError(Errc::kIo, "request " + id + " is damaged in the store");
  return rec;
}

Result<requests::Content> RequestDesk::content(const lmdb::Txn& txn, const std::string& id) const {
  auto v = txn.get(blobs_, "k/" + id);
  if (!v) return v.error();
  if (!*v) return makeError(Errc::kIo, "request " + id + ": its content is not stored");
  return requests::decodeContent(bytes(**v));
}

Result<std::vector<requests::SignedStep>> RequestDesk::trail(const lmdb::Txn& txn, const std::string& id,
                                                             uint32_t steps) const {
  std::vector<requests::SignedStep> out;
  for (uint32_t n = 1; n <= steps; ++n) {
    auto v = txn.get(blobs_, stepKey(id, n));
    if (!v) return v.error();
    if (!*v) return makeError(Errc::kIo, "request " + id + ": step " + std::to_string(n) + " is not stored");
    auto s = requests::decodeStep(bytes(**v));
    if (!s) return s.error();
    out.push_back(std::move(s).value());
  }
  return out;
}

Result<requests::TrailKeys> RequestDesk::trailKeys(const Json& rec) const {
  requests::TrailKeys keys;
  keys.fromSite = rec.value("from", "");
  keys.toSite = rec.value("to", "");
  // "accepted" is signed by the sender's broker: across a peering, the peer network's.
  keys.broker = "broker:" + network_;
  for (auto [site, key] : {std::pair{&keys.fromSite, &keys.fromKey}, std::pair{&keys.toSite, &keys.toKey}}) {
    if (*site == site_) {
      *key = keys_.pub.sign;
      continue;
    }
    auto member = dir_.member(*site);
    if (!member) return member.error();
    if (!*member) return makeError(Errc::kNotFound, "no certificate of " + *site + " in this replica");
    *key = (*member)->signKey;
    if (site == &keys.fromSite && !(*member)->network.empty()) keys.broker = "broker:" + (*member)->network;
  }
  if (auto hex = fromHex(rec.value("brokerKey", "")); hex && hex->size() == keys.brokerKey.size()) {
    std::copy(hex->begin(), hex->end(), keys.brokerKey.begin());
  }
  return keys;
}

Status RequestDesk::put(lmdb::Txn& txn, const std::string& id, const Json& rec) {
  return txn.put(reqs_, id, rec.dump());
}

void RequestDesk::refused(const std::string& reason, const std::string& id, const std::string& detail) {
  ++counters_.refused[reason];
  spdlog::warn("site={} request={} refused ({}): {}", site_, id, reason, detail);
}

// ---------------------------------------------------------------------------------------------
// The local API

Result<Json> RequestDesk::create(const Json& body) {
  if (!body.is_object()) return invalid("the request is not a JSON object");
  auto text = [&](const char* key) {
    auto it = body.find(key);
    return it != body.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  const int64_t now = clock_.nowSeconds();
  requests::Content c;
  c.id = json::newUuid();
  c.caseReference = text("case");
  c.fromSite = site_;
  c.legalBasis = text("legalBasis");
  c.deadline = text("deadline");
  c.language = text("language").empty() ? "en" : text("language");
  c.summary = text("summary");
  c.urgent = body.value("urgent", false);
  c.createdAt = now;
  if (auto m = body.find("measures"); m != body.end() && m->is_array()) {
    for (const auto& one : *m) {
      if (one.is_string()) c.measures.push_back(one.get<std::string>());
    }
  }
  if (auto files = body.find("files"); files != body.end()) {
    auto refs = fileRefs(*files);
    if (!refs) return refs.error();
    c.files = std::move(refs).value();
  }
  // The recipient: a site, or a focal point whose record a site published.
  std::string to = text("to");
  if (to.empty()) return invalid("to: the site or focal point the request goes to");
  auto member = dir_.member(to);
  if (!member) return member.error();
  if (!*member) {
    auto rec = dir_.get(to);
    if (!rec) return rec.error();
    if (!*rec) return invalid("to: \"" + to + "\" is neither a site nor a focal point in this directory");
    c.toContact = to;
    to = (*rec)->signedItem.signer;
    member = dir_.member(to);
    if (!member) return member.error();
    if (!*member) return invalid("to: the site " + to + " that published \"" + c.toContact + "\" has no certificate here");
  }
  if (!requests::takesRequests((*member)->role)) {
    return invalid("to: " + to + " is a " + (*member)->role + ", which takes no requests; send to an authority");
  }
  c.toSite = to;
  auto self = dir_.member(site_);
  if (!self) return self.error();
  if (!*self) return invalid("this site's own certificate is not in its replica yet");
  // The instruments, and who is party to them.
  requests::Instruments instruments;
  directory::Query q;
  q.kind = "instrument";
  q.limit = 10000;
  auto hits = dir_.find(q, now);
  if (!hits) return hits.error();
  for (const auto& hit : *hits) {
    auto r = hit.stored.record();
    auto& parties = instruments[std::string(r.getId().cStr())];
    for (auto p : r.getBody().getInstrument().getParties()) parties.insert(std::string(p.cStr()));
  }
  LIAISON_TRY(requests::validate(c, {site_, (*self)->countries}, {to, (*member)->countries}, instruments, now));
  auto sealed = requests::seal(c, (*member)->boxKey);
  if (!sealed) return sealed.error();
  const Bytes sealedBytes = requests::encode(*sealed);
  requests::Step sent;
  sent.requestId = c.id;
  sent.kind = "sent";
  sent.at = now;
  auto subject = requests::blake2b(sealedBytes);
  sent.subject.assign(subject.begin(), subject.end());
  const Bytes sentBytes = requests::encode(requests::signStep(sent, site_, keys_));

  Json rec = {{"direction", "out"},
              {"state", sealed->chunks.empty() ? "sending" : "uploading"},
              {"from", site_},
              {"to", to},
              {"toContact", c.toContact},
              {"case", c.caseReference},
              {"legalBasis", c.legalBasis},
              {"measures", c.measures},
              {"urgent", c.urgent},
              {"deadline", c.deadline},
              {"chunks", sealed->chunks},
              {"uploaded", std::vector<uint32_t>(sealed->chunks.size(), 0)},
              {"steps", 1},
              {"pending", Json::array()},
              {"createdAt", now},
              {"updatedAt", now}};
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  LIAISON_TRY(txn->put(blobs_, "k/" + c.id, view(requests::encode(c))));
  LIAISON_TRY(txn->put(blobs_, "h/" + c.id, view(sealedBytes)));
  LIAISON_TRY(txn->put(blobs_, stepKey(c.id, 1), view(sentBytes)));
  LIAISON_TRY(put(*txn, c.id, rec));
  LIAISON_TRY(std::move(*txn).commit());
  if (sealed->chunks.empty()) active_.insert(c.id);
  nextReminderMs_ = 0;  // a deadline may be near already
  ++counters_.sent;
  spdlog::info("site={} request={} to={} files={} created", site_, c.id, to, c.files.size());
  return Json{{"id", c.id}, {"chunks", sealed->chunks}, {"chunkBytes", requests::kChunkBytes}};
}

Result<Json> RequestDesk::upload(const std::string& id, uint32_t file, uint32_t index, std::string_view plain) {
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  auto rec = record(*txn, id);
  if (!rec) return rec.error();
  if (rec->value("direction", "") != "out" || rec->value("state", "") != "uploading") {
    return makeError(Errc::kConflict, "request " + id + " takes no more files");
  }
  auto c = content(*txn, id);
  if (!c) return c.error();
  auto chunks = (*rec)["chunks"].get<std::vector<uint32_t>>();
  auto uploaded = (*rec)["uploaded"].get<std::vector<uint32_t>>();
  if (file >= chunks.size() || index >= chunks[file]) {
    return invalid("file " + std::to_string(file) + " chunk " + std::to_string(index) + " is not part of " + id);
  }
  for (uint32_t f = 0; f < file; ++f) {
    if (uploaded[f] != chunks[f]) return makeError(Errc::kConflict, "files are uploaded in order: " + c->files[f].name + " first");
  }
  const requests::FileRef& ref = c->files[file];
  const std::string hashKey = id + "/" + std::to_string(file);
  if (index != uploaded[file] || (index > 0 && !hashing_.contains(hashKey))) {
    uploaded[file] = 0;
    (*rec)["uploaded"] = uploaded;
    LIAISON_TRY(put(*txn, id, *rec));
    LIAISON_TRY(std::move(*txn).commit());
    hashing_.erase(hashKey);
    return makeError(Errc::kConflict, ref.name + ": chunks are uploaded in order; upload it again from its first chunk");
  }
  const uint64_t expected = index + 1 < chunks[file] ? requests::kChunkBytes : ref.size - uint64_t{index} * requests::kChunkBytes;
  if (plain.size() != expected) {
    return invalid(ref.name + ": chunk " + std::to_string(index) + " has " + std::to_string(plain.size()) +
                   " bytes, not " + std::to_string(expected));
  }
  auto& state = hashing_[hashKey];
  if (index == 0) crypto_hash_sha256_init(&state);
  crypto_hash_sha256_update(&state, reinterpret_cast<const uint8_t*>(plain.data()), plain.size());
  if (index + 1 == chunks[file]) {
    requests::Hash got{};
    crypto_hash_sha256_final(&state, got.data());
    hashing_.erase(hashKey);
    if (got != ref.sha256) {
      uploaded[file] = 0;
      (*rec)["uploaded"] = uploaded;
      LIAISON_TRY(put(*txn, id, *rec));
      LIAISON_TRY(std::move(*txn).commit());
      return invalid(ref.name + ": its bytes do not match the SHA-256 given for it (was it changed?)");
    }
  }
  auto cipher = requests::encryptChunk(*c, file, index,
                                       std::span(reinterpret_cast<const uint8_t*>(plain.data()), plain.size()));
  LIAISON_TRY(txn->put(blobs_, chunkKey(id, position(file, index)), view(cipher)));
  ++uploaded[file];
  (*rec)["uploaded"] = uploaded;
  uint32_t done = std::accumulate(uploaded.begin(), uploaded.end(), uint32_t{0});
  if (done == total(*rec)) {
    (*rec)["state"] = "sending";
    (*rec)["updatedAt"] = clock_.nowSeconds();
  }
  LIAISON_TRY(put(*txn, id, *rec));
  LIAISON_TRY(std::move(*txn).commit());
  if (done == total(*rec)) {
    active_.insert(id);
    spdlog::info("site={} request={} every file stored here; sending to the broker", site_, id);
  }
  return Json{{"uploaded", done}, {"total", total(*rec)}, {"state", (*rec)["state"]}};
}

Result<Json> RequestDesk::list(const std::string& direction, bool onlyOpen) const {
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, reqs_);
  if (!cursor) return cursor.error();
  const int64_t now = clock_.nowSeconds();
  Json out = Json::array();
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    auto rec = Json::parse(v, nullptr, false);
    if (rec.is_discarded()) continue;
    if (rec.value("kind", "") == "evidence") continue;  // shown with its request
    const bool incoming = rec.value("direction", "") == "in";
    if ((direction == "incoming" && !incoming) || (direction == "outgoing" && incoming)) continue;
    const std::string state = rec.value("state", "");
    if (onlyOpen && (finalStatus(state) || state == "refused-by-broker")) continue;
    const std::string reminder = reminderText(rec, now);
    out.push_back(Json{{"id", std::string(k)},
                       {"direction", incoming ? "incoming" : "outgoing"},
                       {"case", rec.value("case", "")},
                       {"from", rec.value("from", "")},
                       {"to", rec.value("to", "")},
                       {"legalBasis", rec.value("legalBasis", "")},
                       {"measures", rec.value("measures", Json::array())},
                       {"urgent", rec.value("urgent", false)},
                       {"deadline", rec.value("deadline", "")},
                       {"state", state},
                       {"reminder", reminder},
                       {"createdAt", rec.value("createdAt", int64_t{0})},
                       {"updatedAt", rec.value("updatedAt", int64_t{0})}});
  }
  std::sort(out.begin(), out.end(), [](const Json& a, const Json& b) { return a["createdAt"] > b["createdAt"]; });
  return Json{{"requests", std::move(out)}};
}

Result<Json> RequestDesk::show(const std::string& id) const {
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto rec = record(*txn, id);
  if (!rec) return rec.error();
  auto c = content(*txn, id);
  if (!c) return c.error();
  auto steps = trail(*txn, id, rec->value("steps", 0u));
  if (!steps) return steps.error();
  auto sealedBytes = txn->get(blobs_, "h/" + id);
  if (!sealedBytes || !*sealedBytes) return makeError(Errc::kIo, "request " + id + ": its sealed form is not stored");
  Json files = Json::array();
  for (const auto& f : c->files) files.push_back(fileJson(f));
  Json request = {{"id", id},
                  {"direction", rec->value("direction", "") == "in" ? "incoming" : "outgoing"},
                  {"case", c->caseReference},
                  {"from", c->fromSite},
                  {"to", c->toSite},
                  {"toContact", c->toContact},
                  {"legalBasis", c->legalBasis},
                  {"measures", c->measures},
                  {"urgent", c->urgent},
                  {"deadline", c->deadline},
                  {"language", c->language},
                  {"summary", c->summary},
                  {"files", files},
                  {"createdAt", c->createdAt},
                  {"state", rec->value("state", "")}};
  if (rec->contains("refusal")) request["refusal"] = rec->value("refusal", "") + ": " + rec->value("detail", "");
  Json trailJson = Json::array();
  for (size_t i = 0; i < steps->size(); ++i) trailJson.push_back(stepJson(static_cast<uint32_t>(i + 1), (*steps)[i]));
  Json out = {{"request", request}, {"trail", trailJson}, {"sealed", toBase64(bytes(**sealedBytes))}};
  auto sealed = requests::decodeSealed(bytes(**sealedBytes));
  auto keys = trailKeys(*rec);
  Status verified = !sealed ? Status(sealed.error()) : !keys ? Status(keys.error()) : requests::verifyTrail(*steps, *sealed, *keys);
  out["verified"] = static_cast<bool>(verified);
  if (!verified) out["problem"] = verified.error().message;
  out["keys"] = Json{{"from", keys ? toHex(keys->fromKey) : ""},
                     {"to", keys ? toHex(keys->toKey) : ""},
                     {"broker", keys ? toHex(keys->brokerKey) : ""}};
  return out;
}

Result<Json> RequestDesk::openFiles(const std::string& id, const std::string& by) {
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  auto rec = record(*txn, id);
  if (!rec) return rec.error();
  auto c = content(*txn, id);
  if (!c) return c.error();
  if (rec->value("direction", "") == "in") {
    const std::string state = rec->value("state", "");
    if (state == "fetching" || state == "damaged") {
      return makeError(Errc::kConflict, "request " + id + " is not delivered yet (" + state + ")");
    }
    if (by.empty()) return invalid("by: the name of the person who opens it");
    auto steps = trail(*txn, id, rec->value("steps", 0u));
    if (!steps) return steps.error();
    bool opened = std::any_of(steps->begin(), steps->end(), [](const auto& s) { return s.step.kind == "opened"; });
    if (!opened) {
      requests::Step s;
      s.kind = "opened";
      s.by = by;
      LIAISON_TRY(signAndQueue(*txn, id, *rec, std::move(s)));
      spdlog::info("site={} request={} opened by a named person", site_, id);
    }
  }
  Json files = Json::array();
  if (rec->value("direction", "") == "in") {
    for (const auto& f : c->files) {
      auto j = fileJson(f);
      j["chunks"] = requests::chunkCount(f.size);
      files.push_back(std::move(j));
    }
  } else {
    // The requesting side: the evidence its counterpart sent back, as each parcel has arrived.
    auto steps = trail(*txn, id, rec->value("steps", 0u));
    if (!steps) return steps.error();
    for (uint32_t n = 1; n <= steps->size(); ++n) {
      const auto& st = (*steps)[n - 1].step;
      if (st.files.empty()) continue;
      auto parcel = record(*txn, parcelId(id, n));
      if (!parcel || parcel->value("state", "") != "delivered") continue;
      for (uint32_t f = 0; f < st.files.size(); ++f) {
        auto j = fileJson(st.files[f]);
        j["name"] = st.status + "-" + std::to_string(n) + "-" + st.files[f].name;  // unique in one folder
        j["chunks"] = requests::chunkCount(st.files[f].size);
        j["parcel"] = parcelId(id, n);
        j["file"] = f;
        files.push_back(std::move(j));
      }
    }
  }
  LIAISON_TRY(std::move(*txn).commit());
  return Json{{"files", files}};
}

Result<std::string> RequestDesk::plainChunk(const std::string& id, uint32_t file, uint32_t index) const {
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto rec = record(*txn, id);
  if (!rec) return rec.error();
  const std::string state = rec->value("state", "");
  if (rec->value("direction", "") == "in" && (state == "fetching" || state == "damaged")) {
    return makeError(Errc::kConflict, "request " + id + " is not delivered yet (" + state + ")");
  }
  auto c = content(*txn, id);
  if (!c) return c.error();
  if (file >= c->files.size() || index >= requests::chunkCount(c->files[file].size)) {
    return makeError(Errc::kNotFound, "file " + std::to_string(file) + " chunk " + std::to_string(index) + " of " + id);
  }
  auto v = txn->get(blobs_, chunkKey(id, position(file, index)));
  if (!v) return v.error();
  if (!*v) return makeError(Errc::kConflict, "that chunk is not stored here (yet)");
  auto plain = requests::decryptChunk(*c, file, index, bytes(**v));
  if (!plain) return plain.error();
  return std::string(view(*plain));
}

// Seals the evidence of the status about to be step N+1 of `id` to the requesting site, and
// stores it as an outgoing parcel waiting for its chunks. Returns its id and sealed bytes.
Result<std::pair<std::string, Bytes>> RequestDesk::sealEvidence(lmdb::Txn& txn, const std::string& id, Json& rec,
                                                                const std::vector<requests::FileRef>& files,
                                                                const std::string& comment) {
  uint64_t total = 0;
  for (const auto& f : files) {
    if (f.name.empty() || f.name.size() > 255 || f.name.find('/') != std::string::npos || f.name == "." || f.name == "..") {
      return invalid("attach: \"" + f.name + "\" is not a plain file name");
    }
    if (f.size > requests::kMaxFileBytes) return invalid("attach: " + f.name + " is over 64 MB");
    total += f.size;
  }
  if (total > requests::kMaxRequestBytes) return invalid("attach: the files are over 256 MB together");
  if (files.size() > 64) return invalid("attach: at most 64 files");
  auto request = content(txn, id);
  if (!request) return request.error();
  const std::string requester = rec.value("from", "");
  auto member = dir_.member(requester);
  if (!member) return member.error();
  if (!*member) return makeError(Errc::kNotFound, "no certificate of " + requester + " in this replica");
  requests::Content c;
  c.id = parcelId(id, rec.value("steps", 0u) + 1);
  c.caseReference = request->caseReference;
  c.fromSite = site_;
  c.toSite = requester;
  c.legalBasis = request->legalBasis;
  c.measures = request->measures;
  c.language = request->language;
  c.summary = comment;
  c.files = files;
  c.createdAt = clock_.nowSeconds();
  auto sealed = requests::seal(c, (*member)->boxKey);
  if (!sealed) return sealed.error();
  Bytes sealedBytes = requests::encode(*sealed);
  Json parcel = {{"direction", "out"}, {"kind", "evidence"}, {"request", id}, {"step", rec.value("steps", 0u) + 1},
                 {"state", "uploading"}, {"from", site_}, {"to", requester}, {"case", c.caseReference},
                 {"chunks", sealed->chunks}, {"uploaded", std::vector<uint32_t>(sealed->chunks.size(), 0)},
                 {"steps", 0}, {"pending", Json::array()}, {"createdAt", c.createdAt}, {"updatedAt", c.createdAt}};
  LIAISON_TRY(txn.put(blobs_, "k/" + c.id, view(requests::encode(c))));
  LIAISON_TRY(txn.put(blobs_, "h/" + c.id, view(sealedBytes)));
  LIAISON_TRY(put(txn, c.id, parcel));
  rec["evidenceChunks"] = sealed->chunks;
  return std::pair{c.id, std::move(sealedBytes)};
}

Result<Json> RequestDesk::setStatus(const std::string& id, const std::string& status, const std::string& by,
                                    const std::string& reference, const std::string& comment, const Json& files) {
  auto evidence = fileRefs(files);
  if (!evidence) return evidence.error();
  if (!requests::isStatus(status)) {
    std::string names;
    for (auto n : requests::statusNames()) names += (names.empty() ? "" : ", ") + std::string(n);
    return invalid("set: \"" + status + "\" is not a status (" + names + ")");
  }
  if (by.empty()) return invalid("by: the name of the person who sets it");
  if (status == "refused" && comment.empty()) return invalid("comment: a refusal gives its grounds");
  std::lock_guard lock(mutex_);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  auto rec = record(*txn, id);
  if (!rec) return rec.error();
  if (rec->value("direction", "") != "in") {
    return makeError(Errc::kConflict, "only the requested side sets a status; " + id + " was sent from here");
  }
  auto steps = trail(*txn, id, rec->value("steps", 0u));
  if (!steps) return steps.error();
  if (std::none_of(steps->begin(), steps->end(), [](const auto& s) { return s.step.kind == "opened"; })) {
    return makeError(Errc::kConflict, "request " + id + " is not opened yet (liaison request open)");
  }
  requests::Step s;
  s.kind = "status";
  s.status = status;
  s.by = by;
  s.reference = reference;
  s.comment = comment;
  Json answer = {{"state", status}};
  if (!evidence->empty()) {
    auto parcel = sealEvidence(*txn, id, *rec, *evidence, comment);
    if (!parcel) return parcel.error();
    auto subject = requests::blake2b(parcel->second);
    s.subject.assign(subject.begin(), subject.end());
    s.files = *evidence;
    answer["parcel"] = parcel->first;
    answer["chunks"] = (*rec)["evidenceChunks"];
    answer["chunkBytes"] = requests::kChunkBytes;
    rec->erase("evidenceChunks");
  }
  LIAISON_TRY(signAndQueue(*txn, id, *rec, std::move(s)));
  LIAISON_TRY(std::move(*txn).commit());
  spdlog::info("site={} request={} status {}{}", site_, id, status,
               evidence->empty() ? "" : " with " + std::to_string(evidence->size()) + " files");
  return answer;
}

// ---------------------------------------------------------------------------------------------
// Steps

Status RequestDesk::addStep(lmdb::Txn& txn, const std::string& id, Json& rec, const Bytes& stepBytes) {
  auto incoming = requests::decodeStep(stepBytes);
  if (!incoming) return incoming.error();
  const uint32_t n = rec.value("steps", 0u);
  auto steps = trail(txn, id, n);
  if (!steps) return steps.error();
  auto keys = trailKeys(rec);
  if (!keys) return keys.error();
  if (incoming->step.kind == "accepted" && rec.value("brokerKey", "").empty()) {
    // The broker's key comes with its first signed step, over the broker's authenticated channel
    // (across a peering: through the peer broker, which checked it by the same name).
    if (incoming->signer != keys->broker) {
      return invalid("step " + std::to_string(n + 1) + ": \"accepted\" signed by " + incoming->signer);
    }
    rec["brokerKey"] = toHex(incoming->signerKey);
    keys->brokerKey = incoming->signerKey;
  }
  auto sealedBytes = txn.get(blobs_, "h/" + id);
  if (!sealedBytes) return sealedBytes.error();
  if (!*sealedBytes) return makeError(Errc::kIo, "request " + id + ": its sealed form is not stored");
  auto sealed = requests::decodeSealed(bytes(**sealedBytes));
  if (!sealed) return sealed.error();
  steps->push_back(*incoming);
  LIAISON_TRY(requests::verifyTrail(*steps, *sealed, *keys));
  LIAISON_TRY(txn.put(blobs_, stepKey(id, n + 1), view(stepBytes)));
  rec["steps"] = n + 1;
  const auto& st = incoming->step;
  if (rec.value("state", "") != "fetching" && rec.value("state", "") != "uploading") {
    rec["state"] = st.kind == "status" ? st.status : st.kind;
  }
  rec["updatedAt"] = clock_.nowSeconds();
  ++counters_.steps;
  return put(txn, id, rec);
}

Status RequestDesk::signAndQueue(lmdb::Txn& txn, const std::string& id, Json& rec, requests::Step step) {
  const uint32_t n = rec.value("steps", 0u);
  auto steps = trail(txn, id, n);
  if (!steps) return steps.error();
  if (steps->empty()) return makeError(Errc::kIo, "request " + id + " has no trail");
  step.requestId = id;
  step.at = std::max(clock_.nowSeconds(), steps->back().step.at);
  auto h = requests::stepHash(steps->back());
  step.previous.assign(h.begin(), h.end());
  LIAISON_TRY(addStep(txn, id, rec, requests::encode(requests::signStep(step, site_, keys_))));
  rec["pending"].push_back(n + 1);
  LIAISON_TRY(put(txn, id, rec));
  active_.insert(id);
  return {};
}

// ---------------------------------------------------------------------------------------------
// The loop

void RequestDesk::send(bus::RequestMsg m, Asked asked) {
  m.requestId = kRequestBit | ++nextRequest_;
  asked_[m.requestId] = std::move(asked);
  transport_.send(m);
}

void RequestDesk::stored(const std::string& key) { storedKeys_.push_back(key); }

void RequestDesk::tick(int64_t nowMs, bool connected) {
  if (relay_ != nullptr && connected) {
    for (auto& m : relay_->take(relaySide_, nowMs)) transport_.send(m);
  }
  std::lock_guard lock(mutex_);
  if (!storedKeys_.empty()) {
    bus::RequestMsg m;
    m.op = "stored";
    m.keys = std::exchange(storedKeys_, {});
    send(std::move(m), Asked{"stored", "", 0, 0});
  }
  if (nowMs >= nextReminderMs_) {
    remind();
    nextReminderMs_ = nowMs + 60'000;
  }
  if (!connected) return;
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return;
  for (auto it = active_.begin(); it != active_.end();) {
    auto rec = record(*txn, *it);
    if (!rec) {
      it = active_.erase(it);
      continue;
    }
    Transfer& t = transfers_[*it];
    const std::string state = rec->value("state", "");
    if (state == "sending") driveOut(*it, *rec, t, nowMs);
    if (state == "fetching") driveIn(*it, *rec, t, nowMs);
    driveSteps(*it, *rec, t, nowMs);
    if (state != "sending" && state != "fetching" && rec->value("pending", Json::array()).empty()) {
      transfers_.erase(*it);
      it = active_.erase(it);
    } else {
      ++it;
    }
  }
  // Answers never given (a broker that went away) do not pile up.
  for (auto it = asked_.begin(); it != asked_.end();) {
    it = asked_.size() > 4096 ? asked_.erase(it) : std::next(it);
  }
}

void RequestDesk::driveOut(const std::string& id, const Json& rec, Transfer& t, int64_t nowMs) {
  for (const auto& [pos, at] : t.inflight) {
    if (nowMs - at > kChunkRetryMs) {  // unanswered: ask the broker again what it lacks
      t.putAcked = false;
      t.inflight.clear();
      break;
    }
  }
  if (!t.putAcked) {
    if (t.putSentMs >= 0 && nowMs - t.putSentMs < kPutRetryMs) return;
    auto txn = lmdb::Txn::beginRead(env_);
    if (!txn) return;
    bus::RequestMsg m;
    m.op = "put";
    m.id = id;
    std::string first = stepKey(id, 1);
    if (rec.value("kind", "") == "evidence") {
      // A parcel of evidence goes after its status, which names it: the broker checks one by the other.
      const std::string request = rec.value("request", "");
      const uint32_t n = rec.value("step", 0u);
      auto requestRec = record(*txn, request);
      if (!requestRec) return;
      auto pending = requestRec->value("pending", std::vector<uint32_t>{});
      if (std::find(pending.begin(), pending.end(), n) != pending.end()) return;
      first = stepKey(request, n);
      m.keys = {request};
      m.index = n;
    }
    auto sealed = txn->get(blobs_, "h/" + id);
    auto sent = txn->get(blobs_, first);
    if (!sealed || !*sealed || !sent || !*sent) return;
    m.data = bytes(**sealed);
    m.steps = {bytes(**sent)};
    t.putSentMs = nowMs;
    send(std::move(m), Asked{"put", id, 0, 0});
    return;
  }
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return;
  while (t.inflight.size() < kWindow && !t.todo.empty()) {
    const uint64_t pos = t.todo.back();
    t.todo.pop_back();
    auto v = txn->get(blobs_, chunkKey(id, pos));
    if (!v || !*v) continue;
    bus::RequestMsg m;
    m.op = "chunk";
    m.id = id;
    m.file = static_cast<uint32_t>(pos >> 32);
    m.index = static_cast<uint32_t>(pos & 0xffffffffu);
    m.data = bytes(**v);
    t.inflight[pos] = nowMs;
    ++counters_.chunksSent;
    send(std::move(m), Asked{"chunk", id, pos, 0});
  }
}

void RequestDesk::driveIn(const std::string& id, const Json& rec, Transfer& t, int64_t nowMs) {
  for (auto it = t.inflight.begin(); it != t.inflight.end();) {
    if (nowMs - it->second > kChunkRetryMs) {
      t.todo.push_back(it->first);
      it = t.inflight.erase(it);
    } else {
      ++it;
    }
  }
  if (t.todo.empty() && t.inflight.empty()) {
    // What is not stored yet (after a restart, or at the start).
    auto txn = lmdb::Txn::beginRead(env_);
    if (!txn) return;
    auto chunks = rec.value("chunks", std::vector<uint32_t>{});
    for (uint32_t f = chunks.size(); f-- > 0;) {
      for (uint32_t i = chunks[f]; i-- > 0;) {
        auto v = txn->get(blobs_, chunkKey(id, position(f, i)));
        if (v && !*v) t.todo.push_back(position(f, i));
      }
    }
  }
  while (t.inflight.size() < kWindow && !t.todo.empty()) {
    const uint64_t pos = t.todo.back();
    t.todo.pop_back();
    bus::RequestMsg m;
    m.op = "get";
    m.id = id;
    m.file = static_cast<uint32_t>(pos >> 32);
    m.index = static_cast<uint32_t>(pos & 0xffffffffu);
    t.inflight[pos] = nowMs;
    send(std::move(m), Asked{"get", id, pos, 0});
  }
}

void RequestDesk::driveSteps(const std::string& id, const Json& rec, Transfer& t, int64_t nowMs) {
  const auto pending = rec.value("pending", std::vector<uint32_t>{});
  if (pending.empty()) return;
  if (rec.value("state", "") == "fetching") return;
  if (t.stepSentMs >= 0 && nowMs - t.stepSentMs < kStepRetryMs) return;
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return;
  const uint32_t n = *std::min_element(pending.begin(), pending.end());  // in order: the chain
  auto v = txn->get(blobs_, stepKey(id, n));
  if (!v || !*v) return;
  bus::RequestMsg m;
  m.op = "step";
  m.id = id;
  m.steps = {bytes(**v)};
  t.stepSentMs = nowMs;
  send(std::move(m), Asked{"step", id, 0, n});
}

void RequestDesk::onMessage(const bus::RequestMsg& m, int64_t nowMs) {
  if (relay_ != nullptr) {
    if (m.op == "reply" && (m.requestId & RequestRelay::kRelayBit) != 0) return relay_->onReply(relaySide_, m, nowMs);
    if (m.op == "offer" || m.op == "step") return relay_->onDelivery(relaySide_, m, nowMs);
  }
  std::lock_guard lock(mutex_);
  if (m.op == "offer") return onOffer(m);
  if (m.op == "step") return onStep(m);
  if (m.op != "reply") return;
  auto it = asked_.find(m.requestId);
  if (it == asked_.end()) return;  // answered already, or asked before a restart
  Asked asked = std::move(it->second);
  asked_.erase(it);
  onReply(m, asked, nowMs);
}

void RequestDesk::onReply(const bus::RequestMsg& m, const Asked& asked, int64_t nowMs) {
  if (asked.id != m.id) return;
  if (asked.op == "get" && m.accepted) return gotChunk(m, asked, nowMs);  // its own transaction
  Transfer& t = transfers_[asked.id];
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return;
  auto rec = record(*txn, asked.id);
  if (!rec) return;
  if (!m.accepted) {
    refused("broker: " + m.refusal, asked.id, m.detail);
    if (m.refusal == "store failure") return;  // its trouble, not the request's: asked again
    if (asked.op == "put") {
      (*rec)["state"] = "refused-by-broker";
      (*rec)["refusal"] = m.refusal;
      (*rec)["detail"] = m.detail;
    } else if (asked.op == "step") {
      auto pending = rec->value("pending", std::vector<uint32_t>{});
      std::erase(pending, asked.step);
      (*rec)["pending"] = pending;
      (*rec)["refusal"] = m.refusal;
      (*rec)["detail"] = m.detail;
      t.stepSentMs = -1;
    } else {
      t.putAcked = false;  // the broker and this site disagree: start again from its view
      t.inflight.clear();
      return;
    }
    (void)put(*txn, asked.id, *rec);
    (void)std::move(*txn).commit();
    return;
  }
  if (asked.op == "put") {
    t.putAcked = true;
    t.todo = m.missing;
    std::reverse(t.todo.begin(), t.todo.end());
    t.inflight.clear();
  } else if (asked.op == "chunk") {
    t.inflight.erase(asked.position);
  } else if (asked.op == "step") {
    auto pending = rec->value("pending", std::vector<uint32_t>{});
    std::erase(pending, asked.step);
    (*rec)["pending"] = pending;
    t.stepSentMs = -1;
  }
  if (rec->value("kind", "") == "evidence" && m.detail == "complete" && rec->value("state", "") == "sending") {
    (*rec)["state"] = "accepted";  // every chunk is at the broker
    spdlog::info("site={} evidence={} every chunk at the broker", site_, asked.id);
  }
  // A put or chunk answered after the last chunk carries the broker's "accepted".
  if (!m.steps.empty() && rec->value("steps", 0u) == 1) {
    if (auto st = addStep(*txn, asked.id, *rec, m.steps[0]); !st) {
      refused("bad step", asked.id, st.error().message);
      return;
    }
    (*rec)["state"] = "accepted";
    spdlog::info("site={} request={} accepted by the broker", site_, asked.id);
  }
  (void)put(*txn, asked.id, *rec);
  if (auto st = std::move(*txn).commit(); !st) {
    spdlog::error("site={} request store: {}", site_, st.error().message);
    return;
  }
  // The window moves on at once, not at the next tick.
  if (asked.op == "chunk" && rec->value("state", "") == "sending") driveOut(asked.id, *rec, t, nowMs);
}

void RequestDesk::gotChunk(const bus::RequestMsg& m, const Asked& asked, int64_t nowMs) {
  Transfer& t = transfers_[asked.id];
  t.inflight.erase(asked.position);
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return;
  auto rec = record(*txn, asked.id);
  if (!rec || rec->value("state", "") != "fetching") return;
  auto c = content(*txn, asked.id);
  if (!c) return;
  const auto file = static_cast<uint32_t>(asked.position >> 32), index = static_cast<uint32_t>(asked.position & 0xffffffffu);
  if (m.file != file || m.index != index || !requests::decryptChunk(*c, file, index, m.data)) {
    // Changed, or another chunk: never stored; asked again.
    refused("chunk does not decrypt in its place", asked.id, "file " + std::to_string(file) + " chunk " + std::to_string(index));
    t.todo.insert(t.todo.begin(), asked.position);
    return;
  }
  const std::string key = chunkKey(asked.id, asked.position);
  auto held = txn->get(blobs_, key);
  if (!held || *held) return;  // a duplicate answer
  if (!txn->put(blobs_, key, view(m.data))) return;
  ++counters_.chunksReceived;
  const uint32_t have = rec->value("have", 0u) + 1;
  (*rec)["have"] = have;
  if (have == total(*rec)) {
    if (auto st = finishDelivery(*txn, asked.id, *rec); !st) {
      spdlog::error("site={} request={} not delivered: {}", site_, asked.id, st.error().message);
      return;
    }
  }
  (void)put(*txn, asked.id, *rec);
  if (auto st = std::move(*txn).commit(); !st) {
    spdlog::error("site={} request store: {}", site_, st.error().message);
    return;
  }
  if (rec->value("state", "") == "fetching") driveIn(asked.id, *rec, t, nowMs);  // the next at once
}

// Every chunk is stored: each file's SHA-256 is checked against the signed content, then this
// site signs "delivered".
Status RequestDesk::finishDelivery(lmdb::Txn& txn, const std::string& id, Json& rec) {
  auto c = content(txn, id);
  if (!c) return c.error();
  for (uint32_t f = 0; f < c->files.size(); ++f) {
    crypto_hash_sha256_state state;
    crypto_hash_sha256_init(&state);
    for (uint32_t i = 0; i < requests::chunkCount(c->files[f].size); ++i) {
      auto v = txn.get(blobs_, chunkKey(id, position(f, i)));
      if (!v) return v.error();
      if (!*v) return makeError(Errc::kIo, "a chunk went missing");
      auto plain = requests::decryptChunk(*c, f, i, bytes(**v));
      if (!plain) return plain.error();
      crypto_hash_sha256_update(&state, plain->data(), plain->size());
    }
    requests::Hash got{};
    crypto_hash_sha256_final(&state, got.data());
    if (got != c->files[f].sha256) {
      refused("file hash does not match", id, c->files[f].name);
      rec["state"] = "damaged";
      rec["refusal"] = "file hash does not match";
      rec["detail"] = c->files[f].name + " does not match the SHA-256 the sender signed";
      return {};
    }
  }
  if (rec.value("kind", "") == "evidence") {  // proven by the status that names it; no step of its own
    rec["state"] = "delivered";
    spdlog::info("site={} evidence={} delivered: {} files stored and checked", site_, id, c->files.size());
    event(rec.value("request", ""), "evidence", rec, Json{{"parcel", id}, {"files", c->files.size()}});
    return {};
  }
  rec["state"] = "delivered";  // so the step below is not taken for part of the transfer
  requests::Step s;
  s.kind = "delivered";
  s.files = c->files;
  LIAISON_TRY(signAndQueue(txn, id, rec, std::move(s)));
  ++counters_.delivered;
  spdlog::info("site={} request={} delivered: {} files stored and checked", site_, id, c->files.size());
  return {};
}

void RequestDesk::onOffer(const bus::RequestMsg& m) {
  if (m.keys.empty()) return;
  auto sealed = requests::decodeSealed(m.data);
  if (!sealed) return refused("bad offer", m.id, sealed.error().message);
  if (sealed->toSite != site_) return refused("not for this site", sealed->id, "it is for " + sealed->toSite);
  if (sealed->id.empty() || sealed->id.size() > 64 ||
      !std::all_of(sealed->id.begin(), sealed->id.end(), [](char ch) { return std::isalnum(static_cast<unsigned char>(ch)) || ch == '-'; })) {
    return refused("bad offer", "-", "a request id that is not a plain id");
  }
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return;
  if (auto held = txn->get(reqs_, sealed->id); held && *held) {
    stored(m.keys[0]);  // offered again: its "stored" was lost
    return;
  }
  if (m.steps.size() == 1) {
    auto status = requests::decodeStep(m.steps[0]);
    if (status && status->step.kind == "status" && status->step.requestId != sealed->id) {
      return onEvidence(m, *sealed, *status, *txn);
    }
  }
  auto c = requests::open(*sealed, keys_);
  if (!c) return refused("cannot open", sealed->id, c.error().message);
  Json rec = {{"direction", "in"},
              {"state", "fetching"},
              {"from", sealed->fromSite},
              {"to", site_},
              {"toContact", c->toContact},
              {"case", c->caseReference},
              {"legalBasis", c->legalBasis},
              {"measures", c->measures},
              {"urgent", c->urgent},
              {"deadline", c->deadline},
              {"chunks", sealed->chunks},
              {"have", 0},
              {"steps", 0},
              {"pending", Json::array()},
              {"createdAt", clock_.nowSeconds()},
              {"updatedAt", clock_.nowSeconds()}};
  if (!txn->put(blobs_, "k/" + sealed->id, view(requests::encode(*c)))) return;
  if (!txn->put(blobs_, "h/" + sealed->id, view(m.data))) return;
  for (const auto& step : m.steps) {
    if (auto st = addStep(*txn, sealed->id, rec, step); !st) {
      return refused("bad trail", sealed->id, st.error().message);  // aborted: nothing stored
    }
  }
  if (rec.value("steps", 0u) < 2) return refused("bad trail", sealed->id, "an offer carries \"sent\" and \"accepted\"");
  if (total(rec) == 0) {
    if (auto st = finishDelivery(*txn, sealed->id, rec); !st) return;
  }
  if (!put(*txn, sealed->id, rec)) return;
  if (auto st = std::move(*txn).commit(); !st) {
    spdlog::error("site={} request store: {}", site_, st.error().message);
    return;
  }
  ++counters_.received;
  active_.insert(sealed->id);
  nextReminderMs_ = 0;
  stored(m.keys[0]);
  spdlog::info("site={} request={} from={} offered; fetching {} chunks", site_, sealed->id, sealed->fromSite, total(rec));
  event(sealed->id, "new", rec);
}

// Evidence sent back with status step N of one of this site's requests: taken only once that
// status is in the trail here, and only if the status names exactly this sealed parcel.
void RequestDesk::onEvidence(const bus::RequestMsg& m, const requests::Sealed& sealed,
                             const requests::SignedStep& status, lmdb::Txn& txn) {
  const std::string request = status.step.requestId;
  auto rec = record(txn, request);
  if (!rec) return refused("unknown request", sealed.id, "evidence for a request this site does not hold");
  if (rec->value("direction", "") != "out" || rec->value("to", "") != sealed.fromSite) {
    return refused("bad evidence", sealed.id, "evidence from a site the request did not go to");
  }
  uint32_t n = 0;
  for (uint32_t i = 1; i <= rec->value("steps", 0u) && n == 0; ++i) {
    auto v = txn.get(blobs_, stepKey(request, i));
    if (v && *v && **v == view(m.steps[0])) n = i;
  }
  if (n == 0) return;  // its status is not here yet: the offer comes again
  const auto subject = requests::blake2b(m.data);
  if (sealed.id != parcelId(request, n) || status.step.subject != Bytes(subject.begin(), subject.end())) {
    return refused("bad evidence", sealed.id, "it is not the parcel its status names");
  }
  auto c = requests::open(sealed, keys_);
  if (!c) return refused("cannot open", sealed.id, c.error().message);
  if (c->files != status.step.files) return refused("bad evidence", sealed.id, "its files are not those its status names");
  Json parcel = {{"direction", "in"}, {"kind", "evidence"}, {"request", request}, {"step", n}, {"state", "fetching"},
                 {"from", sealed.fromSite}, {"to", site_}, {"case", c->caseReference}, {"chunks", sealed.chunks},
                 {"have", 0}, {"steps", 0}, {"pending", Json::array()}, {"createdAt", clock_.nowSeconds()},
                 {"updatedAt", clock_.nowSeconds()}};
  if (!txn.put(blobs_, "k/" + sealed.id, view(requests::encode(*c)))) return;
  if (!txn.put(blobs_, "h/" + sealed.id, view(m.data))) return;
  if (!put(txn, sealed.id, parcel)) return;
  if (auto st = std::move(txn).commit(); !st) return;
  active_.insert(sealed.id);
  stored(m.keys[0]);
  spdlog::info("site={} request={} evidence={} of step {} offered; fetching {} chunks", site_, request, sealed.id, n,
               total(parcel));
}

void RequestDesk::onStep(const bus::RequestMsg& m) {
  if (m.keys.size() != 1 || m.steps.size() != 1) return;
  const std::string& key = m.keys[0];  // "step/ID/N"
  const auto slash = key.rfind('/');
  if (!key.starts_with("step/") || slash <= 5) return;
  const std::string id = key.substr(5, slash - 5);
  uint32_t n = 0;
  if (std::sscanf(key.c_str() + slash + 1, "%u", &n) != 1) return;
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return;
  auto rec = record(*txn, id);
  if (!rec) return refused("unknown request", id, "a step of a request this site does not hold");
  const uint32_t have = rec->value("steps", 0u);
  if (n <= have) return stored(key);  // held already
  if (n != have + 1) return;          // an earlier one comes first (it is resent too)
  if (auto st = addStep(*txn, id, *rec, m.steps[0]); !st) return refused("bad step", id, st.error().message);
  if (auto st = std::move(*txn).commit(); !st) return;
  stored(key);
  spdlog::info("site={} request={} step {} ({}) recorded", site_, id, n, rec->value("state", ""));
  auto step = requests::decodeStep(m.steps[0]);
  event(id, "step", *rec,
        Json{{"kind", step ? step->step.kind : ""}, {"status", step ? step->step.status : ""}, {"by", step ? step->step.by : ""}});
}

void RequestDesk::event(const std::string& id, const std::string& what, const Json& rec, Json extra) {
  if (hook_ == nullptr) return;
  Json j = {{"event", what},
            {"id", id},
            {"direction", rec.value("direction", "") == "in" ? "incoming" : "outgoing"},
            {"case", rec.value("case", "")},
            {"from", rec.value("from", "")},
            {"to", rec.value("to", "")},
            {"urgent", rec.value("urgent", false)},
            {"deadline", rec.value("deadline", "")},
            {"state", rec.value("state", "")}};
  if (extra.is_object()) j.update(extra);
  hook_->enqueue(id, j.dump());
}

// Each request whose deadline is near (kRemindDays) or past without a final status is reminded
// of once per stage ("due-soon", then "overdue"), at both sites: the stage is kept in the record.
void RequestDesk::remind() {
  const int64_t now = clock_.nowSeconds();
  std::vector<std::pair<std::string, Json>> due;
  {
    auto txn = lmdb::Txn::beginRead(env_);
    if (!txn) return;
    auto cursor = lmdb::Cursor::open(*txn, reqs_);
    if (!cursor) return;
    std::string_view k, v;
    for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
      auto rec = Json::parse(v, nullptr, false);
      if (rec.is_discarded()) continue;
      auto deadline = deadlineOf(rec);
      const std::string state = rec.value("state", "");
      if (!deadline || finalStatus(state) || state == "refused-by-broker" || state == "uploading") continue;
      const std::string stage = *deadline + kDay <= now ? "overdue" : *deadline + kDay - now <= kRemindDays * kDay ? "due-soon" : "";
      if (stage.empty() || rec.value("reminded", "") == stage) continue;
      rec["reminded"] = stage;
      due.emplace_back(std::string(k), std::move(rec));
    }
  }
  if (due.empty()) return;
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return;
  for (const auto& [id, rec] : due) {
    if (!put(*txn, id, rec)) return;
  }
  if (!std::move(*txn).commit()) return;
  for (const auto& [id, rec] : due) {
    spdlog::info("site={} request={} deadline {}: {}", site_, id, rec.value("deadline", ""), reminderText(rec, now));
    event(id, "reminder", rec, Json{{"reminder", reminderText(rec, now)}});
  }
}

RequestDesk::Counters RequestDesk::counters() const {
  std::lock_guard lock(mutex_);
  return counters_;
}

}  // namespace liaison::site
