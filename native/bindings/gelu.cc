// gelu binding: checks GeluArgs (src/kernels.ts) and runs the gelu kernel table.
#include "attnkit/gelu.h"
#include "common.h"

namespace attnkit::bind {
namespace {

using GeluJob = TableJob<GeluParams, gelu_table>;

void fill_gelu(Args& a, GeluJob& job) {
  GeluParams& p = job.p;
  p.n = static_cast<int64_t>(a.rows_cols());
  p.x = a.f32("x", p.n);
  p.tanh_approx = a.choice("approximate", {"none", "tanh"}) == 1;
  p.out = a.into_output_f32("out", nullptr, p.n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(gelu, fill_gelu);
}  // namespace attnkit::bind
