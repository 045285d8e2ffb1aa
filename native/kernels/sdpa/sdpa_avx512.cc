// sdpa, AVX-512: 16 lanes, 64-row query blocks (4 zmm) x 6 keys in the QK microkernel
// (24 accumulators, K broadcast straight from memory), 6 rows x up to 4 zmm in the PV
// microkernel (24 accumulators; the 64-row block ends with a 4-row chunk).
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

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx512.h"
#include "../vec/vmath_generic.h"
struct Cfg {
  static constexpr int RV = 4, BC = 96, NJ = 6, MR = 6, NVMAX = 4, NVR = 8;
};
#include "sdpa_impl.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

namespace attnkit {
namespace {
void sdpa_avx512(const SdpaParams& p) {
  if (!sdpa_run(p)) throw std::bad_alloc();
}
}  // namespace
ATTNKIT_REGISTER(sdpa_table, avx512, &sdpa_avx512);
}  // namespace attnkit
#endif
