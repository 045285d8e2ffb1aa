// The generic kernel families (generic_kernels.h) compiled for AVX-512 (F + BW + DQ + VL).
#include "includes.h"

#if ATTNKIT_X86_64
#include <immintrin.h>

ATTNKIT_TARGET_AVX512_BEGIN
namespace attnkit {
namespace {
#include "../vec/vec_avx512.h"
#include "../vec/vmath_generic.h"
// sdpa tiling (names as in scalar.cc): 16 lanes, 64-row query blocks (4 zmm) x 6 keys in the
// Q·Kᵀ microkernel (24 accumulators, K broadcast straight from memory), 6 rows x up to 4 zmm in
// the P·V microkernel (24 accumulators; the 64-row block ends with a 4-row chunk); 96-key tiles
// keep a block's logits (64 x 96 floats, 24 KiB) in L1.
struct SdpaTiles {
  static constexpr int RV = 4, BC = 96, NJ = 6, MR = 6, NVMAX = 4, NVR = 8;
};
// FMA peak: 16 chains of 16 lanes.
constexpr int PeakChains = 16;
#include "generic_kernels.h"
}  // namespace
}  // namespace attnkit
ATTNKIT_TARGET_END

ATTNKIT_GENERIC_ENTRY_POINTS(avx512)
#endif
