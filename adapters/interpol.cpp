#include "adapters/interpol.h"

#include <sodium.h>
#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/clock.h"
#include "common/encoding.h"
#include "common/files.h"
#include "schemas/alert_json.h"
#include "schemas/vocab.h"
#include "site/alerts.h"
#include "trust/keys.h"

namespace liaison::adapters {

namespace {

using json::Json;
using Steady = std::chrono::steady_clock;

int64_t steadyMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(Steady::now().time_since_epoch()).count();
}
std::string nowText() { return formatTimestamp(SystemClock().nowSeconds()); }

// scheme://host[:port] of a URL, to keep `_links.next` on the server the adapter was given.
std::string originOf(const std::string& url) {
  auto scheme = url.find("://");
  if (scheme == std::string::npos) return {};
  auto path = url.find('/', scheme + 3);
  return url.substr(0, path);
}

std::string contentHash(const Json& j) {
  std::string text = j.dump();
  unsigned char h[16];
  crypto_generichash(h, sizeof h, reinterpret_cast<const unsigned char*>(text.data()), text.size(), nullptr, 0);
  return toHex(std::span<const uint8_t>(h, sizeof h));
}

}  // namespace

InterpolAdapter::InterpolAdapter(InterpolOptions options) : o_(std::move(options)) {}

InterpolAdapter::~InterpolAdapter() { stop(); }

Status InterpolAdapter::start(site::SiteService& service, const directory::SiteConfig& config,
                              const trust::KeyPair& keys) {
  service_ = &service;
  config_ = config;
  keys_ = &keys;
  auto env = lmdb::openWithDatabases(config.dir + "/interpol", size_t{1} << 30,
                                     {{&forwards_, "forwards"}, {&notices_, "notices"}});
  if (!env) return env.error();
  env_ = std::make_unique<lmdb::Env>(std::move(env).value());
  spdlog::info("interpol adapter site={} gateway={} notices={} nationalities={} interval={}s", config.id,
               o_.gateway.empty() ? "(off)" : o_.gateway, o_.notices.empty() ? "(off)" : o_.notices,
               o_.nationalities.size(), o_.interval.count());
  if (!o_.gateway.empty()) forwarder_ = std::thread([this] { forwardLoop(); });
  if (!o_.notices.empty() && !o_.nationalities.empty()) poller_ = std::thread([this] { pollLoop(); });
  return {};
}

void InterpolAdapter::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  cv_.notify_all();
  if (forwarder_.joinable()) forwarder_.join();
  if (poller_.joinable()) poller_.join();
}

void InterpolAdapter::onNewAlert(const std::string& id) {
  if (o_.gateway.empty()) return;
  {
    std::lock_guard lock(mutex_);
    pending_.emplace(id, Forward{});
  }
  cv_.notify_all();
}

void InterpolAdapter::failure(const std::string& where, const std::string& message) {
  std::lock_guard lock(mutex_);
  lastError_ = where + ": " + message;
  lastErrorAt_ = nowText();
  auto& said = logged_[where];
  if (said == message) {
    ++repeated_;
    spdlog::debug("interpol {}: {} (again)", where, message);
    return;
  }
  said = message;
  spdlog::warn("interpol {}: {}", where, message);
}

void InterpolAdapter::recovered(const std::string& where) {
  std::lock_guard lock(mutex_);
  auto it = logged_.find(where);
  if (it == logged_.end()) return;
  logged_.erase(it);
  spdlog::info("interpol {}: works again", where);
}

Status InterpolAdapter::saveForward(const std::string& id, const Forward& f) {
  Json j{{"state", f.state}, {"attempts", f.attempts}};
  if (!f.reference.empty()) j["reference"] = f.reference;
  if (!f.lastError.empty()) j["lastError"] = f.lastError;
  auto txn = lmdb::Txn::beginWrite(*env_);
  if (!txn) return txn.error();
  LIAISON_TRY(txn->put(forwards_, id, j.dump()));
  return std::move(*txn).commit();
}

void InterpolAdapter::forwardLoop() {
  // What the inbox holds decides: queue what has no final state; answer again what was
  // forwarded or declined but whose answer is not stored (the daemon stopped in between).
  auto inbound = service_->inbox().ids(/*outbound=*/false);
  if (!inbound) {
    failure("start", inbound.error().message);
    inbound = std::vector<std::string>{};
  }
  for (const auto& id : *inbound) {
    Forward f;
    auto txn = lmdb::Txn::beginRead(*env_);
    if (txn) {
      auto v = txn->get(forwards_, id);
      if (v && *v) {
        auto j = Json::parse(**v, nullptr, false);
        if (j.is_object()) {
          f.state = j.value("state", "pending");
          f.attempts = j.value("attempts", 0u);
          f.reference = j.value("reference", "");
          f.lastError = j.value("lastError", "");
        }
      }
    }
    if (f.state == "pending") {
      std::lock_guard lock(mutex_);
      pending_.emplace(id, f);
      continue;
    }
    auto answered = service_->inbox().answeredBy(id, config_.id);
    if (answered && !*answered) {
      auto r = f.state == "forwarded"
                   ? service_->answerAlert(id, "receipt", "", "", f.reference)
                   : service_->answerAlert(id, "declined", "NCB gateway", f.lastError);
      if (!r) failure("answer " + id, r.error().message);
    }
  }
  std::mt19937_64 rng(std::random_device{}());
  Http http(o_.http);
  for (;;) {
    std::string id;
    {
      std::unique_lock lock(mutex_);
      for (;;) {
        if (stopping_) return;
        int64_t now = steadyMs();
        int64_t soonest = INT64_MAX;
        for (const auto& [k, f] : pending_) {
          if (f.nextAttemptMs <= now) {
            id = k;
            break;
          }
          soonest = std::min(soonest, f.nextAttemptMs);
        }
        if (!id.empty()) break;
        if (soonest == INT64_MAX) {
          cv_.wait(lock);
        } else {
          cv_.wait_for(lock, std::chrono::milliseconds(soonest - now));
        }
      }
    }
    auto stored = service_->inbox().get(id);
    if (!stored || !*stored) {
      failure("forward " + id, stored ? "not in the inbox" : stored.error().message);
      std::lock_guard lock(mutex_);
      pending_.erase(id);
      continue;
    }
    auto item = SignedItem::decodeStored((*stored)->envelope);
    if (!item || item->item.reader().which() != schema::Item::ALERT) {
      failure("forward " + id, "damaged in the inbox");
      std::lock_guard lock(mutex_);
      pending_.erase(id);
      continue;
    }
    Json body = json::alertToJson(item->item.reader().getAlert());
    body["liaison"] = {{"adapter", config_.id}, {"network", config_.network}};
    auto result = http.post(o_.gateway, body.dump(),
                            {"Content-Type: application/json", "Accept: application/json",
                             "Idempotency-Key: " + id});
    Forward f;
    {
      std::lock_guard lock(mutex_);
      f = pending_[id];
    }
    ++f.attempts;
    Verdict v = judge(result, f.attempts, o_, rng);
    if (v.kind == Verdict::kRetry) {
      f.lastError = v.reason;
      f.nextAttemptMs = steadyMs() + v.delayMs;
      if (auto st = saveForward(id, f); !st) failure("store", st.error().message);
      failure("alert=" + id, v.reason);  // logged once per reason; the attempts are counted
      spdlog::debug("interpol alert={} attempt {}: again in {} ms", id, f.attempts, v.delayMs);
      std::lock_guard lock(mutex_);
      ++retries_;
      pending_[id] = f;
      continue;
    }
    f.state = v.kind == Verdict::kAccepted ? "forwarded" : "declined";
    f.reference = v.reference;
    f.lastError = v.kind == Verdict::kDeclined ? v.reason : "";
    // Stored before anything else: a restart must not post it again.
    if (auto st = saveForward(id, f); !st) {
      failure("store", st.error().message);
      std::lock_guard lock(mutex_);
      pending_[id].nextAttemptMs = steadyMs() + 5000;
      continue;
    }
    {
      std::lock_guard lock(mutex_);
      pending_.erase(id);
      if (v.kind == Verdict::kAccepted) {
        ++forwarded_;
        lastSuccess_ = nowText();
      } else {
        ++declined_;
      }
    }
    recovered("alert=" + id);
    if (v.kind == Verdict::kAccepted) {
      spdlog::info("interpol alert={} forwarded to the NCB gateway (reference {}, attempt {})", id,
                   v.reference.empty() ? "none" : v.reference, f.attempts);
      auto r = service_->answerAlert(id, "receipt", "", "", v.reference);
      if (!r) failure("receipt " + id, r.error().message);
    } else {
      failure("alert=" + id, "the NCB gateway declined it: " + v.reason);
      auto r = service_->answerAlert(id, "declined", "NCB gateway", printable(v.reason, 1000));
      if (!r) failure("declined " + id, r.error().message);
    }
  }
}

void InterpolAdapter::pollLoop() {
  for (;;) {
    pollOnce();
    std::unique_lock lock(mutex_);
    if (cv_.wait_for(lock, o_.interval, [&] { return stopping_; })) return;
  }
}

void InterpolAdapter::pollOnce() {
  Http http(o_.http);
  auto stopped = [&] {
    std::lock_guard lock(mutex_);
    return stopping_;
  };
  for (const auto& type : o_.types) {
    for (const auto& nat : o_.nationalities) {
      const std::string where = type + "/" + nat;
      std::string url = o_.notices + "/notices/v1/" + type + "?nationality=" + nat + "&page=1&resultPerPage=160";
      if (auto same = resolveUrl(url, url)) url = std::move(*same);  // written as the next links will be
      const std::string origin = originOf(url);
      std::set<std::string> visited;
      std::vector<NoticeEntry> found;
      bool complete = false;
      int rateLimited = 0;
      while (!stopped()) {
        if (visited.size() >= o_.maxPages) {
          failure("notices " + where, "more than " + std::to_string(o_.maxPages) + " pages; stopped");
          break;
        }
        auto result = http.get(url);
        if (auto* e = std::get_if<HttpError>(&result)) {
          failure("notices " + where, e->message);
          break;
        }
        auto& a = std::get<HttpAnswer>(result);
        if (a.status == 429 && rateLimited < 3) {  // honour the limit, then try the same page again
          ++rateLimited;
          int64_t wait = std::min<int64_t>(a.retryAfterSeconds.value_or(5), 60);
          std::unique_lock lock(mutex_);
          if (cv_.wait_for(lock, std::chrono::seconds(wait), [&] { return stopping_; })) return;
          continue;
        }
        if (a.status != 200) {
          failure("notices " + where, "HTTP " + std::to_string(a.status) + " from " + printable(url));
          break;
        }
        auto page = parseNoticePage(a.body);
        if (!page) {
          failure("notices " + where, page.error().message + " (" + printable(url) + ")");
          break;
        }
        visited.insert(url);
        {
          std::lock_guard lock(mutex_);
          skipped_ += page->skipped;
        }
        for (auto& n : page->notices) found.push_back(std::move(n));
        if (page->next.empty()) {
          complete = true;
          break;
        }
        auto next = resolveUrl(url, page->next);  // HAL allows a relative reference
        if (!next) {
          failure("notices " + where, next.error().message + ": " + printable(page->next));
          break;
        }
        if (originOf(*next) != origin) {
          failure("notices " + where, "next link leaves " + origin + ": " + printable(*next));
          break;
        }
        if (visited.count(*next) != 0) {
          failure("notices " + where, "next link loops back to " + printable(*next));
          break;  // every page was read once; what they hold is published below
        }
        url = std::move(*next);
      }
      // Publish what is new or changed, even from an incomplete walk (what was read is good).
      std::vector<Bytes> envelopes;
      std::vector<std::pair<std::string, Json>> marks;  // record id → {hash, revision}
      std::set<std::string> seen;
      const std::string fetchedAt = nowText();
      size_t same = 0;
      auto flush = [&]() -> bool {
        if (envelopes.empty()) return true;
        auto r = service_->submit(envelopes, std::chrono::seconds(60));
        if (!r || !r->accepted) {
          failure("notices " + where, r ? "refused (" + r->refusal + "): " + r->detail : r.error().message);
          return false;
        }
        auto txn = lmdb::Txn::beginWrite(*env_);
        if (!txn) return false;
        for (const auto& [id, mark] : marks) {
          if (!txn->put(notices_, id, mark.dump())) return false;
        }
        if (!std::move(*txn).commit()) return false;
        std::lock_guard lock(mutex_);
        published_ += envelopes.size();
        envelopes.clear();
        marks.clear();
        return true;
      };
      for (const auto& n : found) {
        std::string id = noticeRecordId(type, n.entityId);
        if (!seen.insert(id).second) continue;
        std::string hash = contentHash(noticeJson(type, n, 0, ""));
        uint64_t revision = 1;
        {
          auto txn = lmdb::Txn::beginRead(*env_);
          if (!txn) continue;
          auto v = txn->get(notices_, id);
          if (v && *v) {
            auto mark = Json::parse(**v, nullptr, false);
            if (mark.is_object()) {
              if (mark.value("hash", "") == hash) {
                ++same;
                continue;
              }
              revision = mark.value("revision", uint64_t{0}) + 1;
            }
          }
        }
        auto item = json::recordFromJson(noticeJson(type, n, revision, fetchedAt), "notice " + id);
        if (!item) {
          std::lock_guard lock(mutex_);
          ++skipped_;
          continue;
        }
        envelopes.push_back(trust::sign(std::move(item).value(), config_.id, *keys_).encode());
        marks.emplace_back(id, Json{{"hash", hash}, {"revision", revision}});
        if (envelopes.size() >= 1000 && !flush()) break;
      }
      bool ok = flush();
      if (ok && complete) recovered("notices " + where);
      std::lock_guard lock(mutex_);
      unchanged_ += same;
      if (!ok || !complete) ++pollErrors_;
      spdlog::info("interpol notices {}: {} read, {} unchanged{}", where, found.size(), same,
                   complete ? "" : " (incomplete)");
    }
  }
  std::lock_guard lock(mutex_);
  ++polls_;
  lastPoll_ = nowText();
}

std::string InterpolAdapter::statusJson() const {
  std::lock_guard lock(mutex_);
  Json j;
  j["kind"] = "interpol";
  j["gateway"] = o_.gateway;
  j["queueDepth"] = pending_.size();
  j["forwarded"] = forwarded_;
  j["declined"] = declined_;
  j["retries"] = retries_;
  j["lastSuccess"] = lastSuccess_;
  j["lastError"] = lastError_;
  j["lastErrorAt"] = lastErrorAt_;
  j["repeatedFailures"] = repeated_;  // failures for a reason already logged
  j["notices"] = {{"source", o_.notices}, {"polls", polls_},      {"lastPoll", lastPoll_},
                  {"published", published_}, {"unchanged", unchanged_}, {"skipped", skipped_},
                  {"errors", pollErrors_}};
  return j.dump();
}

}  // namespace liaison::adapters
