// additiveAttention(args: AdditiveArgs) -> { output: Float32Array [B,L,Dv], weights?: [B,L,S] }.
// query, keys, values, wq, wk, b and v may be half: a Uint16Array of bit patterns when the args'
// `dtypes` names it, else a Float32Array.
#include <memory>

#include "attnkit/additiveAttention.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_additiveAttention(Args& a, ForwardJob<AdditiveAttentionParams, additiveAttention_forward>& job) {
  AdditiveAttentionParams& p = job.p;
  a.dtypes_only({"query", "keys", "values", "wq", "wk", "b", "v"});
  a.sizes(0, {{"B", &p.B}, {"L", &p.L}, {"S", &p.S}, {"Dq", &p.Dq}, {"Dk", &p.Dk}, {"Dv", &p.Dv}, {"A", &p.A}});
  const uint64_t B = p.B, L = p.L, S = p.S, Dq = p.Dq, Dk = p.Dk, Dv = p.Dv, A = p.A;
  p.query = a.floats_opt("query", a.product("query", {B, L, Dq}));
  if (p.query) {
    p.wq = a.floats("wq", a.product("wq", {Dq, A}));
  } else if (!a.absent("wq")) {
    a.type_error("wq", "must be null when query is null (attention pooling)");
  }
  p.keys = a.floats("keys", a.product("keys", {B, S, Dk}));
  p.values = a.floats("values", a.product("values", {B, S, Dv}));
  p.wk = a.floats("wk", a.product("wk", {Dk, A}));
  p.b = a.floats("b", A);
  p.v = a.floats("v", A);
  a.product("weights", {B, L, S});
  a.product("projected keys", {B, S, A});
  StridedView<uint8_t> m = a.strided_u8("mask", {p.B, p.L, p.S});
  p.mask = m.data;
  for (int i = 0; i < 3; i++) p.maskStrides[i] = m.data ? m.strides[(size_t)i] : 0;
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  const bool weights = a.boolean("returnWeights");
  p.output = a.output_f32("output", a.product("output", {B, L, Dv}));
  if (weights) p.weights = a.output_f32("weights", a.product("weights", {B, L, S}));
}

}  // namespace
ATTNKIT_OP(additiveAttention, fill_additiveAttention);
}  // namespace attnkit::bind
