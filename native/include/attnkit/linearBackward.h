// attnkit: linearBackward (the x·W layout), plain C++ API (no Node-API). Runs on the process
// thread pool through the GEMM (attnkit/gemm.h), bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// Arguments of {@link linear_backward}; every pointer covers the extent its sizes imply.
struct LinearBackwardParams {
  const float* dy;   ///< [rows, outDim]
  const float* x;    ///< [rows, inDim]
  const float* w;    ///< [inDim, outDim]
  int64_t rows, inDim, outDim;
  float* dx;         ///< [rows, inDim] (written)
  float* dW;         ///< [inDim, outDim] (written)
  float* db;         ///< [outDim] (written)
};

/**
 * dx = dy·wᵀ (one GEMM, w read as a transposed B), dW = xᵀ·dy (GEMMs with a transposed A over
 * fixed blocks of rows, the blocks' partial products added in block order in double), db = the
 * column sums of dy (double, same blocks). Returns the ISA level the GEMM ran at.
 */
Isa linear_backward(const LinearBackwardParams& p);

}  // namespace attnkit
