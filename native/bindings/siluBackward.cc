// siluBackward binding: checks SiluBackwardArgs (src/kernels.ts) and runs the siluBackward kernel table.
#include "attnkit/siluBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_siluBackward(Args& a, TableJob<SiluBackwardParams, siluBackward_table>& job) {
  SiluBackwardParams& p = job.p;
  p.n = static_cast<int64_t>(a.rows_cols());
  p.dy = a.f32("dy", p.n);
  p.x = a.f32("x", p.n);
  p.out = a.into_output_f32("out", nullptr, p.n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(siluBackward, fill_siluBackward);
}  // namespace attnkit::bind
