// Splits [0, n) into contiguous slices and runs fn(from, to) on up to one thread per core (the
// calling thread takes the first slice). For CPU-bound work on independent items, such as
// signature checks; below `minPerThread` items per thread it stays on the calling thread.
#pragma once

#include <algorithm>
#include <cstddef>
#include <thread>
#include <vector>

namespace liaison {

template <typename Fn>
void parallelFor(size_t n, Fn&& fn, size_t minPerThread = 64) {
  size_t threads = std::max(1u, std::thread::hardware_concurrency());
  threads = std::min(threads, n / minPerThread + 1);
  size_t per = (n + threads - 1) / threads;
  std::vector<std::thread> pool;
  for (size_t t = 1; t < threads; ++t) {
    size_t from = t * per, to = std::min(n, from + per);
    if (from < to) pool.emplace_back([&fn, from, to] { fn(from, to); });
  }
  fn(0, std::min(n, per));
  for (auto& th : pool) th.join();
}

}  // namespace liaison
