// sdpa, NEON (arm64): 4 lanes, 16-row query blocks x 6 keys, 8 rows x 2 vectors in P·V.
// Compiles to nothing off arm64.
#include "attnkit/isa_region.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "attnkit/parallel.h"
#include "attnkit/sdpa.h"

namespace attnkit {
namespace {
#include "../vec/vec_neon.h"
#include "../vec/vmath_generic.h"
struct Cfg {
  static constexpr int RV = 4, BC = 64, NJ = 6, MR = 8, NVMAX = 2, NVR = 8;
};
#include "sdpa_impl.h"

void sdpa_neon(const SdpaParams& p) {
  if (!sdpa_run(p)) throw std::bad_alloc();
}
}  // namespace
ATTNKIT_REGISTER(sdpa_table, neon, &sdpa_neon);
}  // namespace attnkit
#endif
