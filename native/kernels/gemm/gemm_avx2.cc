// AVX2+FMA GEMM microkernel: 6x16 tile = 12 ymm accumulators + 2 B vectors + 1 broadcast of the
// 16 ymm registers (the classic Haswell shape: 12 FMAs per 2 loads + 6 broadcasts).
#include <cstdint>

#include "attnkit/gemm.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

namespace attnkit {
namespace {
constexpr int MR = 6, NR = 16;

ATTNKIT_AVX2 void micro_avx2(int64_t kc, const float* A, int64_t rs, int64_t cs, const float* B, int64_t ldbk,
                             float* C, int64_t ldc, int init, const float* bias) {
  __m256 c0[MR], c1[MR];
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    if (init == kGemmInitLoad) {
      c0[i] = _mm256_loadu_ps(C + i * ldc);
      c1[i] = _mm256_loadu_ps(C + i * ldc + 8);
    } else if (init == kGemmInitBias) {
      c0[i] = _mm256_loadu_ps(bias);
      c1[i] = _mm256_loadu_ps(bias + 8);
    } else {
      c0[i] = _mm256_setzero_ps();
      c1[i] = _mm256_setzero_ps();
    }
  }
  // Two base pointers and two row offsets: one addressing mode per broadcast (see gemm_avx512.cc).
  const float* a0 = A;
  const float* a3 = A + 3 * rs;
  const int64_t r1 = rs, r2 = 2 * rs;
  for (int64_t k = 0; k < kc; k++) {
    const __m256 b0 = _mm256_loadu_ps(B);
    const __m256 b1 = _mm256_loadu_ps(B + 8);
#define ATTNKIT_ROW(i, p, o)                          \
  {                                                   \
    const __m256 a = _mm256_broadcast_ss(p + o);      \
    c0[i] = _mm256_fmadd_ps(a, b0, c0[i]);            \
    c1[i] = _mm256_fmadd_ps(a, b1, c1[i]);            \
  }
    ATTNKIT_ROW(0, a0, 0) ATTNKIT_ROW(1, a0, r1) ATTNKIT_ROW(2, a0, r2)
    ATTNKIT_ROW(3, a3, 0) ATTNKIT_ROW(4, a3, r1) ATTNKIT_ROW(5, a3, r2)
#undef ATTNKIT_ROW
    a0 += cs;
    a3 += cs;
    B += ldbk;
  }
#pragma GCC unroll 6
  for (int i = 0; i < MR; i++) {
    _mm256_storeu_ps(C + i * ldc, c0[i]);
    _mm256_storeu_ps(C + i * ldc + 8, c1[i]);
  }
}

const GemmKernel kAvx2 = {"avx2", MR, NR, 256, MR * 16, NR * 16, micro_avx2};
}  // namespace

const GemmKernel* gemm_kernel_avx2() { return &kAvx2; }
ATTNKIT_REGISTER(gemm_table, avx2, &gemm_kernel_avx2);
}  // namespace attnkit

#endif
