// attnkit: softmaxBackward over the last axis, plain C++ API (no Node-API). Vectorised per ISA
// (native/kernels/softmaxBackward/, instantiated by native/kernels/isa/) and split over the thread
// pool in fixed blocks of rows (bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// softmaxBackward: per row of cols, dx = y ∘ (dy − Σ_j dy_j·y_j), from the forward's output y.
/// dy, y and dx are rows x cols, contiguous; dx may not overlap dy or y.
struct SoftmaxBackwardParams {
  const float* dy = nullptr;
  const float* y = nullptr;
  float* dx = nullptr;
  int64_t rows = 0, cols = 0;
};
using SoftmaxBackwardFn = void (*)(const SoftmaxBackwardParams&);
ATTNKIT_DECLARE_TABLE(SoftmaxBackwardFn, softmaxBackward_table)

}  // namespace attnkit
