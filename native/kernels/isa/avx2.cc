// The generic kernel families (generic_kernels.h) compiled for AVX2 + FMA.
#include "includes.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX2_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx2.h"
#include "../vec/vmath_generic.h"
// sdpa tiling (names as in scalar.cc): 8 lanes, 32-row query blocks (4 vectors) x 3 keys in the
// Q·Kᵀ microkernel, 4 rows x 3 vectors in the P·V microkernel: 12 accumulators + operands fit the
// 16 ymm registers.
struct SdpaTiles {
  static constexpr int RV = 4, BC = 64, NJ = 3, MR = 4, NVMAX = 3, NVR = 8;
};
// FMA peak: 12 chains: FMA latency 4 x 2 ports, plus slack.
constexpr int PeakChains = 12;
#include "generic_kernels.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

ATTNKIT_GENERIC_ENTRY_POINTS(avx2)
#endif
