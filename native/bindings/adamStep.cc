// adamStep binding: checks AdamStepArgs (src/kernels.ts) and runs the driver. `inPlace: true`
// writes param, m and v themselves (Args::in_out_f32: sync on the caller's memory; async on
// private copies written back into the caller's arrays when the kernel is done); `inPlace:
// false` leaves them unchanged and returns new arrays. Either way the result is
// { param, m, v }.
#include <cstdint>

#include "attnkit/adamStep.h"
#include "common.h"

namespace attnkit::bind {
namespace {

using AdamStepJob = ForwardJob<AdamStepParams, adamStep_forward>;

void fill_adamStep(Args& a, AdamStepJob& job) {
  AdamStepParams& p = job.p;
  const int64_t rows = a.integer("rows", 0, INT32_MAX), cols = a.integer("cols", 0, INT32_MAX);
  const uint64_t n = a.product("adamStep param", {static_cast<uint64_t>(rows), static_cast<uint64_t>(cols)});
  if (n > static_cast<uint64_t>(INT32_MAX)) a.range_error("rows", "rows x cols = " + std::to_string(n) + " parameters, over 2^31-1");
  p.n = static_cast<int64_t>(n);
  p.step = a.integer("step", 1, static_cast<int64_t>(kMaxElements));
  auto ranged = [&](const char* name, double lo, double hi, bool hi_open) {
    const double x = a.number(name, true);
    if (!(x >= lo && (hi_open ? x < hi : x <= hi))) {
      a.range_error(name, "expected a number in [" + std::to_string(lo) + ", " + std::to_string(hi) + (hi_open ? ")" : "]") + ", received " + std::to_string(x));
    }
    return x;
  };
  p.lr = ranged("lr", 0, 1e300, false);
  p.beta1 = ranged("beta1", 0, 1, true);
  p.beta2 = ranged("beta2", 0, 1, true);
  p.eps = ranged("eps", 0, 1e300, false);
  p.weight_decay = ranged("weightDecay", 0, 1e300, false);
  p.maximize = a.boolean("maximize");
  const bool in_place = a.boolean("inPlace");
  p.grad = a.f32("grad", n);
  if (in_place) {
    p.param_out = a.in_out_f32("param", "param", n);
    p.m_out = a.in_out_f32("m", "m", n);
    p.v_out = a.in_out_f32("v", "v", n);
    p.param = p.param_out;
    p.m = p.m_out;
    p.v = p.v_out;
  } else {
    p.param = a.f32("param", n);
    p.m = a.f32("m", n);
    p.v = a.f32("v", n);
  }
  // grad, param, m, v: each is read while the others are written (in place), so none may overlap.
  const auto& in = job.inputs;
  for (size_t i = 1; i < in.size(); ++i) {
    for (size_t j = 0; j < i; ++j) {
      if (in[i].begin < in[j].end && in[j].begin < in[i].end) a.range_error(in[i].name.c_str(), "shares memory with " + in[j].name + " (each is read while the others are written)");
    }
  }
  if (!in_place) {
    p.param_out = a.output_f32("param", n);
    p.m_out = a.output_f32("m", n);
    p.v_out = a.output_f32("v", n);
  }
}

}  // namespace
ATTNKIT_OP(adamStep, fill_adamStep);
}  // namespace attnkit::bind
