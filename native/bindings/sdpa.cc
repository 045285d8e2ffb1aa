// sdpa binding: checks SdpaArgs (src/kernels.ts) and runs attnkit::sdpa_forward.
#include <napi.h>

#include "attnkit/sdpa.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_sdpa(Args& a, ForwardJob<SdpaParams, sdpa_forward>& job) {
  constexpr int64_t kMaxDim = 0x7fffffff;
  SdpaParams& p = job.p;
  a.sizes(1, kMaxDim, {{"B", &p.B}, {"Hq", &p.Hq}, {"Hkv", &p.Hkv}, {"L", &p.L}, {"S", &p.S}, {"D", &p.D}, {"Dv", &p.Dv}});
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq (" + std::to_string(p.Hq) + ") must be a multiple of Hkv (" + std::to_string(p.Hkv) + ")");
  const uint64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, D = p.D, Dv = p.Dv;
  a.dtypes_only({"q", "k", "v", "bias"});
  // q, k, v: a Float32Array, or a Uint16Array of float16 / bfloat16 patterns when `dtypes` says so
  // (the kernel widens what each task reads: attnkit/sdpa.h).
  const Floats q = a.floats("q", a.product("sdpa q", {B, Hq, L, D}));
  const Floats k = a.floats("k", a.product("sdpa k", {B, Hkv, S, D}));
  const Floats v = a.floats("v", a.product("sdpa v", {B, Hkv, S, Dv}));
  p.q_type = q.type;
  p.k_type = k.type;
  p.v_type = v.type;
  if (q.type == DType::f32) p.q = q.f32(); else p.q16 = q.u16();
  if (k.type == DType::f32) p.k = k.f32(); else p.k16 = k.u16();
  if (v.type == DType::f32) p.v = v.f32(); else p.v16 = v.u16();
  const uint64_t outN = a.product("sdpa output", {B, Hq, L, Dv});
  a.product("sdpa [B,Hq,L,S]", {B, Hq, L, S});
  p.scale = static_cast<float>(a.number("scale", true));
  a.attention_limits(p.B, p.causal, p.offsets, p.window_left, p.window_right, p.softcap);
  const std::vector<int64_t> dims = {p.B, p.Hq, p.L, p.S};
  auto mask = a.strided_u8("mask", dims);
  if (mask.data) {
    p.mask = mask.data;
    for (int i = 0; i < 4; ++i) p.mask_s[i] = mask.strides[i];
  }
  p.bias_type = a.dtype_of("bias");
  if (p.bias_type == DType::f32) {
    auto bias = a.strided_f32("bias", dims);
    if (bias.data) {
      p.bias = bias.data;
      for (int i = 0; i < 4; ++i) p.bias_s[i] = bias.strides[i];
    }
  } else {
    auto bias = a.strided_u16("bias", dims);
    if (bias.data) {
      p.bias16 = bias.data;
      for (int i = 0; i < 4; ++i) p.bias_s[i] = bias.strides[i];
    }
  }
  p.key_lengths = a.i32("keyLengths", B, 0, p.S, true);
  const bool rw = a.boolean("returnWeights");
  const bool rl = a.boolean("returnLse");
  const bool rlog = a.boolean("returnLogits");
  sdpa_contiguous_strides(p);
  if (a.choice("layout", {"bhld", "blhd"}) == 1) sdpa_token_major_strides(p);
  p.out = a.into_output_f32("out", "output", outN);  // the caller's buffer, or a new one
  if (rw) {
    p.weights = a.output_f32("weights", a.product("sdpa weights", {B, Hq, L, S}));
  }
  if (rl) {
    p.lse = a.output_f32("lse", a.product("sdpa lse", {B, Hq, L}));
  }
  if (rlog) {
    p.logits = a.output_f32("logits", a.product("sdpa logits", {B, Hq, L, S}));
  }
}

}  // namespace
ATTNKIT_OP(sdpa, fill_sdpa);
}  // namespace attnkit::bind
