// attnkit: the process-wide thread pool, as plain C++ for kernels.
//
// Determinism contract: a kernel splits its work into tasks whose number and boundaries do NOT
// depend on the thread count, each task writes its own outputs, and any cross-task reduction is
// done afterwards in a fixed order. Which thread runs which task is then irrelevant, so results
// are bit-identical for any thread count. (Tasks are claimed dynamically for load balance.)
#pragma once

#include <cstdint>

namespace attnkit {

/// Worker count the pool uses (>= 1), including the calling thread.
int num_threads();

/// Set the worker count (1..256); 0 restores the machine default. Waits for a running job.
void set_threads(int n);

/// Threads the machine offers this process (CPU affinity aware).
int hardware_threads();

/// Task body: runs tasks [begin, end) (the pool calls it with single tasks or small ranges).
using TaskFn = void (*)(void* ctx, int64_t begin, int64_t end);

/// Run tasks [0, n) on the pool and wait. The caller participates. Parallel regions from
/// different threads (e.g. concurrent async calls) are serialised, never oversubscribed.
/// `grain` = tasks claimed at a time. Exceptions thrown by fn are rethrown here (first one).
void parallel_for(int64_t n, TaskFn fn, void* ctx, int64_t grain = 1);

/// Convenience: parallel_for over a callable `f(begin, end)` (its type stays local to the caller's TU).
template <class F>
inline void parallel_for_each(int64_t n, F& f, int64_t grain = 1) {
  parallel_for(
      n, [](void* c, int64_t b, int64_t e) { (*static_cast<F*>(c))(b, e); }, &f, grain);
}

}  // namespace attnkit
