// softmax, scalar baseline (always registered). Algorithm: softmax_impl.h.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/isa_region.h"

namespace attnkit {
namespace {
#include "../vec/vec_scalar.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "softmax_impl.h"
void softmax_scalar(const SoftmaxParams& p) { softmax_run(p); }
}  // namespace
ATTNKIT_REGISTER(softmax_table, scalar, &softmax_scalar);
}  // namespace attnkit
