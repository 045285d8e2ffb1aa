// gelu binding: checks GeluArgs (src/kernels.ts) and runs the gelu kernel table.
#include <napi.h>

#include "attnkit/gelu.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

using GeluJob = TableJob<GeluParams, gelu_table>;

std::unique_ptr<Job> parse_gelu(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<GeluJob>();
  Args a(info, *job, "gelu");
  GeluParams& p = job->p;
  const int64_t rows = a.integer("rows", 1, 0x7fffffff);
  const int64_t cols = a.integer("cols", 1, 0x7fffffff);
  const uint64_t n = checked_product(a.env(), "gelu x", {static_cast<uint64_t>(rows), static_cast<uint64_t>(cols)});
  p.n = static_cast<int64_t>(n);
  p.x = a.f32("x", n);
  p.tanh_approx = a.choice("approximate", {"none", "tanh"}) == 1;
  p.out = a.into_f32("out", n);  // the caller's buffer, or a new one
  job->out = job->keep.size() - 1;
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(gelu, parse_gelu);
}  // namespace bind
}  // namespace attnkit
