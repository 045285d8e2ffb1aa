// softmax, avx512. Algorithm: softmax_impl.h.
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
#include "softmax_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void softmax_avx512(const SoftmaxParams& p) { softmax_run(p); }
}  // namespace
ATTNKIT_REGISTER(softmax_table, avx512, &softmax_avx512);
}  // namespace attnkit
#endif
