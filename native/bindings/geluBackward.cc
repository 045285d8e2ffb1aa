// geluBackward binding: checks GeluBackwardArgs (src/kernels.ts) and runs the geluBackward kernel table.
#include "attnkit/geluBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_geluBackward(Args& a, TableJob<GeluBackwardParams, geluBackward_table>& job) {
  GeluBackwardParams& p = job.p;
  p.n = static_cast<int64_t>(a.rows_cols());
  p.dy = a.f32("dy", p.n);
  p.x = a.f32("x", p.n);
  p.tanh_approx = a.choice("approximate", {"none", "tanh"}) == 1;
  p.out = a.into_output_f32("out", nullptr, p.n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(geluBackward, fill_geluBackward);
}  // namespace attnkit::bind
