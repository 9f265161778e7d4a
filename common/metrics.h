// Prometheus text exposition (format 0.0.4) for the daemons' /metrics endpoints: a latency
// histogram that any thread may observe into, and a builder for the text a scrape receives.
//
// Names follow Prometheus' conventions: `liaison_<daemon>_<what>`, `_total` for counters,
// `_seconds` for times. Label values are escaped (backslash, double quote, newline), so a reason
// or site name a peer chose cannot break the text.
// Concurrency: Histogram::observe() from any thread (relaxed atomics; a scrape may see a sum and
// counts from slightly different moments, as Prometheus allows). MetricsText is single-threaded.
#pragma once

#include <array>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace liaison {

class Histogram {
 public:
  // Upper bounds in seconds: 50 µs to 10 s, enough for a signature check and for a synced commit.
  static constexpr std::array<double, 17> kBounds = {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025,
                                                     0.005,   0.01,   0.025,   0.05,   0.1,   0.25,
                                                     0.5,     1,      2.5,     5,      10};
  void observe(std::chrono::nanoseconds d);
  void observeSeconds(double seconds);

  struct Reading {
    std::array<uint64_t, kBounds.size() + 1> counts{};  // per bucket (not cumulative); last: +Inf
    uint64_t count = 0;
    double sumSeconds = 0;
  };
  Reading read() const;

 private:
  std::array<std::atomic<uint64_t>, kBounds.size() + 1> counts_{};
  std::atomic<uint64_t> sumNanos_{0};
};

// Times a scope into a histogram.
class ScopedTimer {
 public:
  explicit ScopedTimer(Histogram& h) : h_(h), from_(std::chrono::steady_clock::now()) {}
  ~ScopedTimer() { h_.observe(std::chrono::steady_clock::now() - from_); }
  ScopedTimer(const ScopedTimer&) = delete;
  ScopedTimer& operator=(const ScopedTimer&) = delete;

 private:
  Histogram& h_;
  std::chrono::steady_clock::time_point from_;
};

class MetricsText {
 public:
  using Labels = std::vector<std::pair<std::string, std::string>>;
  // Each family's HELP and TYPE lines are written once, before its first sample.
  void gauge(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void counter(std::string_view name, std::string_view help, double value, const Labels& labels = {});
  void histogram(std::string_view name, std::string_view help, const Histogram& h, const Labels& labels = {});
  const std::string& text() const { return text_; }
  static constexpr std::string_view kContentType = "text/plain; version=0.0.4; charset=utf-8";

 private:
  void family(std::string_view name, std::string_view help, std::string_view type);
  void sample(std::string_view name, const Labels& labels, double value);
  std::string text_;
  std::set<std::string, std::less<>> families_;
};

}  // namespace liaison
