// FMA peak, scalar: 8 independent multiply-add chains (no FMA instruction assumed).
#include "attnkit/peak.h"

namespace attnkit {
namespace {

double peak_scalar(int64_t iters, float* sink) {
  float a[8] = {1, 1.1f, 1.2f, 1.3f, 1.4f, 1.5f, 1.6f, 1.7f};
  const float m = 0.99999f, c = 1e-7f;
  for (int64_t i = 0; i < iters; ++i)
    for (int k = 0; k < 8; ++k) a[k] = a[k] * m + c;
  float s = 0;
  for (int k = 0; k < 8; ++k) s += a[k];
  *sink = s;
  return 2.0 * 8 * static_cast<double>(iters);
}

}  // namespace
ATTNKIT_REGISTER(peak_table, scalar, &peak_scalar);
}  // namespace attnkit
