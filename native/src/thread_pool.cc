// The thread pool. Workers sleep on a condition variable after a short spin (so back-to-back
// kernels do not pay a wake-up each), claim tasks from an atomic counter, and the submitting
// thread works too. One parallel region runs at a time: concurrent submitters (sync calls,
// async workers on libuv threads, other Node environments) queue on a mutex, so the machine's
// cores are never oversubscribed. A region opened from inside a task runs inline.
#include "thread_pool.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <thread>
#include <vector>

#if defined(__linux__)
#include <sched.h>
#endif
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#define ATTNKIT_RELAX() _mm_pause()
#elif defined(__aarch64__)
#define ATTNKIT_RELAX() __asm__ __volatile__("yield")
#else
#define ATTNKIT_RELAX() ((void)0)
#endif

namespace attnkit {
namespace {

thread_local bool t_in_region = false;

class Pool {
 public:
  Pool() { start(hardware_threads()); }
  ~Pool() { stop_workers(); }

  int threads() const { return nthreads_; }

  void resize(int n) {
    std::lock_guard<std::mutex> g(submit_mu_);
    if (n == nthreads_) return;
    stop_workers();
    start(n);
  }

  void run(int64_t n, TaskFn fn, void* ctx, int64_t grain) {
    if (n <= 0) return;
    if (grain < 1) grain = 1;
    if (t_in_region) {  // nested: run inline, same task boundaries
      fn(ctx, 0, n);
      return;
    }
    std::unique_lock<std::mutex> sub(submit_mu_);
    regions_++;
    if (nthreads_ == 1 || n <= grain) {
      inline_regions_++;
      t_in_region = true;
      try {
        fn(ctx, 0, n);
      } catch (...) {
        t_in_region = false;
        throw;
      }
      t_in_region = false;
      return;
    }
    {
      std::lock_guard<std::mutex> g(mu_);
      fn_ = fn;
      ctx_ = ctx;
      n_ = n;
      grain_ = grain;
      next_.store(0, std::memory_order_relaxed);
      error_ = nullptr;
      open_.store(true, std::memory_order_seq_cst);
      generation_.fetch_add(1, std::memory_order_seq_cst);
    }
    cv_work_.notify_all();
    t_in_region = true;
    work();
    t_in_region = false;
    // Close the region, then wait only for workers that joined it. A worker that was not
    // scheduled in time never joins (it sees the region closed), so a busy machine cannot make
    // the caller wait for a descheduled thread that has no task.
    open_.store(false, std::memory_order_seq_cst);
    auto t0 = std::chrono::steady_clock::now();
    for (unsigned it = 0; joined_.load(std::memory_order_seq_cst) != 0; ++it) {
      ATTNKIT_RELAX();
      if ((it & 255) == 255 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(200)) {
        std::unique_lock<std::mutex> lk(mu_);
        cv_done_.wait(lk, [&] { return joined_.load(std::memory_order_seq_cst) == 0; });
        break;
      }
    }
    if (error_) std::rethrow_exception(error_);
  }

  PoolStats stats() {
    std::lock_guard<std::mutex> g(submit_mu_);
    return PoolStats{regions_, inline_regions_};
  }

 private:
  void work() {
    for (;;) {
      const int64_t b = next_.fetch_add(grain_, std::memory_order_relaxed);
      if (b >= n_) break;
      const int64_t e = std::min(n_, b + grain_);
      try {
        fn_(ctx_, b, e);
      } catch (...) {
        std::lock_guard<std::mutex> g(err_mu_);
        if (!error_) error_ = std::current_exception();
        next_.store(n_, std::memory_order_relaxed);  // stop handing out tasks
      }
    }
  }

  void worker_main(unsigned long long seen) {
    t_in_region = true;  // a worker never submits a region of its own
    for (;;) {
      auto t0 = std::chrono::steady_clock::now();
      for (unsigned it = 0; generation_.load(std::memory_order_acquire) == seen && !stop_.load(std::memory_order_relaxed); ++it) {
        ATTNKIT_RELAX();
        if ((it & 255) == 255 && std::chrono::steady_clock::now() - t0 > std::chrono::microseconds(100)) {
          std::unique_lock<std::mutex> lk(mu_);
          cv_work_.wait(lk, [&] { return generation_.load(std::memory_order_acquire) != seen || stop_.load(); });
          break;
        }
      }
      if (stop_.load()) return;
      seen = generation_.load(std::memory_order_acquire);
      // Join the region only while it is open (see run()); the job fields are stable meanwhile.
      joined_.fetch_add(1, std::memory_order_seq_cst);
      if (open_.load(std::memory_order_seq_cst)) work();
      if (joined_.fetch_sub(1, std::memory_order_seq_cst) == 1) {
        std::lock_guard<std::mutex> g(mu_);
        cv_done_.notify_one();
      }
    }
  }

  void start(int n) {
    nthreads_ = std::max(1, n);
    stop_.store(false);
    // The start generation is read here, under submit_mu_, so no region can slip past a new worker.
    const unsigned long long g0 = generation_.load(std::memory_order_acquire);
    for (int i = 1; i < nthreads_; ++i) workers_.emplace_back([this, g0] { worker_main(g0); });
  }

  void stop_workers() {
    {
      std::lock_guard<std::mutex> g(mu_);
      stop_.store(true);
    }
    cv_work_.notify_all();
    for (auto& t : workers_) t.join();
    workers_.clear();
  }

  std::mutex submit_mu_, mu_, err_mu_;
  std::condition_variable cv_work_, cv_done_;
  std::vector<std::thread> workers_;
  int nthreads_ = 1;
  std::atomic<bool> stop_{false};
  std::atomic<unsigned long long> generation_{0};
  std::atomic<int64_t> next_{0};
  std::atomic<int> joined_{0};
  std::atomic<bool> open_{false};
  TaskFn fn_ = nullptr;
  void* ctx_ = nullptr;
  int64_t n_ = 0, grain_ = 1;
  std::exception_ptr error_;
  unsigned long long regions_ = 0, inline_regions_ = 0;
};

Pool& pool() {
  // Leaked on purpose: joining threads during static destruction at process exit can deadlock.
  static Pool* p = new Pool();
  return *p;
}

}  // namespace

int hardware_threads() {
#if defined(__linux__)
  cpu_set_t set;
  if (sched_getaffinity(0, sizeof(set), &set) == 0) {
    int c = CPU_COUNT(&set);
    if (c > 0) return c;
  }
#endif
  unsigned h = std::thread::hardware_concurrency();
  return h ? static_cast<int>(h) : 1;
}

int num_threads() { return pool().threads(); }

void set_threads(int n) {
  if (n <= 0) n = hardware_threads();
  if (n > 256) n = 256;
  pool().resize(n);
}

void parallel_for(int64_t n, TaskFn fn, void* ctx, int64_t grain) { pool().run(n, fn, ctx, grain); }

PoolStats pool_stats() { return pool().stats(); }

}  // namespace attnkit
