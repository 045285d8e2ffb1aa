// FMA peak, NEON: 16 independent 4-lane FMA chains. Compiles to nothing off arm64.
#include "attnkit/peak.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

namespace attnkit {
namespace {

double peak_neon(int64_t iters, float* sink) {
  float32x4_t a[16];
  for (int k = 0; k < 16; ++k) a[k] = vdupq_n_f32(1.0f + 0.01f * k);
  const float32x4_t m = vdupq_n_f32(0.99999f), c = vdupq_n_f32(1e-7f);
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 16; ++k) a[k] = vfmaq_f32(c, a[k], m);
  float32x4_t s = a[0];
  for (int k = 1; k < 16; ++k) s = vaddq_f32(s, a[k]);
  *sink = vaddvq_f32(s);
  return 2.0 * 4 * 16 * static_cast<double>(iters);
}

}  // namespace
ATTNKIT_REGISTER(peak_table, neon, &peak_neon);
}  // namespace attnkit
#endif
