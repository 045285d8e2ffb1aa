// topK threshold scan, NEON (arm64 only): 4 compares per instruction; vcleq gives s <= thr
// (false for NaN), and a lane that is not all-ones needs the exact comparison.
#include "attnkit/isa_region.h"
#include "attnkit/topK.h"

#if ATTNKIT_ARM64
#include <arm_neon.h>

namespace attnkit {
namespace {
int64_t scan_neon(const float* s, int64_t n, float thr) {
  const float32x4_t t = vdupq_n_f32(thr);
  int64_t j = 0;
  for (; j + 4 <= n; j += 4) {
    const uint32x4_t le = vcleq_f32(vld1q_f32(s + j), t);
    if (vminvq_u32(le) == 0) break;  // some lane may enter: locate it below
  }
  for (; j < n; j++)
    if (!(s[j] <= thr)) return j;
  return n;
}
}  // namespace
ATTNKIT_REGISTER(topK_scan_table, neon, &scan_neon);
}  // namespace attnkit
#endif
