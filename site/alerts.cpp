#include "site/alerts.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "common/files.h"
#include "schemas/alert_json.h"
#include "trust/keys.h"
#include "trust/verify.h"

extern char** environ;

namespace liaison::site {

namespace {

std::string str(capnp::Text::Reader t) { return std::string(t.begin(), t.size()); }

std::string answerKey(const std::string& alertId, const std::string& site, std::string_view kind) {
  return "answer/" + alertId + "/" + site + "/" + std::string(kind);
}

std::string answerDbKey(const std::string& alertId, const std::string& site, const std::string& kind) {
  std::string k = alertId;
  k.push_back('\0');
  k += site;
  k.push_back('\0');
  k += kind;
  return k;
}

Bytes bytesOf(std::string_view v) { return Bytes(v.begin(), v.end()); }
std::string_view viewOf(const Bytes& b) { return {reinterpret_cast<const char*>(b.data()), b.size()}; }

}  // namespace

// ---------------------------------------------------------------------------------------------
// Inbox

namespace {

json::Json storedAlertToJson(const StoredAlert& a) {
  json::Json j;
  j["direction"] = a.outbound ? "out" : "in";
  j["receivedAt"] = a.receivedAt;
  j["state"] = a.state;
  if (!a.replacedBy.empty()) {
    j["replacedBy"] = a.replacedBy;
    j["replacedHow"] = a.replacedHow;
  }
  if (!a.custody.is_null()) j["custody"] = a.custody;
  return j;
}

StoredAlert storedAlertFromJson(const std::string& id, const json::Json& j) {
  StoredAlert a;
  a.id = id;
  a.outbound = j.value("direction", "in") == "out";
  a.receivedAt = j.value("receivedAt", int64_t{0});
  a.state = j.value("state", "");
  a.replacedBy = j.value("replacedBy", "");
  a.replacedHow = j.value("replacedHow", "");
  if (auto it = j.find("custody"); it != j.end()) a.custody = *it;
  return a;
}

}  // namespace

namespace {
// Reads a stored alert's fields but its custody (the broker's report, most of the record's
// bytes), building nothing of it: storedAlertToJson writes custody last, so reading stops there
// once direction and state were seen. Returns false when the text is not JSON.
class HeadReader final : public nlohmann::json_sax<json::Json> {
 public:
  explicit HeadReader(StoredAlert& a) : a_(a) {}
  bool null() override { return true; }
  bool boolean(bool) override { return true; }
  bool number_integer(number_integer_t v) override {
    if (depth_ == 1 && key_ == "receivedAt") a_.receivedAt = v;
    return true;
  }
  bool number_unsigned(number_unsigned_t v) override {
    if (depth_ == 1 && key_ == "receivedAt") a_.receivedAt = static_cast<int64_t>(v);
    return true;
  }
  bool number_float(number_float_t, const string_t&) override { return true; }
  bool string(string_t& v) override {
    if (depth_ != 1) return true;
    if (key_ == "direction") {
      a_.outbound = v == "out";
      direction_ = true;
    } else if (key_ == "state") {
      a_.state = std::move(v);
      state_ = true;
    } else if (key_ == "replacedBy") {
      a_.replacedBy = std::move(v);
    } else if (key_ == "replacedHow") {
      a_.replacedHow = std::move(v);
    }
    return true;
  }
  bool binary(binary_t&) override { return true; }
  bool start_object(std::size_t) override { return ++depth_, true; }
  bool end_object() override { return --depth_, true; }
  bool start_array(std::size_t) override { return ++depth_, true; }
  bool end_array() override { return --depth_, true; }
  bool key(string_t& k) override {
    if (depth_ != 1) return true;
    key_ = std::move(k);
    if (key_ == "custody" && direction_ && state_) {
      stopped_ = true;
      return false;  // the rest is custody: not needed
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) override {
    return false;
  }
  bool read(std::string_view text) {
    return json::Json::sax_parse(text.begin(), text.end(), this) || stopped_;
  }

 private:
  StoredAlert& a_;
  int depth_ = 0;
  string_t key_;
  bool direction_ = false, state_ = false, stopped_ = false;
};

Result<StoredAlert> parseAlert(const lmdb::Txn& txn, MDB_dbi envelopes, const std::string& id,
                               std::string_view json, Inbox::Read read = Inbox::Read::kWhole) {
  if (read == Inbox::Read::kState) {
    StoredAlert a;
    a.id = id;
    if (!HeadReader(a).read(json)) return makeError(Errc::kIo, "inbox damaged at alert " + id);
    return a;
  }
  auto j = json::Json::parse(json, nullptr, false);
  if (j.is_discarded()) return makeError(Errc::kIo, "inbox damaged at alert " + id);
  StoredAlert a = storedAlertFromJson(id, j);
  auto e = txn.get(envelopes, id);
  if (!e) return e.error();
  if (!*e) return makeError(Errc::kIo, "inbox damaged: no envelope for alert " + id);
  a.envelope = bytesOf(**e);
  return a;
}
Result<std::optional<StoredAlert>> readAlert(const lmdb::Txn& txn, MDB_dbi dbi, MDB_dbi envelopes,
                                             const std::string& id) {
  auto v = txn.get(dbi, id);
  if (!v) return v.error();
  if (!*v) return std::optional<StoredAlert>{};
  auto a = parseAlert(txn, envelopes, id, **v);
  if (!a) return a.error();
  return std::optional<StoredAlert>(std::move(a).value());
}
}  // namespace

Result<std::unique_ptr<Inbox>> Inbox::open(const std::string& dir, size_t mapSize) {
  MDB_dbi alerts = 0, envelopes = 0, answers = 0, outq = 0;
  auto env = lmdb::openWithDatabases(
      dir, mapSize, {{&alerts, "alerts"}, {&envelopes, "envelopes"}, {&answers, "answers"}, {&outq, "outq"}});
  if (!env) return env.error();
  std::unique_ptr<Inbox> inbox(new Inbox(std::move(env).value()));
  inbox->alerts_ = alerts;
  inbox->envelopes_ = envelopes;
  inbox->answers_ = answers;
  inbox->outq_ = outq;
  return inbox;
}

Result<std::optional<StoredAlert>> Inbox::get(const std::string& id) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  return readAlert(*txn, alerts_, envelopes_, id);
}

namespace {
// Calls fn(txn, id, stored record) for each alert in id order, in one read transaction; stops at
// the first error fn returns.
template <typename Fn>
Status eachRecord(const lmdb::Env& env, MDB_dbi alerts, Fn&& fn) {
  auto txn = lmdb::Txn::beginRead(env);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, alerts);
  if (!cursor) return cursor.error();
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    LIAISON_TRY(fn(*txn, k, v));
  }
  return {};
}
}  // namespace

Status Inbox::visit(const std::function<void(StoredAlert&)>& fn, Read read) const {
  return eachRecord(env_, alerts_,
                    [&](const lmdb::Txn& txn, std::string_view k, std::string_view v) -> Status {
                      auto a = parseAlert(txn, envelopes_, std::string(k), v, read);
                      if (!a) return a.error();
                      fn(*a);
                      return {};
                    });
}

Status Inbox::visitChanged(const std::function<bool(std::string_view id, uint64_t digest)>& held,
                           const std::function<void(StoredAlert&, uint64_t digest)>& fn) const {
  return eachRecord(env_, alerts_,
                    [&](const lmdb::Txn& txn, std::string_view k, std::string_view v) -> Status {
                      const uint64_t digest = std::hash<std::string_view>{}(v);
                      if (held(k, digest)) return {};
                      auto a = parseAlert(txn, envelopes_, std::string(k), v);
                      if (!a) return a.error();
                      fn(*a, digest);
                      return {};
                    });
}

uint64_t Inbox::version() const {
  MDB_envinfo info{};
  mdb_env_info(env_.get(), &info);
  return info.me_last_txnid;
}

Result<std::vector<std::string>> Inbox::ids(bool outbound) const {
  std::vector<std::string> out;
  LIAISON_TRY(visit(
      [&](const StoredAlert& a) {
        if (a.outbound == outbound) out.push_back(a.id);
      },
      Read::kState));
  return out;
}

Result<bool> Inbox::answeredBy(const std::string& id, const std::string& site) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, answers_);
  if (!cursor) return cursor.error();
  std::string prefix = id;  // answerDbKey without the kind
  prefix.push_back('\0');
  prefix += site;
  prefix.push_back('\0');
  std::string_view k, v;
  return cursor->seek(prefix, MDB_SET_RANGE, &k, &v) && k.starts_with(prefix);
}

Result<std::vector<Bytes>> Inbox::answers(const std::string& id) const {
  auto by = answersBy(id);
  if (!by) return by.error();
  std::vector<Bytes> out;
  out.reserve(by->size());
  for (auto& a : *by) out.push_back(std::move(a.envelope));
  return out;
}

Result<std::vector<Inbox::Answer>> Inbox::answersBy(const std::string& id) const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, answers_);
  if (!cursor) return cursor.error();
  std::string prefix = id;
  prefix.push_back('\0');
  std::vector<Answer> out;
  std::string_view k, v;
  for (bool ok = cursor->seek(prefix, MDB_SET_RANGE, &k, &v); ok && k.substr(0, prefix.size()) == prefix;
       ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    // The key is answerDbKey: ID \0 SITE \0 KIND.
    std::string_view rest = k.substr(prefix.size());
    size_t cut = rest.find('\0');
    if (cut == std::string_view::npos) continue;
    out.push_back(
        Answer{std::string(rest.substr(0, cut)), std::string(rest.substr(cut + 1)), bytesOf(v)});
  }
  return out;
}

Result<std::vector<std::pair<std::string, Bytes>>> Inbox::outbound() const {
  auto txn = lmdb::Txn::beginRead(env_);
  if (!txn) return txn.error();
  auto cursor = lmdb::Cursor::open(*txn, outq_);
  if (!cursor) return cursor.error();
  std::vector<std::pair<std::string, Bytes>> out;
  std::string_view k, v;
  for (bool ok = cursor->seek({}, MDB_FIRST, &k, &v); ok; ok = cursor->seek({}, MDB_NEXT, &k, &v)) {
    out.emplace_back(std::string(k), bytesOf(v));
  }
  return out;
}

Result<Inbox::Writer> Inbox::write() {
  auto txn = lmdb::Txn::beginWrite(env_);
  if (!txn) return txn.error();
  return Writer(*this, std::move(txn).value());
}

Status Inbox::Writer::putAlert(const StoredAlert& a) {
  LIAISON_TRY(txn_.put(inbox_.envelopes_, a.id, viewOf(a.envelope), MDB_NOOVERWRITE));
  return txn_.put(inbox_.alerts_, a.id, storedAlertToJson(a).dump());
}
Status Inbox::Writer::putAnswer(const std::string& alertId, const std::string& site,
                                const std::string& kind, const Bytes& envelope) {
  return txn_.put(inbox_.answers_, answerDbKey(alertId, site, kind), viewOf(envelope));
}
Status Inbox::Writer::queue(const std::string& key, const Bytes& envelope) {
  return txn_.put(inbox_.outq_, key, viewOf(envelope));
}
Status Inbox::Writer::unqueue(const std::string& key) { return txn_.del(inbox_.outq_, key); }
Result<std::optional<StoredAlert>> Inbox::Writer::get(const std::string& id) const {
  return readAlert(txn_, inbox_.alerts_, inbox_.envelopes_, id);
}
Result<std::optional<Bytes>> Inbox::Writer::answer(const std::string& alertId, const std::string& site,
                                                   const std::string& kind) const {
  auto v = txn_.get(inbox_.answers_, answerDbKey(alertId, site, kind));
  if (!v) return v.error();
  if (!*v) return std::optional<Bytes>{};
  return std::optional<Bytes>(bytesOf(**v));
}
Status Inbox::Writer::commit() && { return std::move(txn_).commit(); }

// ---------------------------------------------------------------------------------------------
// HookRunner

HookRunner::HookRunner(std::string command, std::string idVariable, std::string what)
    : command_(std::move(command)), idVariable_(std::move(idVariable)), what_(std::move(what)) {
  ::signal(SIGPIPE, SIG_IGN);  // a hook that does not read its stdin must not kill the daemon
  thread_ = std::thread([this] { run(); });
}

HookRunner::~HookRunner() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
    queue_.clear();
  }
  cv_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void HookRunner::enqueue(std::string alertId, std::string json) {
  {
    std::lock_guard lock(mutex_);
    if (queue_.size() >= kMaxQueued) {
      spdlog::error("{}={} hook not run: {} hooks already waiting", what_, alertId, kMaxQueued);
      return;
    }
    queue_.emplace_back(std::move(alertId), std::move(json));
  }
  cv_.notify_one();
}

void HookRunner::run() {
  for (;;) {
    std::pair<std::string, std::string> job;
    {
      std::unique_lock lock(mutex_);
      cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
      if (queue_.empty()) return;
      job = std::move(queue_.front());
      queue_.pop_front();
    }
    const auto& [id, body] = job;
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) {
      spdlog::error("{}={} hook: pipe: {}", what_, id, std::strerror(errno));
      continue;
    }
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (!std::string_view(*e).starts_with(idVariable_ + "=")) env.emplace_back(*e);
    }
    env.push_back(idVariable_ + "=" + id);
    std::vector<char*> envp;
    for (auto& e : env) envp.push_back(e.data());
    envp.push_back(nullptr);
    std::string sh = "/bin/sh", dashC = "-c", cmd = command_;
    char* argv[] = {sh.data(), dashC.data(), cmd.data(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    posix_spawn_file_actions_adddup2(&actions, fds[0], 0);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, "/bin/sh", &actions, nullptr, argv, envp.data());
    posix_spawn_file_actions_destroy(&actions);
    ::close(fds[0]);
    if (rc != 0) {
      ::close(fds[1]);
      spdlog::error("{}={} hook could not start: {}", what_, id, std::strerror(rc));
      continue;
    }
    size_t off = 0;
    while (off < body.size()) {
      ssize_t n = ::write(fds[1], body.data() + off, body.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // the hook closed its stdin: its business
      off += static_cast<size_t>(n);
    }
    ::close(fds[1]);
    auto deadline = std::chrono::steady_clock::now() + kTimeout;
    int status = 0;
    bool done = false;
    while (!done) {
      pid_t w = ::waitpid(pid, &status, WNOHANG);
      if (w == pid || (w < 0 && errno != EINTR)) {
        done = true;
        break;
      }
      if (std::chrono::steady_clock::now() >= deadline) {
        ::kill(pid, SIGKILL);
        ::waitpid(pid, &status, 0);
        spdlog::error("{}={} hook killed after {} s", what_, id, kTimeout.count());
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
    if (done) {
      if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
        spdlog::info("{}={} hook ran", what_, id);
      } else {
        spdlog::warn("{}={} hook failed (status {})", what_, id,
                     WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
      }
    }
  }
}

// ---------------------------------------------------------------------------------------------
// AlertDesk

AlertDesk::AlertDesk(Inbox& inbox, Transport& transport, const trust::KeyPair& keys, std::string site,
                     const directory::Directory& dir, const Clock& clock, HookRunner* hook,
                     bool autoReceipt, std::function<void(const std::string&)> onNew)
    : inbox_(inbox), transport_(transport), keys_(keys), site_(std::move(site)), dir_(dir),
      clock_(clock), hook_(hook), autoReceipt_(autoReceipt), onNew_(std::move(onNew)) {}

Status AlertDesk::load() {
  auto queued = inbox_.outbound();
  if (!queued) return queued.error();
  for (auto& [key, envelope] : *queued) outq_[key] = Queued{std::move(envelope), 0, 0, 0};
  return {};
}

void AlertDesk::refuse(const std::string& reason, const std::string& detail) {
  ++counters_.refused[reason];
  spdlog::warn("site={} delivery refused ({}): {}", site_, reason, detail);
}

void AlertDesk::onDelivery(bus::Delivery delivery) { buffered_.push_back(std::move(delivery)); }

void AlertDesk::sendAnswer(const std::string& key, Queued& q, int64_t nowMs) {
  uint64_t id = kRequestBit | ++nextRequest_;
  if (q.requestId != 0) inFlight_.erase(q.requestId);
  inFlight_[id] = key;
  q.requestId = id;
  ++q.attempts;
  int64_t backoff = 1000;
  for (uint32_t i = 1; i < q.attempts && backoff < 30000; ++i) backoff *= 2;
  q.nextAttemptMs = nowMs + std::min<int64_t>(backoff, 30000);
  bus::AlertRequest r;
  r.requestId = id;
  r.kind = bus::AlertRequest::Kind::kAnswer;
  r.envelope = q.envelope;
  transport_.send(r);
  ++counters_.answersSent;
}

Status AlertDesk::dropAccepted() {
  if (unqueue_.empty()) return {};
  auto w = inbox_.write();
  if (!w) return w.error();
  for (const auto& key : unqueue_) LIAISON_TRY(w->unqueue(key));
  LIAISON_TRY(std::move(*w).commit());
  unqueue_.clear();
  return {};
}

Status AlertDesk::flush(const std::vector<Sent>& sent) {
  if (buffered_.empty() && sent.empty()) {
    if (unqueue_.size() >= kDropBatch ||
        (!unqueue_.empty() && lastTickMs_ - unqueueSinceMs_ >= kDropDelayMs)) {
      return dropAccepted();
    }
    return {};
  }
  std::vector<bus::Delivery> deliveries;
  deliveries.swap(buffered_);
  const int64_t now = clock_.nowSeconds();
  auto w = inbox_.write();
  if (!w) return w.error();
  std::vector<std::pair<std::string, Bytes>> toSend;
  std::vector<std::string> storedKeys;
  std::vector<std::pair<std::string, std::string>> hooks;
  std::vector<std::string> newIds;
  std::vector<std::pair<std::string, Bytes>> newAnswers;
  LIAISON_TRY(putSent(*w, sent));
  for (const auto& key : unqueue_) LIAISON_TRY(w->unqueue(key));
  // Decoded and their signatures checked on every core first (a sender takes a receipt from
  // each target of each alert); every other check follows in order.
  std::vector<const Bytes*> envelopes;
  for (const auto& d : deliveries) envelopes.push_back(&d.envelope);
  auto checked = trust::checkEnvelopes(envelopes);
  for (size_t k = 0; k < deliveries.size(); ++k) {
    const auto& d = deliveries[k];
    auto& item = checked[k].item;
    if (!item) {
      refuse("malformed", d.key.substr(0, 80) + ": " + item.error().message);
      continue;
    }
    // A bad signature is left for verify() to find and name.
    auto decision = dir_.verifyOther(*item, now, /*signatureChecked=*/checked[k].signatureValid);
    if (!decision) return decision.error();
    if (!decision->accepted()) {
      // Perhaps this replica has not caught up with the sender's certificate yet: no receipt,
      // so the broker delivers again later.
      refuse(trust::refusalName(decision->refusal), decision->detail);
      continue;
    }
    auto reader = item->item.reader();
    if (reader.which() == schema::Item::ALERT) {
      auto alert = reader.getAlert();
      const std::string id = str(alert.getId());
      if (d.key != "alert/" + id) {
        refuse("malformed", "delivery " + d.key.substr(0, 80) + " carries alert " + id);
        continue;
      }
      if (auto st = json::checkAlert(alert); !st) {
        refuse("invalid", st.error().message);
        continue;
      }
      if (str(alert.getSender().getSite()) != item->signer) {
        refuse("out of scope", "alert " + id + " names sender " + str(alert.getSender().getSite()) +
                                   " but is signed by " + item->signer);
        continue;
      }
      const std::string key = answerKey(id, site_, json::kReceipt);
      auto existing = w->get(id);
      if (!existing) return existing.error();
      if (*existing) {
        // Delivered again: the broker did not get the receipt. Send it again; show nothing new.
        ++counters_.duplicates;
        auto receipt = w->answer(id, site_, std::string(json::kReceipt));
        if (!receipt) return receipt.error();
        if (*receipt) {
          LIAISON_TRY(w->queue(key, **receipt));
          toSend.emplace_back(key, std::move(**receipt));
        }
        spdlog::info("site={} alert={} delivered again; receipt resent", site_, id);
        continue;
      }
      StoredAlert a;
      a.id = id;
      a.envelope = d.envelope;
      a.receivedAt = now;
      a.state = "new";
      LIAISON_TRY(w->putAlert(a));
      for (auto ref : alert.getReferences()) {
        auto old = w->get(str(ref));
        if (!old) return old.error();
        if (*old && !(*old)->outbound) {
          (*old)->replacedBy = id;
          (*old)->replacedHow = str(alert.getMsgType());
          LIAISON_TRY(w->putAlert(**old));
        }
      }
      if (autoReceipt_) {
        auto receipt = trust::sign(json::ackItem(id, site_, json::kReceipt, "", "", formatTimestamp(now)),
                                   site_, keys_)
                           .encode();
        LIAISON_TRY(w->putAnswer(id, site_, std::string(json::kReceipt), receipt));
        LIAISON_TRY(w->queue(key, receipt));
        toSend.emplace_back(key, std::move(receipt));
      }
      newIds.push_back(id);
      if (hook_ != nullptr) {
        auto j = json::alertToJson(alert);
        j["receivedAt"] = formatTimestamp(now);
        j["site"] = site_;
        hooks.emplace_back(id, j.dump());
      }
      ++counters_.received;
      spdlog::info("site={} alert={} from site={} stored: {}", site_, id, item->signer,
                   str(alert.getHeadline()));
    } else if (reader.which() == schema::Item::ACK) {
      auto ack = reader.getAck();
      if (auto st = json::checkAck(ack); !st) {
        refuse("invalid", st.error().message);
        continue;
      }
      const std::string alertId = str(ack.getAlertId()), from = str(ack.getSite()), kind = str(ack.getKind());
      if (from != item->signer || d.key != answerKey(alertId, from, kind)) {
        refuse("out of scope", "answer " + d.key.substr(0, 80) + " is signed by " + item->signer);
        continue;
      }
      LIAISON_TRY(w->putAnswer(alertId, from, kind, d.envelope));
      storedKeys.push_back(d.key);
      newAnswers.emplace_back(alertId, d.envelope);
      ++counters_.answersReceived;
      spdlog::info("site={} alert={} {} by site={} {}", site_, alertId, kind, from, str(ack.getBy()));
    } else {
      refuse("malformed", "delivery " + d.key.substr(0, 80) + " carries a " + itemKind(reader));
    }
  }
  LIAISON_TRY(std::move(*w).commit());
  unqueue_.clear();
  for (auto& [key, envelope] : toSend) {
    Queued& q = outq_[key];
    q.envelope = std::move(envelope);
    q.attempts = 0;
    sendAnswer(key, q, lastTickMs_);
  }
  for (size_t i = 0; i < storedKeys.size(); i += bus::kMaxStoredKeys) {
    bus::AlertRequest r;
    r.requestId = kRequestBit | ++nextRequest_;
    r.kind = bus::AlertRequest::Kind::kStored;
    r.keys.assign(storedKeys.begin() + static_cast<std::ptrdiff_t>(i),
                  storedKeys.begin() + static_cast<std::ptrdiff_t>(std::min(storedKeys.size(), i + bus::kMaxStoredKeys)));
    transport_.send(r);
  }
  if (hook_ != nullptr) {
    for (auto& [id, body] : hooks) hook_->enqueue(id, std::move(body));
  }
  if (onNew_) {
    for (const auto& id : newIds) onNew_(id);
  }
  if (onAnswer_) {
    for (const auto& [id, envelope] : newAnswers) onAnswer_(id, envelope);
  }
  return {};
}

void AlertDesk::onReply(const bus::AlertReply& reply) {
  auto it = inFlight_.find(reply.requestId);
  if (it == inFlight_.end()) return;
  std::string key = it->second;
  inFlight_.erase(it);
  auto q = outq_.find(key);
  if (q == outq_.end() || q->second.requestId != reply.requestId) return;
  if (!reply.accepted) {
    spdlog::warn("site={} answer {} refused by the broker ({}): {}", site_, key, reply.refusal, reply.detail);
  }
  if (key.size() < 8 || key.compare(key.size() - 8, 8, "/receipt") != 0) {
    std::lock_guard lock(outcomesMutex_);
    outcomes_[key] = reply.accepted ? "" : reply.refusal + ": " + reply.detail;
  }
  outq_.erase(q);
  if (unqueue_.empty()) unqueueSinceMs_ = lastTickMs_;
  unqueue_.push_back(key);  // removed from LMDB by a later flush() (see flush)
}

void AlertDesk::tick(int64_t nowMs, bool connected) {
  lastTickMs_ = nowMs;
  if (connected && !connected_) {
    for (auto& [key, q] : outq_) q.nextAttemptMs = 0;  // back: resend now, not after a backoff
  }
  connected_ = connected;
  if (nowMs - lastPingMs_ >= 1000) {
    bus::AlertRequest ping;
    ping.requestId = kRequestBit | ++nextRequest_;
    ping.kind = bus::AlertRequest::Kind::kPing;
    transport_.send(ping);
    lastPingMs_ = nowMs;
  }
  if (!connected) return;
  for (auto& [key, q] : outq_) {
    if (q.nextAttemptMs <= nowMs) sendAnswer(key, q, nowMs);
  }
}

Status AlertDesk::putSent(Inbox::Writer& w, const std::vector<Sent>& sent) {
  for (const auto& [envelope, custody] : sent) {
    auto item = SignedItem::decode(envelope);
    if (!item || item->item.reader().which() != schema::Item::ALERT) {
      return makeError(Errc::kInvalidInput, "not an alert");
    }
    StoredAlert a;
    a.id = str(item->item.reader().getAlert().getId());
    a.outbound = true;
    a.envelope = envelope;
    a.receivedAt = clock_.nowSeconds();
    a.state = "sent";
    a.custody = json::Json::parse(custody, nullptr, false);
    if (a.custody.is_discarded()) a.custody = nullptr;
    auto existing = w.get(a.id);
    if (!existing) return existing.error();
    if (*existing) a.receivedAt = (*existing)->receivedAt;
    LIAISON_TRY(w.putAlert(a));
    for (auto ref : item->item.reader().getAlert().getReferences()) {
      auto old = w.get(str(ref));
      if (!old) return old.error();
      if (*old) {
        (*old)->replacedBy = a.id;
        (*old)->replacedHow = str(item->item.reader().getAlert().getMsgType());
        LIAISON_TRY(w.putAlert(**old));
      }
    }
  }
  return {};
}

Status AlertDesk::recordCustody(const std::string& id, const std::string& custody) {
  auto j = json::Json::parse(custody, nullptr, false);
  if (j.is_discarded()) return makeError(Errc::kInvalidInput, "custody report is not JSON");
  auto w = inbox_.write();
  if (!w) return w.error();
  auto existing = w->get(id);
  if (!existing) return existing.error();
  StoredAlert a;
  if (*existing) {
    a = std::move(**existing);
  } else {
    // This site sent it but did not keep it (it stopped between the broker's answer and its
    // own write): the broker's report carries the envelope.
    auto env = fromBase64(j.value("envelope", ""));
    if (!env) return {};
    a.id = id;
    a.outbound = true;
    a.envelope = std::move(*env);
    a.receivedAt = j.value("acceptedAt", int64_t{0});
    a.state = "sent";
  }
  j.erase("envelope");
  a.custody = std::move(j);
  LIAISON_TRY(w->putAlert(a));
  return std::move(*w).commit();
}

Result<std::string> AlertDesk::answer(const std::string& alertId, std::string_view kind,
                                      const std::string& by, const std::string& comment,
                                      const std::string& reference) {
  const int64_t now = clock_.nowSeconds();
  auto item = trust::sign(json::ackItem(alertId, site_, kind, by, comment, formatTimestamp(now), reference),
                          site_, keys_);
  if (auto st = json::checkAck(item.item.reader().getAck()); !st) return st.error();
  auto w = inbox_.write();
  if (!w) return w.error();
  auto stored = w->get(alertId);
  if (!stored) return stored.error();
  if (!*stored) return makeError(Errc::kNotFound, "no alert " + alertId + " in this site's inbox");
  StoredAlert& a = **stored;
  if (a.outbound) {
    return makeError(Errc::kInvalidInput, "alert " + alertId + " was sent by this site; its targets answer it");
  }
  const std::string key = answerKey(alertId, site_, kind);
  if (kind == json::kReceipt) {
    auto had = w->answer(alertId, site_, std::string(kind));
    if (!had) return had.error();
    if (*had) return key;  // receipted already
  } else if (a.state == json::kAcknowledged || a.state == json::kDeclined) {
    if (a.state == kind) return key;  // said already
    return makeError(Errc::kInvalidInput, "alert " + alertId + " was already " + a.state + " at this site");
  }
  Bytes envelope = item.encode();
  if (kind != json::kReceipt) {
    a.state = std::string(kind);
    LIAISON_TRY(w->putAlert(a));
  }
  LIAISON_TRY(w->putAnswer(alertId, site_, std::string(kind), envelope));
  LIAISON_TRY(w->queue(key, envelope));
  LIAISON_TRY(std::move(*w).commit());
  spdlog::info("site={} alert={} {} by \"{}\"", site_, alertId, kind, by);
  Queued& q = outq_[key];
  q.envelope = std::move(envelope);
  q.attempts = 0;
  if (connected_) sendAnswer(key, q, lastTickMs_);
  return key;
}

Result<std::string> AlertDesk::relay(const Bytes& envelope) {
  auto item = SignedItem::decode(envelope);
  if (!item) return item.error();
  auto reader = item->item.reader();
  if (reader.which() != schema::Item::ACK) {
    return makeError(Errc::kInvalidInput, "only answers are relayed, not a " + itemKind(reader));
  }
  auto ack = reader.getAck();
  if (auto st = json::checkAck(ack); !st) return st.error();
  const std::string alertId = str(ack.getAlertId()), from = str(ack.getSite()), kind = str(ack.getKind());
  if (from != item->signer) return makeError(Errc::kInvalidInput, "answer of " + from + " signed by " + item->signer);
  const std::string key = answerKey(alertId, from, kind);
  if (outq_.count(key) != 0) return key;
  auto w = inbox_.write();
  if (!w) return w.error();
  auto had = w->answer(alertId, from, kind);
  if (!had) return had.error();
  if (*had) return key;  // relayed before (the broker has it, or it waits in the queue)
  LIAISON_TRY(w->putAnswer(alertId, from, kind, envelope));
  LIAISON_TRY(w->queue(key, envelope));
  LIAISON_TRY(std::move(*w).commit());
  spdlog::info("site={} alert={} {} by site={} relayed", site_, alertId, kind, from);
  Queued& q = outq_[key];
  q.envelope = envelope;
  q.attempts = 0;
  if (connected_) sendAnswer(key, q, lastTickMs_);
  return key;
}

std::optional<std::string> AlertDesk::outcome(const std::string& key) const {
  std::lock_guard lock(outcomesMutex_);
  auto it = outcomes_.find(key);
  if (it == outcomes_.end()) return std::nullopt;
  return it->second;
}

}  // namespace liaison::site
