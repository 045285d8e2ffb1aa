// layerNorm binding: checks LayerNormArgs (src/kernels.ts) and runs the layerNorm kernel table.
#include <napi.h>

#include "attnkit/layerNorm.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

using LayerNormJob = TableJob<LayerNormParams, layerNorm_table>;

std::unique_ptr<Job> parse_layerNorm(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<LayerNormJob>();
  Args a(info, *job, "layerNorm");
  LayerNormParams& p = job->p;
  p.rows = a.integer("rows", 1, 0x7fffffff);
  p.cols = a.integer("cols", 1, 0x7fffffff);
  const uint64_t n = checked_product(a.env(), "layerNorm x", {static_cast<uint64_t>(p.rows), static_cast<uint64_t>(p.cols)});
  p.x = a.f32("x", n);
  p.gamma = a.f32_opt("gamma", static_cast<uint64_t>(p.cols));
  p.beta = a.f32_opt("beta", static_cast<uint64_t>(p.cols));
  const double eps = a.number("eps", true);
  if (eps < 0) a.range_error("eps", "must be >= 0");
  p.eps = static_cast<float>(eps);
  p.out = a.into_f32("out", n);  // the caller's buffer, or a new one
  job->out = job->keep.size() - 1;
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(layerNorm, parse_layerNorm);
}  // namespace bind
}  // namespace attnkit
