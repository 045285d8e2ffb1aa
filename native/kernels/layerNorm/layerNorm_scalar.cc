// layerNorm, scalar baseline (always registered). Algorithm: layerNorm_impl.h.
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
#include "layerNorm_impl.h"
void layerNorm_scalar(const LayerNormParams& p) { layerNorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layerNorm_table, scalar, &layerNorm_scalar);
}  // namespace attnkit
