// attnkit: siluBackward, elementwise, plain C++ API (no Node-API). Vectorised per ISA
// (native/kernels/siluBackward/, instantiated by native/kernels/isa/) and split over the thread
// pool in fixed blocks of elements (bit-identical for any thread count).
#pragma once

#include "attnkit/elementwise.h"
#include "attnkit/isa.h"

namespace attnkit {

/// siluBackward over n values: dy·(σ(x) + x·σ(x)(1 − σ(x))); the limits 1 at x = +Inf and 0 at
/// x = −Inf; NaN in x or dy gives NaN.
using SiluBackwardParams = ElementwiseGradParams;
using SiluBackwardFn = void (*)(const SiluBackwardParams&);
ATTNKIT_DECLARE_TABLE(SiluBackwardFn, siluBackward_table)

}  // namespace attnkit
