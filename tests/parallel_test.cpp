// parallelFor (common/parallel.h): every item is handled exactly once, by several callers at
// once and from inside a slice, on the process's pool of threads.
#include "common/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <set>
#include <thread>
#include <vector>

namespace liaison {
namespace {

// Runs parallelFor over n items, counting how often each is handled; true when every count is 1.
bool eachOnce(size_t n, size_t minPerThread = 64) {
  std::vector<std::atomic<int>> seen(n);
  parallelFor(
      n,
      [&](size_t from, size_t to) {
        for (size_t i = from; i < to; ++i) seen[i].fetch_add(1);
      },
      minPerThread);
  for (auto& s : seen) {
    if (s.load() != 1) return false;
  }
  return true;
}

TEST(ParallelFor, HandlesEveryItemOnceWhateverTheCount) {
  for (size_t n : {0u, 1u, 63u, 64u, 65u, 127u, 128u, 1000u, 4099u}) EXPECT_TRUE(eachOnce(n)) << n;
  EXPECT_TRUE(eachOnce(7, 1));  // more slices than threads: still one pass per item
}

TEST(ParallelFor, ConcurrentCallersAndNestedCallsAllFinish) {
  std::vector<std::thread> callers;
  std::atomic<int> good{0};
  for (int t = 0; t < 8; ++t) {
    callers.emplace_back([&] {
      for (int round = 0; round < 50; ++round) good += eachOnce(500, 16) ? 1 : 0;
    });
  }
  for (auto& c : callers) c.join();
  EXPECT_EQ(good.load(), 8 * 50);
  // A slice that itself splits its work (the pool's threads may all be busy with the outer call).
  std::atomic<int> inner{0};
  parallelFor(
      200,
      [&](size_t from, size_t to) {
        if (eachOnce(300, 8)) inner += static_cast<int>(to - from);
      },
      8);
  EXPECT_EQ(inner.load(), 200);
}

TEST(ParallelFor, UsesTheSameThreadsCallAfterCall) {
  if (std::thread::hardware_concurrency() < 2)
    GTEST_SKIP() << "one core: everything runs on the caller";
  std::mutex mutex;
  std::set<std::thread::id> ids;
  for (int round = 0; round < 200; ++round) {
    parallelFor(
        256,
        [&](size_t, size_t) {
          std::lock_guard lock(mutex);
          ids.insert(std::this_thread::get_id());
        },
        16);
  }
  // The caller plus at most (cores - 1) pool threads, not a new thread per call.
  EXPECT_LE(ids.size(), static_cast<size_t>(std::thread::hardware_concurrency()));
  EXPECT_GE(ids.size(), 1u);
}

}  // namespace
}  // namespace liaison
