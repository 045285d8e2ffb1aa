// softmax, NEON (arm64 only; compiles to nothing elsewhere). Algorithm: softmax_impl.h.
#include "attnkit/isa_region.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/isa_region.h"

namespace attnkit {
namespace {
#include "../vec/vec_neon.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "softmax_impl.h"
void softmax_neon(const SoftmaxParams& p) { softmax_run(p); }
}  // namespace
ATTNKIT_REGISTER(softmax_table, neon, &softmax_neon);
}  // namespace attnkit
#endif
