// FMA peak, AVX2+FMA: 12 independent 8-lane FMA chains (covers latency 4 x 2 ports + slack).
#include "attnkit/peak.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX2_BEGIN
namespace attnkit {
namespace {

double peak_avx2(int64_t iters, float* sink) {
  __m256 a[12];
  for (int k = 0; k < 12; ++k) a[k] = _mm256_set1_ps(1.0f + 0.01f * k);
  const __m256 m = _mm256_set1_ps(0.99999f), c = _mm256_set1_ps(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 12
    for (int k = 0; k < 12; ++k) a[k] = _mm256_fmadd_ps(a[k], m, c);
  }
  __m256 s = a[0];
  for (int k = 1; k < 12; ++k) s = _mm256_add_ps(s, a[k]);
  *sink = _mm256_cvtss_f32(s);
  return 2.0 * 8 * 12 * static_cast<double>(iters);
}

}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
ATTNKIT_REGISTER(peak_table, avx2, &peak_avx2);
}
#endif
