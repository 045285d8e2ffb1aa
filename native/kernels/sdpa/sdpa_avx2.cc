// sdpa, AVX2 + FMA: 8 lanes, 32-row query blocks (4 vectors) x 3 keys in the QK microkernel,
// 4 rows x 3 vectors in the PV microkernel (16 ymm registers).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "attnkit/parallel.h"
#include "attnkit/sdpa.h"
#include "attnkit/isa_region.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX2_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx2.h"
#include "../vec/vmath_generic.h"
struct Cfg {
  static constexpr int RV = 4, BC = 64, NJ = 3, MR = 4, NVMAX = 3, NVR = 8;
};
#include "sdpa_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void sdpa_avx2(const SdpaParams& p) {
  if (!sdpa_run(p)) throw std::bad_alloc();
}
}  // namespace
ATTNKIT_REGISTER(sdpa_table, avx2, &sdpa_avx2);
}  // namespace attnkit
#endif
