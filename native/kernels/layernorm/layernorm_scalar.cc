// layernorm, scalar baseline (always registered). Algorithm: layernorm_impl.h.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/target.h"

namespace attnkit {
namespace {
#include "../vec/vec_scalar.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "layernorm_impl.h"
void layernorm_scalar(const LayerNormParams& p) { layernorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layernorm_table, scalar, &layernorm_scalar);
}  // namespace attnkit
