// additive score kernel, AVX2+FMA: 8 keys per vector (same scheme as additiveAttention_avx512.cc); the
// tail goes through a zero-padded staging buffer so every key sees the same vector formula.
#include "attnkit/additiveAttention.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include "../vec/vmath_avx2.h"

namespace attnkit {
namespace {
ATTNKIT_AVX2 void score_avx2(const float* q, const float* kT, int64_t ldk, const float* v, int64_t A, int64_t S,
                             float* logits) {
  int64_t j = 0;
  for (; j + 8 <= S; j += 8) {
    __m256 s = _mm256_setzero_ps();
    for (int64_t u = 0; u < A; u++) {
      const __m256 x = _mm256_add_ps(_mm256_set1_ps(q ? q[u] : 0.0f), _mm256_loadu_ps(kT + u * ldk + j));
      s = _mm256_fmadd_ps(_mm256_set1_ps(v[u]), v256::tanh(x), s);
    }
    _mm256_storeu_ps(logits + j, s);
  }
  if (j < S) {
    const int64_t n = S - j;
    __m256 s = _mm256_setzero_ps();
    for (int64_t u = 0; u < A; u++) {
      alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t r = 0; r < n; r++) t[r] = kT[u * ldk + j + r];
      const __m256 x = _mm256_add_ps(_mm256_set1_ps(q ? q[u] : 0.0f), _mm256_load_ps(t));
      s = _mm256_fmadd_ps(_mm256_set1_ps(v[u]), v256::tanh(x), s);
    }
    alignas(32) float o[8];
    _mm256_store_ps(o, s);
    for (int64_t r = 0; r < n; r++) logits[j + r] = o[r];
  }
}
}  // namespace
ATTNKIT_REGISTER(additiveAttention_score_table, avx2, &score_avx2);
}  // namespace attnkit
#endif
