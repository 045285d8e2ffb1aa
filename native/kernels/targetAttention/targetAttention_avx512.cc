// DIN activation pass, AVX-512 (sigmoid through the vector exp of vmath_avx512.h, < 2 ulp).
#include "attnkit/isa_region.h"
#include "attnkit/targetAttention.h"

#if ATTNKIT_X86_64
#include "../vec/vmath_avx512.h"

namespace attnkit {
namespace {
ATTNKIT_AVX512 void act_avx512(float* x, int64_t rows, int64_t cols, int64_t ld, int kind, const float* alpha) {
  for (int64_t r = 0; r < rows; r++) {
    float* v = x + r * ld;
    for (int64_t c = 0; c < cols; c += 16) {
      const int64_t n = cols - c < 16 ? cols - c : 16;
      const __mmask16 m = (__mmask16)(n == 16 ? 0xFFFF : ((1u << n) - 1));
      const __m512 z = _mm512_maskz_loadu_ps(m, v + c);
      __m512 y;
      if (kind == (int)DinAct::Relu) {
        y = v512::relu(z);
      } else if (kind == (int)DinAct::Sigmoid) {
        const __m512 one = _mm512_set1_ps(1.0f);
        y = _mm512_div_ps(one, _mm512_add_ps(one, v512::exp(_mm512_sub_ps(_mm512_setzero_ps(), z))));
      } else {
        const __mmask16 neg = _mm512_cmp_ps_mask(z, _mm512_setzero_ps(), _CMP_NGE_UQ);  // !(z >= 0): negative or NaN
        y = _mm512_mask_mul_ps(z, neg, z, _mm512_maskz_loadu_ps(m, alpha + c));
      }
      _mm512_mask_storeu_ps(v + c, m, y);
    }
  }
}
}  // namespace
ATTNKIT_REGISTER(targetAttention_act_table, avx512, &act_avx512);
}  // namespace attnkit
#endif
