// attnkit: gelu, elementwise, plain C++ API (no Node-API). Vectorised per ISA (native/kernels/gelu/,
// instantiated by native/kernels/isa/) and split over the thread pool in fixed blocks of rows /
// elements (bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "attnkit/elementwise.h"
#include "attnkit/isa.h"

namespace attnkit {

/// gelu, elementwise over n values: exact x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or (tanh = true) the
/// tanh approximation computed as x·sigmoid(2u), u = √(2/π)(x + 0.044715x³) (an identity).
struct GeluParams : ElementwiseParams {
  bool tanh_approx = false;
};
using GeluFn = void (*)(const GeluParams&);
ATTNKIT_DECLARE_TABLE(GeluFn, gelu_table)

}  // namespace attnkit
