#include "common/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace liaison {

void Histogram::observe(std::chrono::nanoseconds d) {
  const auto ns = static_cast<uint64_t>(std::max<int64_t>(d.count(), 0));
  const double seconds = static_cast<double>(ns) / 1e9;
  const auto bucket = static_cast<size_t>(std::lower_bound(kBounds.begin(), kBounds.end(), seconds) - kBounds.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sumNanos_.fetch_add(ns, std::memory_order_relaxed);
}

void Histogram::observeSeconds(double seconds) {
  if (!(seconds >= 0)) seconds = 0;  // NaN and negatives: a clock went back
  observe(std::chrono::nanoseconds(static_cast<int64_t>(std::min(seconds, 1e9) * 1e9)));
}

Histogram::Reading Histogram::read() const {
  Reading r;
  for (size_t i = 0; i < counts_.size(); ++i) {
    r.counts[i] = counts_[i].load(std::memory_order_relaxed);
    r.count += r.counts[i];
  }
  r.sumSeconds = static_cast<double>(sumNanos_.load(std::memory_order_relaxed)) / 1e9;
  return r;
}

namespace {

void appendEscaped(std::string& out, std::string_view value) {
  for (char c : value) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

std::string number(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  if (v == std::floor(v) && std::fabs(v) < 1e15) return fmt::format("{}", static_cast<int64_t>(v));
  return fmt::format("{}", v);
}

}  // namespace

void MetricsText::family(std::string_view name, std::string_view help, std::string_view type) {
  if (families_.count(name) != 0) return;
  families_.emplace(name);
  text_ += fmt::format("# HELP {} {}\n# TYPE {} {}\n", name, help, name, type);
}

void MetricsText::sample(std::string_view name, const Labels& labels, double value) {
  text_ += name;
  if (!labels.empty()) {
    text_ += '{';
    for (size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) text_ += ',';
      text_ += labels[i].first;
      text_ += "=\"";
      appendEscaped(text_, labels[i].second);
      text_ += '"';
    }
    text_ += '}';
  }
  text_ += ' ';
  text_ += number(value);
  text_ += '\n';
}

void MetricsText::gauge(std::string_view name, std::string_view help, double value, const Labels& labels) {
  family(name, help, "gauge");
  sample(name, labels, value);
}

void MetricsText::counter(std::string_view name, std::string_view help, double value, const Labels& labels) {
  family(name, help, "counter");
  sample(name, labels, value);
}

void MetricsText::histogram(std::string_view name, std::string_view help, const Histogram& h,
                            const Labels& labels) {
  family(name, help, "histogram");
  const auto r = h.read();
  const std::string bucket = std::string(name) + "_bucket";
  uint64_t cumulative = 0;
  for (size_t i = 0; i <= Histogram::kBounds.size(); ++i) {
    cumulative += r.counts[i];
    Labels with = labels;
    with.emplace_back("le", i < Histogram::kBounds.size() ? number(Histogram::kBounds[i]) : "+Inf");
    sample(bucket, with, static_cast<double>(cumulative));
  }
  sample(std::string(name) + "_sum", labels, r.sumSeconds);
  sample(std::string(name) + "_count", labels, static_cast<double>(cumulative));
}

}  // namespace liaison
