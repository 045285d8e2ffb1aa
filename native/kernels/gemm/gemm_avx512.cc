// AVX-512 GEMM microkernel: 14x32 tile = 28 zmm accumulators + 2 B vectors + 1 broadcast, which
// fits the 32 zmm registers exactly and keeps 2 FMA ports busy (each k step: 2 loads, 14
// broadcasts, 28 FMAs). Enabled per function over the portable baseline (no -march flags).
#include <cstdint>

#include "attnkit/gemm.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

namespace attnkit {
namespace {
constexpr int MR = 14, NR = 32;

ATTNKIT_AVX512 void micro_avx512(int64_t kc, const float* A, int64_t rs, int64_t cs, const float* B, int64_t ldbk,
                                 float* C, int64_t ldc, int init, const float* bias) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    if (init == kGemmInitLoad) {
      c0[i] = _mm512_loadu_ps(C + i * ldc);
      c1[i] = _mm512_loadu_ps(C + i * ldc + 16);
    } else if (init == kGemmInitBias) {
      c0[i] = _mm512_loadu_ps(bias);
      c1[i] = _mm512_loadu_ps(bias + 16);
    } else {
      c0[i] = _mm512_setzero_ps();
      c1[i] = _mm512_setzero_ps();
    }
  }
  // Rows through 4 base pointers and 3 row offsets, so every broadcast is one addressing mode
  // (base + offset*4) for packed panels and rows read in place alike.
  const float* a0 = A;
  const float* a4 = A + 4 * rs;
  const float* a8 = A + 8 * rs;
  const float* a12 = A + 12 * rs;
  const int64_t r1 = rs, r2 = 2 * rs, r3 = 3 * rs;
  for (int64_t k = 0; k < kc; k++) {
    const __m512 b0 = _mm512_loadu_ps(B);
    const __m512 b1 = _mm512_loadu_ps(B + 16);
#define ATTNKIT_ROW(i, p, o)                          \
  {                                                   \
    const __m512 a = _mm512_set1_ps(p[o]);            \
    c0[i] = _mm512_fmadd_ps(a, b0, c0[i]);            \
    c1[i] = _mm512_fmadd_ps(a, b1, c1[i]);            \
  }
    ATTNKIT_ROW(0, a0, 0) ATTNKIT_ROW(1, a0, r1) ATTNKIT_ROW(2, a0, r2) ATTNKIT_ROW(3, a0, r3)
    ATTNKIT_ROW(4, a4, 0) ATTNKIT_ROW(5, a4, r1) ATTNKIT_ROW(6, a4, r2) ATTNKIT_ROW(7, a4, r3)
    ATTNKIT_ROW(8, a8, 0) ATTNKIT_ROW(9, a8, r1) ATTNKIT_ROW(10, a8, r2) ATTNKIT_ROW(11, a8, r3)
    ATTNKIT_ROW(12, a12, 0) ATTNKIT_ROW(13, a12, r1)
#undef ATTNKIT_ROW
    a0 += cs;
    a4 += cs;
    a8 += cs;
    a12 += cs;
    B += ldbk;
  }
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    _mm512_storeu_ps(C + i * ldc, c0[i]);
    _mm512_storeu_ps(C + i * ldc + 16, c1[i]);
  }
}

// kc 256: a 14x256 A panel (14 KB) and a 256x32 B panel (32 KB) stay in L1/L2 on Zen4/SKX.
const GemmKernel kAvx512 = {"avx512", MR, NR, 256, MR * 8, NR * 8, micro_avx512};
}  // namespace

const GemmKernel* gemm_kernel_avx512() { return &kAvx512; }
ATTNKIT_REGISTER(gemm_table, avx512, &gemm_kernel_avx512);
}  // namespace attnkit

#endif
