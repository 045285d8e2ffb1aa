// layerNorm, avx512. Algorithm: layerNorm_impl.h.
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
#include "layerNorm_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void layerNorm_avx512(const LayerNormParams& p) { layerNorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layerNorm_table, avx512, &layerNorm_avx512);
}  // namespace attnkit
#endif
