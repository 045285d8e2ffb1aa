// topK scores of bfloat16 users x bfloat16 items with AVX512_BF16's vdpbf16ps: each instruction
// multiplies 16 pairs of bfloat16 values and adds both products to 16 float32 accumulators, twice
// the multiply-adds of a float32 FMA per instruction. Users and the item chunk are packed into
// pairs along D (zero-padded), then a 14 x 32 register tile (28 zmm accumulators, as the float32
// GEMM microkernel) runs over the pairs in order: the sum order is fixed by D alone, so the scores
// are the same for any thread count. The products of two bfloat16 values are exact in float32; the
// instruction flushes float32 subnormals (inputs and results) to zero and rounds to nearest even.
// Used by topK_forward when users and items are both bfloat16 and cpu_has_avx512_bf16().
#include <cstdint>

#include "attnkit/isa_region.h"
#include "attnkit/topK.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX512BF16_BEGIN
namespace attnkit {
namespace {
// The vector traits (made to be included inside a region): V::transpose packs the item pairs.
#include "../vec/vec_avx512.h"
constexpr int MR = 14, NR = 32;

/// C[0..14)[0..32) = Σ_kp A[kp][i] · B[kp][j] (pairs), A packed [Dp][MR], B packed [Dp][NR].
void micro_bf16(int64_t Dp, const uint32_t* A, const uint32_t* B, float* C, int64_t ldc) {
  __m512 c0[MR], c1[MR];
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    c0[i] = _mm512_setzero_ps();
    c1[i] = _mm512_setzero_ps();
  }
  for (int64_t kp = 0; kp < Dp; kp++) {
    const __m512bh b0 = (__m512bh)_mm512_loadu_si512(B + kp * NR);
    const __m512bh b1 = (__m512bh)_mm512_loadu_si512(B + kp * NR + 16);
#pragma GCC unroll 14
    for (int i = 0; i < MR; i++) {
      const __m512bh a = (__m512bh)_mm512_set1_epi32(static_cast<int>(A[kp * MR + i]));
      c0[i] = _mm512_dpbf16_ps(c0[i], a, b0);
      c1[i] = _mm512_dpbf16_ps(c1[i], a, b1);
    }
  }
#pragma GCC unroll 14
  for (int i = 0; i < MR; i++) {
    _mm512_storeu_ps(C + i * ldc, c0[i]);
    _mm512_storeu_ps(C + i * ldc + 16, c1[i]);
  }
}

/// The pair (row[2kp], row[2kp+1]) as one uint32 (low half first), 0 past D.
inline uint32_t pair(const uint16_t* row, int64_t kp, int64_t D) {
  const uint32_t lo = row[2 * kp];
  const uint32_t hi = 2 * kp + 1 < D ? row[2 * kp + 1] : 0u;
  return lo | (hi << 16);
}

/// Rows [n0, n0 + 16) of `rows` (row stride D, `nrows` of them valid) as pairs into
/// dst[kp * NR] (16 consecutive lanes per kp): zero for rows past nrows and pairs past D.
void pack_pairs16(const uint16_t* rows, int64_t nrows, int64_t D, uint32_t* dst) {
  const int64_t Dp = (D + 1) / 2;
  if (D % 2 != 0) {  // a row's pairs are not whole 32-bit words: element by element
    for (int64_t kp = 0; kp < Dp; kp++)
      for (int j = 0; j < 16; j++) dst[kp * NR + j] = j < nrows ? pair(rows + j * D, kp, D) : 0u;
    return;
  }
  for (int64_t k0 = 0; k0 < Dp; k0 += 16) {
    const int kn = static_cast<int>(Dp - k0 < 16 ? Dp - k0 : 16);
    const __mmask16 km = static_cast<__mmask16>(kn == 16 ? 0xffffu : (1u << kn) - 1u);
    __m512 r[16], c[16];
    for (int j = 0; j < 16; j++)
      r[j] = j < nrows ? _mm512_castsi512_ps(_mm512_maskz_loadu_epi32(km, rows + j * D + 2 * k0)) : _mm512_setzero_ps();
    V::transpose(r, c);  // 16 x 16 32-bit transpose: the pairs of a row become a column
    for (int q = 0; q < kn; q++) _mm512_storeu_ps(dst + (k0 + q) * NR, c[q]);
  }
}

void score_bf16(const uint16_t* users, int64_t mu, const uint16_t* items, int64_t cols, int64_t D, float* C, int64_t ldc, uint32_t* scratch, bool pack_users) {
  const int64_t Dp = (D + 1) / 2;
  const int64_t mblocks = (mu + MR - 1) / MR, npan = (cols + NR - 1) / NR;
  uint32_t* ap = scratch;                // [mblocks][Dp][MR]
  uint32_t* bp = scratch + mblocks * Dp * MR;  // [npan][Dp][NR]
  if (pack_users)
    for (int64_t m = 0; m < mblocks; m++)
      for (int i = 0; i < MR; i++) {
        const int64_t r = m * MR + i;
        for (int64_t kp = 0; kp < Dp; kp++) ap[(m * Dp + kp) * MR + i] = r < mu ? pair(users + r * D, kp, D) : 0u;
      }
  for (int64_t pn = 0; pn < npan; pn++)
    for (int h = 0; h < NR; h += 16) {
      const int64_t n0 = pn * NR + h;
      pack_pairs16(items + n0 * D, cols - n0, D, bp + pn * Dp * NR + h);
    }
  for (int64_t m = 0; m < mblocks; m++)
    for (int64_t pn = 0; pn < npan; pn++) micro_bf16(Dp, ap + m * Dp * MR, bp + pn * Dp * NR, C + m * MR * ldc + pn * NR, ldc);
}
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
TopKBf16Fn topK_bf16_kernel() { return &score_bf16; }
}  // namespace attnkit
#else
namespace attnkit {
TopKBf16Fn topK_bf16_kernel() { return nullptr; }
}  // namespace attnkit
#endif

namespace attnkit {
int64_t topK_bf16_scratch(int64_t mu, int64_t cols, int64_t D) {
  const int64_t Dp = (D + 1) / 2;
  return ((mu + 13) / 14) * 14 * Dp + ((cols + 31) / 32) * 32 * Dp;
}
}  // namespace attnkit
