#include "site/daemon.h"

#include <spdlog/spdlog.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <future>
#include <mutex>
#include <optional>
#include <random>
#include <string_view>
#include <thread>
#include <tuple>

#include "bus/protocol.h"
#include "bus/zmq.h"
#include "common/daemon.h"
#include "common/files.h"
#include "common/metrics.h"
#include "common/parallel.h"
#include "desk/desk.h"
#include "directory/site.h"
#include "schemas/json.h"
#include "site/alert_ops.h"
#include "site/alerts.h"
#include "site/api.h"
#include "site/extension.h"
#include "site/precheck.h"
#include "site/replica.h"
#include "site/requests.h"
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

// A submission sent to the broker, waiting for its answer.
struct PendingJob {
  std::shared_ptr<Job> job;
  int64_t sinceMs = 0;
  std::string frame;  // the request as sent, kept for a broker pair: sent again after a switch
};

// A site's request to the broker about an alert, waiting for its answer.
struct AlertWaiter {
  std::shared_ptr<std::promise<Result<AlertOutcome>>> done;
  Bytes sent;           // for a send: the alert, recorded once accepted
  std::string statusOf; // for a status request: the alert id
  int64_t sinceMs = 0;
  std::string frame;    // the request as sent, kept for a broker pair: sent again after a switch
};

// One broker of the site's configuration and what it said lately (the loop's times, ms).
struct BrokerLink {
  std::string endpoint;
  trust::PublicKeys key;
  std::unique_ptr<bus::Socket> dealer;
  int64_t heardMs = -1;    // its last answer (for the one followed, its fan-out too)
  int64_t askedMs = -1;    // the first request sent to it and unanswered since heardMs (-1: none)
  int64_t ledMs = -1;      // its last answer that was not "not the leader": it leads
  int64_t refusedMs = -1;  // when it last said "not the leader"
  int64_t probedMs = -1;   // the last probe sent to it
};

// A broker pair (DESIGN.md, "High availability and operations"): the site daemon follows one
// broker, probes the others, and moves to another when it leads, when the one followed says it
// does not, or when the one followed is silent while another answers.
constexpr int64_t kProbeMs = 500;      // a broker not followed is asked for its Info this often
constexpr int64_t kSilenceMs = 3000;   // a request unanswered this long: the broker is silent
constexpr int64_t kRecentMs = 2000;    // "answered recently"
constexpr uint64_t kProbeBit = uint64_t{1} << 62;  // in the request ids of the probes
// A standby broker answers every request with a ProtocolError whose text starts with this.
constexpr std::string_view kNotLeader = "not the leader";

class Daemon final : public SiteService, public Transport {
 public:
  Daemon(const DaemonOptions& o, const std::atomic<bool>& stop) : o_(o), stop_(stop) {}
  ~Daemon() override {
    api_.reset();
    requests_.reset();
    requestHook_.reset();
    hook_.reset();
    brokers_.clear();
    sub_.reset();
    if (wake_ >= 0) ::close(wake_);
  }

  Status start() {
    auto config = directory::loadSiteConfig(o_.siteDir);
    if (!config) return config.error();
    config_ = std::move(config).value();
    if (!config_.networked()) {
      return makeError(Errc::kInvalidInput,
                       o_.siteDir + ": a standalone site (made without --broker) has no daemon");
    }
    auto keys = trust::loadKeyPair(config_.keyPath);
    if (!keys) return keys.error();
    keys_ = *keys;
    for (const auto& b : config_.brokers) {
      auto brokerKey = trust::loadPublicKeys(b.keyPath);
      if (!brokerKey) return brokerKey.error();
      brokers_.push_back(BrokerLink{b.endpoint, *brokerKey, nullptr});
    }
    auto dir = directory::openSiteDirectory(config_, false);
    if (!dir) return dir.error();
    dir_ = std::move(dir).value();
    store_ = std::make_unique<DirectoryStore>(*dir_, config_.id, o_.extension, precheck_);
    replica_ = std::make_unique<ReplicaCore>(*store_, *this, ReplicaCore::Limits{});

    auto ctx = bus::Context::create();
    if (!ctx) return ctx.error();
    ctx_ = std::make_unique<bus::Context>(std::move(ctx).value());
    // One DEALER per broker, all connected from the start: the first listed is followed first.
    for (auto& b : brokers_) {
      auto dealer = bus::Socket::open(*ctx_, ZMQ_DEALER);
      if (!dealer) return dealer.error();
      b.dealer = std::make_unique<bus::Socket>(std::move(dealer).value());
      LIAISON_TRY(configureClient(*b.dealer, b.key));
      LIAISON_TRY(b.dealer->connect(b.endpoint));
    }
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
    auto requestDesk = RequestDesk::open(config_.dir + "/requests", *this, keys_, config_.id, config_.network, *dir_, clock_);
    if (!requestDesk) return requestDesk.error();
    requests_ = std::move(requestDesk).value();
    if (!config_.onRequestEvent.empty()) {
      requestHook_ = std::make_unique<HookRunner>(config_.onRequestEvent, "LIAISON_REQUEST_ID", "request");
      requests_->setHook(requestHook_.get());
    }

    auto token = loadOrCreateApiToken(config_.dir);
    if (!token) return token.error();
    web_ = desk::makeDesk(config_, *this, keys_, *dir_, clock_);
    auto api = ApiServer::start(config_, *this, keys_, *dir_, *token, web_.get());
    if (!api) return api.error();
    api_ = std::move(api).value();
    auto cursor = replica_->cursor();
    spdlog::info("site={} broker={} cursor={:016x}/{} api={}", config_.id, config_.brokerList(),
                 cursor.epoch, cursor.seq, api_->endpoint());
    return {};
  }

  Status loop() {
    presentCertificate();
    replica_->start(nowMs());
    int64_t nextTick = nowMs();
    while (!stop_.load()) {
      // The wake-up, each broker's DEALER, the fan-out of the one followed.
      std::vector<zmq_pollitem_t> items{zmq_pollitem_t{nullptr, wake_, ZMQ_POLLIN, 0}};
      for (const auto& b : brokers_) items.push_back(b.dealer->pollItem());
      const size_t subItem = items.size();
      if (sub_) items.push_back(sub_->pollItem());  // after a switch, another's (read without waiting)
      int64_t wait = std::max<int64_t>(0, nextTick - nowMs());
      auto ready = bus::poll(items, std::chrono::milliseconds(wait));
      if (!ready) continue;
      if (items[0].revents & ZMQ_POLLIN) takeJobs();
      for (size_t i = 0; i < brokers_.size(); ++i) {
        if (!(items[1 + i].revents & ZMQ_POLLIN)) continue;
        // Read after a switch in this round, the one followed before is a probed one now.
        if (i == current_) {
          drainDealer();
        } else {
          drainProbed(i);
        }
      }
      finishSent();
      if (sub_ && items.size() > subItem && (items[subItem].revents & ZMQ_POLLIN)) drainSub();
      if (nowMs() >= nextTick) {
        if (brokers_.size() > 1) followTheLeader(nowMs());
        replica_->onTick(nowMs());
        desk_->tick(nowMs(), status().connected);
        requests_->tick(nowMs(), status().connected);
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
    for (auto& [id, pending] : pendingJobs_) {
      pending.job->done.set_value(makeError(Errc::kUnavailable, "the site daemon is stopping"));
    }
    pendingJobs_.clear();
    flushDesk();
    if (auto st = desk_->dropAccepted(); !st) {
      spdlog::warn("site={} accepted answers stay queued (sent again at the next start): {}",
                   config_.id, st.error().message);
    }
    for (auto& [id, w] : alertWaiters_) {
      w.done->set_value(makeError(Errc::kUnavailable, "the site daemon is stopping"));
    }
    alertWaiters_.clear();
    {
      std::lock_guard lock(statusMutex_);
      stopped_ = true;
    }
    statusChanged_.notify_all();
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
      return makeError(Errc::kUnavailable, "not connected to the broker " + status().broker);
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
  RequestDesk* requests() override { return requests_.get(); }
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
  AlertListCache& alertList() override { return alertList_; }
  const directory::SiteConfig& config() const { return config_; }
  const trust::KeyPair& keys() const { return keys_; }

  SiteStatus status() const override {
    std::lock_guard lock(statusMutex_);
    return status_;
  }

  bool waitApplied(uint64_t seq, std::chrono::milliseconds timeout) const override {
    std::unique_lock lock(statusMutex_);
    auto holds = [&] {
      return status_.cursorEpoch == status_.brokerEpoch && status_.cursorSeq >= seq;
    };
    statusChanged_.wait_for(lock, timeout, [&] { return stopped_ || holds(); });
    return holds();
  }

  void addMetrics(MetricsText& out) const override {
    out.histogram("liaison_site_verify_seconds", "Decoding and signature check of one log entry.",
                  precheck_.checkTimes());
    out.histogram("liaison_site_commit_seconds", "Applying a batch of log entries: writing and LMDB commit.",
                  store_->commitTimes_);
    if (requests_) {
      const auto c = requests_->counters();
      out.counter("liaison_site_requests_sent_total", "MLA requests created at this site.", static_cast<double>(c.sent));
      out.counter("liaison_site_requests_received_total", "MLA requests offered to this site and stored.",
                  static_cast<double>(c.received));
      out.counter("liaison_site_requests_delivered_total", "Incoming requests stored whole and checked (\"delivered\").",
                  static_cast<double>(c.delivered));
      out.counter("liaison_site_request_chunks_sent_total", "Encrypted chunks sent to the broker, resends included.",
                  static_cast<double>(c.chunksSent));
      out.counter("liaison_site_request_chunks_received_total", "Encrypted chunks fetched, checked and stored.",
                  static_cast<double>(c.chunksReceived));
      for (const auto& [reason, n] : c.refused) {
        out.counter("liaison_site_requests_refused_total", "What this site refused or was refused, by reason.",
                    static_cast<double>(n), {{"reason", reason}});
      }
    }
  }

  // Transport (loop thread): to the broker followed now.
  void send(const bus::Message& request) override { sendFrame(current_, bus::encode(request)); }

 private:
  // `frame` is moved into libzmq when it is large: a caller that keeps it passes a copy.
  void sendFrame(size_t broker, std::string frame) {
    BrokerLink& b = brokers_[broker];
    auto st = b.dealer->sendParts({}, std::move(frame), bus::kPartBytes, /*dontWait=*/true);
    if (!st) {
      spdlog::debug("request not sent: {}", st.error().message);
      return;
    }
    if (b.askedMs < 0) b.askedMs = nowMs();
  }

  // Notes an answer from broker `i`; `leads` false for "not the leader".
  void heardFrom(size_t i, bool leads, int64_t now) {
    BrokerLink& b = brokers_[i];
    b.heardMs = now;
    b.askedMs = -1;
    (leads ? b.ledMs : b.refusedMs) = now;
  }

  // A broker pair, each tick: probes, and a switch when the one followed is silent while another
  // answers.
  void followTheLeader(int64_t now) {
    for (size_t i = 0; i < brokers_.size(); ++i) {
      BrokerLink& b = brokers_[i];
      // The one followed is asked only when it has said nothing for a while (its fan-out's
      // heartbeats are enough otherwise), so that its silence shows.
      const bool quiet = i != current_ || b.heardMs < 0 || now - b.heardMs >= kSilenceMs / 2;
      if (!quiet || (b.probedMs >= 0 && now - b.probedMs < kProbeMs)) continue;
      b.probedMs = now;
      sendFrame(i, bus::encode(bus::InfoRequest{kProbeBit | ++probeId_}));
    }
    const BrokerLink& cur = brokers_[current_];
    if (cur.askedMs < 0 || now - cur.askedMs < kSilenceMs) return;
    std::optional<size_t> best;
    for (size_t i = 0; i < brokers_.size(); ++i) {
      const BrokerLink& b = brokers_[i];
      if (i == current_ || b.heardMs < 0 || now - b.heardMs > kRecentMs) continue;
      if (!best || std::tie(b.ledMs, b.heardMs) > std::tie(brokers_[*best].ledMs, brokers_[*best].heardMs)) {
        best = i;
      }
    }
    if (best) switchTo(*best, cur.endpoint + " silent for " + std::to_string(kSilenceMs / 1000) + " s", now);
  }

  // The one followed said "not the leader": moves to another that may lead, if there is one. Not
  // to one that said so too lately (the probes' answers tell), nor to one known silent.
  void leaveRefusingBroker(int64_t now) {
    std::optional<size_t> best;
    for (size_t i = 0; i < brokers_.size(); ++i) {
      const BrokerLink& b = brokers_[i];
      if (i == current_) continue;
      if (b.refusedMs >= 0 && now - b.refusedMs < kSilenceMs && b.refusedMs >= b.ledMs) continue;
      if (b.askedMs >= 0 && now - b.askedMs >= kSilenceMs) continue;
      if (!best || b.heardMs > brokers_[*best].heardMs) best = i;
    }
    if (best) {
      switchTo(*best, brokers_[current_].endpoint + " says it is not the leader", now);
    } else {
      spdlog::debug("site={} {} is not the leader, nor is any other broker yet", config_.id,
                    brokers_[current_].endpoint);
    }
  }

  // Follows broker `i` from now on: its fan-out, the replica's state asked again, the
  // certificate presented again if no broker took it yet, and what waits for an answer sent again
  // (submissions and alert requests are idempotent at the broker: one it holds already answers as
  // before, so nothing is done twice).
  void switchTo(size_t i, const std::string& reason, int64_t now) {
    if (i == current_) return;
    current_ = i;
    ++switches_;
    spdlog::info("site={} broker now {} ({})", config_.id, brokers_[i].endpoint, reason);
    BrokerLink& b = brokers_[i];
    b.askedMs = -1;  // it has kSilenceMs from now
    sub_.reset();
    fanout_.clear();
    if (certificate_ != "admitted" && certificate_ != "held") presentCertificate();
    replica_->start(now);
    for (auto& [id, pending] : pendingJobs_) sendFrame(current_, pending.frame);
    for (auto& [id, waiter] : alertWaiters_) sendFrame(current_, waiter.frame);
  }

  // Answers of a broker not followed: an Info says it leads. An answer to one of this site's own
  // requests (a submission's result, an alert reply) completes it whichever broker gives it first:
  // a broker that was followed when it was asked answers only what it stored (with its standby, if
  // any); the copy sent again after a switch then finds no one waiting. The rest is dropped.
  void drainProbed(size_t i) {
    for (int n = 0; n < 1000; ++n) {
      auto msg = brokers_[i].dealer->recv(2, /*dontWait=*/true);
      if (!msg) return;
      if (msg->size() != 1) continue;
      auto decoded = bus::decode((*msg)[0]);
      if (!decoded) continue;
      const int64_t now = nowMs();
      auto* error = std::get_if<bus::ProtocolError>(&*decoded);
      const bool refuses = error != nullptr && error->text.starts_with(kNotLeader);
      heardFrom(i, !refuses, now);
      if (auto* result = std::get_if<bus::SubmitResult>(&*decoded)) {
        finishJob(*result);
        continue;
      }
      if (auto* reply = std::get_if<bus::AlertReply>(&*decoded)) {
        if (reply->requestId & AlertDesk::kRequestBit) {
          desk_->onReply(*reply);
        } else {
          finishAlertWaiter(*reply);
        }
        continue;
      }
      if (auto* request = std::get_if<bus::RequestMsg>(&*decoded); request != nullptr && request->op == "reply") {
        requests_->onMessage(*request, now);
        continue;
      }
      auto* info = std::get_if<bus::Info>(&*decoded);
      if (info == nullptr) continue;
      // A pair's leader stops answering before the other may lead (fencing), so another broker
      // telling the same history leads now. Two that lead with different histories are no pair
      // (two single brokers, given by mistake): the one followed stays while it leads.
      const BrokerLink& cur = brokers_[current_];
      const bool curLeads = cur.ledMs >= 0 && now - cur.ledMs < kSilenceMs && cur.refusedMs <= cur.ledMs;
      if (curLeads && info->epoch != replica_->brokerEpoch()) continue;
      switchTo(i, "it leads", now);
      connectFanout(info->fanoutPort);
      return;  // what else it sent is read as the one followed
    }
  }

  Status configureClient(bus::Socket& s, const trust::PublicKeys& server) {
    LIAISON_TRY(s.setCurveClient(keys_, server.curve));
    LIAISON_TRY(s.setMaxMessageSize(static_cast<int64_t>(bus::kMaxFrameBytes)));
    // Reconnect with backoff; the first interval is jittered so sites do not return in step.
    std::mt19937 rng(std::random_device{}());
    LIAISON_TRY(s.setInt(ZMQ_RECONNECT_IVL, 100 + static_cast<int>(rng() % 200)));
    LIAISON_TRY(s.setInt(ZMQ_RECONNECT_IVL_MAX, 5000));
    return {};
  }

  // The fan-out of the broker followed, at its host and the port its Info gave.
  void connectFanout(uint16_t port) {
    const std::string& endpoint = brokers_[current_].endpoint;
    std::string host = endpoint.substr(0, endpoint.rfind(':'));
    std::string fanout = host + ":" + std::to_string(port);
    if (port == 0 || fanout == fanout_) return;
    sub_.reset();
    fanout_.clear();
    auto sub = bus::Socket::open(*ctx_, ZMQ_SUB);
    if (!sub) return;
    sub_ = std::make_unique<bus::Socket>(std::move(sub).value());
    auto st = configureClient(*sub_, brokers_[current_].key);
    if (st) st = sub_->setInt(ZMQ_RCVHWM, o_.rcvHwm);
    if (st) st = sub_->subscribe(bus::kTopicEntry);
    if (st) st = sub_->subscribe(bus::kTopicHeartbeat);
    if (st) st = sub_->connect(fanout);
    if (!st) {
      spdlog::error("fan-out: {}", st.error().message);
      sub_.reset();
      return;
    }
    fanout_ = fanout;
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
  // the pool checks those read after it (catch-up keeps several fetches in flight). Only the broker
  // followed is read; what it sent is dropped from the moment it is followed no more (a switch).
  void drainDealer() {
    struct Received {
      bus::Message message;
      uint64_t ticket = 0;  // of the precheck, for answers carrying entries
    };
    const size_t from = current_;
    bus::Socket& dealer = *brokers_[from].dealer;
    std::deque<Received> queue;
    auto receive = [&] {
      while (queue.size() < 4) {
        auto msg = dealer.recv(2, /*dontWait=*/true);
        if (!msg) return;
        if (msg->size() != 1) continue;
        auto decoded = bus::decode((*msg)[0]);
        if (!decoded) {
          ++badFrames_;
          spdlog::warn("site={} bad answer from the broker: {}", config_.id, decoded.error().message);
          continue;
        }
        auto* error = std::get_if<bus::ProtocolError>(&*decoded);
        heardFrom(from, error == nullptr || !error->text.starts_with(kNotLeader), nowMs());
        Received r{std::move(decoded).value(), 0};
        if (auto* items = std::get_if<bus::Items>(&r.message)) {
          r.ticket = precheck_.prepare(items->entries);
        } else if (auto* chunk = std::get_if<bus::SnapshotChunk>(&r.message)) {
          r.ticket = precheck_.prepare(chunk->entries);
        }
        queue.push_back(std::move(r));
      }
    };
    for (int i = 0; i < 1000 && current_ == from; ++i) {
      receive();
      if (queue.empty()) return;
      // While the first answer's entries are checked, what arrives meanwhile is read and its
      // checks queued behind.
      while (queue.front().ticket != 0 && !precheck_.ready(queue.front().ticket)) {
        std::vector<zmq_pollitem_t> dealerOnly{dealer.pollItem()};
        (void)bus::poll(dealerOnly, std::chrono::milliseconds(2));
        receive();
      }
      Received front = std::move(queue.front());
      queue.pop_front();
      auto* decoded = &front.message;
      int64_t now = nowMs();
      if (auto* info = std::get_if<bus::Info>(decoded)) {
        connectFanout(info->fanoutPort);
        if (!(info->requestId & kProbeBit)) replica_->onInfo(*info, now);  // a probe's: ours
      } else if (auto* items = std::get_if<bus::Items>(decoded)) {
        replica_->onItems(std::move(*items), now);
        (void)replica_->flush();  // large catch-ups: one transaction per answer
      } else if (auto* chunk = std::get_if<bus::SnapshotChunk>(decoded)) {
        replica_->onSnapshot(std::move(*chunk), now);
        (void)replica_->flush();
      } else if (auto* result = std::get_if<bus::SubmitResult>(decoded)) {
        finishJob(*result);
      } else if (auto* delivery = std::get_if<bus::Delivery>(decoded)) {
        desk_->onDelivery(std::move(*delivery));
      } else if (auto* request = std::get_if<bus::RequestMsg>(decoded)) {
        requests_->onMessage(*request, now);
      } else if (auto* reply = std::get_if<bus::AlertReply>(decoded)) {
        if (reply->requestId & AlertDesk::kRequestBit) {
          desk_->onReply(*reply);
        } else {
          finishAlertWaiter(*reply);
        }
      } else if (auto* error = std::get_if<bus::ProtocolError>(decoded)) {
        if (brokers_.size() > 1 && error->text.starts_with(kNotLeader)) {
          leaveRefusingBroker(now);  // what else it answered is dropped if it is left
        } else {
          spdlog::warn("site={} broker says: {}", config_.id, error->text);
        }
      }
    }
  }

  // Reads the fan-out, committing every 1,000 entries: a transaction's dirty pages are held in
  // memory until it commits, and a burst of 5,000 in one held several MiB more.
  void drainSub() {
    for (int i = 0; i < 5000; ++i) {
      if (i > 0 && i % 1000 == 0) (void)replica_->flush();
      auto msg = sub_->recv(3, /*dontWait=*/true);
      if (!msg) return;
      if (msg->size() != 2) continue;
      auto decoded = bus::decode((*msg)[1]);
      if (!decoded) {
        ++badFrames_;
        continue;
      }
      int64_t now = nowMs();
      heardFrom(current_, true, now);
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
      return makeError(Errc::kUnavailable, "not connected to the broker " + status().broker);
    }
    auto done = std::make_shared<std::promise<Result<AlertOutcome>>>();
    auto future = done->get_future();
    waiter.done = done;
    auto posted = onLoop<Status>([&, waiter = std::move(waiter)]() mutable -> Status {
      request.requestId = ++submitId_;
      waiter.sinceMs = nowMs();
      std::string frame = bus::encode(request);
      if (brokers_.size() > 1) waiter.frame = frame;  // to send again to another broker
      sendFrame(current_, std::move(frame));
      alertWaiters_[request.requestId] = std::move(waiter);
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

  // Stores the alerts the broker accepted since the last call, with the deliveries drained
  // meanwhile (one synced commit), then tells their senders.
  void finishSent() {
    if (sent_.empty()) return;
    if (auto st = desk_->flush(sent_); !st) {
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
      // Moved: the request is encoded once and the job needs its items no more (a broker pair's
      // site keeps the encoded request, to send it again to another broker).
      std::string frame = bus::encodeSubmit(id, std::move(job->envelopes));
      PendingJob pending{job, nowMs(), {}};
      if (brokers_.size() > 1) pending.frame = frame;
      sendFrame(current_, std::move(frame));
      pendingJobs_[id] = std::move(pending);
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
    it->second.job->done.set_value(out);
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
      if (now - it->second.sinceMs > 120000) {
        it->second.job->done.set_value(makeError(Errc::kUnavailable, "no answer from the broker"));
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
    s.broker = brokers_[current_].endpoint;
    if (brokers_.size() > 1) {
      for (const auto& b : brokers_) s.brokers.push_back(b.endpoint);
      s.brokerSwitches = switches_;
    }
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
    {
      std::lock_guard lock(statusMutex_);
      s.certificate = certificate_;
      status_ = std::move(s);
    }
    statusChanged_.notify_all();  // a publish waiting for its items here (waitApplied)
  }

  const DaemonOptions& o_;
  const std::atomic<bool>& stop_;
  directory::SiteConfig config_;
  trust::KeyPair keys_;
  std::unique_ptr<directory::Directory> dir_;
  Precheck precheck_;  // before the store that uses it
  std::unique_ptr<DirectoryStore> store_;
  std::unique_ptr<ReplicaCore> replica_;
  std::unique_ptr<bus::Context> ctx_;
  std::vector<BrokerLink> brokers_;  // in the configuration's order; each with its DEALER
  size_t current_ = 0;                // the one followed: requests go to it
  uint64_t probeId_ = 0, switches_ = 0;
  std::unique_ptr<bus::Socket> sub_;  // the fan-out of the one followed
  SystemClock clock_;
  std::unique_ptr<WebPages> web_;  // the desk, served by api_
  std::unique_ptr<ApiServer> api_;
  std::unique_ptr<Inbox> inbox_;
  AlertListCache alertList_;  // read by the API and the desk
  std::unique_ptr<HookRunner> hook_;
  std::unique_ptr<AlertDesk> desk_;
  std::unique_ptr<HookRunner> requestHook_;  // before requests_: outlives it
  std::unique_ptr<RequestDesk> requests_;
  std::deque<std::function<void()>> tasks_;
  bool stopping_ = false;
  std::map<uint64_t, AlertWaiter> alertWaiters_;
  std::string fanout_;  // where sub_ is connected ("" while it is not)
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
  std::map<uint64_t, PendingJob> pendingJobs_;
  mutable std::mutex statusMutex_;
  mutable std::condition_variable statusChanged_;  // each time status_ is published
  SiteStatus status_;
  bool stopped_ = false;  // the loop has ended (guarded by statusMutex_)
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
