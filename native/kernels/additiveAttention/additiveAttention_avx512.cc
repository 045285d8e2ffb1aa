// additive score kernel, AVX-512: 16 keys per vector, the A-sum runs down the transposed
// projected keys (contiguous loads), one FMA chain per key in u order (no horizontal reduction).
#include "attnkit/additiveAttention.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include "../vec/vmath_avx512.h"

namespace attnkit {
namespace {
ATTNKIT_AVX512 void score_avx512(const float* q, const float* kT, int64_t ldk, const float* v, int64_t A, int64_t S,
                                 float* logits) {
  for (int64_t j = 0; j < S; j += 16) {
    const int64_t n = S - j < 16 ? S - j : 16;
    const __mmask16 m = (__mmask16)(n == 16 ? 0xFFFF : ((1u << n) - 1));
    __m512 s = _mm512_setzero_ps();
    for (int64_t u = 0; u < A; u++) {
      const __m512 x = _mm512_add_ps(_mm512_set1_ps(q ? q[u] : 0.0f), _mm512_maskz_loadu_ps(m, kT + u * ldk + j));
      s = _mm512_fmadd_ps(_mm512_set1_ps(v[u]), v512::tanh(x), s);
    }
    _mm512_mask_storeu_ps(logits + j, m, s);
  }
}
}  // namespace
ATTNKIT_REGISTER(additiveAttention_score_table, avx512, &score_avx512);
}  // namespace attnkit
#endif
