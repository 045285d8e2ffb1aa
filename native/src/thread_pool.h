// attnkit: the thread pool behind attnkit/parallel.h (one per process, shared by all Node
// environments: main thread and worker_threads alike).
#pragma once

#include "attnkit/parallel.h"

namespace attnkit {

/// Counters for reporting: parallel regions run so far, and how many ran inline (1 thread or 1 task).
struct PoolStats {
  unsigned long long regions = 0;
  unsigned long long inline_regions = 0;
};
PoolStats pool_stats();

}  // namespace attnkit
