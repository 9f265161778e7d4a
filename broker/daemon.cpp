#include "broker/daemon.h"

#include <fcntl.h>
#include <httplib.h>
#include <sodium.h>
#include <spdlog/spdlog.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <deque>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include "broker/alert_store.h"
#include "broker/pair.h"
#include "broker/requests.h"
#include "broker/store.h"
#include "bus/protocol.h"
#include "bus/zap.h"
#include "bus/zmq.h"
#include "common/daemon.h"
#include "common/encoding.h"
#include "common/files.h"
#include "common/metrics.h"
#include "schemas/json.h"
#include "trust/keys.h"

namespace liaison::broker {

namespace {

using Steady = std::chrono::steady_clock;

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch())
      .count();
}

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
    rootSign_ = root->sign;
    auto keys = trust::loadKeyPair(o_.key);
    if (!keys) return keys.error();
    keys_ = *keys;
    const int pairFlags =
        int(!o_.etcd.empty()) + int(!o_.pairListen.empty()) + int(!o_.pairPeer.empty());
    if (pairFlags != 0 && pairFlags != 3) {
      return makeError(Errc::kInvalidInput,
                       "a broker pair needs --etcd, --pair-listen and --pair-peer together");
    }
    LIAISON_TRY(makeDirectories(o_.data, 0700));
    LIAISON_TRY(openStores());

    auto ctx = bus::Context::create();
    if (!ctx) return ctx.error();
    ctx_ = std::make_unique<bus::Context>(std::move(ctx).value());
    // Nobody is admitted before this broker leads (a standby answers "not the leader" only).
    auto zap = bus::ZapHandler::start(*ctx_, "liaison");
    if (!zap) return zap.error();
    zap_ = std::move(zap).value();
    auto router = bus::Socket::open(*ctx_, ZMQ_ROUTER);
    if (!router) return router.error();
    router_ = std::make_unique<bus::Socket>(std::move(router).value());
    // Requests: members, and keys that are no member's yet, to present their certificate.
    LIAISON_TRY(bus::makeCurveServer(*router_, keys_, bus::enrolmentDomain("liaison")));
    LIAISON_TRY(router_->setMaxMessageSize(static_cast<int64_t>(bus::kMaxFrameBytes)));
    // Mandatory: a send to a site that is gone fails at once, so an alert is not counted as being
    // delivered to a site that left.
    LIAISON_TRY(router_->setInt(ZMQ_ROUTER_MANDATORY, 1));
    LIAISON_TRY(router_->bind(o_.listen));
    LIAISON_TRY(openPub());
    auto listen = router_->lastEndpoint();
    if (!listen) return listen.error();
    listenEndpoint_ = *listen;
    if (!o_.metrics.empty()) LIAISON_TRY(startMetrics());
    LIAISON_TRY(writeFileAtomic(o_.data + "/endpoints",
                                "listen " + listenEndpoint_ + "\nfanout " + fanoutEndpoint_ + "\n" +
                                    (metricsAt_.empty() ? "" : "metrics " + metricsAt_ + "\n")));
    if (o_.paired()) return startPair();
    return becomeLeader();
  }

  Status openStores() {
    auto store = LmdbStore::open(o_.data, o_.mapSize, o_.logKeep);
    if (!store) return store.error();
    store_ = std::move(store).value();
    auto alertStore = LmdbAlertStore::open(o_.data + "/alerts", o_.mapSize);
    if (!alertStore) return alertStore.error();
    alertStore_ = std::move(alertStore).value();
    return {};
  }

  // Loads the core and the alert custody from the stores and starts sequencing: at start for a
  // broker alone, at a takeover for a standby (its copy is the old leader's log: same epoch, next
  // seq).
  Status becomeLeader() {
    if (pair_) {
      follow_.reset();
      closeIncoming();
      store_.reset();  // opened again: what the standby applied is read afresh (oldest, ...)
      alertStore_.reset();
      LIAISON_TRY(openStores());
      store_->env().setJournal(&logJournal_);
      alertStore_->env().setJournal(&alertJournal_);
      want(pair_->self());  // alone until a standby has caught up
    }
    uint64_t epoch = 0;
    randombytes_buf(&epoch, sizeof epoch);
    epoch |= 1;  // never 0
    core_ = std::make_unique<Core>(*store_, clock_, rootSign_, epoch);
    LIAISON_TRY(core_->load());
    for (const auto& file : o_.members) LIAISON_TRY(admitMember(file));
    alerts_ = std::make_unique<AlertRouter>(*alertStore_, *core_, clock_, o_.network);
    LIAISON_TRY(alerts_->load());
    requests_ = std::make_unique<RequestRouter>(alertStore_->env(), alertStore_->requestsDb(),
                                                alertStore_->requestBlobsDb(), *core_, keys_,
                                                clock_, o_.network);
    LIAISON_TRY(requests_->load());
    membershipChanged();
    leader_ = true;
    spdlog::info("broker network={} epoch={:016x} head={} listen={} fanout={} members={}{}",
                 o_.network, core_->epoch(), core_->head(), listenEndpoint_, fanoutEndpoint_,
                 core_->admitted().size(),
                 pair_ ? " leads the pair as " + pair_->self() : std::string());
    return {};
  }

  Status loop() {
    auto nextBeat = Steady::now();
    auto nextReport = Steady::now() + std::chrono::seconds(60);
    auto nextTick = Steady::now();
    while (!stop_.load()) {
      auto now = Steady::now();
      if (pair_) {
        if (!leader_ && leadingNow()) LIAISON_TRY(becomeLeader());
        if (leader_ && !leadingNow()) return fenced();
        pairTick();
      }
      if (leader_ && now >= nextTick) {
        alerts_->tick(steadyMs());
        requests_->tick(steadyMs());
        giveBack_.note(handled_, steadyMs());
        nextTick = now + std::chrono::milliseconds(100);
      }
      // Requests first: their write transaction (open since their first change) must be committed
      // before the alert custody, in the same LMDB environment, begins its own on this thread.
      if (leader_) flushRequests();
      if (leader_) flushAlerts();
      if (metricsWanted_.load()) renderMetrics();
      if (leader_ && now >= nextBeat) {
        publish(bus::kTopicHeartbeat, bus::encode(core_->heartbeat()));
        nextBeat = now + std::chrono::milliseconds(o_.heartbeatMs);
      }
      if (now >= nextReport) {
        report();
        nextReport = now + std::chrono::seconds(60);
      }
      std::vector<zmq_pollitem_t> items{router_->pollItem()};
      if (pairRouter_) items.push_back(pairRouter_->pollItem());
      if (follow_) items.push_back(follow_->pollItem());
      auto until = std::min(nextBeat, nextTick);
      if (pair_ || !leader_) until = std::min(until, Steady::now() + std::chrono::milliseconds(50));
      auto wait = std::chrono::duration_cast<std::chrono::milliseconds>(until - Steady::now());
      auto ready = bus::poll(items, std::max(wait, std::chrono::milliseconds(0)));
      if (!ready) continue;  // interrupted: check stop_
      if (pair_) drainPair();
      if ((items[0].revents & ZMQ_POLLIN) == 0) continue;
      if (leader_ && pair_ && !leadingNow()) return fenced();
      // Drain what is queued, bounded so heartbeats keep their rhythm; the signatures of the
      // alerts and answers among it are checked on every core first.
      std::vector<std::pair<bus::Received, Result<bus::Message>>> drained;
      for (int i = 0; i < 256 && !stop_.load(); ++i) {
        auto msg = router_->recvJoined(1, bus::kMaxParts, bus::kMaxFrameBytes, /*dontWait=*/true);
        if (!msg) {
          if (msg.error().code == Errc::kUnavailable) break;
          ++badFrames_;
          spdlog::warn("request dropped: {}", msg.error().message);
          continue;
        }
        auto decoded = msg->frames.size() == 2
                           ? bus::decode(msg->frames[1])
                           : Result<bus::Message>(makeError(Errc::kInvalidInput, "frames"));
        // The decoded message owns its copy: the frame (a bulk submission joined from its parts)
        // is not held beside it while the drain is handled.
        if (msg->frames.size() == 2) std::string().swap(msg->frames[1]);
        drained.emplace_back(std::move(msg).value(), std::move(decoded));
      }
      if (!leader_) {
        // A standby serves nothing: the site asks the other broker.
        for (auto& [msg, decoded] : drained) {
          ++notLeader_;
          if (!msg.frames.empty())
            reply(msg.frames[0], bus::ProtocolError{std::string(kNotTheLeader)});
        }
        continue;
      }
      precheckAlerts(drained);
      for (auto& [msg, decoded] : drained) {
        handle(msg, decoded);
        ++handled_;
      }
      flushRequests();  // before the alerts' transaction (the same environment, see loop())
      flushAlerts();    // one transaction for the alert work of the whole drain
    }
    report();
    spdlog::info("broker stopping at head={}", core_ ? core_->head() : 0);
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
    auto result = core_->submit(std::move(request), fanout);
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
    out([this, frames = std::vector<std::string>{std::string(topic), body}] {
      auto st = pub_->send(frames, /*dontWait=*/true);
      if (!st) spdlog::warn("fan-out: {}", st.error().message);
    });
  }

  // Writes the router's changes, then sends what it queued; nothing is said before it is stored.
  void flushAlerts() {
    auto st = alerts_->commit();
    if (!st) {
      spdlog::error("alert custody not stored: {}", st.error().message);
      return;
    }
    for (auto& outgoing : alerts_->takeOutgoing()) {
      out([this, o = std::move(outgoing)] {
        Status sent = sendTo(o.site, bus::encode(o.message));
        // Not sent: the router tries again when the site is back (or its queue has room).
        auto* delivery = std::get_if<bus::Delivery>(&o.message);
        if (!sent && delivery != nullptr) {
          alerts_->undeliverable(o.site, delivery->key, sent.error().code == Errc::kNotFound);
        }
      });
    }
  }

  // The same for MLA requests: their custody is written, then the replies and deliveries go.
  void flushRequests() {
    auto st = requests_->commit();
    if (!st) {
      spdlog::error("request custody not stored: {}", st.error().message);
      return;
    }
    for (auto& outgoing : requests_->takeOutgoing()) {
      out([this, o = std::move(outgoing)] {
        Status sent = sendTo(o.site, bus::encode(o.message));
        if (!sent && o.message.op != "reply" && !o.message.keys.empty()) {
          requests_->undeliverable(o.message.keys[0]);
        }
      });
    }
  }

  // Sends `frame` to a member site's connection. kNotFound: it has none now (forgotten until
  // it is heard from again).
  Status sendTo(const std::string& site, std::string frame) {
    auto route = routes_.find(site);
    if (route == routes_.end()) return makeError(Errc::kNotFound, "no connection");
    Status sent = router_->send(bus::framesOf(route->second, std::move(frame)), /*dontWait=*/true);
    if (!sent && sent.error().code == Errc::kNotFound) routes_.erase(route);
    return sent;
  }

  void reply(const std::string& routingId, const bus::Message& message) {
    out([this, frames = bus::framesOf(routingId, bus::encode(message))]() mutable {
      auto st = router_->send(std::move(frames), /*dontWait=*/true);
      if (!st) spdlog::debug("reply dropped: {}", st.error().message);  // the peer left or is stuck
    });
  }

  // Everything the broker says goes through here. In a pair, what the leader says waits until
  // what it has stored so far is stored by the standby too (or etcd shows the leader alone):
  // a site never sees an item, an acknowledgement or a custody that a takeover could lose.
  void out(std::function<void()> action) {
    if (!pair_ || !leader_) return action();
    replicate();
    if (held_.empty() && releasable(batchNo_)) return action();
    held_.emplace_back(batchNo_, std::move(action));
  }

  bool releasable(uint64_t batch) const {
    if (!leadingNow()) return false;
    if (syncWanted_ == pair_->self())
      return pair_->confirmed() == syncWanted_;  // alone, once etcd says so
    return standby_ && standby_->live && batch <= standby_->acked;
  }

  void releaseHeld() {
    while (!held_.empty() && releasable(held_.front().first)) {
      auto action = std::move(held_.front().second);
      held_.pop_front();
      action();
    }
  }

  // --- The broker pair (DESIGN.md, "High availability and operations") ---------------------
  //
  // Both brokers bind --pair-listen (a ROUTER) and connect a DEALER to --pair-peer; only the
  // leader's ROUTER and the standby's DEALER speak. Frames (u64 little-endian; NONCE is that of
  // the standby's hello: what answers an earlier hello is ignored):
  //   standby → leader: hello NAME NONCE | copy-ack | ack N (every batch through N stored)
  //   leader → standby: copy NONCE log|alerts OFFSET BYTES | copied NONCE N
  //                     | batch NONCE N LOG ALERTS | beat NONCE N
  // A standby that says hello gets a compact copy of both LMDB environments (mdb_env_copy2, made
  // on the loop thread, so it holds exactly the batches through N), then every batch after N: the
  // journals of the leader's write transactions (lmdb::Env::setJournal), applied in order.

  Status startPair() {
    trust::CurveKey peerKey = keys_.pub.curve;
    if (!o_.pairPeerKey.empty()) {
      auto peer = trust::loadPublicKeys(o_.pairPeerKey);
      if (!peer) return peer.error();
      peerKey = peer->curve;
    }
    whole_ = !fileExists(o_.data + "/pair-incomplete");
    auto mine = store_->load();
    if (!mine) return mine.error();
    auto pair = PairControl::start(o_.etcd, o_.network, o_.pairListen,
                                   std::chrono::seconds(o_.leaseSeconds), whole_, mine->epoch == 0);
    if (!pair) return pair.error();
    pair_ = std::move(pair).value();
    auto ctx = bus::Context::create();
    if (!ctx) return ctx.error();
    pairCtx_ = std::make_unique<bus::Context>(std::move(ctx).value());
    // Only the other broker's key may connect to the pair socket.
    auto zap = bus::ZapHandler::start(*pairCtx_, "liaison-pair", {{peerKey, "pair"}});
    if (!zap) return zap.error();
    pairZap_ = std::move(zap).value();
    auto router = bus::Socket::open(*pairCtx_, ZMQ_ROUTER);
    if (!router) return router.error();
    pairRouter_ = std::make_unique<bus::Socket>(std::move(router).value());
    LIAISON_TRY(bus::makeCurveServer(*pairRouter_, keys_, "liaison-pair"));
    LIAISON_TRY(pairRouter_->setInt(ZMQ_ROUTER_MANDATORY, 1));
    LIAISON_TRY(pairRouter_->setInt(ZMQ_SNDHWM, 100000));
    LIAISON_TRY(pairRouter_->bind(o_.pairListen));
    LIAISON_TRY(openFollow(peerKey));
    randombytes_buf(&helloNonce_, sizeof helloNonce_);
    spdlog::info(
        "broker network={} pair {} (peer {}): standby until etcd gives it the lead; copy {}",
        o_.network, o_.pairListen, o_.pairPeer,
        whole_ ? "whole" : "half-received (it may not lead before a new copy)");
    return {};
  }

  Status openFollow(const trust::CurveKey& peerKey) {
    auto dealer = bus::Socket::open(*pairCtx_, ZMQ_DEALER);
    if (!dealer) return dealer.error();
    follow_ = std::make_unique<bus::Socket>(std::move(dealer).value());
    LIAISON_TRY(follow_->setCurveClient(keys_, peerKey));
    LIAISON_TRY(follow_->setInt(ZMQ_IMMEDIATE, 1));  // a hello is queued only on a live connection
    LIAISON_TRY(follow_->setInt(ZMQ_RECONNECT_IVL, 100));
    LIAISON_TRY(follow_->setInt(ZMQ_RECONNECT_IVL_MAX, 1000));
    LIAISON_TRY(follow_->setLinger(std::chrono::milliseconds(0)));
    return follow_->connect(o_.pairPeer);
  }

  bool leadingNow() const { return pair_ == nullptr || steadyMs() < pair_->leadingUntilMs(); }

  Status fenced() {
    spdlog::error(
        "pair {}: the leadership lease could not be renewed in time; this broker stops sequencing "
        "now, "
        "before etcd can give the lead to the other ({} outputs never said)",
        pair_->self(), held_.size());
    return makeError(Errc::kUnavailable,
                     "lost the leadership of the pair (etcd unreachable, or this broker was "
                     "paused); started again, it follows the new leader as its standby");
  }

  void want(const std::string& sync) {
    if (sync == syncWanted_) return;
    syncWanted_ = sync;
    pair_->want(sync);
    spdlog::info("pair {}: asks etcd for sync \"{}\"", pair_->self(), sync);
  }

  static std::string u64le(uint64_t v) { return std::string(reinterpret_cast<const char*>(&v), 8); }
  static std::optional<uint64_t> readU64le(const std::string& s) {
    if (s.size() != 8) return std::nullopt;
    uint64_t v = 0;
    std::memcpy(&v, s.data(), 8);
    return v;
  }

  // The journals written since the last call become batch N; a live standby gets it now, one
  // being copied after its copy.
  void replicate() {
    if (logJournal_.empty() && alertJournal_.empty()) return;
    ++batchNo_;
    std::vector<std::string> frames;
    if (standby_) {
      frames = {"batch", standby_->nonce, u64le(batchNo_), std::move(logJournal_),
                std::move(alertJournal_)};
    }
    logJournal_.clear();
    alertJournal_.clear();
    if (!standby_) return;
    if (standby_->live) {
      toStandby(std::move(frames));
    } else {
      standby_->pending.push_back(std::move(frames));
    }
  }

  void toStandby(std::vector<std::string> frames) {
    frames.insert(frames.begin(), standby_->routingId);
    auto st = pairRouter_->send(frames, /*dontWait=*/true);
    if (!st) standbyLost("cannot send to it: " + st.error().message);
  }

  void standbyLost(const std::string& why) {
    spdlog::warn("pair {}: standby {} lost ({}); the leader goes on alone once etcd says so",
                 pair_->self(), standby_->name, why);
    standby_.reset();
    ++standbyLosses_;
    want(pair_->self());
    removeDirectory(o_.data + "/pair-copy");
  }

  void pairTick() {
    const int64_t now = steadyMs();
    if (leader_) {
      if (standby_ &&
          now - standby_->heardMs > (standby_->live ? kStandbySilentMs : kCopySilentMs)) {
        standbyLost("silent for " + std::to_string(now - standby_->heardMs) + " ms");
      }
      if (standby_ && now >= nextPairBeatMs_) {
        toStandby({"beat", standby_->nonce, u64le(batchNo_)});
        nextPairBeatMs_ = now + 250;
      }
      replicate();
      releaseHeld();
      return;
    }
    if (followState_ != Follow::kIdle && now - followHeardMs_ > kLeaderSilentMs) {
      resetFollow("the leader is silent");
    }
    if (followState_ == Follow::kIdle && now >= nextHelloMs_) {
      (void)follow_->send({"hello", o_.pairListen, u64le(helloNonce_)}, /*dontWait=*/true);
      nextHelloMs_ = now + 250;  // the same hello again is ignored by the leader
    }
    if (followState_ == Follow::kLive && now >= nextAckMs_) {
      (void)follow_->send({"ack", u64le(applied_)}, /*dontWait=*/true);
      nextAckMs_ = now + 250;
    }
  }

  void drainPair() {
    for (int i = 0; i < 1000; ++i) {
      auto msg = pairRouter_->recv(8, /*dontWait=*/true);
      if (!msg) break;
      if (leader_ && msg->size() >= 2)
        onStandbyMessage(*msg);  // a standby ignores the other standby
    }
    for (int i = 0; follow_ && !leader_ && i < 1000; ++i) {
      auto msg = follow_->recv(8, /*dontWait=*/true);
      if (!msg) break;
      if (!msg->empty()) onLeaderMessage(*msg);
    }
  }

  // Leader side.
  void onStandbyMessage(const std::vector<std::string>& m) {
    const std::string& from = m[0];
    const std::string& type = m[1];
    if (type == "hello" && m.size() == 4) {
      if (standby_ && standby_->routingId == from && standby_->nonce == m[3])
        return;  // said again, same attempt
      if (standby_) standbyLost("it started over");
      return newStandby(from, m[2], m[3]);
    }
    if (!standby_ || standby_->routingId != from) return;
    standby_->heardMs = steadyMs();
    if (type == "copy-ack") {
      if (standby_->inFlight > 0) --standby_->inFlight;
      sendCopy();
    } else if (type == "ack" && m.size() == 3) {
      auto n = readU64le(m[2]);
      if (!n || *n > batchNo_) return standbyLost("it acknowledged a batch never sent");
      standby_->acked = std::max(standby_->acked, *n);
      // Caught up: from now on nothing is said before it has stored it, and etcd says so.
      if (standby_->live && syncWanted_ == pair_->self() && standby_->acked >= batchNo_) {
        want(pair_->self() + " " + standby_->name);
      }
      releaseHeld();
    }
  }

  void newStandby(const std::string& routingId, const std::string& name, const std::string& nonce) {
    if (name.empty() || name.find(' ') != std::string::npos || name == pair_->self()) {
      spdlog::warn("pair {}: a hello with the name \"{}\" is refused", pair_->self(), name);
      return;
    }
    replicate();  // what is already stored is in the copy
    const std::string dir = o_.data + "/pair-copy";
    removeDirectory(dir);
    for (auto [env, sub] :
         {std::pair{&store_->env(), "/log"}, std::pair{&alertStore_->env(), "/alerts"}}) {
      auto st = makeDirectories(dir + sub, 0700);
      int rc = st ? mdb_env_copy2(env->get(), (dir + sub).c_str(), MDB_CP_COMPACT) : EIO;
      if (rc != 0) {
        spdlog::error("pair {}: no copy for standby {}: {}", pair_->self(), name,
                      st ? mdb_strerror(rc) : st.error().message);
        return;
      }
    }
    standby_ = Standby{};
    standby_->routingId = routingId;
    standby_->name = name;
    standby_->nonce = nonce;
    standby_->copiedAt = batchNo_;
    standby_->heardMs = steadyMs();
    for (int i = 0; i < 2; ++i) {
      const std::string path = dir + (i == 0 ? "/log" : "/alerts") + "/data.mdb";
      standby_->files[i] = std::make_shared<std::ifstream>(path, std::ios::binary);
      standby_->sizes[i] = fileSize(path);
    }
    spdlog::info(
        "pair {}: standby {} connected; sending it a copy of {} + {} bytes (through batch {})",
        pair_->self(), name, standby_->sizes[0], standby_->sizes[1], batchNo_);
    for (int i = 0; i < kCopyWindow && standby_; ++i) sendCopy();
  }

  void sendCopy() {
    auto& s = *standby_;
    while (s.file < 2 && s.offset >= s.sizes[s.file]) {
      ++s.file;
      s.offset = 0;
    }
    if (s.file < 2) {
      std::string chunk(
          static_cast<size_t>(std::min<uint64_t>(kCopyChunk, s.sizes[s.file] - s.offset)), '\0');
      s.files[s.file]->seekg(static_cast<std::streamoff>(s.offset));
      s.files[s.file]->read(chunk.data(), static_cast<std::streamsize>(chunk.size()));
      if (!*s.files[s.file]) return standbyLost("its copy could not be read");
      const uint64_t at = s.offset;
      s.offset += chunk.size();
      ++s.inFlight;
      return toStandby(
          {"copy", s.nonce, s.file == 0 ? "log" : "alerts", u64le(at), std::move(chunk)});
    }
    if (s.inFlight > 0 || s.live) return;
    // Every chunk is stored there: the batches made meanwhile follow, then live ones.
    s.live = true;
    s.acked = s.copiedAt;
    toStandby({"copied", s.nonce, u64le(s.copiedAt)});
    spdlog::info("pair {}: standby {} has its copy; {} batches made meanwhile follow",
                 pair_->self(), s.name, s.pending.size());
    for (auto& frames : s.pending) {
      toStandby(std::move(frames));
      if (!standby_) return;  // `s` is gone with it
    }
    s.pending.clear();
    removeDirectory(o_.data + "/pair-copy");
  }

  // Standby side.
  void onLeaderMessage(const std::vector<std::string>& m) {
    // Only what answers this standby's current hello counts: a message of an earlier attempt
    // (queued while it was paused, say) must not mix into this copy.
    if (m.size() < 2 || m[1] != u64le(helloNonce_)) return;
    const std::string& type = m[0];
    followHeardMs_ = steadyMs();
    if (type == "beat") return;
    if (type == "copy" && m.size() == 5) {
      if (followState_ == Follow::kLive) return resetFollow("a copy while live");
      if (followState_ == Follow::kIdle) {
        auto st = beginCopy();
        if (!st) return resetFollow(st.error().message);
      }
      auto offset = readU64le(m[3]);
      const int which = m[2] == "log" ? 0 : m[2] == "alerts" ? 1 : -1;
      if (!offset || which < 0 || !writeAt(incoming_[which], m[4], *offset))
        return resetFollow("copy chunk not stored");
      (void)follow_->send({"copy-ack"}, /*dontWait=*/true);
    } else if (type == "copied" && m.size() == 3) {
      auto n = readU64le(m[2]);
      if (followState_ != Follow::kCopying || !n) return resetFollow("copied without a copy");
      auto st = finishCopy();
      if (!st) {
        spdlog::error("pair {}: copy not taken: {}", o_.pairListen, st.error().message);
        resetFollow("copy not taken");
        if (st.error().code == Errc::kConflict) {
          // Its own log is untouched and whole; it asks again in a minute, not in a loop.
          removeDirectory(o_.data + "/pair-in");
          ::unlink((o_.data + "/pair-incomplete").c_str());
          whole_ = true;
          pair_->setWhole(true);
          nextHelloMs_ = steadyMs() + 60000;
        }
        return;
      }
      applied_ = *n;
      followState_ = Follow::kLive;
      spdlog::info("pair {}: standby of {} with a whole copy through batch {}", o_.pairListen,
                   o_.pairPeer, applied_);
      (void)follow_->send({"ack", u64le(applied_)}, /*dontWait=*/true);
    } else if (type == "batch" && m.size() == 5) {
      auto n = readU64le(m[2]);
      if (followState_ != Follow::kLive || !n || *n != applied_ + 1)
        return resetFollow("a batch out of order");
      auto st = lmdb::applyJournal(store_->env(), m[3]);
      if (st) st = lmdb::applyJournal(alertStore_->env(), m[4]);
      if (!st) {
        spdlog::error("pair {}: batch {} not applied: {}", o_.pairListen, *n, st.error().message);
        return resetFollow("a batch not applied");
      }
      applied_ = *n;
      (void)follow_->send({"ack", u64le(applied_)}, /*dontWait=*/true);
    }
  }

  void resetFollow(const std::string& why) {
    if (followState_ != Follow::kIdle)
      spdlog::info("pair {}: following again from a copy ({})", o_.pairListen, why);
    closeIncoming();
    followState_ = Follow::kIdle;
    nextHelloMs_ = 0;
    randombytes_buf(&helloNonce_, sizeof helloNonce_);
  }

  // A copy is received beside the stores; the marker says the stores may be half-replaced.
  Status beginCopy() {
    LIAISON_TRY(writeFileAtomic(o_.data + "/pair-incomplete",
                                "a copy from the leader is being received\n"));
    whole_ = false;
    pair_->setWhole(false);
    const std::string dir = o_.data + "/pair-in";
    removeDirectory(dir);
    LIAISON_TRY(makeDirectories(dir + "/alerts", 0700));
    for (int i = 0; i < 2; ++i) {
      const std::string path = dir + (i == 0 ? "" : "/alerts") + "/data.mdb";
      incoming_[i] = ::open(path.c_str(), O_CREAT | O_TRUNC | O_WRONLY | O_CLOEXEC, 0600);
      if (incoming_[i] < 0) return makeError(Errc::kIo, path + ": cannot create");
    }
    followState_ = Follow::kCopying;
    return {};
  }

  static bool writeAt(int fd, const std::string& data, uint64_t offset) {
    size_t done = 0;
    while (done < data.size()) {
      ssize_t n =
          ::pwrite(fd, data.data() + done, data.size() - done, static_cast<off_t>(offset + done));
      if (n <= 0) return false;
      done += static_cast<size_t>(n);
    }
    return true;
  }

  // The received copy replaces the stores (closed and opened again around the rename).
  Status finishCopy() {
    for (int fd : incoming_) {
      if (fd < 0 || ::fsync(fd) != 0) return makeError(Errc::kIo, "the copy could not be synced");
    }
    closeIncoming();
    const std::string in = o_.data + "/pair-in";
    {
      // A copy of another history (another epoch) never replaces a log: that is a broker of
      // another network, or a leader that started afresh beside this one's data. The operator
      // decides (moves this data aside to let it follow).
      auto mine = store_->load();
      auto copy = LmdbStore::open(in, o_.mapSize);
      auto theirs = copy ? (*copy)->load() : Result<Store::Snapshot>(copy.error());
      if (!mine || !theirs)
        return makeError(Errc::kIo, "the copy or this broker's log cannot be read");
      if (mine->epoch != 0 && theirs->epoch != mine->epoch) {
        return makeError(
            Errc::kConflict,
            fmt::format(
                "the leader's log is another history (epoch {:016x}, head {}) than this broker's "
                "(epoch {:016x}, head {}); this broker keeps its own and does not follow: move {} "
                "aside to make it a standby of that leader",
                theirs->epoch, theirs->head, mine->epoch, mine->head, o_.data));
      }
    }
    store_.reset();
    alertStore_.reset();
    for (auto [from, to] : {std::pair{in + "/data.mdb", o_.data + "/data.mdb"},
                            std::pair{in + "/alerts/data.mdb", o_.data + "/alerts/data.mdb"}}) {
      if (::rename(from.c_str(), to.c_str()) != 0)
        return makeError(Errc::kIo, "rename " + from + " failed");
    }
    ::unlink((o_.data + "/lock.mdb").c_str());
    ::unlink((o_.data + "/alerts/lock.mdb").c_str());
    LIAISON_TRY(openStores());
    removeDirectory(in);
    ::unlink((o_.data + "/pair-incomplete").c_str());
    whole_ = true;
    pair_->setWhole(true);
    return {};
  }

  void closeIncoming() {
    for (int& fd : incoming_) {
      if (fd >= 0) ::close(fd);
      fd = -1;
    }
  }

  static uint64_t fileSize(const std::string& path) {
    struct stat st {};
    return ::stat(path.c_str(), &st) == 0 ? static_cast<uint64_t>(st.st_size) : 0;
  }

  static void removeDirectory(const std::string& dir) {
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }

  // `decoded`: the request frame, decoded (when there are two frames).
  void handle(const bus::Received& msg, Result<bus::Message>& decoded) {
    if (msg.frames.size() != 2) {
      ++badFrames_;
      if (!msg.frames.empty()) reply(msg.frames[0], bus::ProtocolError{"expected one frame"});
      return;
    }
    const std::string& peer = msg.frames[0];
    // A connection made before its key was admitted carries the key, not the site id.
    std::string site = msg.userId;
    if (site.starts_with(bus::kUnenrolled)) {
      auto known = keySites_.find(site);
      if (known == keySites_.end()) return enrol(msg, decoded);
      site = known->second;
    }
    if (!core_->isAdmitted(site)) {  // revoked or expired since it connected
      ++notAdmitted_;
      if (toldNotAdmitted_.insert(site).second) {
        // Told why, once; from then on it hears nothing.
        const std::string why = core_->revoked(site)
                                    ? "site " + site + " was revoked by the network's root"
                                    : "the certificate of " + site + " is not valid now";
        spdlog::warn("site={} refused: {}; it is told once and served nothing more", site, why);
        reply(peer, bus::ProtocolError{why + ": this broker serves it nothing more"});
      }
      return;
    }
    if (!decoded) {
      ++badFrames_;
      spdlog::warn("site={} bad request: {}", site, decoded.error().message);
      reply(peer, bus::ProtocolError{decoded.error().message});
      return;
    }
    routes_[site] = peer;
    if (auto* alert = std::get_if<bus::AlertRequest>(&*decoded)) {
      alerts_->handle(site, *alert, steadyMs());
    } else if (auto* request = std::get_if<bus::RequestMsg>(&*decoded)) {
      requests_->handle(site, *request, steadyMs());
    } else if (auto* submit = std::get_if<bus::SubmitRequest>(&*decoded)) {
      std::vector<bus::Entry> fanout;
      const auto from = Steady::now();
      const auto stored = store_->appendTotal();
      const uint64_t requestId = submit->requestId;
      auto result = core_->submit(std::move(*submit), fanout, site);
      // What the submission took besides the store's write: mostly its signature checks.
      verifyTimes_.observe(Steady::now() - from - (store_->appendTotal() - stored));
      if (!result) {
        spdlog::error("site={} submission failed in the store: {}", site, result.error().message);
        reply(peer, bus::SubmitResult{requestId, false, 0, 0, "store failure",
                                      result.error().message, 0, 0});
        return;
      }
      if (!result->accepted) {
        // Said once; a client retrying for the same reason is counted (refusals), not logged again.
        std::string said = result->refusal + ": " + result->detail;
        if (lastRefusal_[site] != said) {
          spdlog::warn("site={} submission refused ({}): {}", site, result->refusal,
                       result->detail);
          lastRefusal_[site] = std::move(said);
        } else {
          spdlog::debug("site={} submission refused again ({})", site, result->refusal);
        }
      } else {
        lastRefusal_.erase(site);
        if (!fanout.empty())
          spdlog::info("site={} accepted seq={}..{}", site, result->firstSeq, result->lastSeq);
      }
      reply(peer, *result);
      accepted(fanout);
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
      if (snapshots_.count(site) == 0 && static_cast<int>(snapshots_.size()) >= o_.maxSnapshots) {
        reply(peer, bus::ProtocolError{"busy: too many snapshots at once, retry"});
        return;
      }
      snapshots_[site] = now;
      auto chunk = core_->snapshot(*snap, kMaxSnapshotItems);
      if (!chunk) {
        reply(peer, bus::ProtocolError{chunk.error().message});
        return;
      }
      if (chunk->done) snapshots_.erase(site);
      reply(peer, *chunk);
    } else {
      ++badFrames_;
      reply(peer, bus::ProtocolError{"not a request"});
    }
  }

  // Publishes accepted entries; a certificate or revocation among them changes who may connect.
  void accepted(const std::vector<bus::Entry>& fanout) {
    bool membership = false, revocation = false;
    for (const auto& e : fanout) {
      publish(bus::kTopicEntry, bus::encode(e));
      auto item = SignedItem::decode(e.envelope);
      if (item && item->item.reader().which() == schema::Item::MEMBER) membership = true;
      if (item && item->item.reader().which() == schema::Item::REVOCATION) revocation = true;
    }
    if (membership || revocation) membershipChanged();
    if (revocation) {
      // ZAP admits once per connection: make every subscriber authenticate again.
      auto st = openPub();
      if (!st) spdlog::error("fan-out socket: {}", st.error().message);
    }
  }

  void membershipChanged() {
    auto admitted = core_->admitted();
    keySites_.clear();
    for (const auto& [key, site] : admitted)
      keySites_[std::string(bus::kUnenrolled) + toHex(key)] = site;
    zap_->setMembers(std::move(admitted));
  }

  // A connection whose key is no member's: it may present the root-signed certificate for its
  // own key (one submission of one certificate), which enters the log like any other; anything
  // else it sends is dropped and counted. A refusal is answered with its reason.
  void enrol(const bus::Received& msg, Result<bus::Message>& decoded) {
    const std::string& peer = msg.frames[0];
    auto* submit = decoded ? std::get_if<bus::SubmitRequest>(&*decoded) : nullptr;
    if (submit == nullptr) {
      ++enrolments_["not enrolled"];  // served nothing before a certificate is admitted
      return;
    }
    const uint64_t requestId = submit->requestId;  // the request moves into the core below
    auto refuse = [&](const std::string& reason, const std::string& detail) {
      ++enrolments_[reason];
      spdlog::warn("enrolment from key {}... refused ({}): {}", msg.userId.substr(1, 16), reason,
                   detail);
      reply(peer, bus::SubmitResult{requestId, false, 0, 0, reason, detail, 0, 0});
    };
    if (submit->envelopes.size() != 1) return refuse("malformed", "present one certificate, alone");
    auto item = SignedItem::decode(submit->envelopes[0]);
    if (!item || item->item.reader().which() != schema::Item::MEMBER) {
      return refuse("malformed",
                    "a connection that is no member's may present its certificate only");
    }
    auto cert = trust::memberFromReader(item->item.reader().getMember());
    if (std::string(bus::kUnenrolled) + toHex(cert.curveKey) != msg.userId) {
      return refuse("certificate for another key", "the certificate of " + cert.site +
                                                       " names another key than this connection's");
    }
    if (item->signer != trust::kRootSigner || item->signerKey != core_->rootKey()) {
      return refuse(trust::refusalName(trust::Refusal::kUnknownSigner),
                    "the certificate of " + cert.site + " is not signed by this network's root");
    }
    const int64_t now = clock_.nowSeconds();
    if (cert.notAfter <= now) {
      return refuse(trust::refusalName(trust::Refusal::kExpired),
                    "the certificate of " + cert.site + " has expired");
    }
    if (cert.notBefore > now) {
      return refuse(trust::refusalName(trust::Refusal::kNotYetValid),
                    "the certificate of " + cert.site + " is not valid yet");
    }
    std::vector<bus::Entry> fanout;
    auto result = core_->submit(std::move(*submit), fanout);
    if (!result) {
      spdlog::error("enrolment of {} failed in the store: {}", cert.site, result.error().message);
      return reply(peer, bus::SubmitResult{requestId, false, 0, 0, "store failure",
                                           result.error().message, 0, 0});
    }
    if (!result->accepted) return refuse(result->refusal, result->detail);
    ++enrolments_["admitted"];
    spdlog::info("site={} enrolled: its certificate, presented at connect, is seq={}", cert.site,
                 result->firstSeq);
    reply(peer, *result);
    accepted(fanout);
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
    if (!leader_) {
      spdlog::info("stats standby of {} copy={} applied={} not_leader_answers={}", o_.pairPeer,
                   followState_ == Follow::kLive      ? "live"
                   : followState_ == Follow::kCopying ? "receiving"
                                                      : "none",
                   applied_, notLeader_);
      return;
    }
    std::string refusals;
    for (const auto& [reason, n] : core_->refusals()) {
      refusals += (refusals.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    }
    std::string enrolments;
    for (const auto& [outcome, n] : enrolments_) {
      enrolments += (enrolments.empty() ? "" : ", ") + outcome + "=" + std::to_string(n);
    }
    auto zap = zap_->counters();
    spdlog::info(
        "stats head={} accepted={} refused=[{}] bad_frames={} not_admitted={} "
        "zap_admitted={} zap_refused_key={} zap_refused_mechanism={} zap_unenrolled={} "
        "enrolments=[{}]",
        core_->head(), core_->accepted(), refusals, badFrames_, notAdmitted_, zap.admitted,
        zap.refusedUnknownKey, zap.refusedMechanism, zap.unenrolled, enrolments);
    const auto& a = alerts_->counters();
    std::string alertRefusals;
    for (const auto& [reason, n] : a.refused) {
      alertRefusals += (alertRefusals.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    }
    spdlog::info(
        "alerts accepted={} deliveries={} resends={} answers={} escalations={} expired={} "
        "pending={} refused=[{}]",
        a.accepted, a.deliveries, a.resends, a.answers, a.escalations, a.expired,
        alerts_->pendingAlerts(), alertRefusals);
  }

  // The Prometheus endpoint: its own thread answers scrapes; the text is made on the loop's
  // thread (which owns the state), when a scrape asks for it.
  Status startMetrics() {
    auto colon = o_.metrics.rfind(':');
    int port = -1;
    if (colon != std::string::npos) {
      const std::string digits = o_.metrics.substr(colon + 1);
      if (!digits.empty() && digits.size() <= 5 &&
          std::all_of(digits.begin(), digits.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        port = std::stoi(digits);
      }
    }
    if (colon == std::string::npos || colon == 0 || port < 0 || port > 65535) {
      return makeError(Errc::kInvalidInput, "--metrics " + o_.metrics + ": expected HOST:PORT");
    }
    std::string host = o_.metrics.substr(0, colon);
    if (host.size() > 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    metricsServer_ = std::make_unique<httplib::Server>();
    metricsServer_->new_task_queue = [] { return new httplib::ThreadPool(2); };  // scrapes are rare
    metricsServer_->set_read_timeout(5, 0);
    metricsServer_->set_write_timeout(5, 0);
    metricsServer_->set_socket_options([](socket_t sock) {
      int yes = 1;
      ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
    });
    metricsServer_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
      std::unique_lock lock(metricsMutex_);
      const uint64_t asked = ++metricsAsked_;
      metricsWanted_ = true;
      if (!metricsReady_.wait_for(lock, std::chrono::seconds(5),
                                  [&] { return metricsMade_ >= asked; })) {
        res.status = 503;
        res.set_content("the broker's loop did not answer in 5 s\n", "text/plain");
        return;
      }
      res.set_content(metricsText_, std::string(MetricsText::kContentType));
    });
    if (port == 0) {
      port = metricsServer_->bind_to_any_port(host);  // a free port, written to DATA/endpoints
      if (port <= 0)
        return makeError(Errc::kUnavailable, "--metrics " + o_.metrics + ": cannot listen there");
    } else if (!metricsServer_->bind_to_port(host, port)) {
      return makeError(Errc::kUnavailable,
                       "--metrics " + o_.metrics + ": cannot listen there (in use?)");
    }
    metricsAt_ = o_.metrics.substr(0, colon) + ":" + std::to_string(port);
    metricsThread_ = std::thread([this] { metricsServer_->listen_after_bind(); });
    spdlog::info("broker metrics on http://{}/metrics", metricsAt_);
    return {};
  }

  void renderMetrics() {
    uint64_t asked = 0;
    {
      std::lock_guard lock(metricsMutex_);
      asked = metricsAsked_;
      metricsWanted_ = false;
    }
    MetricsText m;
    m.gauge("liaison_broker_leader", "1 when this broker sequences (a broker alone always does).",
            leader_ ? 1 : 0);
    if (pair_) {
      m.gauge("liaison_broker_pair_standby_live",
              "The leader: 1 while its standby holds a live copy.",
              standby_ && standby_->live ? 1 : 0);
      m.gauge("liaison_broker_pair_synchronous",
              "The leader: 1 while nothing is said before the standby stored it.",
              leader_ && syncWanted_ != pair_->self() ? 1 : 0);
      m.gauge("liaison_broker_pair_held",
              "The leader: answers and fan-out waiting for the standby's acknowledgement.",
              static_cast<double>(held_.size()));
      m.counter("liaison_broker_pair_standby_losses_total",
                "The leader: standbys lost (silent, or started over).",
                static_cast<double>(standbyLosses_));
      m.gauge("liaison_broker_pair_batch",
              "The last batch made (leader) or stored (standby) since start.",
              static_cast<double>(leader_ ? batchNo_ : applied_));
      m.counter("liaison_broker_pair_not_leader_total",
                "Requests answered \"not the leader\" while standby.",
                static_cast<double>(notLeader_));
    }
    if (!leader_) return publishMetrics(std::move(m), asked);
    m.gauge("liaison_broker_info", "The broker's network and log epoch (always 1).", 1,
            {{"network", o_.network}, {"epoch", fmt::format("{:016x}", core_->epoch())}});
    m.gauge("liaison_broker_head", "The last seq of the log.", static_cast<double>(core_->head()));
    m.gauge("liaison_broker_log_oldest", "The oldest seq the log still holds.",
            static_cast<double>(store_->oldest()));
    m.counter("liaison_broker_items_accepted_total", "Items accepted since start.",
              static_cast<double>(core_->accepted()));
    for (const auto& [reason, n] : core_->refusals()) {
      m.counter("liaison_broker_items_refused_total", "Items refused, by reason.",
                static_cast<double>(n), {{"reason", reason}});
    }
    uint64_t revoked = 0;
    for (const auto& [site, cert] : core_->members()) revoked += core_->revoked(site) ? 1 : 0;
    m.gauge("liaison_broker_members", "Member certificates held, by state.",
            static_cast<double>(core_->admitted().size()), {{"state", "admitted"}});
    m.gauge("liaison_broker_members", "Member certificates held, by state.",
            static_cast<double>(revoked), {{"state", "revoked"}});
    m.gauge("liaison_broker_peerings", "Peerings held (home and peers').",
            static_cast<double>(core_->peerings().size()));
    m.gauge("liaison_broker_sites_connected",
            "Sites heard from in the last 5 s (every running site pings).",
            static_cast<double>(alerts_->sitesOnline(steadyMs())));
    auto zap = zap_->counters();
    m.counter("liaison_broker_connections_total",
              "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.admitted), {{"outcome", "admitted"}});
    m.counter("liaison_broker_connections_total",
              "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.refusedUnknownKey), {{"outcome", "unknown key"}});
    m.counter("liaison_broker_connections_total",
              "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.refusedMechanism), {{"outcome", "wrong mechanism"}});
    m.counter("liaison_broker_connections_total",
              "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.unenrolled), {{"outcome", "unenrolled"}});
    m.counter("liaison_broker_requests_refused_total",
              "Requests refused before any work, by reason.", static_cast<double>(badFrames_),
              {{"reason", "malformed"}});
    m.counter("liaison_broker_requests_refused_total",
              "Requests refused before any work, by reason.", static_cast<double>(notAdmitted_),
              {{"reason", "not admitted"}});
    for (const auto& [outcome, n] : enrolments_) {
      m.counter("liaison_broker_enrolments_total",
                "Requests from keys that are no member's: certificates admitted, refused by "
                "reason, or other requests dropped.",
                static_cast<double>(n), {{"outcome", outcome}});
    }
    const auto& a = alerts_->counters();
    struct Count {
      const char* name;
      const char* help;
      uint64_t n;
    };
    const Count alertCounts[] = {
        {"liaison_broker_alerts_accepted_total",
         "Alerts (and updates, cancels) taken into custody.", a.accepted},
        {"liaison_broker_alert_deliveries_total",
         "Deliveries of alerts to target sites, resends included.", a.deliveries},
        {"liaison_broker_alert_resends_total", "Deliveries sent again for want of a receipt.",
         a.resends},
        {"liaison_broker_alert_answers_total", "Receipts, acknowledgements and refusals recorded.",
         a.answers},
        {"liaison_broker_alert_escalations_total",
         "Alerts escalated for want of an acknowledgement.", a.escalations},
        {"liaison_broker_alerts_expired_total", "Alerts that expired with deliveries outstanding.",
         a.expired}};
    for (const auto& c : alertCounts) m.counter(c.name, c.help, static_cast<double>(c.n));
    for (const auto& [reason, n] : a.refused) {
      m.counter("liaison_broker_alerts_refused_total", "Alert requests refused, by reason.",
                static_cast<double>(n), {{"reason", reason}});
    }
    const auto& rq = requests_->counters();
    const Count requestCounts[] = {
        {"liaison_broker_requests_accepted_total",
         "MLA requests whose every chunk is stored (signed \"accepted\").", rq.accepted},
        {"liaison_broker_requests_from_peers_total",
         "MLA requests of a peer network's sites stored whole (accepted by their broker).",
         rq.relayed},
        {"liaison_broker_request_chunks_total", "Encrypted chunks of MLA requests stored.",
         rq.chunks},
        {"liaison_broker_request_chunk_bytes_total", "Bytes of encrypted chunks stored.",
         rq.chunkBytes},
        {"liaison_broker_request_chunks_served_total", "Chunks served to recipients.",
         rq.chunksServed},
        {"liaison_broker_request_steps_total", "Signed steps of MLA requests stored.", rq.steps},
        {"liaison_broker_request_deliveries_total",
         "Offers and steps sent to sites, resends included.", rq.deliveries}};
    for (const auto& c : requestCounts) m.counter(c.name, c.help, static_cast<double>(c.n));
    for (const auto& [reason, n] : rq.refused) {
      m.counter("liaison_broker_requests_refused_total", "MLA request messages refused, by reason.",
                static_cast<double>(n), {{"reason", reason}});
    }
    m.gauge("liaison_broker_requests", "MLA requests in custody.",
            static_cast<double>(requests_->inCustody()));
    const auto& states = alerts_->states();
    for (const auto& [state, n] : states.alerts) {
      m.gauge("liaison_broker_alerts", "Alerts in custody, by state.", static_cast<double>(n),
              {{"state", state}});
    }
    for (const auto& [state, n] : states.targets) {
      m.gauge("liaison_broker_alert_targets",
              "Alert targets, by state (queued is the delivery queue).", static_cast<double>(n),
              {{"state", state}});
    }
    m.gauge("liaison_broker_alerts_pending", "Alerts with work left (deliveries, answers, timers).",
            static_cast<double>(alerts_->pendingAlerts()));
    m.gauge("liaison_broker_alerts_held",
            "Alert custodies held in memory (the rest are read from disk when asked).",
            static_cast<double>(alerts_->heldAlerts()));
    m.gauge("liaison_broker_snapshots", "Sites taking a snapshot now.",
            static_cast<double>(snapshots_.size()));
    m.histogram("liaison_broker_verify_seconds", "A submission's checks, without its commit.",
                verifyTimes_);
    m.histogram("liaison_broker_commit_seconds", "A synced LMDB commit, by what it stored.",
                store_->commitTimes(), {{"store", "log"}});
    m.histogram("liaison_broker_commit_seconds", "A synced LMDB commit, by what it stored.",
                alertStore_->commitTimes(), {{"store", "alerts"}});
    publishMetrics(std::move(m), asked);
  }

  void publishMetrics(MetricsText m, uint64_t asked) {
    {
      std::lock_guard lock(metricsMutex_);
      metricsText_ = m.text();
      metricsMade_ = asked;
    }
    metricsReady_.notify_all();
  }

  // The pair: the standby as the leader sees it.
  struct Standby {
    std::string routingId, name, nonce;
    bool live = false;      // copy received: batches go to it as they are made
    uint64_t copiedAt = 0;  // the copy holds the batches through this one
    uint64_t acked = 0;     // every batch through this one is stored there
    int64_t heardMs = 0;
    std::deque<std::vector<std::string>> pending;  // batches made while it receives its copy
    std::shared_ptr<std::ifstream> files[2];
    uint64_t sizes[2] = {0, 0};
    int file = 0;  // the copy's file being sent (0 log, 1 alerts) and where
    uint64_t offset = 0;
    int inFlight = 0;  // chunks sent, not yet acknowledged
  };
  enum class Follow { kIdle, kCopying, kLive };
  static constexpr int64_t kStandbySilentMs = 2000, kCopySilentMs = 10000, kLeaderSilentMs = 3000;
  static constexpr int kCopyWindow = 4;
  static constexpr uint64_t kCopyChunk = uint64_t{1} << 20;
  static constexpr std::string_view kNotTheLeader =
      "not the leader: this broker is the standby of its pair";

  const Options& o_;
  const std::atomic<bool>& stop_;
  SystemClock clock_;
  SigningKey rootSign_{};
  bool leader_ = false;
  std::unique_ptr<PairControl> pair_;
  std::unique_ptr<bus::Context> pairCtx_;
  std::unique_ptr<bus::ZapHandler> pairZap_;
  std::unique_ptr<bus::Socket> pairRouter_, follow_;
  std::string logJournal_, alertJournal_;  // the leader's writes since the last batch
  uint64_t batchNo_ = 0;                   // the last batch made (this process)
  std::string syncWanted_;
  std::optional<Standby> standby_;
  std::deque<std::pair<uint64_t, std::function<void()>>>
      held_;  // outputs waiting for a batch's ack
  int64_t nextPairBeatMs_ = 0;
  uint64_t standbyLosses_ = 0, notLeader_ = 0;
  bool whole_ = true;
  Follow followState_ = Follow::kIdle;
  uint64_t applied_ = 0, helloNonce_ = 1;  // the nonce of this standby's current hello
  int64_t followHeardMs_ = 0, nextHelloMs_ = 0, nextAckMs_ = 0;
  int incoming_[2] = {-1, -1};
  trust::KeyPair keys_;
  std::unique_ptr<LmdbStore> store_;
  std::unique_ptr<Core> core_;
  std::unique_ptr<LmdbAlertStore> alertStore_;
  std::unique_ptr<AlertRouter> alerts_;
  std::unique_ptr<RequestRouter> requests_;
  std::map<std::string, std::string> routes_;  // site → routing id of its request socket
  std::unique_ptr<bus::Context> ctx_;
  std::unique_ptr<bus::ZapHandler> zap_;
  std::unique_ptr<bus::Socket> router_, pub_;
  std::string listenEndpoint_, fanoutEndpoint_;
  std::map<std::string, Steady::time_point> snapshots_;
  uint64_t badFrames_ = 0, notAdmitted_ = 0;
  std::map<std::string, std::string> keySites_;     // kUnenrolled + hex CURVE key → admitted site
  std::map<std::string, uint64_t> enrolments_;      // certificates presented at connect, by outcome
  std::set<std::string> toldNotAdmitted_;           // sites told once why they are served nothing
  std::map<std::string, std::string> lastRefusal_;  // site → the submission refusal last logged
  uint64_t handled_ = 0;                            // requests handled, for giveBack_
  MemoryGiveBack giveBack_;                         // after a burst of submissions or fetches
  Histogram verifyTimes_;
  std::unique_ptr<httplib::Server> metricsServer_;
  std::thread metricsThread_;
  std::mutex metricsMutex_;
  std::condition_variable metricsReady_;
  std::atomic<bool> metricsWanted_{false};
  uint64_t metricsAsked_ = 0, metricsMade_ = 0;
  std::string metricsText_;
  std::string metricsAt_;  // HOST:PORT it listens on

 public:
  ~Broker() {
    if (metricsServer_) {
      metricsServer_->stop();
      if (metricsThread_.joinable()) metricsThread_.join();
    }
    // Sockets and the ZAP handler close before the context terminates.
    router_.reset();
    pub_.reset();
    zap_.reset();
    closeIncoming();
    follow_.reset();
    pairRouter_.reset();
    pairZap_.reset();
  }
};

}  // namespace

Status run(const Options& options, const std::atomic<bool>& stop) {
  Broker broker(options, stop);
  LIAISON_TRY(broker.start());
  return broker.loop();
}

}  // namespace liaison::broker
