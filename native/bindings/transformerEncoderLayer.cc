// transformerEncoderLayer(args: EncoderArgs) -> Float32Array [B,L,E]. x and every parameter may be
// half: a Uint16Array of bit patterns when the args' `dtypes` names it, else a Float32Array.
#include <memory>
#include <string>

#include "attnkit/transformerEncoderLayer.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_transformerEncoderLayer(Args& a, ForwardJob<TransformerEncoderLayerParams, transformerEncoderLayer_forward>& job) {
  TransformerEncoderLayerParams& p = job.p;
  a.dtypes_only({"x", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo", "gamma1", "beta1", "w1", "b1", "w2", "b2", "gamma2", "beta2"});
  a.sizes(0, {{"B", &p.B}, {"L", &p.L}, {"E", &p.E}});
  a.sizes(1, {{"H", &p.H}});
  a.sizes(0, {{"D", &p.D}, {"F", &p.F}});
  const uint64_t B = p.B, L = p.L, E = p.E, F = p.F;
  if (a.product("H*D", {(uint64_t)p.H, (uint64_t)p.D}) != E) {
    a.range_error("D", "H*D = " + std::to_string(p.H) + "*" + std::to_string(p.D) + " must equal E = " + std::to_string(E));
  }
  const uint64_t rows = a.product("x", {B, L});
  a.product("projections", {rows, 3, E});
  a.product("ffn hidden", {rows, F});
  const uint64_t ee = a.product("E*E", {E, E}), ef = a.product("E*F", {E, F});
  p.x = a.floats("x", a.product("x", {B, L, E}));
  p.wq = a.floats("wq", ee);
  p.bq = a.floats_opt("bq", E);
  p.wk = a.floats("wk", ee);
  p.bk = a.floats_opt("bk", E);
  p.wv = a.floats("wv", ee);
  p.bv = a.floats_opt("bv", E);
  p.wo = a.floats("wo", ee);
  p.bo = a.floats_opt("bo", E);
  p.gamma1 = a.floats_opt("gamma1", E);
  p.beta1 = a.floats_opt("beta1", E);
  p.w1 = a.floats("w1", ef);
  p.b1 = a.floats_opt("b1", F);
  p.w2 = a.floats("w2", ef);
  p.b2 = a.floats_opt("b2", E);
  p.gamma2 = a.floats_opt("gamma2", E);
  p.beta2 = a.floats_opt("beta2", E);
  p.preNorm = a.choice("norm", {"post", "pre"}) == 1;
  p.gelu = a.choice("activation", {"relu", "gelu"}) == 1;
  a.attention_limits(p.B, p.causal, p.offsets, p.windowLeft, p.windowRight, p.softcap);
  p.keyLengths = a.i32("keyLengths", B, 0, p.L, true);
  p.eps = a.number("eps", true);
  if (p.eps < 0) a.range_error("eps", "expected a non-negative number");
  p.output = a.output_f32(nullptr, a.product("output", {B, L, E}));
}

}  // namespace
ATTNKIT_OP(transformerEncoderLayer, fill_transformerEncoderLayer);
}  // namespace attnkit::bind
