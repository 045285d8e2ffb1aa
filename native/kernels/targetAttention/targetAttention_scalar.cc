// DIN activation pass, portable.
#include <cmath>

#include "attnkit/targetAttention.h"

namespace attnkit {
namespace {
void act_scalar(float* x, int64_t rows, int64_t cols, int64_t ld, int kind, const float* alpha) {
  for (int64_t r = 0; r < rows; r++) {
    float* v = x + r * ld;
    for (int64_t c = 0; c < cols; c++) {
      const float z = v[c];
      if (kind == (int)DinAct::Relu) v[c] = z > 0.0f ? z : (z < 0.0f ? 0.0f : z);  // keeps NaN
      else if (kind == (int)DinAct::Sigmoid) v[c] = 1.0f / (1.0f + std::exp(-z));
      else v[c] = z >= 0.0f ? z : alpha[c] * z;  // NaN: alpha * NaN = NaN
    }
  }
}
}  // namespace
ATTNKIT_REGISTER(targetAttention_act_table, scalar, &act_scalar);
}  // namespace attnkit
