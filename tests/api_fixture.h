// What the HTTP tests of the site daemon share (api_test.cpp, desk_test.cpp): a fake SiteService
// in place of the event loop, a real Directory with two members, and small helpers.
#pragma once

// Debian's libcpp-httplib changes class layouts with these; the test must match the library.
#if !defined(CPPHTTPLIB_OPENSSL_SUPPORT)
#error "compile with the flags of `pkg-config --cflags cpp-httplib`"
#endif
#include <gtest/gtest.h>
#include <httplib.h>

#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <utility>
#include <vector>

#include "directory/directory.h"
#include "schemas/json.h"
#include "site/alert_ops.h"
#include "site/alerts.h"
#include "site/service.h"
#include "tests/support.h"
#include "trust/keys.h"
#include "trust/verify.h"

namespace liaison::apitest {

using directory::Directory;
using site::PublishOutcome;
using site::SiteStatus;
using testing::contactJson;

inline const std::string kToken(64, 'a');

inline PublishOutcome acceptedOutcome(uint64_t first, uint64_t last, uint32_t ignored = 0) {
  PublishOutcome o;
  o.accepted = true;
  o.firstSeq = first;
  o.lastSeq = last;
  o.ignored = ignored;
  return o;
}

// Records what was submitted and answers as the test says.
class FakeService final : public site::SiteService {
 public:
  Result<PublishOutcome> submit(std::vector<Bytes> envelopes, std::chrono::milliseconds) override {
    std::lock_guard lock(mutex_);
    submissions_.push_back(std::move(envelopes));
    if (unavailable_) return makeError(Errc::kUnavailable, "no answer from the broker in 30 s");
    return outcome_;
  }
  SiteStatus status() const override {
    std::lock_guard lock(mutex_);
    return status_;
  }
  // The replica holds the log up to what the test set with holdUpTo (all of it by default).
  bool waitApplied(uint64_t seq, std::chrono::milliseconds) const override {
    std::lock_guard lock(mutex_);
    waitedFor_.push_back(seq);
    return seq <= heldUpTo_;
  }
  // Alerts are exercised against real daemons (network_test.cpp); here they are unavailable.
  Result<site::AlertOutcome> sendAlert(Bytes, std::chrono::milliseconds) override {
    return makeError(Errc::kUnavailable, "not connected to the broker");
  }
  Result<site::AlertOutcome> alertStatus(const std::string&, std::chrono::milliseconds) override {
    return makeError(Errc::kUnavailable, "not connected to the broker");
  }
  Result<std::string> answerAlert(const std::string& id, const std::string&, const std::string&,
                                  const std::string&, const std::string&) override {
    return makeError(Errc::kNotFound, "no alert " + id + " in this site's inbox");
  }
  std::optional<std::string> answerOutcome(const std::string&) const override {
    return std::nullopt;
  }
  const site::Inbox& inbox() const override {
    std::lock_guard lock(mutex_);
    if (!inbox_) {
      auto opened = site::Inbox::open(inboxDir_.path() + "/alerts", size_t{16} << 20);
      EXPECT_TRUE(opened.ok());
      inbox_ = std::move(opened).value();
    }
    return *inbox_;
  }
  site::AlertListCache& alertList() override { return alertList_; }

  // Puts an alert in the inbox as the loop would on a delivery.
  void storeAlert(const site::StoredAlert& a) {
    const site::Inbox& shown = inbox();
    std::lock_guard lock(mutex_);
    auto w = const_cast<site::Inbox&>(shown).write();  // the fake plays the loop thread
    ASSERT_TRUE(w.ok());
    ASSERT_TRUE(w->putAlert(a).ok());
    ASSERT_TRUE(std::move(*w).commit().ok());
  }

  void answer(PublishOutcome outcome) {
    std::lock_guard lock(mutex_);
    outcome_ = std::move(outcome);
    unavailable_ = false;
  }
  void beUnavailable() {
    std::lock_guard lock(mutex_);
    unavailable_ = true;
  }
  void holdUpTo(uint64_t seq) {
    std::lock_guard lock(mutex_);
    heldUpTo_ = seq;
  }
  // The seqs publishes waited for, in order.
  std::vector<uint64_t> waitedFor() const {
    std::lock_guard lock(mutex_);
    return waitedFor_;
  }
  void setStatus(SiteStatus s) {
    std::lock_guard lock(mutex_);
    status_ = std::move(s);
  }
  std::vector<std::vector<Bytes>> submissions() const {
    std::lock_guard lock(mutex_);
    return submissions_;
  }

 private:
  mutable std::mutex mutex_;
  std::vector<std::vector<Bytes>> submissions_;
  PublishOutcome outcome_ = acceptedOutcome(1, 1);
  bool unavailable_ = false;
  SiteStatus status_;
  uint64_t heldUpTo_ = UINT64_MAX;
  mutable std::vector<uint64_t> waitedFor_;
  testing::TempDir inboxDir_;
  mutable std::unique_ptr<site::Inbox> inbox_;
  site::AlertListCache alertList_;
};

// A Directory holding the root and the certificates of kg-bishkek (KG) and th-bangkok (TH).
inline std::unique_ptr<Directory> makeDirectory(const std::string& path, const trust::KeyPair& root,
                                                const trust::KeyPair& kg, const trust::KeyPair& th,
                                                int64_t now) {
  auto d = Directory::open(path, Directory::Options{});
  EXPECT_TRUE(d.ok()) << d.error().message;
  auto batch = (*d)->begin();
  EXPECT_TRUE(batch.ok());
  EXPECT_TRUE(batch->setRoot(root.pub.sign).ok());
  for (auto [site, keys, country] :
       {std::tuple{"kg-bishkek", &kg, "KG"}, std::tuple{"th-bangkok", &th, "TH"}}) {
    auto cert =
        testing::certFor(site, *keys, {country}, "authority", now - 86400, now + 400 * 86400);
    auto r = batch->apply(trust::sign(trust::memberItem(cert), "root", root), now);
    EXPECT_TRUE(r.ok() && r->outcome == directory::Outcome::kApplied);
  }
  EXPECT_TRUE(std::move(*batch).commit().ok());
  return std::move(d).value();
}

// Stores a contact signed by kg-bishkek (`extra`: fields that replace contactJson's).
inline void storeContact(Directory& dir, const std::string& id, const trust::KeyPair& kg,
                         int64_t now, const std::string& extra = "") {
  auto items = json::parseInput("t", contactJson(id, extra));
  ASSERT_TRUE(items.ok());
  auto batch = dir.begin();
  ASSERT_TRUE(batch.ok());
  auto r = batch->apply(
      trust::sign(std::move(std::get<OwnedItem>(items->front())), "kg-bishkek", kg), now);
  ASSERT_TRUE(r.ok() && r->outcome == directory::Outcome::kApplied);
  ASSERT_TRUE(std::move(*batch).commit().ok());
}

// "127.0.0.1:PORT" → (host, port).
inline std::pair<std::string, int> hostPort(std::string endpoint) {
  while (!endpoint.empty() && endpoint.back() == '\n') endpoint.pop_back();
  auto colon = endpoint.rfind(':');
  return {endpoint.substr(0, colon), std::stoi(endpoint.substr(colon + 1))};
}

}  // namespace liaison::apitest
