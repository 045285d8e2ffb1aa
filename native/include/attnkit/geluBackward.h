// attnkit: geluBackward, elementwise, plain C++ API (no Node-API). Vectorised per ISA
// (native/kernels/geluBackward/, instantiated by native/kernels/isa/) and split over the thread
// pool in fixed blocks of elements (bit-identical for any thread count).
#pragma once

#include "attnkit/elementwise.h"
#include "attnkit/isa.h"

namespace attnkit {

/// geluBackward over n values: dy·gelu'(x), exact Φ(x) + x·φ(x) or (tanh_approx) the derivative of
/// 0.5x(1 + tanh u), u = √(2/π)(x + 0.044715x³); the limits 1 at x = +Inf and 0 at x = −Inf.
struct GeluBackwardParams : ElementwiseGradParams {
  bool tanh_approx = false;
};
using GeluBackwardFn = void (*)(const GeluBackwardParams&);
ATTNKIT_DECLARE_TABLE(GeluBackwardFn, geluBackward_table)

}  // namespace attnkit
