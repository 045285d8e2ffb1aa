// gelu, NEON (arm64 only; compiles to nothing elsewhere). Algorithm: gelu_impl.h.
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
#include "gelu_impl.h"
void gelu_neon(const GeluParams& p) { gelu_run(p); }
}  // namespace
ATTNKIT_REGISTER(gelu_table, neon, &gelu_neon);
}  // namespace attnkit
#endif
