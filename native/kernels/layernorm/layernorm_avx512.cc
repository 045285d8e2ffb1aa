// layernorm, avx512. Algorithm: layernorm_impl.h.
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>

#include "attnkit/elementwise.h"
#include "attnkit/parallel.h"
#include "attnkit/target.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx512.h"
#include "../vec/vmath_generic.h"
constexpr int W = V::W;
#include "layernorm_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void layernorm_avx512(const LayerNormParams& p) { layernorm_run(p); }
}  // namespace
ATTNKIT_REGISTER(layernorm_table, avx512, &layernorm_avx512);
}  // namespace attnkit
#endif
