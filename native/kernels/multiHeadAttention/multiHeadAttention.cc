// multiHeadAttention driver (portable: the SIMD is in the GEMM and sdpa kernels it calls).
#include "attnkit/multiHeadAttention.h"

#include <algorithm>
#include <utility>
#include <vector>

#include "attnkit/gemm.h"
#include "attnkit/scratch.h"
#include "attnkit/sdpa.h"

namespace attnkit {

namespace {
// [b1 | b2 | ...] of the fused projections' biases (null = 0; half ones widened), or null when
// none is given. O(width) scratch.
const float* concat_bias(std::initializer_list<std::pair<Floats, int64_t>> bs, std::vector<float>& out) {
  bool any = false;
  for (auto& b : bs) any = any || b.first;
  if (!any) return nullptr;
  out.clear();
  std::vector<float> tmp;
  for (auto& b : bs) {
    if (b.first) {
      const float* v = gemm_vector(b.first, b.second, tmp);
      out.insert(out.end(), v, v + b.second);
    } else {
      out.insert(out.end(), (size_t)b.second, 0.0f);
    }
  }
  return out.data();
}

bool same_operand(const Floats& a, const Floats& b) { return a.data == b.data && a.type == b.type; }
}  // namespace

const char* multiHeadAttention_attend(const MultiHeadAttentionParams& p, float* att) {
  const GemmKernel& gk = gemm_kernel();
  const int64_t B = p.B, L = p.L, S = p.S;
  const int64_t nq = p.Hq * p.D, nk = p.Hkv * p.D, nv = p.Hkv * p.Dv;
  SdpaParams sp;
  sp.B = B;
  sp.Hq = p.Hq;
  sp.Hkv = p.Hkv;
  sp.L = L;
  sp.S = S;
  sp.D = p.D;
  sp.Dv = p.Dv;
  std::vector<float> bcat, bs1, bs2;
  const bool self = same_operand(p.query, p.key) && same_operand(p.key, p.value) && L == S && p.E == p.Ek && p.E == p.Ev;
  const bool kvShared = !self && same_operand(p.key, p.value) && p.Ek == p.Ev;
  // The projections' rows (scratch kept between calls: attnkit/scratch.h). Self-attention: one
  // [B·L, nq+nk+nv] block; shared key/value: [B·L, nq] and [B·S, nk+nv]; else three blocks.
  ScratchFloats qbuf((size_t)(B * L * (self ? nq + nk + nv : nq)));
  ScratchFloats kvbuf((size_t)(self ? 0 : B * S * (kvShared ? nk + nv : nk)));
  ScratchFloats vbuf((size_t)(self || kvShared ? 0 : B * S * nv));
  if (self) {
    const int64_t nt = nq + nk + nv;
    const float* bc = concat_bias({{p.bq, nq}, {p.bk, nk}, {p.bv, nv}}, bcat);
    // One GEMM against [wq | wk | wv], read / packed straight from the three matrices.
    gemm_cols(gk, B * L, p.E, p.query, p.E, {{p.wq, nq}, {p.wk, nk}, {p.wv, nv}}, qbuf.data(), nt, bc, GemmAct::None, false,
              true);
    sp.q = qbuf.data();
    sp.k = qbuf.data() + nq;
    sp.v = qbuf.data() + nq + nk;
    sp.q_sb = sp.k_sb = sp.v_sb = L * nt;
    sp.q_si = sp.k_sj = sp.v_sj = nt;
  } else {
    gemm(gk, B * L, nq, p.E, p.query, p.E, p.wq, nq, false, qbuf.data(), nq, gemm_vector(p.bq, nq, bs1), GemmAct::None, false,
         true);
    sp.q = qbuf.data();
    sp.q_sb = L * nq;
    sp.q_si = nq;
    if (kvShared) {
      const int64_t nt = nk + nv;
      const float* bc = concat_bias({{p.bk, nk}, {p.bv, nv}}, bcat);
      gemm_cols(gk, B * S, p.Ek, p.key, p.Ek, {{p.wk, nk}, {p.wv, nv}}, kvbuf.data(), nt, bc, GemmAct::None, false, true);
      sp.k = kvbuf.data();
      sp.v = kvbuf.data() + nk;
      sp.k_sb = sp.v_sb = S * nt;
      sp.k_sj = sp.v_sj = nt;
    } else {
      gemm(gk, B * S, nk, p.Ek, p.key, p.Ek, p.wk, nk, false, kvbuf.data(), nk, gemm_vector(p.bk, nk, bs1), GemmAct::None,
           false, true);
      gemm(gk, B * S, nv, p.Ev, p.value, p.Ev, p.wv, nv, false, vbuf.data(), nv, gemm_vector(p.bv, nv, bs2), GemmAct::None,
           false, true);
      sp.k = kvbuf.data();
      sp.v = vbuf.data();
      sp.k_sb = S * nk;
      sp.k_sj = nk;
      sp.v_sb = S * nv;
      sp.v_sj = nv;
    }
  }
  // Heads are column blocks of the projections: head h starts h*D (Q, K) or h*Dv (V) columns in.
  sp.q_sh = p.D;
  sp.k_sh = p.D;
  sp.v_sh = p.Dv;
  sp.out = att;
  sp.o_sb = L * p.Hq * p.Dv;
  sp.o_sh = p.Dv;
  sp.o_si = p.Hq * p.Dv;
  sp.scale = p.scale;
  sp.causal = p.causal;
  sp.offsets = p.offsets;
  sp.window_left = p.windowLeft;
  sp.window_right = p.windowRight;
  sp.softcap = p.softcap;
  sp.mask = p.mask;
  // A half attention bias is read by sdpa itself (same strides).
  if (p.bias.type == DType::f32) {
    sp.bias = p.bias.f32();
  } else {
    sp.bias_type = p.bias.type;
    sp.bias16 = p.bias.u16();
  }
  for (int i = 0; i < 4; i++) {
    sp.mask_s[i] = p.maskStrides[i];
    sp.bias_s[i] = p.biasStrides[i];
  }
  sp.key_lengths = p.keyLengths;
  sp.weights = p.weights;
  sp.lse = p.lse;
  return isa_name(sdpa_forward(sp));
}

Isa multiHeadAttention_forward(const MultiHeadAttentionParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& gk = gemm_kernel(&used);
  const int64_t rows = p.B * p.L, nav = p.Hq * p.Dv;
  std::vector<float> bo;
  ScratchFloats att((size_t)(rows * nav));
  multiHeadAttention_attend(p, att.data());
  gemm(gk, rows, p.Eo, nav, Floats{att.data(), DType::f32}, nav, p.wo, p.Eo, false, p.output, p.Eo, gemm_vector(p.bo, p.Eo, bo),
       GemmAct::None, false, true);
  return used;
}

}  // namespace attnkit
