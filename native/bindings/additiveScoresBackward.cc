// additiveScoresBackward(args: AdditiveScoresBackwardArgs) -> { dValues [B,S,Dv], dqa? [B,L,A],
// dka [B,S,A], dv [A] } (Float32Arrays; dqa only when qa is given). float32 operands only.
#include "attnkit/additiveScoresBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_additiveScoresBackward(Args& a, ForwardJob<AdditiveScoresBackwardParams, additiveScores_backward>& job) {
  AdditiveScoresBackwardParams& p = job.p;
  a.dtypes_only({});
  a.sizes(1, {{"B", &p.B}, {"L", &p.L}, {"S", &p.S}, {"Dv", &p.Dv}, {"A", &p.A}});
  const uint64_t B = p.B, L = p.L, S = p.S, Dv = p.Dv, A = p.A;
  p.dOut = a.f32("dOut", a.product("dOut", {B, L, Dv}));
  p.values = a.f32("values", a.product("values", {B, S, Dv}));
  p.weights = a.f32("weights", a.product("weights", {B, L, S}));
  p.qa = a.f32_opt("qa", a.product("qa", {B, L, A}));
  p.ka = a.f32("ka", a.product("ka", {B, S, A}));
  p.v = a.f32("v", A);
  // The partial sums of more than one row block per batch: [blocks·B, S, A + Dv] floats.
  a.product("partial sums", {B, (L + 31) / 32, S, A + Dv});
  p.dValues = a.output_f32("dValues", a.product("dValues", {B, S, Dv}));
  p.dqa = p.qa ? a.output_f32("dqa", a.product("dqa", {B, L, A})) : nullptr;
  p.dka = a.output_f32("dka", a.product("dka", {B, S, A}));
  p.dv = a.output_f32("dv", A);
}

}  // namespace
ATTNKIT_OP(additiveScoresBackward, fill_additiveScoresBackward);
}  // namespace attnkit::bind
