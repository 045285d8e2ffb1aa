// FMA peak, AVX-512: 16 independent 16-lane FMA chains.
#include "attnkit/peak.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {

double peak_avx512(int64_t iters, float* sink) {
  __m512 a[16];
  for (int k = 0; k < 16; ++k) a[k] = _mm512_set1_ps(1.0f + 0.01f * k);
  const __m512 m = _mm512_set1_ps(0.99999f), c = _mm512_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < 16; ++k) a[k] = _mm512_fmadd_ps(a[k], m, c);
  }
  __m512 s = a[0];
  for (int k = 1; k < 16; ++k) s = _mm512_add_ps(s, a[k]);
  *sink = _mm512_reduce_add_ps(s);
  return 2.0 * 16 * 16 * static_cast<double>(iters);
}

}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
ATTNKIT_REGISTER(peak_table, avx512, &peak_avx512);
}
#endif
