// softmaxBackward binding: checks SoftmaxBackwardArgs (src/kernels.ts) and runs the
// softmaxBackward kernel table.
#include "attnkit/softmaxBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_softmaxBackward(Args& a, TableJob<SoftmaxBackwardParams, softmaxBackward_table>& job) {
  SoftmaxBackwardParams& p = job.p;
  const uint64_t n = a.rows_cols(&p.rows, &p.cols);
  p.dy = a.f32("dy", n);
  p.y = a.f32("y", n);
  p.dx = a.into_output_f32("out", nullptr, n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(softmaxBackward, fill_softmaxBackward);
}  // namespace attnkit::bind
