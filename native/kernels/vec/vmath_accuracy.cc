// Accuracy of the vector exp / tanh / erf in vmath_avx512.h and vmath_avx2.h against double libm.
// Not part of the addon (compiles to nothing unless ATTNKIT_VMATH_ACCURACY_MAIN is defined); run
// it with `node bench/native-gemm.mjs vmath`, which builds it with the system C++ compiler.
#if defined(ATTNKIT_VMATH_ACCURACY_MAIN) && (defined(__x86_64__) || defined(_M_X64))
#include <cmath>
#include <cstdio>
#include <cstring>
#include "vmath_avx512.h"
#include "vmath_avx2.h"
using namespace attnkit;
ATTNKIT_AVX512 static void run512(int fn, const float* x, float* y) { __m512 v = _mm512_loadu_ps(x); v = fn==0? v512::exp(v) : fn==1 ? v512::tanh(v) : v512::erf(v); _mm512_storeu_ps(y, v); }
ATTNKIT_AVX2 static void run256(int fn, const float* x, float* y) { for (int h=0;h<2;h++){ __m256 v = _mm256_loadu_ps(x+8*h); v = fn==0? v256::exp(v) : fn==1 ? v256::tanh(v) : v256::erf(v); _mm256_storeu_ps(y+8*h, v);} }
int main() {
  const char* names[] = {"exp", "tanh", "erf"};
  for (int isa = 0; isa < 2; isa++)
  for (int fn = 0; fn < 3; fn++) {
    double worstAbs = 0, worstUlp = 0, wa = 0, wu = 0;
    float lo = fn == 0 ? -87.0f : -20.0f, hi = fn == 0 ? 88.0f : 20.0f;
    float x[16], y[16];
    long n = 0;
    for (float s = lo; s < hi; ) {
      for (int i = 0; i < 16; i++) { x[i] = s; s = std::nextafter(s, hi) ; for (int r = 0; r < 37; r++) s = std::nextafter(s, hi); }
      if (isa == 0) run512(fn, x, y); else run256(fn, x, y);
      for (int i = 0; i < 16; i++) {
        double want = fn == 0 ? std::exp((double)x[i]) : fn == 1 ? std::tanh((double)x[i]) : std::erf((double)x[i]);
        double e = std::fabs(y[i] - want);
        double ulp = e / (std::nextafter((float)std::fabs(want), INFINITY) - (float)std::fabs(want));
        if (e > worstAbs) { worstAbs = e; wa = x[i]; }
        if (ulp > worstUlp && std::fabs(want) > 1e-30) { worstUlp = ulp; wu = x[i]; }
        n++;
      }
    }
    printf("%s %s: n=%ld max abs %.3g (x=%g), max ulp %.2f (x=%g)\n", isa ? "avx2" : "avx512", names[fn], n, worstAbs, wa, worstUlp, wu);
  }
  // special values
  float sp[16] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f, -1e-30f, 100, -100, 9, -9, 3e-4f, 5e-4f, 88.7f, -87.5f, -104};
  for (int fn = 0; fn < 3; fn++) { float y[16]; run512(fn, sp, y); printf("%s512:", names[fn]); for (float v : y) printf(" %g", v); printf("\n"); run256(fn, sp, y); printf("%s256:", names[fn]); for (float v : y) printf(" %g", v); printf("\n"); }
}
#endif
