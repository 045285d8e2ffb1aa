// silu binding: checks SiluArgs (src/kernels.ts) and runs the silu kernel table.
#include "attnkit/silu.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_silu(Args& a, TableJob<SiluParams, silu_table>& job) {
  job.p.n = static_cast<int64_t>(a.rows_cols());
  job.p.x = a.f32("x", job.p.n);
  job.p.out = a.into_output_f32("out", nullptr, job.p.n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(silu, fill_silu);
}  // namespace attnkit::bind
