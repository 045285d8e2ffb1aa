// linear: y[rows,outDim] = x[rows,inDim] · w[inDim,outDim] + b (attnkit's x·W layout).
// Plain C++ API (no N-API); runs on the process thread pool, bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link linear_forward}; every pointer covers the extent its sizes imply. */
struct LinearParams {
  const float* x;    ///< [rows, inDim]
  const float* w;    ///< [inDim, outDim]
  const float* b;    ///< [outDim] or null
  int64_t rows, inDim, outDim;
  float* y;          ///< [rows, outDim] (written)
};

/** Compute linear; returns the ISA level the GEMM ran at. */
Isa linear_forward(const LinearParams& p);

}  // namespace attnkit
