// attnkit: the row-wise primitives softmax, layerNorm and gelu, plain C++ API (no Node-API).
// Each is vectorised per ISA (native/kernels/{softmax,layerNorm,gelu}/) and split over the
// thread pool in fixed blocks of rows / elements (bit-identical for any thread count).
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

/// layerNorm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance
/// (two passes: mean, then Σ(x - mean)²). gamma/beta optional ([cols]).
struct LayerNormParams {
  const float* x = nullptr;
  float* out = nullptr;
  int64_t rows = 0, cols = 0;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-5f;
};
using LayerNormFn = void (*)(const LayerNormParams&);
ATTNKIT_DECLARE_TABLE(LayerNormFn, layerNorm_table)

/// gelu, elementwise over n values: exact x·Φ(x) = 0.5·x·(1 + erf(x/√2)), or (tanh = true) the
/// tanh approximation computed as x·sigmoid(2u), u = √(2/π)(x + 0.044715x³) (an identity).
struct GeluParams {
  const float* x = nullptr;
  float* out = nullptr;
  int64_t n = 0;
  bool tanh_approx = false;
};
using GeluFn = void (*)(const GeluParams&);
ATTNKIT_DECLARE_TABLE(GeluFn, gelu_table)

}  // namespace attnkit
