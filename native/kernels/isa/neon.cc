// The generic kernel families (generic_kernels.h) on arm64 NEON (baseline there: no region).
// Compiles to nothing off arm64.
#include "includes.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

namespace attnkit {
namespace {
#include "../vec/vec_neon.h"
#include "../vec/vmath_generic.h"
// sdpa tiling (names as in scalar.cc): 4 lanes, 16-row query blocks x 6 keys in Q·Kᵀ, 8 rows x 2
// vectors in P·V (32 NEON registers).
struct SdpaTiles {
  static constexpr int RV = 4, BC = 64, NJ = 6, MR = 8, NVMAX = 2, NVR = 8;
};
// FMA peak: 16 chains of 4 lanes.
constexpr int PeakChains = 16;
#include "generic_kernels.h"
}  // namespace
}  // namespace attnkit

ATTNKIT_GENERIC_ENTRY_POINTS(neon)
#endif
