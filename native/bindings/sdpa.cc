// sdpa binding: checks SdpaArgs (src/kernels.ts) and runs attnkit::sdpa_forward.
#include <napi.h>

#include "attnkit/sdpa.h"
#include "common.h"

#include <cstring>
#include <string>

namespace attnkit::bind {
namespace {

// Job-owned copies of [B+1] offsets, checked: 0 first, non-decreasing, each length <= `most`.
// (The kernel reads the copies, so a getter run after this cannot change what was checked.)
const int32_t* checked_offsets(Args& a, ForwardJob<SdpaParams, sdpa_forward>& job, const char* name, int64_t B, int64_t most) {
  const int32_t* src = a.i32(name, static_cast<uint64_t>(B + 1), 0, 0x7fffffff, false);
  job.copies.emplace_back(static_cast<size_t>(B + 2) / 2 + 1, 0);
  int32_t* d = reinterpret_cast<int32_t*>(job.copies.back().data());
  std::memcpy(d, src, static_cast<size_t>(B + 1) * sizeof(int32_t));
  if (d[0] != 0) a.range_error(name, "expected offsets[0] = 0, received " + std::to_string(d[0]));
  for (int64_t b = 0; b < B; ++b) {
    const int64_t len = static_cast<int64_t>(d[b + 1]) - d[b];
    if (len < 0) a.range_error(name, "offsets decrease at element " + std::to_string(b + 1));
    if (len > most) a.range_error(name, "sequence " + std::to_string(b) + " has " + std::to_string(len) + " rows, more than the limit " + std::to_string(most));
  }
  return d;
}

// Jagged q / k / v (SdpaArgs.qOffsets / kvOffsets): rows [t, H, D], lse [ΣLq, Hq], no weights,
// logits, mask, bias or keyLengths (a per-sequence jaggedMask / jaggedBias instead).
void fill_jagged(Args& a, ForwardJob<SdpaParams, sdpa_forward>& job) {
  SdpaParams& p = job.p;
  const int64_t B = p.B;
  p.q_offsets = checked_offsets(a, job, "qOffsets", B, p.L);
  p.kv_offsets = checked_offsets(a, job, "kvOffsets", B, p.S);
  const uint64_t T = static_cast<uint64_t>(p.q_offsets[B]), TS = static_cast<uint64_t>(p.kv_offsets[B]);
  const uint64_t Hq = p.Hq, Hkv = p.Hkv, D = p.D, Dv = p.Dv;
  const Floats q = a.floats("q", a.product("sdpa jagged q", {T, Hq, D}));
  const Floats k = a.floats("k", a.product("sdpa jagged k", {TS, Hkv, D}));
  const Floats v = a.floats("v", a.product("sdpa jagged v", {TS, Hkv, Dv}));
  p.q_type = q.type;
  p.k_type = k.type;
  p.v_type = v.type;
  if (q.type == DType::f32) p.q = q.f32(); else p.q16 = q.u16();
  if (k.type == DType::f32) p.k = k.f32(); else p.k16 = k.u16();
  if (v.type == DType::f32) p.v = v.f32(); else p.v16 = v.u16();
  const uint64_t outN = a.product("sdpa jagged output", {T, Hq, Dv});
  p.scale = static_cast<float>(a.number("scale", true));
  a.attention_limits(p.B, p.causal, p.offsets, p.window_left, p.window_right, p.softcap);
  for (const char* f : {"mask", "bias", "keyLengths"}) {
    if (!a.absent(f)) a.range_error(f, "must be null with jagged rows (qOffsets / kvOffsets): use jaggedMask / jaggedBias");
  }
  if (a.boolean("returnWeights")) a.range_error("returnWeights", "must be false with jagged rows");
  if (a.boolean("returnLogits")) a.range_error("returnLogits", "must be false with jagged rows");
  const bool rl = a.boolean("returnLse");
  if (a.choice("layout", {"bhld", "blhd"}) != 1) a.range_error("layout", "must be 'blhd' with jagged rows ([t, H, D])");
  // Per-sequence mask blocks [Lq_b, S_b]: their starts, kept with the job.
  uint64_t maskN = 0;
  job.copies.emplace_back(static_cast<size_t>(B), 0);
  int64_t* starts = reinterpret_cast<int64_t*>(job.copies.back().data());
  for (int64_t b = 0; b < B; ++b) {
    starts[b] = static_cast<int64_t>(maskN);
    maskN += static_cast<uint64_t>(p.q_offsets[b + 1] - p.q_offsets[b]) * static_cast<uint64_t>(p.kv_offsets[b + 1] - p.kv_offsets[b]);
  }
  if (maskN > kMaxElements) a.range_error("jaggedMask", "Σ Lq_b·S_b is too large");
  p.jagged_mask = a.u8_opt("jaggedMask", maskN);
  p.jagged_bias = a.f32_opt("jaggedBias", maskN);
  p.jagged_mask_starts = starts;
  sdpa_token_major_strides(p);
  p.out = a.into_output_f32("out", "output", outN);
  if (rl) p.lse = a.output_f32("lse", a.product("sdpa jagged lse", {T, Hq}));
}

void fill_sdpa(Args& a, ForwardJob<SdpaParams, sdpa_forward>& job) {
  constexpr int64_t kMaxDim = 0x7fffffff;
  SdpaParams& p = job.p;
  a.sizes(1, kMaxDim, {{"B", &p.B}, {"Hq", &p.Hq}, {"Hkv", &p.Hkv}, {"L", &p.L}, {"S", &p.S}, {"D", &p.D}, {"Dv", &p.Dv}});
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq (" + std::to_string(p.Hq) + ") must be a multiple of Hkv (" + std::to_string(p.Hkv) + ")");
  const uint64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, D = p.D, Dv = p.Dv;
  a.dtypes_only({"q", "k", "v", "bias"});
  if (!a.absent("qOffsets") || !a.absent("kvOffsets")) {
    fill_jagged(a, job);
    return;
  }
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
