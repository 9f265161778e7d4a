// The Prometheus text the daemons' /metrics endpoints write.
#include <gtest/gtest.h>

#include "common/metrics.h"

namespace liaison {
namespace {

TEST(Metrics, FamiliesAreDeclaredOnceAndLabelValuesCannotBreakTheText) {
  MetricsText m;
  m.counter("liaison_x_refused_total", "Refused, by reason.", 2, {{"reason", "bad signature"}});
  m.counter("liaison_x_refused_total", "Refused, by reason.", 1, {{"reason", "a \"quoted\"\nline \\ end"}});
  m.gauge("liaison_x_lag", "Lag.", 0.5);
  EXPECT_EQ(m.text(),
            "# HELP liaison_x_refused_total Refused, by reason.\n"
            "# TYPE liaison_x_refused_total counter\n"
            "liaison_x_refused_total{reason=\"bad signature\"} 2\n"
            "liaison_x_refused_total{reason=\"a \\\"quoted\\\"\\nline \\\\ end\"} 1\n"
            "# HELP liaison_x_lag Lag.\n"
            "# TYPE liaison_x_lag gauge\n"
            "liaison_x_lag 0.5\n");
}

TEST(Metrics, AHistogramsBucketsAreCumulativeWithSumAndCount) {
  Histogram h;
  h.observe(std::chrono::microseconds(30));   // ≤ 50 µs
  h.observe(std::chrono::microseconds(700));  // ≤ 1 ms
  h.observe(std::chrono::milliseconds(700));  // ≤ 1 s
  h.observe(std::chrono::seconds(60));        // beyond 10 s: +Inf only
  h.observeSeconds(-1);                       // a clock that went back counts as 0
  MetricsText m;
  m.histogram("liaison_x_commit_seconds", "Commits.", h, {{"store", "log"}});
  const std::string& t = m.text();
  EXPECT_NE(t.find("# TYPE liaison_x_commit_seconds histogram\n"), std::string::npos);
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"5e-05\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"0.0005\"} 2\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"0.001\"} 3\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"1\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"10\"} 4\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_bucket{store=\"log\",le=\"+Inf\"} 5\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_sum{store=\"log\"} 60.70073\n"), std::string::npos) << t;
  EXPECT_NE(t.find("liaison_x_commit_seconds_count{store=\"log\"} 5\n"), std::string::npos) << t;
}

}  // namespace
}  // namespace liaison
