#include "broker/daemon.h"

#include <httplib.h>
#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <map>
#include <set>
#include <mutex>
#include <thread>

#include "broker/alert_store.h"
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
    membershipChanged();
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
    LIAISON_TRY(writeFileAtomic(o_.data + "/endpoints", "listen " + listenEndpoint_ + "\nfanout " + fanoutEndpoint_ +
                                                            "\n" + (metricsAt_.empty() ? "" : "metrics " + metricsAt_ + "\n")));
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
      if (metricsWanted_.load()) renderMetrics();
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
        const std::string why = core_->revoked(site) ? "site " + site + " was revoked by the network's root"
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
    } else if (auto* submit = std::get_if<bus::SubmitRequest>(&*decoded)) {
      std::vector<bus::Entry> fanout;
      const auto from = Steady::now();
      const auto stored = store_->appendTotal();
      auto result = core_->submit(*submit, fanout, site);
      // What the submission took besides the store's write: mostly its signature checks.
      verifyTimes_.observe(Steady::now() - from - (store_->appendTotal() - stored));
      if (!result) {
        spdlog::error("site={} submission failed in the store: {}", site, result.error().message);
        reply(peer, bus::SubmitResult{submit->requestId, false, 0, 0, "store failure",
                                      result.error().message, 0, 0});
        return;
      }
      if (!result->accepted) {
        // Said once; a client retrying for the same reason is counted (refusals), not logged again.
        std::string said = result->refusal + ": " + result->detail;
        if (lastRefusal_[site] != said) {
          spdlog::warn("site={} submission refused ({}): {}", site, result->refusal, result->detail);
          lastRefusal_[site] = std::move(said);
        } else {
          spdlog::debug("site={} submission refused again ({})", site, result->refusal);
        }
      } else {
        lastRefusal_.erase(site);
        if (!fanout.empty()) spdlog::info("site={} accepted seq={}..{}", site, result->firstSeq, result->lastSeq);
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
      if (snapshots_.count(site) == 0 &&
          static_cast<int>(snapshots_.size()) >= o_.maxSnapshots) {
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
    for (const auto& [key, site] : admitted) keySites_[std::string(bus::kUnenrolled) + toHex(key)] = site;
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
    auto refuse = [&](const std::string& reason, const std::string& detail) {
      ++enrolments_[reason];
      spdlog::warn("enrolment from key {}... refused ({}): {}", msg.userId.substr(1, 16), reason, detail);
      reply(peer, bus::SubmitResult{submit->requestId, false, 0, 0, reason, detail, 0, 0});
    };
    if (submit->envelopes.size() != 1) return refuse("malformed", "present one certificate, alone");
    auto item = SignedItem::decode(submit->envelopes[0]);
    if (!item || item->item.reader().which() != schema::Item::MEMBER) {
      return refuse("malformed", "a connection that is no member's may present its certificate only");
    }
    auto cert = trust::memberFromReader(item->item.reader().getMember());
    if (std::string(bus::kUnenrolled) + toHex(cert.curveKey) != msg.userId) {
      return refuse("certificate for another key",
                    "the certificate of " + cert.site + " names another key than this connection's");
    }
    if (item->signer != trust::kRootSigner || item->signerKey != core_->rootKey()) {
      return refuse(trust::refusalName(trust::Refusal::kUnknownSigner),
                    "the certificate of " + cert.site + " is not signed by this network's root");
    }
    const int64_t now = clock_.nowSeconds();
    if (cert.notAfter <= now) {
      return refuse(trust::refusalName(trust::Refusal::kExpired), "the certificate of " + cert.site + " has expired");
    }
    if (cert.notBefore > now) {
      return refuse(trust::refusalName(trust::Refusal::kNotYetValid),
                    "the certificate of " + cert.site + " is not valid yet");
    }
    std::vector<bus::Entry> fanout;
    auto result = core_->submit(*submit, fanout);
    if (!result) {
      spdlog::error("enrolment of {} failed in the store: {}", cert.site, result.error().message);
      return reply(peer, bus::SubmitResult{submit->requestId, false, 0, 0, "store failure", result.error().message, 0, 0});
    }
    if (!result->accepted) return refuse(result->refusal, result->detail);
    ++enrolments_["admitted"];
    spdlog::info("site={} enrolled: its certificate, presented at connect, is seq={}", cert.site, result->firstSeq);
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
    std::string refusals;
    for (const auto& [reason, n] : core_->refusals()) {
      refusals += (refusals.empty() ? "" : ", ") + reason + "=" + std::to_string(n);
    }
    std::string enrolments;
    for (const auto& [outcome, n] : enrolments_) {
      enrolments += (enrolments.empty() ? "" : ", ") + outcome + "=" + std::to_string(n);
    }
    auto zap = zap_->counters();
    spdlog::info("stats head={} accepted={} refused=[{}] bad_frames={} not_admitted={} "
                 "zap_admitted={} zap_refused_key={} zap_refused_mechanism={} zap_unenrolled={} "
                 "enrolments=[{}]",
                 core_->head(), core_->accepted(), refusals, badFrames_, notAdmitted_,
                 zap.admitted, zap.refusedUnknownKey, zap.refusedMechanism, zap.unenrolled, enrolments);
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
    if (host.size() > 2 && host.front() == '[' && host.back() == ']') host = host.substr(1, host.size() - 2);
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
      if (!metricsReady_.wait_for(lock, std::chrono::seconds(5), [&] { return metricsMade_ >= asked; })) {
        res.status = 503;
        res.set_content("the broker's loop did not answer in 5 s\n", "text/plain");
        return;
      }
      res.set_content(metricsText_, std::string(MetricsText::kContentType));
    });
    if (port == 0) {
      port = metricsServer_->bind_to_any_port(host);  // a free port, written to DATA/endpoints
      if (port <= 0) return makeError(Errc::kUnavailable, "--metrics " + o_.metrics + ": cannot listen there");
    } else if (!metricsServer_->bind_to_port(host, port)) {
      return makeError(Errc::kUnavailable, "--metrics " + o_.metrics + ": cannot listen there (in use?)");
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
    m.gauge("liaison_broker_info", "The broker's network and log epoch (always 1).", 1,
            {{"network", o_.network}, {"epoch", fmt::format("{:016x}", core_->epoch())}});
    m.gauge("liaison_broker_leader", "1 when this broker sequences (a broker alone always does).", 1);
    m.gauge("liaison_broker_head", "The last seq of the log.", static_cast<double>(core_->head()));
    m.gauge("liaison_broker_log_oldest", "The oldest seq the log still holds.", static_cast<double>(store_->oldest()));
    m.counter("liaison_broker_items_accepted_total", "Items accepted since start.", static_cast<double>(core_->accepted()));
    for (const auto& [reason, n] : core_->refusals()) {
      m.counter("liaison_broker_items_refused_total", "Items refused, by reason.", static_cast<double>(n),
                {{"reason", reason}});
    }
    uint64_t revoked = 0;
    for (const auto& [site, cert] : core_->members()) revoked += core_->revoked(site) ? 1 : 0;
    m.gauge("liaison_broker_members", "Member certificates held, by state.",
            static_cast<double>(core_->admitted().size()), {{"state", "admitted"}});
    m.gauge("liaison_broker_members", "Member certificates held, by state.", static_cast<double>(revoked),
            {{"state", "revoked"}});
    m.gauge("liaison_broker_peerings", "Peerings held (home and peers').", static_cast<double>(core_->peerings().size()));
    m.gauge("liaison_broker_sites_connected", "Sites heard from in the last 5 s (every running site pings).",
            static_cast<double>(alerts_->sitesOnline(steadyMs())));
    auto zap = zap_->counters();
    m.counter("liaison_broker_connections_total", "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.admitted), {{"outcome", "admitted"}});
    m.counter("liaison_broker_connections_total", "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.refusedUnknownKey), {{"outcome", "unknown key"}});
    m.counter("liaison_broker_connections_total", "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.refusedMechanism), {{"outcome", "wrong mechanism"}});
    m.counter("liaison_broker_connections_total", "Connections authenticated (CURVE and ZAP), by outcome.",
              static_cast<double>(zap.unenrolled), {{"outcome", "unenrolled"}});
    m.counter("liaison_broker_requests_refused_total", "Requests refused before any work, by reason.",
              static_cast<double>(badFrames_), {{"reason", "malformed"}});
    m.counter("liaison_broker_requests_refused_total", "Requests refused before any work, by reason.",
              static_cast<double>(notAdmitted_), {{"reason", "not admitted"}});
    for (const auto& [outcome, n] : enrolments_) {
      m.counter("liaison_broker_enrolments_total",
                "Requests from keys that are no member's: certificates admitted, refused by reason, or other requests dropped.",
                static_cast<double>(n), {{"outcome", outcome}});
    }
    const auto& a = alerts_->counters();
    struct Count {
      const char* name;
      const char* help;
      uint64_t n;
    };
    const Count alertCounts[] = {
        {"liaison_broker_alerts_accepted_total", "Alerts (and updates, cancels) taken into custody.", a.accepted},
        {"liaison_broker_alert_deliveries_total", "Deliveries of alerts to target sites, resends included.", a.deliveries},
        {"liaison_broker_alert_resends_total", "Deliveries sent again for want of a receipt.", a.resends},
        {"liaison_broker_alert_answers_total", "Receipts, acknowledgements and refusals recorded.", a.answers},
        {"liaison_broker_alert_escalations_total", "Alerts escalated for want of an acknowledgement.", a.escalations},
        {"liaison_broker_alerts_expired_total", "Alerts that expired with deliveries outstanding.", a.expired}};
    for (const auto& c : alertCounts) m.counter(c.name, c.help, static_cast<double>(c.n));
    for (const auto& [reason, n] : a.refused) {
      m.counter("liaison_broker_alerts_refused_total", "Alert requests refused, by reason.", static_cast<double>(n),
                {{"reason", reason}});
    }
    auto states = alerts_->states();
    for (const auto& [state, n] : states.alerts) {
      m.gauge("liaison_broker_alerts", "Alerts in custody, by state.", static_cast<double>(n), {{"state", state}});
    }
    for (const auto& [state, n] : states.targets) {
      m.gauge("liaison_broker_alert_targets", "Alert targets, by state (queued is the delivery queue).",
              static_cast<double>(n), {{"state", state}});
    }
    m.gauge("liaison_broker_alerts_pending", "Alerts with work left (deliveries, answers, timers).",
            static_cast<double>(alerts_->pendingAlerts()));
    m.gauge("liaison_broker_snapshots", "Sites taking a snapshot now.", static_cast<double>(snapshots_.size()));
    m.histogram("liaison_broker_verify_seconds", "A submission's checks, without its commit.", verifyTimes_);
    m.histogram("liaison_broker_commit_seconds", "A synced LMDB commit, by what it stored.", store_->commitTimes(),
                {{"store", "log"}});
    m.histogram("liaison_broker_commit_seconds", "A synced LMDB commit, by what it stored.",
                alertStore_->commitTimes(), {{"store", "alerts"}});
    {
      std::lock_guard lock(metricsMutex_);
      metricsText_ = m.text();
      metricsMade_ = asked;
    }
    metricsReady_.notify_all();
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
  std::map<std::string, std::string> keySites_;  // kUnenrolled + hex CURVE key → admitted site
  std::map<std::string, uint64_t> enrolments_;   // certificates presented at connect, by outcome
  std::set<std::string> toldNotAdmitted_;        // sites told once why they are served nothing
  std::map<std::string, std::string> lastRefusal_;  // site → the submission refusal last logged
  uint64_t handled_ = 0;          // requests handled, for giveBack_
  MemoryGiveBack giveBack_;       // after a burst of submissions or fetches
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
  }
};

}  // namespace

Status run(const Options& options, const std::atomic<bool>& stop) {
  Broker broker(options, stop);
  LIAISON_TRY(broker.start());
  return broker.loop();
}

}  // namespace liaison::broker
