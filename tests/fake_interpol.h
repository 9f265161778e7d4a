// Fakes of Interpol's side for tests and benchmarks, on 127.0.0.1 (cpp-httplib): an NCB gateway
// that counts what it accepted by Idempotency-Key and can be told to fail in every way, and a
// notices API shaped like Interpol's public one that can misbehave.
#pragma once

#include <httplib.h>

#include <chrono>
#include <deque>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <thread>
#include <vector>

namespace liaison::testing {

using nlohmann::json;

// An HTTP server on 127.0.0.1 with a free port, serving until destroyed.
class FakeServer {
 public:
  FakeServer() = default;
  void start() {
    server_.set_tcp_nodelay(true);  // as a real server would: no Nagle delay on small answers
    port_ = server_.bind_to_any_port("127.0.0.1");
    thread_ = std::thread([this] { server_.listen_after_bind(); });
    while (!server_.is_running()) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  ~FakeServer() {
    server_.stop();
    if (thread_.joinable()) thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  httplib::Server& server() { return server_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// What the gateway does with the next request; when the script is empty it accepts.
struct Reply {
  int status = 200;
  std::string body;
  int delayMs = 0;
  bool drop = false;  // close the connection mid-answer
  std::string retryAfter;
};
inline Reply reply(int status, std::string body, int delayMs = 0, bool drop = false, std::string retryAfter = {}) {
  Reply r;
  r.status = status;
  r.body = std::move(body);
  r.delayMs = delayMs;
  r.drop = drop;
  r.retryAfter = std::move(retryAfter);
  return r;
}

class FakeGateway : public FakeServer {
 public:
  FakeGateway() {
    server().Post("/ncb/alerts", [this](const httplib::Request& req, httplib::Response& res) {
      Reply r;
      std::string key = req.get_header_value("Idempotency-Key");
      {
        std::lock_guard lock(mutex_);
        ++attempts_[key];
        bodies_[key] = req.body;
        times_[key].push_back(std::chrono::steady_clock::now());
        if (!script_.empty()) {
          r = script_.front();
          script_.pop_front();
        } else if (down_) {
          r.status = 503;
        }
      }
      if (r.delayMs > 0) std::this_thread::sleep_for(std::chrono::milliseconds(r.delayMs));
      if (r.drop) {
        res.set_content_provider(1000, "application/json",
                                 [](size_t, size_t, httplib::DataSink& sink) {
                                   sink.write("{\"ref", 5);
                                   return false;  // the connection is cut
                                 });
        return;
      }
      if (r.status == 200) {
        std::lock_guard lock(mutex_);
        // Idempotent like a real gateway: the same key is accepted once, answered the same after.
        if (accepted_[key]++ == 0) ++unique_;
        r.body = R"({"reference": "NCB-)" + std::to_string(unique_) + "-" + key.substr(0, 8) + R"("})";
      }
      if (!r.retryAfter.empty()) res.set_header("Retry-After", r.retryAfter);
      res.status = r.status;
      res.set_content(r.body, "application/json");
    });
    // What it accepted, by Idempotency-Key (for the demo's checks).
    server().Get("/ncb/received", [this](const httplib::Request&, httplib::Response& res) {
      std::lock_guard lock(mutex_);
      json out = json::object();
      for (const auto& [key, n] : accepted_) out[key] = n;
      res.set_content(out.dump(), "application/json");
    });
    start();
  }
  void script(std::vector<Reply> replies) {
    std::lock_guard lock(mutex_);
    script_.assign(replies.begin(), replies.end());
  }
  void setDown(bool down) {
    std::lock_guard lock(mutex_);
    down_ = down;
  }
  int attempts(const std::string& key) {
    std::lock_guard lock(mutex_);
    return attempts_[key];
  }
  int accepted(const std::string& key) {
    std::lock_guard lock(mutex_);
    return accepted_[key];
  }
  std::string body(const std::string& key) {
    std::lock_guard lock(mutex_);
    return bodies_[key];
  }
  std::vector<std::chrono::steady_clock::time_point> times(const std::string& key) {
    std::lock_guard lock(mutex_);
    return times_[key];
  }

 private:
  std::mutex mutex_;
  std::deque<Reply> script_;
  bool down_ = false;
  int unique_ = 0;
  std::map<std::string, int> attempts_, accepted_;
  std::map<std::string, std::string> bodies_;
  std::map<std::string, std::vector<std::chrono::steady_clock::time_point>> times_;
};

// A notices API shaped like Interpol's public one, with ways to misbehave.
class FakeNotices : public FakeServer {
 public:
  enum class Mode {
    kGood, kMalformed, kHtml, kTruncated, kLoop, kGigantic, kError, kForeignNext,
    kRelativeNext,        // next links as HAL allows them: "/notices/...", then "?..." (same server)
    kForeignRelativeNext  // "//198.51.100.7/...": relative, yet to another server
  };

  FakeNotices() {
    server().Get(R"(/notices/v1/(yellow|red))", [this](const httplib::Request& req, httplib::Response& res) {
      std::string type = req.matches[1];
      std::string nat = req.get_param_value("nationality");
      int page = req.has_param("page") ? std::stoi(req.get_param_value("page")) : 1;
      Mode mode;
      std::vector<json> notices;
      {
        std::lock_guard lock(mutex_);
        ++requests_;
        mode = mode_;
        notices = notices_[type + "/" + nat];
      }
      switch (mode) {
        case Mode::kMalformed:
          return res.set_content(R"({"total": 3, "_embedded": {"notices": [{"entity_id": )", "application/json");
        case Mode::kHtml:
          return res.set_content("<html><body>Service temporarily unavailable</body></html>", "text/html");
        case Mode::kTruncated:
          res.set_content_provider(5000, "application/json", [](size_t, size_t, httplib::DataSink& sink) {
            sink.write(R"({"total": 1, "_embed)", 20);
            return false;
          });
          return;
        case Mode::kGigantic:
          res.set_content(std::string(20u << 20, ' ') + "{}", "application/json");
          return;
        case Mode::kError:
          res.status = 500;
          return res.set_content("{}", "application/json");
        default:
          break;
      }
      int perPage;
      {
        std::lock_guard lock(mutex_);
        perPage = perPage_;
      }
      json out;
      out["total"] = notices.size();
      out["_embedded"]["notices"] = json::array();
      for (size_t i = static_cast<size_t>((page - 1) * perPage); i < notices.size() && i < static_cast<size_t>(page * perPage); ++i) {
        out["_embedded"]["notices"].push_back(notices[i]);
      }
      std::string base = url() + "/notices/v1/" + type + "?nationality=" + nat + "&resultPerPage=160&page=";
      if (mode == Mode::kLoop && page == 2) {
        out["_links"]["next"]["href"] = base + "1";  // back to the first page
      } else if (mode == Mode::kForeignNext) {
        out["_links"]["next"]["href"] = "http://198.51.100.7/notices/v1/" + type + "?page=2";
      } else if (mode == Mode::kForeignRelativeNext) {
        out["_links"]["next"]["href"] = "//198.51.100.7/notices/v1/" + type + "?page=2";
      } else if (mode == Mode::kRelativeNext && static_cast<size_t>(page * perPage) < notices.size()) {
        const std::string query = "?nationality=" + nat + "&resultPerPage=160&page=" + std::to_string(page + 1);
        out["_links"]["next"]["href"] = page % 2 == 1 ? "/notices/v1/" + type + query : query;
      } else if (static_cast<size_t>(page * perPage) < notices.size()) {
        out["_links"]["next"]["href"] = base + std::to_string(page + 1);
      }
      res.set_content(out.dump(), "application/json");
    });
    start();
  }
  void set(const std::string& typeNat, std::vector<json> notices) {
    std::lock_guard lock(mutex_);
    notices_[typeNat] = std::move(notices);
  }
  void mode(Mode m) {
    std::lock_guard lock(mutex_);
    mode_ = m;
  }
  int requests() {
    std::lock_guard lock(mutex_);
    return requests_;
  }
  void perPage(int n) {
    std::lock_guard lock(mutex_);
    perPage_ = n;
  }

 private:
  std::mutex mutex_;
  Mode mode_ = Mode::kGood;
  int requests_ = 0;
  int perPage_ = 3;
  std::map<std::string, std::vector<json>> notices_;
};

inline json notice(const std::string& id, const std::string& forename, const std::string& name,
            std::vector<std::string> nationalities) {
  return json{{"entity_id", id},
              {"forename", forename},
              {"name", name},
              {"date_of_birth", "1990/01/02"},
              {"nationalities", nationalities},
              {"_links", {{"self", {{"href", "https://ws-public.interpol.int/notices/v1/yellow/" + id}}}}}};
}

}  // namespace liaison::testing
