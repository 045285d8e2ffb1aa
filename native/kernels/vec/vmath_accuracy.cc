// Accuracy of the vector math (vmath_generic.h) on every x86 ISA's vector traits against double
// libm: exp, tanh, sigmoid, gelu (erf form), silu, every 38th float of each range. Not part of the
// addon (compiles to nothing unless ATTNKIT_VMATH_ACCURACY_MAIN is defined); run it with
// `node bench/native-gemm.mjs vmath`, which builds it with the system C++ compiler.
#if defined(ATTNKIT_VMATH_ACCURACY_MAIN) && (defined(__x86_64__) || defined(_M_X64))
#include <immintrin.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>

#include "attnkit/isa_region.h"

// Each ISA's instance: f applied to 16 floats (function fn, see kNames).
#define ATTNKIT_VMATH_RUN                                                                  \
  void run(int fn, const float* x, float* y) {                                            \
    for (int i = 0; i < 16; i += V::W) {                                                  \
      const V::F v = V::load(x + i);                                                      \
      V::store(y + i, fn == 0 ? vexp(v) : fn == 1 ? vtanh(v) : fn == 2 ? vsigmoid(v)      \
                                                           : fn == 3 ? vgelu(v) : vsilu(v)); \
    }                                                                                     \
  }

ATTNKIT_TARGET_AVX512_BEGIN
namespace on_avx512 {
#include "vec_avx512.h"
#include "vmath_generic.h"
ATTNKIT_VMATH_RUN
}  // namespace on_avx512
ATTNKIT_TARGET_END

ATTNKIT_TARGET_AVX2_BEGIN
namespace on_avx2 {
#include "vec_avx2.h"
#include "vmath_generic.h"
ATTNKIT_VMATH_RUN
}  // namespace on_avx2
ATTNKIT_TARGET_END

namespace on_scalar {
#include "half_bits.h"
#include "vec_scalar.h"
#include "vmath_generic.h"
ATTNKIT_VMATH_RUN
}  // namespace on_scalar

static const char* kNames[] = {"exp", "tanh", "sigmoid", "gelu", "silu"};
static double want_of(int fn, double x) {
  switch (fn) {
    case 0: return std::exp(x);
    case 1: return std::tanh(x);
    case 2: return 1.0 / (1.0 + std::exp(-x));
    case 3: return 0.5 * x * std::erfc(-x / std::sqrt(2.0));
    default: return x / (1.0 + std::exp(-x));
  }
}

int main() {
  void (*runs[3])(int, const float*, float*) = {on_avx512::run, on_avx2::run, on_scalar::run};
  const char* isas[3] = {"avx512", "avx2", "scalar"};
  for (int isa = 0; isa < 3; isa++)
    for (int fn = 0; fn < 5; fn++) {
      // vexp's contract is x <= 0 (every caller passes -|x| or x - max); the others take any x.
      const float lo = fn == 0 ? -87.0f : -20.0f, hi = fn == 0 ? 0.0f : 20.0f;
      double worstAbs = 0, worstUlp = 0, wa = 0, wu = 0;
      float x[16], y[16];
      long n = 0;
      for (float s = lo; s < hi;) {
        for (int i = 0; i < 16; i++) {
          x[i] = s;
          for (int r = 0; r < 38; r++) s = std::nextafter(s, hi);
        }
        runs[isa](fn, x, y);
        for (int i = 0; i < 16; i++) {
          const double want = want_of(fn, x[i]), e = std::fabs(y[i] - want);
          const double ulp = e / (std::nextafter((float)std::fabs(want), INFINITY) - (float)std::fabs(want));
          if (e > worstAbs) worstAbs = e, wa = x[i];
          if (ulp > worstUlp && std::fabs(want) > 1e-30) worstUlp = ulp, wu = x[i];
          n++;
        }
      }
      std::printf("%-6s %-7s n=%ld on [%g, %g]: max abs %.3g (x=%g), max ulp %.2f (x=%g)\n", isas[isa], kNames[fn], n, lo, hi,
                  worstAbs, wa, worstUlp, wu);
    }
  float sp[16] = {NAN, INFINITY, -INFINITY, 0.0f, -0.0f, 1e-30f, -1e-30f, 100, -100, 9, -9, 3e-4f, 5e-4f, 88.7f, -87.5f, -104};
  for (int fn = 1; fn < 5; fn++) {
    float y[16];
    on_avx512::run(fn, sp, y);
    std::printf("%s at NaN, +-Inf, +-0, +-1e-30, +-100, +-9, 3e-4, 5e-4, 88.7, -87.5, -104:", kNames[fn]);
    for (float v : y) std::printf(" %g", v);
    std::printf("\n");
  }
}
#endif
