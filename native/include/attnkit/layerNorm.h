// attnkit: layerNorm over the last axis, plain C++ API (no Node-API). Vectorised per ISA (native/kernels/layerNorm/,
// instantiated by native/kernels/isa/) and split over the thread pool in fixed blocks of rows /
// elements (bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// layerNorm over the last axis: (x - mean) / sqrt(var + eps) * gamma + beta, biased variance
/// (two passes: mean, then Σ(x - mean)²). gamma/beta optional ([cols]). When `mean` / `invStd`
/// are set, each row's mean and 1/sqrt(var + eps) are written there ([rows] each): the very values
/// the row was normalised with (ONNX LayerNormalization's Mean and InvStdDev outputs).
struct LayerNormParams {
  const float* x = nullptr;
  float* out = nullptr;
  int64_t rows = 0, cols = 0;
  const float* gamma = nullptr;
  const float* beta = nullptr;
  float eps = 1e-5f;
  float* mean = nullptr;    ///< [rows] per-row mean (written when non-null)
  float* invStd = nullptr;  ///< [rows] per-row 1/sqrt(var + eps) (written when non-null)
};
using LayerNormFn = void (*)(const LayerNormParams&);
ATTNKIT_DECLARE_TABLE(LayerNormFn, layerNorm_table)

}  // namespace attnkit
