// linear: y[rows,outDim] = x[rows,inDim] · w[inDim,outDim] + b (attnkit's x·W layout).
// Plain C++ API (no N-API); runs on the process thread pool, bit-identical for any thread count.
// x, w and b may each be float32, float16 or bfloat16 (attnkit/dtype.h): the GEMM widens x's and
// w's tiles as it packs them (attnkit/gemm.h), b is widened into O(outDim) scratch.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link linear_forward}; every pointer covers the extent its sizes imply. */
struct LinearParams {
  Floats x;          ///< [rows, inDim]
  Floats w;          ///< [inDim, outDim]
  Floats b;          ///< [outDim] or null
  int64_t rows, inDim, outDim;
  float* y;          ///< [rows, outDim] (written)
};

/** Compute linear; returns the ISA level the GEMM ran at. */
Isa linear_forward(const LinearParams& p);

}  // namespace attnkit
