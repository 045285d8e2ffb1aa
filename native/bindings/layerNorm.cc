// layerNorm binding: checks LayerNormArgs (src/kernels.ts) and runs the layerNorm kernel table.
// Returns the output array, or { output, mean, invStd } when returnStats is true.
#include "attnkit/layerNorm.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_layerNorm(Args& a, TableJob<LayerNormParams, layerNorm_table>& job) {
  LayerNormParams& p = job.p;
  const uint64_t n = a.rows_cols(&p.rows, &p.cols);
  p.x = a.f32("x", n);
  p.gamma = a.f32_opt("gamma", static_cast<uint64_t>(p.cols));
  p.beta = a.f32_opt("beta", static_cast<uint64_t>(p.cols));
  const double eps = a.number("eps", true);
  if (eps < 0) a.range_error("eps", "must be >= 0");
  p.eps = static_cast<float>(eps);
  const bool stats = a.boolean("returnStats");
  p.out = a.into_output_f32("out", stats ? "output" : nullptr, n);  // the caller's buffer, or a new one
  if (stats) {
    p.mean = a.output_f32("mean", static_cast<uint64_t>(p.rows));
    p.invStd = a.output_f32("invStd", static_cast<uint64_t>(p.rows));
  }
}

}  // namespace
ATTNKIT_OP(layerNorm, fill_layerNorm);
}  // namespace attnkit::bind
