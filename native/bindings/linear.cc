// linear(args: LinearArgs) -> Float32Array [rows, outDim]. Every field checked (common.h); x, w
// and b may be half (their `dtypes`: a Uint16Array of bit patterns, else a Float32Array).
#include "attnkit/linear.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_linear(Args& a, ForwardJob<LinearParams, linear_forward>& job) {
  LinearParams& p = job.p;
  a.dtypes_only({"x", "w", "b"});
  a.sizes(0, (int64_t)kMaxElements, {{"rows", &p.rows}, {"inDim", &p.inDim}, {"outDim", &p.outDim}});
  const uint64_t rows = p.rows, in = p.inDim, outDim = p.outDim;
  p.x = a.floats("x", a.product("x", {rows, in}));
  p.w = a.floats("w", a.product("w", {in, outDim}));
  p.b = a.floats_opt("b", outDim);
  p.y = a.output_f32(nullptr, a.product("output", {rows, outDim}));
}

}  // namespace
ATTNKIT_OP(linear, fill_linear);
}  // namespace attnkit::bind
