// Time: an injectable clock and the ISO 8601 forms the JSON uses.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace liaison {

// Seconds since the Unix epoch. Implementations must be callable from any thread.
class Clock {
 public:
  virtual ~Clock() = default;
  virtual int64_t nowSeconds() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t nowSeconds() const override;
};

// A clock tests set by hand.
class ManualClock final : public Clock {
 public:
  explicit ManualClock(int64_t now) : now_(now) {}
  int64_t nowSeconds() const override { return now_; }
  void set(int64_t now) { now_ = now; }
  void advance(int64_t seconds) { now_ += seconds; }

 private:
  int64_t now_;
};

// Days since 1970-01-01 of a proleptic Gregorian date (no validation).
int64_t daysFromCivil(int64_t y, unsigned m, unsigned d);
void civilFromDays(int64_t days, int64_t& y, unsigned& m, unsigned& d);

// "YYYY-MM-DD" → days since the epoch; nullopt unless it is a real calendar date.
std::optional<int64_t> parseDate(std::string_view text);
std::string formatDate(int64_t days);

// "YYYY-MM-DDTHH:MM:SSZ" (or with +hh:mm offset, optional fraction) → Unix seconds.
std::optional<int64_t> parseTimestamp(std::string_view text);
std::string formatTimestamp(int64_t seconds);

inline int64_t daysOf(int64_t seconds) {
  return seconds >= 0 ? seconds / 86400 : -((-seconds + 86399) / 86400);
}

}  // namespace liaison
