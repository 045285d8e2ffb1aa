// linearBackward(args: LinearBackwardArgs) -> { dx, dW, db }. Every field checked (common.h);
// float32 only (training is float32, docs/TRAINING.md). Any size may be 0.
#include "attnkit/linearBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_linearBackward(Args& a, ForwardJob<LinearBackwardParams, linear_backward>& job) {
  LinearBackwardParams& p = job.p;
  a.sizes(0, (int64_t)kMaxElements, {{"rows", &p.rows}, {"inDim", &p.inDim}, {"outDim", &p.outDim}});
  const uint64_t rows = p.rows, in = p.inDim, outDim = p.outDim;
  p.dy = a.f32("dy", a.product("dy", {rows, outDim}));
  p.x = a.f32("x", a.product("x", {rows, in}));
  p.w = a.f32("w", a.product("w", {in, outDim}));
  p.dx = a.output_f32("dx", a.product("dx", {rows, in}));
  p.dW = a.output_f32("dW", a.product("dW", {in, outDim}));
  p.db = a.output_f32("db", outDim);
}

}  // namespace
ATTNKIT_OP(linearBackward, fill_linearBackward);
}  // namespace attnkit::bind
