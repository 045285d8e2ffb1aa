// Private AVX-512 vector math shared by attnkit's GEMM-family kernels (gemm, additive, target).
// Include only from files compiled for AVX-512 (functions carry the target attribute).
// Error bounds, measured against double-precision libm on every 38th float of the range
// (~5.8e7 points; vmath_accuracy.cc, run by `node bench/native-gemm.mjs vmath`):
//   exp:  <= 1.24 ulp on [-87, 88] (Cody-Waite reduction + Cephes degree-6 polynomial)
//   tanh: <= 2.74e-7 abs (4.6 ulp) on [-20, 20]; exactly +-1 beyond |x| = 9, x itself below 4e-4
//   erf:  <= 3.39e-7 abs (5.7 ulp) on [-20, 20] (Eigen/XLA 13/8 rational on [-4, 4], +-1 outside)
// NaN propagates through each (operand order of min/max chosen so NaN wins).
#pragma once
#include <immintrin.h>

#if defined(__GNUC__) || defined(__clang__)
#define ATTNKIT_AVX512 __attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")))
#else
#define ATTNKIT_AVX512  // MSVC: intrinsics need no target switch
#endif

namespace attnkit {
namespace v512 {

ATTNKIT_AVX512 static inline __m512 exp(__m512 x) {
  // min/max with x as the second operand keeps NaN (vminps returns the second operand on NaN).
  x = _mm512_max_ps(_mm512_set1_ps(-104.0f), _mm512_min_ps(_mm512_set1_ps(89.0f), x));
  __m512 n = _mm512_roundscale_ps(_mm512_mul_ps(x, _mm512_set1_ps(1.44269504088896341f)), _MM_FROUND_TO_NEAREST_INT);
  __m512 r = _mm512_fnmadd_ps(n, _mm512_set1_ps(0.693359375f), x);
  r = _mm512_fnmadd_ps(n, _mm512_set1_ps(-2.12194440e-4f), r);
  __m512 p = _mm512_set1_ps(1.9875691500e-4f);
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.3981999507e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(8.3334519073e-3f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(4.1665795894e-2f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(1.6666665459e-1f));
  p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(5.0000001201e-1f));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), _mm512_add_ps(r, _mm512_set1_ps(1.0f)));
  return _mm512_scalef_ps(p, n);  // p * 2^n with correct overflow to inf / underflow to 0
}

ATTNKIT_AVX512 static inline __m512 tanh(__m512 a) {
  // Beyond |x| = 9 tanh rounds to +-1 in float; the rational is fitted on [-9, 9].
  const __m512 x = _mm512_max_ps(_mm512_set1_ps(-9.0f), _mm512_min_ps(_mm512_set1_ps(9.0f), a));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-2.76076847742355e-16f);
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(2.00018790482477e-13f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-8.60467152213735e-11f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(5.12229709037114e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(1.48572235717979e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(6.37261928875436e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(4.89352455891786e-03f));
  p = _mm512_mul_ps(x, p);
  __m512 q = _mm512_set1_ps(1.19825839466702e-06f);
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(1.18534705686654e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(2.26843463243900e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(4.89352518554385e-03f));
  __m512 t = _mm512_div_ps(p, q);
  // Clamp the rational's tiny overshoot so |tanh| <= 1 exactly.
  t = _mm512_max_ps(_mm512_set1_ps(-1.0f), _mm512_min_ps(_mm512_set1_ps(1.0f), t));
  // Tiny |x|: tanh(x) = x to float precision (keeps -0 and denormals exact).
  const __mmask16 tiny = _mm512_cmp_ps_mask(_mm512_abs_ps(a), _mm512_set1_ps(4e-4f), _CMP_LT_OQ);
  return _mm512_mask_blend_ps(tiny, t, a);
}

ATTNKIT_AVX512 static inline __m512 erf(__m512 a) {
  const __m512 x = _mm512_max_ps(_mm512_set1_ps(-4.0f), _mm512_min_ps(_mm512_set1_ps(4.0f), a));
  const __m512 x2 = _mm512_mul_ps(x, x);
  __m512 p = _mm512_set1_ps(-2.72614225801306e-10f);
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(2.77068142495902e-08f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.10102402082508e-06f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-5.69250639462346e-05f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-7.34990630326855e-04f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-2.95459980854025e-03f));
  p = _mm512_fmadd_ps(x2, p, _mm512_set1_ps(-1.60960333262415e-02f));
  p = _mm512_mul_ps(x, p);
  __m512 q = _mm512_set1_ps(-1.45660718464996e-05f);
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-2.13374055278905e-04f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.68282697438203e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-7.37332916720468e-03f));
  q = _mm512_fmadd_ps(x2, q, _mm512_set1_ps(-1.42647390514189e-02f));
  __m512 e = _mm512_div_ps(p, q);
  return _mm512_max_ps(_mm512_set1_ps(-1.0f), _mm512_min_ps(_mm512_set1_ps(1.0f), e));
}

/** Exact-form GELU x·Φ(x) = 0.5·x·(1 + erf(x/√2)). */
ATTNKIT_AVX512 static inline __m512 gelu(__m512 x) {
  const __m512 e = erf(_mm512_mul_ps(x, _mm512_set1_ps(0.70710678118654752f)));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

/** tanh-form GELU. */
ATTNKIT_AVX512 static inline __m512 gelu_tanh(__m512 x) {
  const __m512 x3 = _mm512_mul_ps(_mm512_mul_ps(x, x), x);
  const __m512 u = _mm512_mul_ps(_mm512_set1_ps(0.79788456080286535f), _mm512_fmadd_ps(_mm512_set1_ps(0.044715f), x3, x));
  return _mm512_mul_ps(_mm512_mul_ps(_mm512_set1_ps(0.5f), x), _mm512_add_ps(_mm512_set1_ps(1.0f), tanh(u)));
}

/** relu that keeps NaN: max(0, x) with x second returns x on NaN. */
ATTNKIT_AVX512 static inline __m512 relu(__m512 x) { return _mm512_max_ps(_mm512_setzero_ps(), x); }

}  // namespace v512
}  // namespace attnkit
