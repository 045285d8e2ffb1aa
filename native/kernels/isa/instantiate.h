// One ISA's instance of the generic kernel families: include from native/kernels/isa/<isa>.cc,
// inside that ISA's region (if any), after defining ATTNKIT_VEC_HEADER as the ISA's vector traits
// (native/kernels/vec/vec_<isa>.h, which also holds the ISA's sdpa tiling and FMA peak chains).
// No include guard: each <isa>.cc includes it once, for its own ISA.
namespace attnkit {
namespace {
#include "../vec/half_bits.h"
#include ATTNKIT_VEC_HEADER
#include "../vec/vmath_generic.h"
#include "generic_kernels.h"
}  // namespace
}  // namespace attnkit
