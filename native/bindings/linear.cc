// linear(args: LinearArgs) -> Float32Array [rows, outDim]. Every field checked (common.h).
#include <memory>

#include "attnkit/linear.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct LinearJob final : Job {
  LinearParams p{};
  size_t out = 0;  // index of the output in `keep`
  void run() override { variant = isa_name(linear_forward(p)); }
  Napi::Value result(Napi::Env) override { return keep[out].Value(); }
};

std::unique_ptr<Job> parse_linear(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<LinearJob>();
  Args a(info, *job, "linear");
  const int64_t rows = a.integer("rows", 0, (int64_t)kMaxElements);
  const int64_t in = a.integer("inDim", 0, (int64_t)kMaxElements);
  const int64_t outDim = a.integer("outDim", 0, (int64_t)kMaxElements);
  LinearParams& p = job->p;
  p.rows = rows;
  p.inDim = in;
  p.outDim = outDim;
  p.x = a.f32("x", checked_product(a.env(), "x", {(uint64_t)rows, (uint64_t)in}));
  p.w = a.f32("w", checked_product(a.env(), "w", {(uint64_t)in, (uint64_t)outDim}));
  p.b = a.f32_opt("b", (uint64_t)outDim);
  Napi::Float32Array y;
  p.y = a.out_f32(checked_product(a.env(), "output", {(uint64_t)rows, (uint64_t)outDim}), &y);
  job->out = job->keep.size() - 1;
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(linear, parse_linear);
}  // namespace bind
}  // namespace attnkit
