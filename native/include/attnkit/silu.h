// attnkit: silu, elementwise, plain C++ API (no Node-API). Vectorised per ISA (native/kernels/silu/,
// instantiated by native/kernels/isa/) and split over the thread pool in fixed blocks of elements
// (bit-identical for any thread count).
#pragma once

#include "attnkit/elementwise.h"
#include "attnkit/isa.h"

namespace attnkit {

/// silu, elementwise over n values: x·sigmoid(x); silu(+Inf) = +Inf, silu(-Inf) = -0, NaN stays NaN.
using SiluParams = ElementwiseParams;
using SiluFn = void (*)(const SiluParams&);
ATTNKIT_DECLARE_TABLE(SiluFn, silu_table)

}  // namespace attnkit
