#include "common/parallel.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <thread>
#include <vector>

namespace liaison {
namespace {

class Pool {
 public:
  struct Call {
    const std::function<void(size_t)>* slice;
    size_t left;  // slices not finished (guarded by the pool's mutex)
  };

  static Pool& get() {
    // Never destroyed: its threads sleep until the process ends, and no static destructor has
    // to join them.
    static Pool* pool = new Pool(cores() - 1);
    return *pool;
  }

  void run(size_t count, const std::function<void(size_t)>& slice) {
    Call call{&slice, count};
    {
      std::lock_guard lock(mutex_);
      for (size_t k = 1; k < count; ++k) queue_.push_back({&call, k});
    }
    cv_.notify_all();
    slice(0);
    std::unique_lock lock(mutex_);
    --call.left;
    while (call.left > 0) {
      if (!queue_.empty()) {
        runOne(lock);
      } else {
        done_.wait(lock);
      }
    }
  }

 private:
  struct Task {
    Call* call;
    size_t k;
  };

  explicit Pool(size_t threads) {
    for (size_t t = 0; t < threads; ++t) {
      std::thread([this] {
        std::unique_lock lock(mutex_);
        for (;;) {
          cv_.wait(lock, [this] { return !queue_.empty(); });
          runOne(lock);
        }
      }).detach();
    }
  }

  // Takes the oldest queued slice and runs it with the mutex released.
  void runOne(std::unique_lock<std::mutex>& lock) {
    Task task = queue_.front();
    queue_.pop_front();
    lock.unlock();
    (*task.call->slice)(task.k);
    lock.lock();
    if (--task.call->left == 0) done_.notify_all();
  }

  std::mutex mutex_;
  std::condition_variable cv_, done_;
  std::deque<Task> queue_;
};

}  // namespace

unsigned cores() {
  static const unsigned count = std::max(1u, std::thread::hardware_concurrency());
  return count;
}

void runSlices(size_t count, const std::function<void(size_t)>& slice) {
  if (count == 0) return;
  if (count == 1) return slice(0);
  Pool::get().run(count, slice);
}

}  // namespace liaison
