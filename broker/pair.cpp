#include "broker/pair.h"

#include <spdlog/spdlog.h>

#include <sstream>

#include "common/encoding.h"

namespace liaison::broker {

namespace {

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

}  // namespace

bool PairControl::names(const std::string& sync, const std::string& name) {
  std::stringstream in(sync);
  std::string one;
  while (in >> one) {
    if (one == name) return true;
  }
  return false;
}

Result<std::unique_ptr<PairControl>> PairControl::start(const std::string& etcd, const std::string& network,
                                                        const std::string& self, std::chrono::seconds ttl,
                                                        bool whole, bool empty) {
  if (ttl.count() < 1) return makeError(Errc::kInvalidInput, "--lease must be at least 1 s");
  if (self.empty() || self.find(' ') != std::string::npos) {
    return makeError(Errc::kInvalidInput, "--pair-listen " + self + ": a broker's name has no spaces");
  }
  auto endpoints = splitList(etcd);
  if (endpoints.empty()) return makeError(Errc::kInvalidInput, "--etcd: no endpoint");
  // Each etcd call must end well within the lease, so that a renewal is tried several times.
  const auto timeout = std::chrono::milliseconds(std::max<int64_t>(100, ttl.count() * 1000 / 8));
  auto client = ha::EtcdClient::create(std::move(endpoints), timeout);
  if (!client) return client.error();
  std::unique_ptr<PairControl> out(new PairControl(std::move(client).value(), network, self, ttl, whole, empty));
  out->thread_ = std::thread([p = out.get()] { p->run(); });
  return out;
}

PairControl::PairControl(std::unique_ptr<ha::EtcdClient> etcd, std::string network, std::string self,
                         std::chrono::seconds ttl, bool whole, bool empty)
    : etcd_(std::move(etcd)),
      self_(std::move(self)),
      leaderKey_("/liaison/" + network + "/leader"),
      syncKey_("/liaison/" + network + "/sync"),
      ttl_(ttl),
      leadership_(*etcd_, ha::LeadershipOptions{leaderKey_, self_, ttl}),
      whole_(whole),
      firstMayLeadMs_(steadyMs() + (empty ? 2 * ttl.count() * 1000 : 0)) {}

PairControl::~PairControl() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
}

void PairControl::want(const std::string& sync) {
  {
    std::lock_guard lock(mutex_);
    wanted_ = sync;
  }
  wake_.notify_all();  // written now, not at the next tick: the leader's answers may be waiting for it
}

std::string PairControl::confirmed() const {
  std::lock_guard lock(mutex_);
  return confirmed_;
}

std::string PairControl::leader() const {
  std::lock_guard lock(mutex_);
  return leader_;
}

void PairControl::run() {
  const auto period = std::chrono::milliseconds(std::max<int64_t>(50, ttl_.count() * 1000 / 8));
  auto trouble = [&](const std::string& what) {
    if (what == lastSaid_) return;
    lastSaid_ = what;
    if (!what.empty()) spdlog::warn("pair {}: etcd: {}", self_, what);
  };
  while (!stop_.load()) {
    const auto from = std::chrono::steady_clock::now();
    // Eligible: our copy is whole and etcd shows it in sync (or no pair has run yet).
    bool eligible = false;
    auto sync = etcd_->get(syncKey_);
    if (!sync) {
      trouble(sync.error().message);
    } else {
      eligible = whole_.load() && (*sync ? names((*sync)->value, self_) : steadyMs() >= firstMayLeadMs_);
    }
    leadership_.tick(steadyMs(), eligible);
    const bool leading = leadership_.leading(steadyMs());
    leadingUntil_ = leadership_.leadingUntilMs();
    std::string wanted;
    {
      std::lock_guard lock(mutex_);
      leader_ = leadership_.leader().value_or("");
      if (!leading) confirmed_.clear();
      wanted = wanted_;
    }
    std::string tried;  // what this tick asked etcd for: a failed write is tried again next tick, not at once
    if (leading && !wanted.empty() && wanted != confirmed()) {
      tried = wanted;
      auto written = etcd_->putIf(leaderKey_, self_, syncKey_, wanted);
      if (!written) {
        trouble(written.error().message);
      } else if (*written) {
        spdlog::info("pair {}: sync is now \"{}\"", self_, wanted);
        std::lock_guard lock(mutex_);
        confirmed_ = wanted;
      }
    }
    if (sync && leadership_.lastError().empty()) trouble("");
    std::unique_lock lock(mutex_);
    wake_.wait_until(lock, from + period, [&] {
      return stop_.load() || (leading && wanted_ != confirmed_ && wanted_ != tried);
    });
  }
  leadership_.resign();
}

}  // namespace liaison::broker
