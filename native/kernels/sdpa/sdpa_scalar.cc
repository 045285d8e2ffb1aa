// sdpa, scalar (portable baseline, always registered). Same algorithm as every ISA (sdpa_impl.h).
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <new>

#include "attnkit/parallel.h"
#include "attnkit/sdpa.h"

namespace attnkit {
namespace {
#include "../vec/vec_scalar.h"
#include "../vec/vmath_generic.h"
struct Cfg {
  static constexpr int RV = 8, BC = 64, NJ = 4, MR = 4, NVMAX = 4, NVR = 8;
};
#include "sdpa_impl.h"

void sdpa_scalar(const SdpaParams& p) {
  if (!sdpa_run(p)) throw std::bad_alloc();
}
}  // namespace
ATTNKIT_REGISTER(sdpa_table, scalar, &sdpa_scalar);
}  // namespace attnkit
