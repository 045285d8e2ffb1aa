// multiHeadAttention(args: MhaArgs) -> { output [B,L,Eo], weights? [B,Hq,L,S], lse? [B,Hq,L] }.
// Every float operand (query, key, value, weights, biases, the strided bias) may be half: a
// Uint16Array of bit patterns when the args' `dtypes` names it, else a Float32Array.
#include <memory>
#include <string>
#include <vector>

#include "attnkit/multiHeadAttention.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_multiHeadAttention(Args& a, ForwardJob<MultiHeadAttentionParams, multiHeadAttention_forward>& job) {
  MultiHeadAttentionParams& p = job.p;
  a.dtypes_only({"query", "key", "value", "wq", "bq", "wk", "bk", "wv", "bv", "wo", "bo", "bias"});
  a.sizes(0, {{"B", &p.B}, {"L", &p.L}, {"S", &p.S}, {"E", &p.E}, {"Ek", &p.Ek}, {"Ev", &p.Ev}});
  a.sizes(1, {{"Hq", &p.Hq}, {"Hkv", &p.Hkv}});
  if (p.Hq % p.Hkv != 0) a.range_error("Hkv", "Hq = " + std::to_string(p.Hq) + " must be a multiple of Hkv = " + std::to_string(p.Hkv));
  a.sizes(0, {{"D", &p.D}, {"Dv", &p.Dv}, {"Eo", &p.Eo}});
  const uint64_t B = p.B, L = p.L, S = p.S, E = p.E, Ek = p.Ek, Ev = p.Ev, Hq = p.Hq, Hkv = p.Hkv, D = p.D, Dv = p.Dv,
                 Eo = p.Eo;
  const uint64_t nq = a.product("Hq*D", {Hq, D}), nk = a.product("Hkv*D", {Hkv, D}),
                 nv = a.product("Hkv*Dv", {Hkv, Dv}), no = a.product("Hq*Dv", {Hq, Dv});
  // Working buffers: projections and attention output.
  a.product("projected queries", {B, L, nq + nk + nv});
  a.product("projected keys", {B, S, nk + nv});
  a.product("attention output", {B, L, no});
  p.query = a.floats("query", a.product("query", {B, L, E}));
  p.key = a.floats("key", a.product("key", {B, S, Ek}));
  p.value = a.floats("value", a.product("value", {B, S, Ev}));
  (void)a.boolean("selfAttention");  // fusion is decided by buffer identity in the kernel
  p.wq = a.floats("wq", a.product("wq", {E, nq}));
  p.bq = a.floats_opt("bq", nq);
  p.wk = a.floats("wk", a.product("wk", {Ek, nk}));
  p.bk = a.floats_opt("bk", nk);
  p.wv = a.floats("wv", a.product("wv", {Ev, nv}));
  p.bv = a.floats_opt("bv", nv);
  p.wo = a.floats("wo", a.product("wo", {no, Eo}));
  p.bo = a.floats_opt("bo", Eo);
  p.scale = (float)a.number("scale", true);
  a.attention_limits(p.B, p.causal, p.offsets, p.windowLeft, p.windowRight, p.softcap);
  StridedView<uint8_t> m = a.strided_u8("mask", {p.B, p.Hq, p.L, p.S});
  p.mask = m.data;
  const std::vector<int64_t> biasDims{p.B, p.Hq, p.L, p.S};
  std::vector<int64_t> biasStrides;
  p.bias.type = a.dtype_of("bias");
  if (p.bias.type == DType::f32) {
    StridedView<float> bi = a.strided_f32("bias", biasDims);
    p.bias.data = bi.data;
    biasStrides = bi.strides;
  } else {
    StridedView<uint16_t> bi = a.strided_u16("bias", biasDims);
    p.bias.data = bi.data;
    biasStrides = bi.strides;
  }
  for (int i = 0; i < 4; i++) {
    p.maskStrides[i] = m.data ? m.strides[(size_t)i] : 0;
    p.biasStrides[i] = p.bias.data ? biasStrides[(size_t)i] : 0;
  }
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  const bool weights = a.boolean("returnWeights"), lse = a.boolean("returnLse");
  p.output = a.output_f32("output", a.product("output", {B, L, Eo}));
  if (weights) p.weights = a.output_f32("weights", a.product("weights", {B, Hq, L, S}));
  if (lse) p.lse = a.output_f32("lse", a.product("lse", {B, Hq, L}));
}

}  // namespace
ATTNKIT_OP(multiHeadAttention, fill_multiHeadAttention);
}  // namespace attnkit::bind
