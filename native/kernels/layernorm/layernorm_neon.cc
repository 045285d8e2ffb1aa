// layernorm, NEON (arm64 only; compiles to nothing elsewhere). Algorithm: layernorm_impl.h.
#include "attnkit/target.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/target.h"

namespace attnkit {
namespace {
#include "../vec/vec_neon.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "layernorm_impl.h"
void layernorm_neon(const LayerNormParams& p) { layernorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layernorm_table, neon, &layernorm_neon);
}  // namespace attnkit
#endif
