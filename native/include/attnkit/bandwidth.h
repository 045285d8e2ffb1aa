// attnkit: memory bandwidth microbenchmark (read + write, streaming), beside the FMA peak.
// Plain C++ (no Node-API); the binding is native/bindings/bandwidth.cc.
#pragma once

#include <cstdint>
#include <vector>

#include "attnkit/isa.h"

namespace attnkit {

/// One triad pass a[i] = b[i] + s * c[i] over n floats (n a multiple of 64): two streams read,
/// one written. Returns the bytes counted for the pass, 12 * n (the STREAM convention: the
/// write-allocate read of `a` is not counted, as the ops' descriptor byte counts do not count it).
using BandwidthFn = double (*)(float* a, const float* b, const float* c, int64_t n, float s);
ATTNKIT_DECLARE_TABLE(BandwidthFn, bandwidth_table)

/// What measure_bandwidth found.
struct BandwidthResult {
  double gbps = 0;                 ///< the best trial, 1e9 bytes per second
  std::vector<double> trial_gbps;  ///< every trial, in order
  int64_t bytes_per_thread = 0;    ///< the working set each thread streams over (3 arrays)
  double ms = 0;                   ///< wall time of the timed trials, all together
  Isa isa = Isa::scalar;           ///< the variant of the pass that ran
};

/// Stream triad passes on `threads` plain threads (not the pool, so the count is exact), each over
/// its own three arrays of `bytes_per_thread` bytes together (first touched by that thread), for
/// about `ms` milliseconds per trial, `trials` times; a trial's figure is all threads' bytes over
/// its wall time (go signal to the last thread's end). Throws std::bad_alloc when the arrays
/// cannot be allocated. Arguments are checked by the caller: threads in [1, 256], ms > 0,
/// trials >= 1, bytes_per_thread >= 12 * 64.
BandwidthResult measure_bandwidth(int threads, double ms, int64_t bytes_per_thread, int trials);

}  // namespace attnkit
