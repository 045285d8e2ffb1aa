// hstuAttentionBackward binding: checks HstuAttentionBackwardArgs (src/kernels.ts) and runs
// attnkit::hstu_attention_backward.
#include <napi.h>

#include "attnkit/hstuAttentionBackward.h"
#include "common.h"
#include "hstuArgs.h"

namespace attnkit::bind {
namespace {

void fill_hstuAttentionBackward(Args& a, ForwardJob<HstuAttentionBackwardParams, hstu_attention_backward>& job) {
  HstuAttentionBackwardParams& bp = job.p;
  uint64_t vN = 0;
  const uint64_t qN = hstu_args(a, bp.fwd, "hstuAttentionBackward", &vN);
  bp.dout = a.f32("dOut", vN);
  bp.dq = a.output_f32("dq", qN);
  bp.dk = a.output_f32("dk", qN);
  bp.dv = a.output_f32("dv", vN);
  const uint64_t H = static_cast<uint64_t>(bp.fwd.H);
  if (bp.fwd.pos_bias) bp.dpos_bias = a.output_f32("dPositionBias", (2 * static_cast<uint64_t>(bp.fwd.max_length) - 1) * (bp.fwd.pos_per_head ? H : 1));
  if (bp.fwd.time_bias) bp.dtime_bias = a.output_f32("dTimeBias", (static_cast<uint64_t>(bp.fwd.num_buckets) + 1) * (bp.fwd.time_per_head ? H : 1));
}

}  // namespace
ATTNKIT_OP(hstuAttentionBackward, fill_hstuAttentionBackward);
}  // namespace attnkit::bind
