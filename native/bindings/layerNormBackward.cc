// layerNormBackward binding: checks LayerNormBackwardArgs (src/kernels.ts), runs the
// layerNormBackward kernel table and returns { dx, dGamma, dBeta }. rows or cols may be 0.
#include "attnkit/layerNormBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_layerNormBackward(Args& a, TableJob<LayerNormBackwardParams, layerNormBackward_table>& job) {
  LayerNormBackwardParams& p = job.p;
  a.sizes(0, 2147483647, {{"rows", &p.rows}, {"cols", &p.cols}});
  const uint64_t rows = p.rows, cols = p.cols;
  const uint64_t n = a.product("x", {rows, cols});
  p.dy = a.f32("dy", n);
  p.x = a.f32("x", n);
  p.gamma = a.f32_opt("gamma", cols);
  p.mean = a.f32("mean", rows);
  p.invStd = a.f32("invStd", rows);
  p.dx = a.output_f32("dx", n);
  p.dGamma = a.output_f32("dGamma", cols);
  p.dBeta = a.output_f32("dBeta", cols);
}

}  // namespace
ATTNKIT_OP(layerNormBackward, fill_layerNormBackward);
}  // namespace attnkit::bind
