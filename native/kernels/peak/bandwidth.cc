// The bandwidth microbenchmark's driver (plain C++): per-thread arrays, a start barrier, timed
// trials of triad passes (the pass per ISA is bandwidth_impl.h, instantiated by
// native/kernels/isa/generic_kernels.h). See attnkit/bandwidth.h.
#include "attnkit/bandwidth.h"

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <new>
#include <thread>

namespace attnkit {

namespace {

/// 64-byte aligned floats, freed on scope exit.
struct AlignedFloats {
  float* p = nullptr;
  explicit AlignedFloats(int64_t n) {
    void* q = nullptr;
#if defined(_WIN32)
    q = _aligned_malloc(static_cast<size_t>(n) * sizeof(float), 64);
#else
    if (posix_memalign(&q, 64, static_cast<size_t>(n) * sizeof(float)) != 0) q = nullptr;
#endif
    if (!q) throw std::bad_alloc();
    p = static_cast<float*>(q);
  }
  ~AlignedFloats() {
#if defined(_WIN32)
    _aligned_free(p);
#else
    free(p);
#endif
  }
  AlignedFloats(const AlignedFloats&) = delete;
  AlignedFloats& operator=(const AlignedFloats&) = delete;
};

}  // namespace

BandwidthResult measure_bandwidth(int threads, double ms, int64_t bytes_per_thread, int trials) {
  BandwidthResult r;
  BandwidthFn pass = bandwidth_table().get(&r.isa);
  // Three arrays of n floats each, n a multiple of 64 (whole cache lines, whole vectors).
  const int64_t n = (bytes_per_thread / 12) / 64 * 64;
  r.bytes_per_thread = n * 12;
  using Clock = std::chrono::steady_clock;
  const auto budget = std::chrono::duration<double, std::milli>(ms);

  std::atomic<int> ready{0};
  std::atomic<int> round{-1};  // the trial the threads may start; trials = stop
  std::atomic<int> done{0};
  std::atomic<bool> failed{false};
  std::vector<double> bytes(static_cast<size_t>(threads) * trials, 0.0);
  std::vector<std::thread> ts;
  ts.reserve(threads);
  for (int t = 0; t < threads; ++t) {
    ts.emplace_back([&, t] {
      AlignedFloats* arrays[3] = {nullptr, nullptr, nullptr};
      try {
        for (auto& a : arrays) a = new AlignedFloats(n);
      } catch (...) {
        failed.store(true);
      }
      if (!failed.load()) {
        // First touch by this thread (its pages, its node), then one untimed pass.
        for (int64_t i = 0; i < n; ++i) {
          arrays[0]->p[i] = 0.0f;
          arrays[1]->p[i] = 1.0f;
          arrays[2]->p[i] = 2.0f;
        }
        pass(arrays[0]->p, arrays[1]->p, arrays[2]->p, n, 0.5f);
      }
      ready.fetch_add(1);
      for (int k = 0; k < trials; ++k) {
        while (round.load(std::memory_order_acquire) < k) {
        }
        if (!failed.load()) {
          const auto start = Clock::now();
          double b = 0;
          // Alternate the destination so no pass is a pure repeat of the previous one.
          int flip = 0;
          do {
            float* dst = arrays[flip]->p;
            const float* src = arrays[1 - flip]->p;
            b += pass(dst, src, arrays[2]->p, n, 0.5f);
            flip ^= 1;
          } while (Clock::now() - start < budget);
          bytes[static_cast<size_t>(t) * trials + k] = b;
        }
        done.fetch_add(1, std::memory_order_acq_rel);
      }
      for (auto* a : arrays) delete a;
    });
  }
  while (ready.load() < threads) std::this_thread::sleep_for(std::chrono::microseconds(200));
  double total_secs = 0;
  for (int k = 0; k < trials && !failed.load(); ++k) {
    const auto t0 = Clock::now();
    round.store(k, std::memory_order_release);
    // Sleep, not spin: the caller's thread must not take a core from the threads being timed.
    while (done.load(std::memory_order_acquire) < threads * (k + 1)) std::this_thread::sleep_for(std::chrono::microseconds(50));
    const double secs = std::chrono::duration<double>(Clock::now() - t0).count();
    total_secs += secs;
    double sum = 0;
    for (int t = 0; t < threads; ++t) sum += bytes[static_cast<size_t>(t) * trials + k];
    r.trial_gbps.push_back(sum / secs / 1e9);
    if (r.trial_gbps.back() > r.gbps) r.gbps = r.trial_gbps.back();
  }
  // Release threads still waiting (after a failure) and join.
  round.store(trials, std::memory_order_release);
  for (auto& t : ts) t.join();
  if (failed.load()) throw std::bad_alloc();
  r.ms = total_secs * 1e3;
  return r;
}

}  // namespace attnkit
