// AVX2+FMA GEMM microkernel: 6x16 tile = 12 ymm accumulators + 2 B vectors + 1 broadcast of the
// 16 ymm registers (the classic Haswell shape: 12 FMAs per 2 loads + 6 broadcasts).
#include <cstdint>

#include "attnkit/gemm.h"
#include "gemm_internal.h"

#if defined(__x86_64__) || defined(_M_X64)
#include "../vec/vmath_avx2.h"

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

ATTNKIT_AVX2 void act_avx2(float* C, int64_t ldc, int64_t rows, int64_t cols, int act) {
  for (int64_t i = 0; i < rows; i++) {
    float* c = C + i * ldc;
    int64_t j = 0;
    for (; j + 8 <= cols; j += 8) {
      __m256 x = _mm256_loadu_ps(c + j);
      if (act == (int)GemmAct::Relu) x = v256::relu(x);
      else if (act == (int)GemmAct::Gelu) x = v256::gelu(x);
      else if (act == (int)GemmAct::GeluTanh) x = v256::gelu_tanh(x);
      _mm256_storeu_ps(c + j, x);
    }
    if (j < cols) {
      // Tail through a staging vector so every element sees the same vector formula.
      alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t q = j; q < cols; q++) t[q - j] = c[q];
      __m256 x = _mm256_load_ps(t);
      if (act == (int)GemmAct::Relu) x = v256::relu(x);
      else if (act == (int)GemmAct::Gelu) x = v256::gelu(x);
      else if (act == (int)GemmAct::GeluTanh) x = v256::gelu_tanh(x);
      _mm256_store_ps(t, x);
      for (int64_t q = j; q < cols; q++) c[q] = t[q - j];
    }
  }
}

const GemmKernel kAvx2 = {"avx2", MR, NR, 256, MR * 16, NR * 16, micro_avx2, act_avx2};
}  // namespace

const GemmKernel* gemm_kernel_avx2() { return &kAvx2; }
ATTNKIT_REGISTER(gemm_table, avx2, &gemm_kernel_avx2);
}  // namespace attnkit

#endif
