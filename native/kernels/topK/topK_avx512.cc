// topK threshold scan, AVX-512: 16 compares per instruction; _CMP_NLE_UQ is exactly !(s <= thr)
// (true for NaN on either side), so the vector and scalar scans agree element for element.
#include "attnkit/isa_region.h"
#include "attnkit/topK.h"

#if ATTNKIT_X86_64
#include <immintrin.h>
#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
#endif

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {
// Index of the lowest set bit (m != 0).
inline int low_bit(uint64_t m) {
#if defined(_MSC_VER) && !defined(__clang__)
  unsigned long i;
  _BitScanForward64(&i, m);
  return (int)i;
#else
  return __builtin_ctzll(m);
#endif
}
int64_t scan_avx512(const float* s, int64_t n, float thr) {
  const __m512 t = _mm512_set1_ps(thr);
  int64_t j = 0;
  for (; j + 64 <= n; j += 64) {
    const __mmask16 m0 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j), t, _CMP_NLE_UQ);
    const __mmask16 m1 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j + 16), t, _CMP_NLE_UQ);
    const __mmask16 m2 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j + 32), t, _CMP_NLE_UQ);
    const __mmask16 m3 = _mm512_cmp_ps_mask(_mm512_loadu_ps(s + j + 48), t, _CMP_NLE_UQ);
    const uint64_t m = (uint64_t)m0 | ((uint64_t)m1 << 16) | ((uint64_t)m2 << 32) | ((uint64_t)m3 << 48);
    if (m) return j + low_bit(m);
  }
  for (; j < n; j += 16) {
    const int64_t r = n - j < 16 ? n - j : 16;
    const __mmask16 valid = (__mmask16)(r == 16 ? 0xFFFF : ((1u << r) - 1));
    const __mmask16 m = _mm512_mask_cmp_ps_mask(valid, _mm512_maskz_loadu_ps(valid, s + j), t, _CMP_NLE_UQ);
    if (m) return j + low_bit((uint64_t)m);
  }
  return n;
}
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
ATTNKIT_REGISTER(topK_scan_table, avx512, &scan_avx512);
}
#endif
