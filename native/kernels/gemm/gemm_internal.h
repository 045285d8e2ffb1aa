// Private to the GEMM family: the portable epilogue every ISA falls back to.
#pragma once
#include <cstdint>

namespace attnkit {
/** relu / gelu / tanh-gelu over a rows x cols tile, scalar (gelu in double: near-exact). */
void gemm_act_portable(float* C, int64_t ldc, int64_t rows, int64_t cols, int act);
}  // namespace attnkit
