// The generic kernel families (generic_kernels.h) on the portable scalar baseline (always registered).
#include "includes.h"

namespace attnkit {
namespace {
#include "../vec/vec_scalar.h"
#include "../vec/vmath_generic.h"
// sdpa tiling: RV row vectors per query block (BR = W·RV rows), BC keys per key tile, NJ keys per
// Q·Kᵀ microkernel step, MR rows x up to NVMAX output vectors in the P·V microkernel, NVR output
// vectors kept in registers by the row path. Scalar (W = 1): 8-row blocks, 4x4 microkernels.
struct SdpaTiles {
  static constexpr int RV = 8, BC = 64, NJ = 4, MR = 4, NVMAX = 4, NVR = 8;
};
// FMA peak: 8 multiply-add chains (no FMA instruction assumed).
constexpr int PeakChains = 8;
#include "generic_kernels.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_GENERIC_ENTRY_POINTS(scalar)
