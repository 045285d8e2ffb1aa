// transformerEncoderLayer(args: EncoderArgs) -> Float32Array [B,L,E].
#include <memory>
#include <string>

#include "attnkit/transformerEncoderLayer.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct TransformerEncoderLayerJob final : Job {
  TransformerEncoderLayerParams p{};
  size_t outIdx = 0;
  void run() override { variant = isa_name(transformerEncoderLayer_forward(p)); }
  Napi::Value result(Napi::Env) override { return keep[outIdx].Value(); }
};

std::unique_ptr<Job> parse_transformerEncoderLayer(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<TransformerEncoderLayerJob>();
  Args a(info, *job, "transformerEncoderLayer");
  Napi::Env env = a.env();
  const int64_t max = (int64_t)kMaxElements;
  TransformerEncoderLayerParams& p = job->p;
  p.B = a.integer("B", 0, max);
  p.L = a.integer("L", 0, max);
  p.E = a.integer("E", 0, max);
  p.H = a.integer("H", 1, max);
  p.D = a.integer("D", 0, max);
  p.F = a.integer("F", 0, max);
  const uint64_t B = p.B, L = p.L, E = p.E, F = p.F;
  if (checked_product(env, "H*D", {(uint64_t)p.H, (uint64_t)p.D}) != E) {
    a.range_error("D", "H*D = " + std::to_string(p.H) + "*" + std::to_string(p.D) + " must equal E = " + std::to_string(E));
  }
  const uint64_t rows = checked_product(env, "x", {B, L});
  checked_product(env, "projections", {rows, 3, E});
  checked_product(env, "ffn hidden", {rows, F});
  const uint64_t ee = checked_product(env, "E*E", {E, E}), ef = checked_product(env, "E*F", {E, F});
  p.x = a.f32("x", checked_product(env, "x", {B, L, E}));
  p.wq = a.f32("wq", ee);
  p.bq = a.f32_opt("bq", E);
  p.wk = a.f32("wk", ee);
  p.bk = a.f32_opt("bk", E);
  p.wv = a.f32("wv", ee);
  p.bv = a.f32_opt("bv", E);
  p.wo = a.f32("wo", ee);
  p.bo = a.f32_opt("bo", E);
  p.gamma1 = a.f32_opt("gamma1", E);
  p.beta1 = a.f32_opt("beta1", E);
  p.w1 = a.f32("w1", ef);
  p.b1 = a.f32_opt("b1", F);
  p.w2 = a.f32("w2", ef);
  p.b2 = a.f32_opt("b2", E);
  p.gamma2 = a.f32_opt("gamma2", E);
  p.beta2 = a.f32_opt("beta2", E);
  p.preNorm = a.choice("norm", {"post", "pre"}) == 1;
  p.gelu = a.choice("activation", {"relu", "gelu"}) == 1;
  p.causal = a.boolean("causal");
  p.keyLengths = a.i32("keyLengths", B, 0, p.L, true);
  p.eps = a.number("eps", true);
  if (p.eps < 0) a.range_error("eps", "expected a non-negative number");
  Napi::Float32Array out;
  p.output = a.out_f32(checked_product(env, "output", {B, L, E}), &out);
  job->outIdx = job->keep.size() - 1;
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(transformerEncoderLayer, parse_transformerEncoderLayer);
}  // namespace bind
}  // namespace attnkit
