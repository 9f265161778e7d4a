#include "site/daemon.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <chrono>
#include <deque>
#include <future>
#include <mutex>
#include <random>
#include <thread>

#include "bus/protocol.h"
#include "bus/zmq.h"
#include "common/files.h"
#include "schemas/json.h"
#include "common/metrics.h"
#include "common/parallel.h"
#include "directory/site.h"
#include "site/alerts.h"
#include "common/daemon.h"
#include "desk/desk.h"
#include "site/api.h"
#include "site/extension.h"
#include "site/precheck.h"
#include "site/replica.h"
#include "site/service.h"
#include "trust/keys.h"

namespace liaison::site {

namespace {

using Steady = std::chrono::steady_clock;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch())
      .count();
}

// The replica's store: the directory, verifying every item against the time the broker
// accepted it.
class DirectoryStore final : public ReplicaStore {
 public:
  DirectoryStore(directory::Directory& dir, std::string site, Extension* extension, Precheck& precheck)
      : dir_(dir), site_(std::move(site)), extension_(extension), precheck_(precheck) {}

  directory::Cursor cursor() const override {
    auto c = dir_.cursor();
    return c ? *c : directory::Cursor{};
  }

  Status apply(const std::vector<bus::Entry>& entries, const directory::Cursor& after,
               std::map<std::string, uint64_t>& refused) override {
    if (extension_ != nullptr) LIAISON_TRY(extension_->onEntries(entries));
    // Decoded and checked on every core, most already while the previous answer was written:
    // most of the work of a catch-up.
    auto t0 = Steady::now();
    auto checked = precheck_.take(entries);
    auto t1 = Steady::now();
    checkWait_ += t1 - t0;
    struct Timed {
      Steady::time_point from;
      Steady::duration& into;
      Histogram& times;
      ~Timed() {
        auto d = Steady::now() - from;
        into += d;
        times.observe(d);
      }
    } timed{t1, writing_, commitTimes_};
    auto batch = dir_.begin();
    if (!batch) return batch.error();
    for (size_t k = 0; k < entries.size(); ++k) {
      const auto& e = entries[k];
      if (!checked[k].item) {
        ++refused["malformed"];
        spdlog::warn("site={} seq={} refused: {}", site_, e.seq, checked[k].item.error().message);
        continue;
      }
      const SignedItem& item = *checked[k].item;
      if (!checked[k].signatureValid) {
        ++refused[trust::refusalName(trust::Refusal::kBadSignature)];
        spdlog::warn("site={} seq={} refused: bad signature by {}", site_, e.seq, item.signer);
        continue;
      }
      auto r = batch->apply(item, e.acceptedAt, /*signatureChecked=*/true);
      if (!r) return r.error();
      if (r->collision) {
        ++refused[trust::refusalName(trust::Refusal::kCollision)];
        spdlog::warn("site={} seq={} {} {}: a home record took the id a peer network's record held",
                     site_, e.seq, r->kind, r->id);
      }
      if (r->outcome == directory::Outcome::kRefused) {
        ++refused[trust::refusalName(r->decision.refusal)];
        spdlog::warn("site={} seq={} {} {} refused: {}", site_, e.seq, r->kind, r->id,
                     r->decision.detail);
      }
    }
    LIAISON_TRY(batch->setCursor(after));
    return std::move(*batch).commit();
  }

  // Where a catch-up's time went: waiting for signature checks, and writing.
  Steady::duration checkWait_{}, writing_{};
  Histogram commitTimes_;  // each apply: the directory's writing and its LMDB commit

 private:
  directory::Directory& dir_;
  std::string site_;
  Extension* extension_;
  Precheck& precheck_;
};

struct Job {
  std::vector<Bytes> envelopes;
  std::promise<Result<PublishOutcome>> done;
};

// A site's request to the broker about an alert, waiting for its answer.
struct AlertWaiter {
  std::shared_ptr<std::promise<Result<AlertOutcome>>> done;
  Bytes sent;           // for a send: the alert, recorded once accepted
  std::string statusOf; // for a status request: the alert id
  int64_t sinceMs = 0;
};

class Daemon final : public SiteService, public Transport {
 public:
  Daemon(const DaemonOptions& o, const std::atomic<bool>& stop) : o_(o), stop_(stop) {}
  ~Daemon() override {
    api_.reset();
    hook_.reset();
    dealer_.reset();
    sub_.reset();
    if (wake_ >= 0) ::close(wake_);
  }

  Status start() {
    auto config = directory::loadSiteConfig(o_.siteDir);
    if (!config) return config.error();
    config_ = std::move(config).value();
    if (config_.broker.empty()) {
      return makeError(Errc::kInvalidInput,
                       o_.siteDir + ": a standalone site (made without --broker) has no daemon");
    }
    auto keys = trust::loadKeyPair(config_.keyPath);
    if (!keys) return keys.error();
    keys_ = *keys;
    auto brokerKey = trust::loadPublicKeys(config_.brokerKeyPath);
    if (!brokerKey) return brokerKey.error();
    brokerKey_ = *brokerKey;
    auto dir = directory::openSiteDirectory(config_, false);
    if (!dir) return dir.error();
    dir_ = std::move(dir).value();
    store_ = std::make_unique<DirectoryStore>(*dir_, config_.id, o_.extension, precheck_);
    replica_ = std::make_unique<ReplicaCore>(*store_, *this, ReplicaCore::Limits{});

    auto ctx = bus::Context::create();
    if (!ctx) return ctx.error();
    ctx_ = std::make_unique<bus::Context>(std::move(ctx).value());
    auto dealer = bus::Socket::open(*ctx_, ZMQ_DEALER);
    if (!dealer) return dealer.error();
    dealer_ = std::make_unique<bus::Socket>(std::move(dealer).value());
    LIAISON_TRY(configureClient(*dealer_));
    LIAISON_TRY(dealer_->connect(config_.broker));
    wake_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (wake_ < 0) return makeError(Errc::kIo, "eventfd failed");

    auto inbox = Inbox::open(config_.dir + "/alerts");
    if (!inbox) return inbox.error();
    inbox_ = std::move(inbox).value();
    if (!config_.onNewAlert.empty()) hook_ = std::make_unique<HookRunner>(config_.onNewAlert);
    Extension* ext = o_.extension;
    desk_ = std::make_unique<AlertDesk>(
        *inbox_, *this, keys_, config_.id, *dir_, clock_, hook_.get(), ext == nullptr || ext->autoReceipt(),
        [ext](const std::string& id) {
          if (ext != nullptr) ext->onNewAlert(id);
        });
    if (ext != nullptr) {
      desk_->onAnswer([ext](const std::string& id, const Bytes& envelope) { ext->onAnswer(id, envelope); });
    }
    LIAISON_TRY(desk_->load());

    auto token = loadOrCreateApiToken(config_.dir);
    if (!token) return token.error();
    web_ = desk::makeDesk(config_, *this, keys_, *dir_, clock_);
    auto api = ApiServer::start(config_, *this, keys_, *dir_, *token, web_.get());
    if (!api) return api.error();
    api_ = std::move(api).value();
    auto cursor = replica_->cursor();
    spdlog::info("site={} broker={} cursor={:016x}/{} api={}", config_.id, config_.broker,
                 cursor.epoch, cursor.seq, api_->endpoint());
    return {};
  }

  Status loop() {
    presentCertificate();
    replica_->start(nowMs());
    int64_t nextTick = nowMs();
    while (!stop_.load()) {
      std::vector<zmq_pollitem_t> items{dealer_->pollItem()};
      items.push_back(zmq_pollitem_t{nullptr, wake_, ZMQ_POLLIN, 0});
      if (sub_) items.push_back(sub_->pollItem());
      int64_t wait = std::max<int64_t>(0, nextTick - nowMs());
      auto ready = bus::poll(items, std::chrono::milliseconds(wait));
      if (!ready) continue;
      if (items[1].revents & ZMQ_POLLIN) takeJobs();
      if (items[0].revents & ZMQ_POLLIN) drainDealer();
      finishSent();
      if (sub_ && items.size() > 2 && (items[2].revents & ZMQ_POLLIN)) drainSub();
      if (nowMs() >= nextTick) {
        replica_->onTick(nowMs());
        desk_->tick(nowMs(), status().connected);
        expireJobs();
        giveBack_.note(replica_->applied() + status().alertsReceived, nowMs());
        noteCatchUp();
        nextTick = nowMs() + 100;
      }
      (void)replica_->flush();
      flushDesk();
      publishStatus();
    }
    (void)replica_->flush();
    finishSent();
    // Whoever still waits for the broker's answer is told now, not after its timeout.
    takeJobs();
    for (auto& [id, job] : pendingJobs_) {
      job.first->done.set_value(makeError(Errc::kUnavailable, "the site daemon is stopping"));
    }
    pendingJobs_.clear();
    flushDesk();
    for (auto& [id, w] : alertWaiters_) {
      w.done->set_value(makeError(Errc::kUnavailable, "the site daemon is stopping"));
    }
    alertWaiters_.clear();
    spdlog::info("site={} stopping at cursor {}", config_.id, replica_->cursor().seq);
    return {};
  }

  // SiteService (any thread)
  Result<PublishOutcome> submit(std::vector<Bytes> envelopes,
                                std::chrono::milliseconds timeout) override {
    // Not connected: wait a little (a daemon just started), then say so rather than hang.
    auto connectedBy = Steady::now() + std::min<std::chrono::milliseconds>(timeout, std::chrono::seconds(5));
    while (!status().connected && Steady::now() < connectedBy) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!status().connected) {
      return makeError(Errc::kUnavailable, "not connected to the broker " + config_.broker);
    }
    auto job = std::make_shared<Job>();
    job->envelopes = std::move(envelopes);
    auto future = job->done.get_future();
    {
      std::lock_guard lock(jobsMutex_);
      newJobs_.push_back(job);
    }
    uint64_t one = 1;
    (void)::write(wake_, &one, sizeof one);
    if (future.wait_for(timeout) != std::future_status::ready) {
      return makeError(Errc::kUnavailable, "the broker did not answer within " +
                                               std::to_string(timeout.count() / 1000) + " s");
    }
    return future.get();
  }

  Result<AlertOutcome> sendAlert(Bytes envelope, std::chrono::milliseconds timeout) override {
    AlertWaiter w;
    w.sent = envelope;
    bus::AlertRequest r;
    r.kind = bus::AlertRequest::Kind::kSend;
    r.envelope = std::move(envelope);
    return askBroker(std::move(r), std::move(w), timeout, std::chrono::seconds(5));
  }

  Result<AlertOutcome> alertStatus(const std::string& id, std::chrono::milliseconds timeout) override {
    AlertWaiter w;
    w.statusOf = id;
    bus::AlertRequest r;
    r.kind = bus::AlertRequest::Kind::kStatus;
    r.alertId = id;
    return askBroker(std::move(r), std::move(w), timeout, std::chrono::milliseconds(0));
  }

  Result<std::string> answerAlert(const std::string& id, const std::string& kind, const std::string& by,
                                  const std::string& comment, const std::string& reference) override {
    return onLoop<Result<std::string>>([&] { return desk_->answer(id, kind, by, comment, reference); });
  }

  Result<std::string> relayAnswer(Bytes envelope) override {
    return onLoop<Result<std::string>>([&] { return desk_->relay(envelope); });
  }
  const directory::Directory* replica() const override { return dir_.get(); }
  Status rewind() override {
    return onLoop<Status>([&] { return replica_->rewind(nowMs()); });
  }

  std::string extensionStatus() const override {
    return o_.extension != nullptr ? o_.extension->statusJson() : std::string();
  }

  std::optional<std::string> answerOutcome(const std::string& key) const override {
    return desk_->outcome(key);
  }

  const Inbox& inbox() const override { return *inbox_; }
  const directory::SiteConfig& config() const { return config_; }
  const trust::KeyPair& keys() const { return keys_; }

  SiteStatus status() const override {
    std::lock_guard lock(statusMutex_);
    return status_;
  }

  void addMetrics(MetricsText& out) const override {
    out.histogram("liaison_site_verify_seconds", "Decoding and signature check of one log entry.",
                  precheck_.checkTimes());
    out.histogram("liaison_site_commit_seconds", "Applying a batch of log entries: writing and LMDB commit.",
                  store_->commitTimes_);
  }

  // Transport (loop thread)
  void send(const bus::Message& request) override {
    auto st = dealer_->send({bus::encode(request)}, /*dontWait=*/true);
    if (!st) spdlog::debug("request not sent: {}", st.error().message);
  }

 private:
  Status configureClient(bus::Socket& s) {
    LIAISON_TRY(s.setCurveClient(keys_, brokerKey_.curve));
    LIAISON_TRY(s.setMaxMessageSize(static_cast<int64_t>(bus::kMaxFrameBytes)));
    // Reconnect with backoff; the first interval is jittered so sites do not return in step.
    std::mt19937 rng(std::random_device{}());
    LIAISON_TRY(s.setInt(ZMQ_RECONNECT_IVL, 100 + static_cast<int>(rng() % 200)));
    LIAISON_TRY(s.setInt(ZMQ_RECONNECT_IVL_MAX, 5000));
    return {};
  }

  void connectFanout(uint16_t port) {
    if (port == 0 || port == fanoutPort_) return;
    std::string host = config_.broker.substr(0, config_.broker.rfind(':'));
    sub_.reset();
    auto sub = bus::Socket::open(*ctx_, ZMQ_SUB);
    if (!sub) return;
    sub_ = std::make_unique<bus::Socket>(std::move(sub).value());
    auto st = configureClient(*sub_);
    if (st) st = sub_->setInt(ZMQ_RCVHWM, o_.rcvHwm);
    if (st) st = sub_->subscribe(bus::kTopicEntry);
    if (st) st = sub_->subscribe(bus::kTopicHeartbeat);
    if (st) st = sub_->connect(host + ":" + std::to_string(port));
    if (!st) {
      spdlog::error("fan-out: {}", st.error().message);
      sub_.reset();
      return;
    }
    fanoutPort_ = port;
    spdlog::info("site={} fan-out {}:{}", config_.id, host, port);
  }

  // Logs how long a catch-up of many entries took and where the time went.
  void noteCatchUp() {
    const bool behind = std::string_view(replica_->state()) != "following";
    if (behind && catchUpFrom_ < 0) {
      catchUpFrom_ = nowMs();
      catchUpApplied_ = replica_->applied();
      store_->checkWait_ = store_->writing_ = {};
    } else if (!behind && catchUpFrom_ >= 0) {
      uint64_t n = replica_->applied() - catchUpApplied_;
      auto ms = [](Steady::duration d) {
        return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
      };
      if (n >= 1000) {
        spdlog::info("site={} caught up: {} entries in {} ms (waiting for signature checks {} ms, "
                     "writing {} ms)", config_.id, n, nowMs() - catchUpFrom_, ms(store_->checkWait_),
                     ms(store_->writing_));
      }
      catchUpFrom_ = -1;
    }
  }

  // Reads the broker's answers and acts on them in order. Answers carrying log entries have their
  // signatures checked on the pool as soon as they are read; one is applied once checked, while
  // the pool checks those read after it (catch-up keeps several fetches in flight).
  void drainDealer() {
    struct Received {
      bus::Message message;
      uint64_t ticket = 0;  // of the precheck, for answers carrying entries
    };
    std::deque<Received> queue;
    auto receive = [&] {
      while (queue.size() < 4) {
        auto msg = dealer_->recv(2, /*dontWait=*/true);
        if (!msg) return;
        if (msg->size() != 1) continue;
        auto decoded = bus::decode((*msg)[0]);
        if (!decoded) {
          ++badFrames_;
          spdlog::warn("site={} bad answer from the broker: {}", config_.id, decoded.error().message);
          continue;
        }
        Received r{std::move(decoded).value(), 0};
        if (auto* items = std::get_if<bus::Items>(&r.message)) {
          r.ticket = precheck_.prepare(items->entries);
        } else if (auto* chunk = std::get_if<bus::SnapshotChunk>(&r.message)) {
          r.ticket = precheck_.prepare(chunk->entries);
        }
        queue.push_back(std::move(r));
      }
    };
    for (int i = 0; i < 1000; ++i) {
      receive();
      if (queue.empty()) return;
      // While the first answer's entries are checked, what arrives meanwhile is read and its
      // checks queued behind.
      while (queue.front().ticket != 0 && !precheck_.ready(queue.front().ticket)) {
        std::vector<zmq_pollitem_t> dealerOnly{dealer_->pollItem()};
        (void)bus::poll(dealerOnly, std::chrono::milliseconds(2));
        receive();
      }
      Received front = std::move(queue.front());
      queue.pop_front();
      auto* decoded = &front.message;
      int64_t now = nowMs();
      if (auto* info = std::get_if<bus::Info>(decoded)) {
        connectFanout(info->fanoutPort);
        replica_->onInfo(*info, now);
      } else if (auto* items = std::get_if<bus::Items>(decoded)) {
        replica_->onItems(*items, now);
        (void)replica_->flush();  // large catch-ups: one transaction per answer
      } else if (auto* chunk = std::get_if<bus::SnapshotChunk>(decoded)) {
        replica_->onSnapshot(*chunk, now);
        (void)replica_->flush();
      } else if (auto* result = std::get_if<bus::SubmitResult>(decoded)) {
        finishJob(*result);
      } else if (auto* delivery = std::get_if<bus::Delivery>(decoded)) {
        desk_->onDelivery(std::move(*delivery));
      } else if (auto* reply = std::get_if<bus::AlertReply>(decoded)) {
        if (reply->requestId & AlertDesk::kRequestBit) {
          desk_->onReply(*reply);
        } else {
          finishAlertWaiter(*reply);
        }
      } else if (auto* error = std::get_if<bus::ProtocolError>(decoded)) {
        spdlog::warn("site={} broker says: {}", config_.id, error->text);
      }
    }
  }

  void drainSub() {
    for (int i = 0; i < 5000; ++i) {
      auto msg = sub_->recv(3, /*dontWait=*/true);
      if (!msg) return;
      if (msg->size() != 2) continue;
      auto decoded = bus::decode((*msg)[1]);
      if (!decoded) {
        ++badFrames_;
        continue;
      }
      int64_t now = nowMs();
      if (auto* entry = std::get_if<bus::Entry>(&*decoded)) {
        replica_->onEntry(*entry, now);
      } else if (auto* hb = std::get_if<bus::Heartbeat>(&*decoded)) {
        replica_->onHeartbeat(*hb, now);
      }
    }
  }

  // Runs `fn` on the loop thread and returns its result (the loop owns the alert desk).
  template <typename R, typename F>
  R onLoop(F fn) {
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto future = task->get_future();
    {
      std::lock_guard lock(jobsMutex_);
      if (stopping_) return makeError(Errc::kUnavailable, "the site daemon is stopping");
      tasks_.push_back([task] { (*task)(); });
    }
    uint64_t one = 1;
    (void)::write(wake_, &one, sizeof one);
    return future.get();
  }

  Result<AlertOutcome> askBroker(bus::AlertRequest request, AlertWaiter waiter,
                                 std::chrono::milliseconds timeout, std::chrono::milliseconds connectWait) {
    auto connectedBy = Steady::now() + connectWait;
    while (!status().connected && Steady::now() < connectedBy) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    if (!status().connected) {
      return makeError(Errc::kUnavailable, "not connected to the broker " + config_.broker);
    }
    auto done = std::make_shared<std::promise<Result<AlertOutcome>>>();
    auto future = done->get_future();
    waiter.done = done;
    auto posted = onLoop<Status>([&, waiter = std::move(waiter)]() mutable -> Status {
      request.requestId = ++submitId_;
      waiter.sinceMs = nowMs();
      alertWaiters_[request.requestId] = std::move(waiter);
      send(request);
      return {};
    });
    if (!posted) return posted.error();
    if (future.wait_for(timeout) != std::future_status::ready) {
      return makeError(Errc::kUnavailable, "the broker did not answer within " +
                                               std::to_string(timeout.count() / 1000) + " s");
    }
    return future.get();
  }

  void finishAlertWaiter(const bus::AlertReply& reply) {
    auto it = alertWaiters_.find(reply.requestId);
    if (it == alertWaiters_.end()) return;
    AlertWaiter w = std::move(it->second);
    alertWaiters_.erase(it);
    AlertOutcome out{reply.accepted, reply.refusal, reply.detail, reply.custody};
    if (reply.accepted && !w.sent.empty()) {
      // Stored with the others the broker accepted in this drain, in one transaction, and only
      // then answered (finishSent).
      sent_.push_back(AlertDesk::Sent{std::move(w.sent), reply.custody});
      sentWaiters_.emplace_back(std::move(w.done), std::move(out));
      return;
    }
    if (reply.accepted && !w.statusOf.empty()) {
      if (auto st = desk_->recordCustody(w.statusOf, reply.custody); !st) {
        spdlog::warn("site={} custody report not kept: {}", config_.id, st.error().message);
      }
    }
    w.done->set_value(std::move(out));
  }

  // Stores the alerts the broker accepted since the last call, then tells their senders.
  void finishSent() {
    if (sent_.empty()) return;
    if (auto st = desk_->recordSent(sent_); !st) {
      spdlog::error("site={} {} accepted alert(s) not stored here: {}", config_.id, sent_.size(),
                    st.error().message);
    }
    sent_.clear();
    for (auto& [done, out] : sentWaiters_) done->set_value(std::move(out));
    sentWaiters_.clear();
  }

  void flushDesk() {
    if (auto st = desk_->flush(); !st) {
      spdlog::error("site={} alert inbox: {}", config_.id, st.error().message);
    }
  }

  void takeJobs() {
    uint64_t count = 0;
    (void)::read(wake_, &count, sizeof count);
    std::deque<std::shared_ptr<Job>> jobs;
    std::deque<std::function<void()>> tasks;
    {
      std::lock_guard lock(jobsMutex_);
      jobs.swap(newJobs_);
      tasks.swap(tasks_);
      if (stop_.load()) stopping_ = true;
    }
    for (auto& task : tasks) task();
    for (auto& job : jobs) {
      if (stop_.load()) {
        job->done.set_value(makeError(Errc::kUnavailable, "the site daemon is stopping"));
        continue;
      }
      uint64_t id = ++submitId_;
      // Moved: the request is encoded once and the job needs its items no more.
      send(bus::SubmitRequest{id, std::move(job->envelopes)});
      pendingJobs_[id] = {job, nowMs()};
    }
  }

  // Enrolment in one step: the site's own certificate goes to the broker before anything else.
  // A broker that does not hold it yet admits the site with it (and enters it into the log); one
  // that does ignores it as a replay.
  void presentCertificate() {
    auto text = readFile(config_.memberPath, 1 << 20);
    auto items = text ? json::dearmor(config_.memberPath, *text) : Result<std::vector<SignedItem>>(text.error());
    if (!items || items->size() != 1 || (*items)[0].item.reader().which() != schema::Item::MEMBER) {
      spdlog::warn("site={} certificate not presented: {}", config_.id,
                   items ? config_.memberPath + " holds no single certificate" : items.error().message);
      return;
    }
    bus::SubmitRequest request;
    request.requestId = presentedId_ = ++submitId_;
    request.envelopes.push_back((*items)[0].encode());
    send(request);
  }

  void finishJob(const bus::SubmitResult& r) {
    if (r.requestId == presentedId_ && presentedId_ != 0) {
      presentedId_ = 0;
      std::string said;
      if (r.accepted && r.firstSeq != 0) {
        said = "admitted";
        spdlog::info("site={} enrolled: the broker admitted its certificate (seq={})", config_.id, r.firstSeq);
      } else if (r.accepted) {
        said = "held";  // the broker held it already
      } else {
        said = "refused (" + r.refusal + "): " + r.detail;
        spdlog::error("site={} the broker refused this site's certificate ({}): {}", config_.id, r.refusal, r.detail);
      }
      std::lock_guard lock(statusMutex_);
      certificate_ = said;
      status_.certificate = said;
      return;
    }
    auto it = pendingJobs_.find(r.requestId);
    if (it == pendingJobs_.end()) return;
    PublishOutcome out{r.accepted, r.firstSeq, r.lastSeq, r.ignored, r.refusal, r.detail, r.index};
    it->second.first->done.set_value(out);
    pendingJobs_.erase(it);
  }

  void expireJobs() {
    int64_t now = nowMs();
    for (auto it = alertWaiters_.begin(); it != alertWaiters_.end();) {
      if (now - it->second.sinceMs > 120000) {
        it->second.done->set_value(makeError(Errc::kUnavailable, "no answer from the broker"));
        it = alertWaiters_.erase(it);
      } else {
        ++it;
      }
    }
    for (auto it = pendingJobs_.begin(); it != pendingJobs_.end();) {
      if (now - it->second.second > 120000) {
        it->second.first->done.set_value(makeError(Errc::kUnavailable, "no answer from the broker"));
        it = pendingJobs_.erase(it);
      } else {
        ++it;
      }
    }
  }

  void publishStatus() {
    SiteStatus s;
    s.site = config_.id;
    s.network = config_.network;
    s.broker = config_.broker;
    int64_t heard = replica_->lastHeardMs();
    s.lastHeardMsAgo = heard < 0 ? -1 : nowMs() - heard;
    s.connected = heard >= 0 && s.lastHeardMsAgo < 3500;
    s.brokerEpoch = replica_->brokerEpoch();
    s.brokerHead = replica_->brokerHead();
    s.cursorEpoch = replica_->cursor().epoch;
    s.cursorSeq = replica_->cursor().seq;
    s.applied = replica_->applied();
    s.refused = replica_->refused();
    if (badFrames_ > 0) s.refused["malformed frame"] = badFrames_;
    s.state = replica_->state();
    s.alertsReceived = desk_->counters().received;
    s.alertDuplicates = desk_->counters().duplicates;
    s.answersQueued = desk_->queued();
    s.answersReceived = desk_->counters().answersReceived;
    s.alertsRefused = desk_->counters().refused;
    s.catchUpApplied = catchUpFrom_ >= 0 ? replica_->applied() - catchUpApplied_ : 0;
    std::lock_guard lock(statusMutex_);
    s.certificate = certificate_;
    status_ = std::move(s);
  }

  const DaemonOptions& o_;
  const std::atomic<bool>& stop_;
  directory::SiteConfig config_;
  trust::KeyPair keys_;
  trust::PublicKeys brokerKey_;
  std::unique_ptr<directory::Directory> dir_;
  Precheck precheck_;  // before the store that uses it
  std::unique_ptr<DirectoryStore> store_;
  std::unique_ptr<ReplicaCore> replica_;
  std::unique_ptr<bus::Context> ctx_;
  std::unique_ptr<bus::Socket> dealer_, sub_;
  SystemClock clock_;
  std::unique_ptr<WebPages> web_;  // the desk, served by api_
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<Inbox> inbox_;
  std::unique_ptr<HookRunner> hook_;
  std::unique_ptr<AlertDesk> desk_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::map<uint64_t, AlertWaiter> alertWaiters_;
  uint16_t fanoutPort_ = 0;
  int wake_ = -1;
  uint64_t submitId_ = 0, badFrames_ = 0;
  uint64_t presentedId_ = 0;   // the request presenting this site's certificate, until answered
  std::string certificate_;    // what the broker said of it (guarded by statusMutex_)
  std::vector<AlertDesk::Sent> sent_;  // accepted alerts awaiting finishSent()
  std::vector<std::pair<std::shared_ptr<std::promise<Result<AlertOutcome>>>, AlertOutcome>> sentWaiters_;
  int64_t catchUpFrom_ = -1;  // when the replica fell behind (-1: following)
  uint64_t catchUpApplied_ = 0;
  MemoryGiveBack giveBack_;  // after a catch-up or a bulk publish
  std::mutex jobsMutex_;
  std::deque<std::shared_ptr<Job>> newJobs_;
  std::map<uint64_t, std::pair<std::shared_ptr<Job>, int64_t>> pendingJobs_;
  mutable std::mutex statusMutex_;
  SiteStatus status_;
};

}  // namespace

Status runDaemon(const DaemonOptions& options, const std::atomic<bool>& stop) {
  Daemon daemon(options, stop);
  LIAISON_TRY(daemon.start());
  if (options.extension != nullptr) {
    LIAISON_TRY(options.extension->start(daemon, daemon.config(), daemon.keys()));
  }
  auto st = daemon.loop();
  // The loop has stopped: the extension's calls into the daemon now fail fast.
  if (options.extension != nullptr) options.extension->stop();
  return st;
}

}  // namespace liaison::site
