// attnkit: widening of 16-bit float patterns (float16, bfloat16) to float32, plain C++ API.
// One generic family over the vector traits (native/kernels/convert/convert_impl.h; the half
// loads are V::load_f16 / V::load_bf16 of native/kernels/vec/): AVX-512 vcvtph2ps, AVX2 F16C,
// NEON fcvtl, scalar bit manipulation; bfloat16 is a zero-extend and shift by 16 everywhere.
// Exact for every pattern (subnormals, ±0, ±Inf; a float16 NaN keeps its payload and is quiet).
// sdpa widens inside its own kernels (the same loads); topK and the tests use this table.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/// dst[i] = the float32 value of pattern src[i] of type `type` (f16 or bf16), i < n; no threads.
using ConvertFn = void (*)(const uint16_t* src, float* dst, int64_t n, DType type);
ATTNKIT_DECLARE_TABLE(ConvertFn, convert_table)

/// The same, through the active ISA's variant; returns the level that ran.
Isa half_to_float(const uint16_t* src, float* dst, int64_t n, DType type);

}  // namespace attnkit
