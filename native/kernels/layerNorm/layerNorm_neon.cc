// layerNorm, NEON (arm64 only; compiles to nothing elsewhere). Algorithm: layerNorm_impl.h.
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
#include "layerNorm_impl.h"
void layerNorm_neon(const LayerNormParams& p) { layerNorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layerNorm_table, neon, &layerNorm_neon);
}  // namespace attnkit
#endif
