// Splits [0, n) into contiguous slices and runs fn(from, to) on up to one thread per core (the
// calling thread takes the first slice). For CPU-bound work on independent items, such as
// signature checks; below `minPerThread` items per thread it stays on the calling thread.
//
// The other slices run on a pool of (cores - 1) threads started once for the process, not on
// threads started per call: a site takes a batch of receipts many times a second. A caller that
// waits for its slices runs queued slices itself (its own or another caller's), so concurrent
// callers never wait on each other, and a call from inside a slice cannot deadlock.
#pragma once

#include <algorithm>
#include <cstddef>
#include <functional>

namespace liaison {

// Runs slice(0) .. slice(count - 1), slice 0 on the calling thread; returns when all are done.
void runSlices(size_t count, const std::function<void(size_t)>& slice);

// The cores this process may use (at least 1), read once: std::thread::hardware_concurrency()
// reads /sys/devices/system/cpu/online at each call, and a site calls parallelFor for every
// batch of deliveries.
unsigned cores();

template <typename Fn>
void parallelFor(size_t n, Fn&& fn, size_t minPerThread = 64) {
  size_t threads = cores();
  threads = std::min(threads, n / minPerThread + 1);
  size_t per = (n + threads - 1) / threads;
  if (threads <= 1) {  // n == 0 lands here too
    fn(0, n);
    return;
  }
  size_t slices = (n + per - 1) / per;
  runSlices(slices, [&fn, per, n](size_t k) { fn(k * per, std::min(n, (k + 1) * per)); });
}

}  // namespace liaison
