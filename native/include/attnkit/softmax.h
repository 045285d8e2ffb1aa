// attnkit: softmax over the last axis, plain C++ API (no Node-API). Vectorised per ISA (native/kernels/softmax/,
// instantiated by native/kernels/isa/) and split over the thread pool in fixed blocks of rows /
// elements (bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// softmax over the last axis. x and out: rows x cols, contiguous. Optional mask: element
/// (i0, ..., i_{rank-1}) of the full shape at mask[Σ ik * mask_strides[k]] (0 = masked).
/// Masked or -Inf entries give 0; a row with nothing left is all 0; a NaN or +Inf among the
/// allowed entries makes every allowed entry of its row NaN.
struct SoftmaxParams {
  const float* x = nullptr;
  float* out = nullptr;
  int64_t rows = 0, cols = 0;
  int rank = 0;             ///< <= 8; shape[rank-1] == cols, product of the rest == rows
  int64_t shape[8] = {};
  const uint8_t* mask = nullptr;
  int64_t mask_strides[8] = {};
};
using SoftmaxFn = void (*)(const SoftmaxParams&);
ATTNKIT_DECLARE_TABLE(SoftmaxFn, softmax_table)

}  // namespace attnkit
