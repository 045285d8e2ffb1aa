// topK threshold scan, AVX2: 8 compares per instruction (_CMP_NLE_UQ = !(s <= thr), NaN-true).
#include "attnkit/isa_region.h"
#include "attnkit/topK.h"

#if ATTNKIT_X86_64
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

ATTNKIT_TARGET_AVX2_BEGIN
namespace attnkit {
namespace {
inline int low_bit(unsigned m) {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long i;
  _BitScanForward(&i, m);
  return (int)i;
#else
  return __builtin_ctz(m);
#endif
}
int64_t scan_avx2(const float* s, int64_t n, float thr) {
  const __m256 t = _mm256_set1_ps(thr);
  int64_t j = 0;
  for (; j + 32 <= n; j += 32) {
    const unsigned m0 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j), t, _CMP_NLE_UQ));
    const unsigned m1 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j + 8), t, _CMP_NLE_UQ));
    const unsigned m2 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j + 16), t, _CMP_NLE_UQ));
    const unsigned m3 = (unsigned)_mm256_movemask_ps(_mm256_cmp_ps(_mm256_loadu_ps(s + j + 24), t, _CMP_NLE_UQ));
    const unsigned m = m0 | (m1 << 8) | (m2 << 16) | (m3 << 24);
    if (m) return j + low_bit(m);
  }
  for (; j < n; j++)
    if (!(s[j] <= thr)) return j;
  return n;
}
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
ATTNKIT_REGISTER(topK_scan_table, avx2, &scan_avx2);
}
#endif
