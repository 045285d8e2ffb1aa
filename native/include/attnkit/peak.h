// attnkit: FMA peak microbenchmark kernel (independent FMA chains at the widest vector width).
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// Run `iters` rounds of independent FMA chains; returns the flops done (2 per lane per FMA).
/// `sink` receives a value derived from the chains so the work cannot be optimised away.
using PeakFn = double (*)(int64_t iters, float* sink);
ATTNKIT_DECLARE_TABLE(PeakFn, peak_table)

}  // namespace attnkit
