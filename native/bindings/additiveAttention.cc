// additiveAttention(args: AdditiveArgs) -> { output: Float32Array [B,L,Dv], weights?: [B,L,S] }.
#include <memory>

#include "attnkit/additiveAttention.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct AdditiveAttentionJob final : Job {
  AdditiveAttentionParams p{};
  size_t outIdx = 0, wIdx = 0;
  bool weights = false;
  void run() override { variant = isa_name(additiveAttention_forward(p)); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", keep[outIdx].Value());
    if (weights) o.Set("weights", keep[wIdx].Value());
    return o;
  }
};

std::unique_ptr<Job> parse_additiveAttention(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<AdditiveAttentionJob>();
  Args a(info, *job, "additiveAttention");
  Napi::Env env = a.env();
  const int64_t max = (int64_t)kMaxElements;
  AdditiveAttentionParams& p = job->p;
  p.B = a.integer("B", 0, max);
  p.L = a.integer("L", 0, max);
  p.S = a.integer("S", 0, max);
  p.Dq = a.integer("Dq", 0, max);
  p.Dk = a.integer("Dk", 0, max);
  p.Dv = a.integer("Dv", 0, max);
  p.A = a.integer("A", 0, max);
  const uint64_t B = p.B, L = p.L, S = p.S, Dq = p.Dq, Dk = p.Dk, Dv = p.Dv, A = p.A;
  p.query = a.f32_opt("query", checked_product(env, "query", {B, L, Dq}));
  if (p.query) {
    p.wq = a.f32("wq", checked_product(env, "wq", {Dq, A}));
  } else if (!a.absent("wq")) {
    a.type_error("wq", "must be null when query is null (attention pooling)");
  }
  p.keys = a.f32("keys", checked_product(env, "keys", {B, S, Dk}));
  p.values = a.f32("values", checked_product(env, "values", {B, S, Dv}));
  p.wk = a.f32("wk", checked_product(env, "wk", {Dk, A}));
  p.b = a.f32("b", A);
  p.v = a.f32("v", A);
  checked_product(env, "weights", {B, L, S});
  checked_product(env, "projected keys", {B, S, A});
  StridedView<uint8_t> m = a.strided_u8("mask", {p.B, p.L, p.S});
  p.mask = m.data;
  for (int i = 0; i < 3; i++) p.maskStrides[i] = m.data ? m.strides[(size_t)i] : 0;
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  job->weights = a.boolean("returnWeights");
  Napi::Float32Array out, w;
  p.output = a.out_f32(checked_product(env, "output", {B, L, Dv}), &out);
  job->outIdx = job->keep.size() - 1;
  if (job->weights) {
    p.weights = a.out_f32(checked_product(env, "weights", {B, L, S}), &w);
    job->wIdx = job->keep.size() - 1;
  }
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(additiveAttention, parse_additiveAttention);
}  // namespace bind
}  // namespace attnkit
