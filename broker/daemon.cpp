#include "broker/daemon.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <map>

#include "broker/alert_store.h"
#include "broker/store.h"
#include "bus/protocol.h"
#include "bus/zap.h"
#include "bus/zmq.h"
#include "common/daemon.h"
#include "common/files.h"
#include "schemas/json.h"
#include "trust/keys.h"

namespace liaison::broker {

namespace {

using Steady = std::chrono::steady_clock;

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch())
      .count();
}

constexpr size_t kMaxRequestFrames = 4;
constexpr uint32_t kMaxFetchItems = 2000;
constexpr uint32_t kMaxSnapshotItems = 2000;
// Fan-out messages queued per subscriber before ZeroMQ drops for it (~1 KiB each): bounds the
// broker's memory during a bulk publish; a site that misses entries fetches them.
constexpr int kFanoutQueue = 2000;

uint16_t portOf(const std::string& endpoint) {
  auto colon = endpoint.rfind(':');
  if (colon == std::string::npos) return 0;
  try {
    return static_cast<uint16_t>(std::stoi(endpoint.substr(colon + 1)));
  } catch (...) {
    return 0;
  }
}

class Broker {
 public:
  Broker(const Options& o, const std::atomic<bool>& stop) : o_(o), stop_(stop) {}

  Status start() {
    auto root = trust::loadPublicKeys(o_.rootPub);
    if (!root) return root.error();
    auto keys = trust::loadKeyPair(o_.key);
    if (!keys) return keys.error();
    keys_ = *keys;
    LIAISON_TRY(makeDirectories(o_.data, 0700));
    auto store = LmdbStore::open(o_.data, o_.mapSize, o_.logKeep);
    if (!store) return store.error();
    store_ = std::move(store).value();
    uint64_t epoch = 0;
    randombytes_buf(&epoch, sizeof epoch);
    epoch |= 1;  // never 0
    core_ = std::make_unique<Core>(*store_, clock_, root->sign, epoch);
    LIAISON_TRY(core_->load());
    for (const auto& file : o_.members) LIAISON_TRY(admitMember(file));
    auto alertStore = LmdbAlertStore::open(o_.data + "/alerts", o_.mapSize);
    if (!alertStore) return alertStore.error();
    alertStore_ = std::move(alertStore).value();
    alerts_ = std::make_unique<AlertRouter>(*alertStore_, *core_, clock_, o_.network);
    LIAISON_TRY(alerts_->load());

    auto ctx = bus::Context::create();
    if (!ctx) return ctx.error();
    ctx_ = std::make_unique<bus::Context>(std::move(ctx).value());
    auto zap = bus::ZapHandler::start(*ctx_, "liaison", core_->admitted());
    if (!zap) return zap.error();
    zap_ = std::move(zap).value();
    auto router = bus::Socket::open(*ctx_, ZMQ_ROUTER);
    if (!router) return router.error();
    router_ = std::make_unique<bus::Socket>(std::move(router).value());
    LIAISON_TRY(bus::makeCurveServer(*router_, keys_, "liaison"));
    LIAISON_TRY(router_->setMaxMessageSize(static_cast<int64_t>(bus::kMaxFrameBytes)));
    // Mandatory: a send to a site that is gone fails at once, so an alert is not counted as being
    // delivered to a site that left.
    LIAISON_TRY(router_->setInt(ZMQ_ROUTER_MANDATORY, 1));
    LIAISON_TRY(router_->bind(o_.listen));
    LIAISON_TRY(openPub());
    auto listen = router_->lastEndpoint();
    if (!listen) return listen.error();
    listenEndpoint_ = *listen;
    LIAISON_TRY(writeFileAtomic(o_.data + "/endpoints",
                                "listen " + listenEndpoint_ + "\nfanout " + fanoutEndpoint_ + "\n"));
    spdlog::info("broker network={} epoch={:016x} head={} listen={} fanout={} members={}",
                 o_.network, core_->epoch(), core_->head(), listenEndpoint_, fanoutEndpoint_,
                 core_->admitted().size());
    return {};
  }

  Status loop() {
    auto nextBeat = Steady::now();
    auto nextReport = Steady::now() + std::chrono::seconds(60);
    auto nextTick = Steady::now();
    while (!stop_.load()) {
      auto now = Steady::now();
      if (now >= nextTick) {
        alerts_->tick(steadyMs());
        giveBack_.note(handled_, steadyMs());
        nextTick = now + std::chrono::milliseconds(100);
      }
      flushAlerts();
      if (now >= nextBeat) {
        publish(bus::kTopicHeartbeat, bus::encode(core_->heartbeat()));
        nextBeat = now + std::chrono::milliseconds(o_.heartbeatMs);
      }
      if (now >= nextReport) {
        report();
        nextReport = now + std::chrono::seconds(60);
      }
      std::vector<zmq_pollitem_t> items{router_->pollItem()};
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(std::min(nextBeat, nextTick) -
                                                                        Steady::now());
      auto ready = bus::poll(items, std::max(wait, std::chrono::milliseconds(0)));
      if (!ready) continue;  // interrupted: check stop_
      if ((items[0].revents & ZMQ_POLLIN) == 0) continue;
      // Drain what is queued, bounded so heartbeats keep their rhythm; the signatures of the
      // alerts and answers among it are checked on every core first.
      std::vector<std::pair<bus::Received, Result<bus::Message>>> drained;
      for (int i = 0; i < 256 && !stop_.load(); ++i) {
        auto msg = router_->recvWithUser(kMaxRequestFrames, /*dontWait=*/true);
        if (!msg) {
          if (msg.error().code == Errc::kUnavailable) break;
          ++badFrames_;
          spdlog::warn("request dropped: {}", msg.error().message);
          continue;
        }
        auto decoded = msg->frames.size() == 2 ? bus::decode(msg->frames[1])
                                               : Result<bus::Message>(makeError(Errc::kInvalidInput, "frames"));
        drained.emplace_back(std::move(msg).value(), std::move(decoded));
      }
      precheckAlerts(drained);
      for (auto& [msg, decoded] : drained) {
        handle(msg, decoded);
        ++handled_;
      }
      flushAlerts();  // one transaction for the alert work of the whole drain
    }
    report();
    spdlog::info("broker stopping at head={}", core_->head());
    return {};
  }

 private:
  // A certificate given with --member enters the log like any submission (so every replica
  // learns it); one already held is ignored.
  Status admitMember(const std::string& file) {
    auto text = readFile(file, 1 << 20);
    if (!text) return text.error();
    auto items = json::dearmor(file, *text);
    if (!items) return items.error();
    bus::SubmitRequest request;
    for (const auto& item : *items) {
      if (item.item.reader().which() != schema::Item::MEMBER) {
        return makeError(Errc::kInvalidInput, file + ": not a member certificate");
      }
      request.envelopes.push_back(item.encode());
    }
    std::vector<bus::Entry> fanout;
    auto result = core_->submit(request, fanout);
    if (!result) return result.error();
    if (!result->accepted) {
      return makeError(Errc::kRefused, file + ": " + result->refusal + ": " + result->detail);
    }
    return {};
  }

  Status openPub() {
    pub_.reset();
    auto pub = bus::Socket::open(*ctx_, ZMQ_PUB);
    if (!pub) return pub.error();
    pub_ = std::make_unique<bus::Socket>(std::move(pub).value());
    LIAISON_TRY(bus::makeCurveServer(*pub_, keys_, "liaison"));
    LIAISON_TRY(pub_->setInt(ZMQ_SNDHWM, kFanoutQueue));
    LIAISON_TRY(pub_->bind(fanoutEndpoint_.empty() ? o_.fanout : fanoutEndpoint_));
    auto ep = pub_->lastEndpoint();
    if (!ep) return ep.error();
    fanoutEndpoint_ = *ep;
    return {};
  }

  void publish(std::string_view topic, const std::string& body) {
    auto st = pub_->send({std::string(topic), body}, /*dontWait=*/true);
    if (!st) spdlog::warn("fan-out: {}", st.error().message);
  }

  // Writes the router's changes, then sends what it queued; nothing is said before it is stored.
  void flushAlerts() {
    auto st = alerts_->commit();
    if (!st) {
      spdlog::error("alert custody not stored: {}", st.error().message);
      return;
    }
    for (auto& out : alerts_->takeOutgoing()) {
      auto* delivery = std::get_if<bus::Delivery>(&out.message);
      auto route = routes_.find(out.site);
      Status sent = route == routes_.end()
                        ? makeError(Errc::kNotFound, "no connection")
                        : router_->send({route->second, bus::encode(out.message)}, /*dontWait=*/true);
      if (sent) continue;
      if (sent.error().code == Errc::kNotFound) routes_.erase(out.site);
      // Not sent: the router tries again when the site is back (or its queue has room).
      if (delivery != nullptr) alerts_->undeliverable(out.site, delivery->key, sent.error().code == Errc::kNotFound);
    }
  }

  void reply(const std::string& routingId, const bus::Message& message) {
    auto st = router_->send({routingId, bus::encode(message)}, /*dontWait=*/true);
    if (!st) spdlog::debug("reply dropped: {}", st.error().message);  // the peer left or is stuck
  }

  // `decoded`: the request frame, decoded (when there are two frames).
  void handle(const bus::Received& msg, Result<bus::Message>& decoded) {
    if (msg.frames.size() != 2) {
      ++badFrames_;
      if (!msg.frames.empty()) reply(msg.frames[0], bus::ProtocolError{"expected one frame"});
      return;
    }
    const std::string& peer = msg.frames[0];
    if (!core_->isAdmitted(msg.userId)) {  // revoked or expired since it connected
      ++notAdmitted_;
      spdlog::warn("request from {} refused: not an admitted member", msg.userId);
      return;
    }
    if (!decoded) {
      ++badFrames_;
      spdlog::warn("site={} bad request: {}", msg.userId, decoded.error().message);
      reply(peer, bus::ProtocolError{decoded.error().message});
      return;
    }
    routes_[msg.userId] = peer;
    if (auto* alert = std::get_if<bus::AlertRequest>(&*decoded)) {
      alerts_->handle(msg.userId, *alert, steadyMs());
    } else if (auto* submit = std::get_if<bus::SubmitRequest>(&*decoded)) {
      std::vector<bus::Entry> fanout;
      auto result = core_->submit(*submit, fanout, msg.userId);
      if (!result) {
        spdlog::error("site={} submission failed in the store: {}", msg.userId, result.error().message);
        reply(peer, bus::SubmitResult{submit->requestId, false, 0, 0, "store failure",
                                      result.error().message, 0, 0});
        return;
      }
      if (!result->accepted) {
        spdlog::warn("site={} submission refused ({}): {}", msg.userId, result->refusal, result->detail);
      } else if (!fanout.empty()) {
        spdlog::info("site={} accepted seq={}..{}", msg.userId, result->firstSeq, result->lastSeq);
      }
      reply(peer, *result);
      bool membership = false, revocation = false;
      for (const auto& e : fanout) {
        publish(bus::kTopicEntry, bus::encode(e));
        auto item = SignedItem::decode(e.envelope);
        if (item && item->item.reader().which() == schema::Item::MEMBER) membership = true;
        if (item && item->item.reader().which() == schema::Item::REVOCATION) revocation = true;
      }
      if (membership || revocation) zap_->setMembers(core_->admitted());
      if (revocation) {
        // ZAP admits once per connection: make every subscriber authenticate again.
        auto st = openPub();
        if (!st) spdlog::error("fan-out socket: {}", st.error().message);
      }
    } else if (auto* fetch = std::get_if<bus::FetchRequest>(&*decoded)) {
      auto items = core_->fetch(*fetch, kMaxFetchItems);
      if (!items) {
        reply(peer, bus::ProtocolError{items.error().message});
        return;
      }
      reply(peer, *items);
    } else if (auto* info = std::get_if<bus::InfoRequest>(&*decoded)) {
      reply(peer, bus::Info{info->requestId, core_->epoch(), core_->head(), portOf(fanoutEndpoint_),
                            o_.network, store_->oldest()});
    } else if (auto* snap = std::get_if<bus::SnapshotRequest>(&*decoded)) {
      auto now = Steady::now();
      for (auto it = snapshots_.begin(); it != snapshots_.end();) {
        it = now - it->second > std::chrono::seconds(30) ? snapshots_.erase(it) : std::next(it);
      }
      if (snapshots_.count(msg.userId) == 0 &&
          static_cast<int>(snapshots_.size()) >= o_.maxSnapshots) {
        reply(peer, bus::ProtocolError{"busy: too many snapshots at once, retry"});
        return;
      }
      snapshots_[msg.userId] = now;
      auto chunk = core_->snapshot(*snap, kMaxSnapshotItems);
      if (!chunk) {
        reply(peer, bus::ProtocolError{chunk.error().message});
        return;
      }
      if (chunk->done) snapshots_.erase(msg.userId);
      reply(peer, *chunk);
    } else {
      ++badFrames_;
      reply(peer, bus::ProtocolError{"not a request"});
    }
  }

  void precheckAlerts(const std::vector<std::pair<bus::Received, Result<bus::Message>>>& drained) {
    std::vector<const bus::AlertRequest*> requests;
    for (const auto& [msg, decoded] : drained) {
      if (!decoded) continue;
      if (const auto* r = std::get_if<bus::AlertRequest>(&*decoded)) requests.push_back(r);
    }
    if (requests.size() > 1) alerts_->precheck(requests);
  }

  void report() {
    std::string refusals;
    for (const auto& [reason, n] : core_->refusals()) {
      refusals += (refusals.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    }
    auto zap = zap_->counters();
    spdlog::info("stats head={} accepted={} refused=[{}] bad_frames={} not_admitted={} "
                 "zap_admitted={} zap_refused_key={} zap_refused_mechanism={}",
                 core_->head(), core_->accepted(), refusals, badFrames_, notAdmitted_,
                 zap.admitted, zap.refusedUnknownKey, zap.refusedMechanism);
    const auto& a = alerts_->counters();
    std::string alertRefusals;
    for (const auto& [reason, n] : a.refused) {
      alertRefusals += (alertRefusals.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    }
    spdlog::info("alerts accepted={} deliveries={} resends={} answers={} escalations={} expired={} "
                 "pending={} refused=[{}]",
                 a.accepted, a.deliveries, a.resends, a.answers, a.escalations, a.expired,
                 alerts_->pendingAlerts(), alertRefusals);
  }

  const Options& o_;
  const std::atomic<bool>& stop_;
  SystemClock clock_;
  trust::KeyPair keys_;
  std::unique_ptr<LmdbStore> store_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<LmdbAlertStore> alertStore_;
  std::unique_ptr<AlertRouter> alerts_;
  std::map<std::string, std::string> routes_;  // site → routing id of its request socket
  std::unique_ptr<bus::Context> ctx_;
  std::unique_ptr<bus::ZapHandler> zap_;
  std::unique_ptr<bus::Socket> router_, pub_;
  std::string listenEndpoint_, fanoutEndpoint_;
  std::map<std::string, Steady::time_point> snapshots_;
  uint64_t badFrames_ = 0, notAdmitted_ = 0;
  uint64_t handled_ = 0;          // requests handled, for giveBack_
  MemoryGiveBack giveBack_;       // after a burst of submissions or fetches

 public:
  ~Broker() {
    // Sockets and the ZAP handler close before the context terminates.
    router_.reset();
    pub_.reset();
    zap_.reset();
  }
};

}  // namespace

Status run(const Options& options, const std::atomic<bool>& stop) {
  Broker broker(options, stop);
  LIAISON_TRY(broker.start());
  return broker.loop();
}

}  // namespace liaison::broker
