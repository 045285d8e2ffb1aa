// DIN activation pass, AVX2+FMA (sigmoid through vmath_avx2.h's exp); scalar-formula tail.
#include <cmath>

#include "attnkit/isa_region.h"
#include "attnkit/targetAttention.h"

#if ATTNKIT_X86_64
#include "../vec/vmath_avx2.h"

namespace attnkit {
namespace {
ATTNKIT_AVX2 void act_avx2(float* x, int64_t rows, int64_t cols, int64_t ld, int kind, const float* alpha) {
  for (int64_t r = 0; r < rows; r++) {
    float* v = x + r * ld;
    int64_t c = 0;
    for (; c < cols; c += 8) {
      const int64_t n = cols - c < 8 ? cols - c : 8;
      alignas(32) float t[8] = {0, 0, 0, 0, 0, 0, 0, 0}, al[8] = {0, 0, 0, 0, 0, 0, 0, 0};
      for (int64_t q = 0; q < n; q++) {
        t[q] = v[c + q];
        if (alpha) al[q] = alpha[c + q];
      }
      const __m256 z = _mm256_load_ps(t);
      __m256 y;
      if (kind == (int)DinAct::Relu) {
        y = v256::relu(z);
      } else if (kind == (int)DinAct::Sigmoid) {
        const __m256 one = _mm256_set1_ps(1.0f);
        y = _mm256_div_ps(one, _mm256_add_ps(one, v256::exp(_mm256_sub_ps(_mm256_setzero_ps(), z))));
      } else {
        const __m256 neg = _mm256_cmp_ps(z, _mm256_setzero_ps(), _CMP_NGE_UQ);
        y = _mm256_blendv_ps(z, _mm256_mul_ps(z, _mm256_loadu_ps(al)), neg);
      }
      _mm256_store_ps(t, y);
      for (int64_t q = 0; q < n; q++) v[c + q] = t[q];
    }
  }
}
}  // namespace
ATTNKIT_REGISTER(targetAttention_act_table, avx2, &act_avx2);
}  // namespace attnkit
#endif
