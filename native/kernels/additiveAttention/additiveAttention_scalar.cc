// additive score kernel, portable: tanh from libm (float), one key at a time.
#include <cmath>

#include "attnkit/additiveAttention.h"

namespace attnkit {
namespace {
void score_scalar(const float* q, const float* kT, int64_t ldk, const float* v, int64_t A, int64_t S, float* logits) {
  for (int64_t j = 0; j < S; j++) logits[j] = 0.0f;
  for (int64_t u = 0; u < A; u++) {
    const float qu = q ? q[u] : 0.0f, vu = v[u];
    const float* k = kT + u * ldk;
    for (int64_t j = 0; j < S; j++) logits[j] += vu * std::tanh(qu + k[j]);
  }
}
}  // namespace
ATTNKIT_REGISTER(additiveAttention_score_table, scalar, &score_scalar);
}  // namespace attnkit
