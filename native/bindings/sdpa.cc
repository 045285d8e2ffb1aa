// sdpa binding: checks SdpaArgs (src/kernels.ts) and runs attnkit::sdpa_forward.
#include <napi.h>

#include "attnkit/sdpa.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct SdpaJob final : Job {
  SdpaParams p;
  // Indices into `keep` (a napi_value is only valid in the scope that made it; async results
  // are built later, so outputs are fetched back through their references).
  size_t out = 0, weights = 0, lse = 0;
  void run() override { variant = sdpa_forward(p); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object r = Napi::Object::New(env);
    r.Set("output", keep[out].Value());
    if (p.weights) r.Set("weights", keep[weights].Value());
    if (p.lse) r.Set("lse", keep[lse].Value());
    if (variant) r.Set("kernel", variant);
    return r;
  }
};

std::unique_ptr<Job> parse_sdpa(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<SdpaJob>();
  Args a(info, *job, "sdpa");
  constexpr int64_t kMaxDim = 0x7fffffff;
  SdpaParams& p = job->p;
  p.B = a.integer("B", 1, kMaxDim);
  p.Hq = a.integer("Hq", 1, kMaxDim);
  p.Hkv = a.integer("Hkv", 1, kMaxDim);
  p.L = a.integer("L", 1, kMaxDim);
  p.S = a.integer("S", 1, kMaxDim);
  p.D = a.integer("D", 1, kMaxDim);
  p.Dv = a.integer("Dv", 1, kMaxDim);
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq (" + std::to_string(p.Hq) + ") must be a multiple of Hkv (" + std::to_string(p.Hkv) + ")");
  Napi::Env env = a.env();
  const uint64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, D = p.D, Dv = p.Dv;
  p.q = a.f32("q", checked_product(env, "sdpa q", {B, Hq, L, D}));
  p.k = a.f32("k", checked_product(env, "sdpa k", {B, Hkv, S, D}));
  p.v = a.f32("v", checked_product(env, "sdpa v", {B, Hkv, S, Dv}));
  const uint64_t outN = checked_product(env, "sdpa output", {B, Hq, L, Dv});
  checked_product(env, "sdpa [B,Hq,L,S]", {B, Hq, L, S});
  p.scale = static_cast<float>(a.number("scale", true));
  p.causal = a.boolean("causal");
  const std::vector<int64_t> dims = {p.B, p.Hq, p.L, p.S};
  auto mask = a.strided_u8("mask", dims);
  if (mask.data) {
    p.mask = mask.data;
    for (int i = 0; i < 4; ++i) p.mask_s[i] = mask.strides[i];
  }
  auto bias = a.strided_f32("bias", dims);
  if (bias.data) {
    p.bias = bias.data;
    for (int i = 0; i < 4; ++i) p.bias_s[i] = bias.strides[i];
  }
  p.key_lengths = a.i32("keyLengths", B, 0, p.S, true);
  const bool rw = a.boolean("returnWeights");
  const bool rl = a.boolean("returnLse");
  sdpa_contiguous_strides(p);
  Napi::Float32Array tmp;
  p.out = a.into_f32("out", outN);  // the caller's buffer, or a new one
  job->out = job->keep.size() - 1;
  if (rw) {
    p.weights = a.out_f32(checked_product(env, "sdpa weights", {B, Hq, L, S}), &tmp);
    job->weights = job->keep.size() - 1;
  }
  if (rl) {
    p.lse = a.out_f32(checked_product(env, "sdpa lse", {B, Hq, L}), &tmp);
    job->lse = job->keep.size() - 1;
  }
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(sdpa, parse_sdpa);
}  // namespace bind
}  // namespace attnkit
