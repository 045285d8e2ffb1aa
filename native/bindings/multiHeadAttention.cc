// multiHeadAttention(args: MhaArgs) -> { output [B,L,Eo], weights? [B,Hq,L,S], lse? [B,Hq,L] }.
#include <memory>
#include <string>

#include "attnkit/multiHeadAttention.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct MultiHeadAttentionJob final : Job {
  MultiHeadAttentionParams p{};
  size_t outIdx = 0, wIdx = 0, lIdx = 0;
  bool weights = false, lse = false;
  void run() override { variant = isa_name(multiHeadAttention_forward(p)); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", keep[outIdx].Value());
    if (weights) o.Set("weights", keep[wIdx].Value());
    if (lse) o.Set("lse", keep[lIdx].Value());
    return o;
  }
};

std::unique_ptr<Job> parse_multiHeadAttention(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<MultiHeadAttentionJob>();
  Args a(info, *job, "multiHeadAttention");
  Napi::Env env = a.env();
  const int64_t max = (int64_t)kMaxElements;
  MultiHeadAttentionParams& p = job->p;
  p.B = a.integer("B", 0, max);
  p.L = a.integer("L", 0, max);
  p.S = a.integer("S", 0, max);
  p.E = a.integer("E", 0, max);
  p.Ek = a.integer("Ek", 0, max);
  p.Ev = a.integer("Ev", 0, max);
  p.Hq = a.integer("Hq", 1, max);
  p.Hkv = a.integer("Hkv", 1, max);
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq = " + std::to_string(p.Hq) + " must be a multiple of Hkv = " + std::to_string(p.Hkv));
  p.D = a.integer("D", 0, max);
  p.Dv = a.integer("Dv", 0, max);
  p.Eo = a.integer("Eo", 0, max);
  const uint64_t B = p.B, L = p.L, S = p.S, E = p.E, Ek = p.Ek, Ev = p.Ev, Hq = p.Hq, Hkv = p.Hkv, D = p.D, Dv = p.Dv,
                 Eo = p.Eo;
  const uint64_t nq = checked_product(env, "Hq*D", {Hq, D}), nk = checked_product(env, "Hkv*D", {Hkv, D}),
                 nv = checked_product(env, "Hkv*Dv", {Hkv, Dv}), no = checked_product(env, "Hq*Dv", {Hq, Dv});
  // Working buffers: projections and attention output.
  checked_product(env, "projected queries", {B, L, nq + nk + nv});
  checked_product(env, "projected keys", {B, S, nk + nv});
  checked_product(env, "attention output", {B, L, no});
  p.query = a.f32("query", checked_product(env, "query", {B, L, E}));
  p.key = a.f32("key", checked_product(env, "key", {B, S, Ek}));
  p.value = a.f32("value", checked_product(env, "value", {B, S, Ev}));
  (void)a.boolean("selfAttention");  // fusion is decided by buffer identity in the kernel
  p.wq = a.f32("wq", checked_product(env, "wq", {E, nq}));
  p.bq = a.f32_opt("bq", nq);
  p.wk = a.f32("wk", checked_product(env, "wk", {Ek, nk}));
  p.bk = a.f32_opt("bk", nk);
  p.wv = a.f32("wv", checked_product(env, "wv", {Ev, nv}));
  p.bv = a.f32_opt("bv", nv);
  p.wo = a.f32("wo", checked_product(env, "wo", {no, Eo}));
  p.bo = a.f32_opt("bo", Eo);
  p.scale = (float)a.number("scale", true);
  p.causal = a.boolean("causal");
  StridedView<uint8_t> m = a.strided_u8("mask", {p.B, p.Hq, p.L, p.S});
  StridedView<float> bi = a.strided_f32("bias", {p.B, p.Hq, p.L, p.S});
  p.mask = m.data;
  p.bias = bi.data;
  for (int i = 0; i < 4; i++) {
    p.maskStrides[i] = m.data ? m.strides[(size_t)i] : 0;
    p.biasStrides[i] = bi.data ? bi.strides[(size_t)i] : 0;
  }
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  job->weights = a.boolean("returnWeights");
  job->lse = a.boolean("returnLse");
  Napi::Float32Array out, w, l;
  p.output = a.out_f32(checked_product(env, "output", {B, L, Eo}), &out);
  job->outIdx = job->keep.size() - 1;
  if (job->weights) {
    p.weights = a.out_f32(checked_product(env, "weights", {B, Hq, L, S}), &w);
    job->wIdx = job->keep.size() - 1;
  }
  if (job->lse) {
    p.lse = a.out_f32(checked_product(env, "lse", {B, Hq, L}), &l);
    job->lIdx = job->keep.size() - 1;
  }
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(multiHeadAttention, parse_multiHeadAttention);
}  // namespace bind
}  // namespace attnkit
