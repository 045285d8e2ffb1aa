// gelu, scalar baseline (always registered). Algorithm: gelu_impl.h.
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
#include "gelu_impl.h"
void gelu_scalar(const GeluParams& p) { gelu_run(p); }
}  // namespace
ATTNKIT_REGISTER(gelu_table, scalar, &gelu_scalar);
}  // namespace attnkit
