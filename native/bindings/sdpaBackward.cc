// sdpaBackward binding: checks SdpaBackwardArgs (src/kernels.ts) and runs attnkit::sdpa_backward.
#include <napi.h>

#include "attnkit/sdpaBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_sdpaBackward(Args& a, ForwardJob<SdpaBackwardParams, sdpa_backward>& job) {
  constexpr int64_t kMaxDim = 0x7fffffff;
  SdpaBackwardParams& bp = job.p;
  SdpaParams& p = bp.fwd;
  a.sizes(1, kMaxDim, {{"B", &p.B}, {"Hq", &p.Hq}, {"Hkv", &p.Hkv}, {"L", &p.L}, {"S", &p.S}, {"D", &p.D}, {"Dv", &p.Dv}});
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq (" + std::to_string(p.Hq) + ") must be a multiple of Hkv (" + std::to_string(p.Hkv) + ")");
  if (!a.absent("dtypes")) a.type_error("dtypes", "sdpaBackward takes float32 operands only (no half-precision training)");
  const uint64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, D = p.D, Dv = p.Dv;
  const uint64_t qN = a.product("sdpaBackward q", {B, Hq, L, D});
  const uint64_t kN = a.product("sdpaBackward k", {B, Hkv, S, D});
  const uint64_t vN = a.product("sdpaBackward v", {B, Hkv, S, Dv});
  const uint64_t oN = a.product("sdpaBackward out", {B, Hq, L, Dv});
  a.product("sdpaBackward [B,Hq,L,S]", {B, Hq, L, S});
  bp.dout = a.f32("dOut", oN);
  p.q = a.f32("q", qN);
  p.k = a.f32("k", kN);
  p.v = a.f32("v", vN);
  bp.out = a.f32("out", oN);
  bp.lse = a.f32("lse", a.product("sdpaBackward lse", {B, Hq, L}));
  p.scale = static_cast<float>(a.number("scale", true));
  a.attention_limits(p.B, p.causal, p.offsets, p.window_left, p.window_right, p.softcap);
  const std::vector<int64_t> dims = {p.B, p.Hq, p.L, p.S};
  auto mask = a.strided_u8("mask", dims);
  if (mask.data) {
    p.mask = mask.data;
    for (int i = 0; i < 4; ++i) p.mask_s[i] = mask.strides[i];
  }
  auto bias = a.strided_f32("bias", dims);
  // The largest bias index any (b, h, i, j) reaches (the strided reader checked it is in the data).
  uint64_t bias_reach = 0;
  if (bias.data) {
    p.bias = bias.data;
    for (int i = 0; i < 4; ++i) {
      p.bias_s[i] = bias.strides[i];
      bias_reach += static_cast<uint64_t>(bias.strides[i]) * static_cast<uint64_t>(dims[i] - 1);
    }
  }
  p.key_lengths = a.i32("keyLengths", B, 0, p.S, true);
  sdpa_contiguous_strides(p);
  if (a.choice("layout", {"bhld", "blhd"}) == 1) sdpa_token_major_strides(p);
  const bool want_dbias = a.boolean("returnDBias");
  const int64_t bias_len = a.integer("biasLength", 0, static_cast<int64_t>(kMaxElements));
  if (!bias.data && bias_len != 0) a.range_error("biasLength", "expected 0 without a bias, received " + std::to_string(bias_len));
  if (bias.data && want_dbias) {
    // dBias is the bias's own array: every index the strides reach is inside it, and it is no
    // longer than the bias data.
    const uint64_t data_len = bias.length;
    if (static_cast<uint64_t>(bias_len) <= bias_reach || static_cast<uint64_t>(bias_len) > data_len) {
      a.range_error("biasLength", "expected the bias data's length (the strides reach element " + std::to_string(bias_reach) + ", data has " + std::to_string(data_len) +
                                      " elements), received " + std::to_string(bias_len));
    }
  }
  bp.dq = a.output_f32("dq", qN);
  bp.dk = a.output_f32("dk", kN);
  bp.dv = a.output_f32("dv", vN);
  if (want_dbias) {
    bp.dbias = a.output_f32("dBias", static_cast<uint64_t>(bias_len));
    bp.dbias_len = bias_len;
    if (!bias.data) bp.dbias = nullptr;  // no bias: an empty dBias, nothing to accumulate
  }
}

}  // namespace
ATTNKIT_OP(sdpaBackward, fill_sdpaBackward);
}  // namespace attnkit::bind
