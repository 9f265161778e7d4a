#include "ha/leadership.h"

#include <spdlog/spdlog.h>

#include <algorithm>

namespace liaison::ha {

Leadership::Leadership(Etcd& etcd, LeadershipOptions options) : etcd_(etcd), o_(std::move(options)) {}

void Leadership::lost(const std::string& why) {
  if (holding_) spdlog::warn("leadership {}: lost ({}); this broker stops sequencing", o_.self, why);
  holding_ = false;
  lease_ = 0;
  validUntilMs_ = 0;
}

void Leadership::tick(int64_t nowMs, bool eligible) {
  // Renew the lease, or learn that it is gone.
  if (lease_ != 0 && nowMs >= nextRenewMs_) {
    const int64_t sent = nowMs;
    auto left = etcd_.keepAlive(lease_);
    if (!left) {
      lastError_ = left.error().message;
      nextRenewMs_ = nowMs + std::max<int64_t>(ttlMs() / 16, 50);  // soon again: the clock runs
    } else if (*left <= 0) {
      lost("etcd no longer holds its lease");
    } else {
      validUntilMs_ = sent + std::min<int64_t>(*left * 1000, ttlMs());
      nextRenewMs_ = nowMs + ttlMs() / 4;
      lastError_.clear();
    }
  }
  // A lease not renewed in time may have passed in etcd: it is given up.
  if (lease_ != 0 && nowMs >= validUntilMs_ - marginMs()) lost("its lease could not be renewed in time");
  if (lease_ == 0) {
    const int64_t sent = nowMs;
    auto lease = etcd_.grantLease(o_.ttl);
    if (!lease) {
      lastError_ = lease.error().message;
      return;
    }
    lease_ = *lease;
    validUntilMs_ = sent + ttlMs();
    nextRenewMs_ = nowMs + ttlMs() / 4;
  }
  if (holding_) return;
  std::optional<EtcdValue> current;
  if (eligible) {
    auto created = etcd_.createIfAbsent(o_.key, o_.self, lease_, &current);
    if (!created) {
      lastError_ = created.error().message;
      return;
    }
    if (*created) {
      holding_ = true;
      leader_ = o_.self;
      spdlog::info("leadership {}: this broker leads (lease {:x}, {} s)", o_.self, lease_, o_.ttl.count());
      return;
    }
  } else {
    auto read = etcd_.get(o_.key);
    if (!read) {
      lastError_ = read.error().message;
      return;
    }
    current = std::move(*read);
  }
  std::string now = current ? current->value : std::string();
  if (leader_ != now) spdlog::info("leadership {}: the leader is {}", o_.self, now.empty() ? "nobody" : now);
  leader_ = now;
}

void Leadership::resign() {
  if (lease_ == 0) return;
  auto st = etcd_.revokeLease(lease_);
  if (!st) spdlog::warn("leadership {}: lease not revoked ({}); it passes in {} s", o_.self, st.error().message,
                        o_.ttl.count());
  lost("it resigned");
  leader_.reset();
}

}  // namespace liaison::ha
