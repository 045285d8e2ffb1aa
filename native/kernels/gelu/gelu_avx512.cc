// gelu, avx512. Algorithm: gelu_impl.h.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx512.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "gelu_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void gelu_avx512(const GeluParams& p) { gelu_run(p); }
}  // namespace
ATTNKIT_REGISTER(gelu_table, avx512, &gelu_avx512);
}  // namespace attnkit
#endif
