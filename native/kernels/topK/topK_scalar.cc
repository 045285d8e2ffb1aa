// topK threshold scan, portable.
#include "attnkit/topK.h"

namespace attnkit {
namespace {
int64_t scan_scalar(const float* s, int64_t n, float thr) {
  for (int64_t j = 0; j < n; j++)
    if (!(s[j] <= thr)) return j;
  return n;
}
}  // namespace
ATTNKIT_REGISTER(topK_scan_table, scalar, &scan_scalar);
}  // namespace attnkit
