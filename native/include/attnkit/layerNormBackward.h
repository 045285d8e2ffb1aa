// attnkit: layerNormBackward over the last axis, plain C++ API (no Node-API). Vectorised per ISA
// (native/kernels/layerNormBackward/, instantiated by native/kernels/isa/). Rows are split into
// blocks fixed by the shape alone; each block's dGamma / dBeta partial sums are added in block
// order afterwards, so the result is bit-identical for any thread count.
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// layerNormBackward from the forward's per-row mean and invStd = 1/sqrt(var + eps): with
/// x̂ = (x − mean)·invStd and g = dy·gamma (gamma null: 1), dx = invStd·(g − mean(g) − x̂·mean(g·x̂))
/// per row; dGamma = Σ_rows dy·x̂, dBeta = Σ_rows dy ([cols] each, written whole, zeros for 0 rows).
struct LayerNormBackwardParams {
  const float* dy = nullptr;
  const float* x = nullptr;
  const float* gamma = nullptr;   ///< [cols] or null
  const float* mean = nullptr;    ///< [rows]
  const float* invStd = nullptr;  ///< [rows]
  float* dx = nullptr;            ///< [rows, cols]
  float* dGamma = nullptr;        ///< [cols]
  float* dBeta = nullptr;         ///< [cols]
  int64_t rows = 0, cols = 0;
};
using LayerNormBackwardFn = void (*)(const LayerNormBackwardParams&);
ATTNKIT_DECLARE_TABLE(LayerNormBackwardFn, layerNormBackward_table)

}  // namespace attnkit
