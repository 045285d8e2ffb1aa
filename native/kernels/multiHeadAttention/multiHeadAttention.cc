// multiHeadAttention driver (portable: the SIMD is in the GEMM and sdpa kernels it calls).
#include "attnkit/multiHeadAttention.h"

#include <algorithm>
#include <vector>

#include "attnkit/gemm.h"
#include "attnkit/sdpa.h"

namespace attnkit {

namespace {
// [w1 | w2 | ...] column-wise concatenation of [K, Ni] matrices, and their biases (null = 0).
void concat_cols(int64_t K, std::initializer_list<std::pair<const float*, int64_t>> ws, std::vector<float>& out) {
  int64_t N = 0;
  for (auto& w : ws) N += w.second;
  out.resize((size_t)(K * N));
  for (int64_t k = 0; k < K; k++) {
    int64_t off = 0;
    for (auto& w : ws) {
      std::copy(w.first + k * w.second, w.first + (k + 1) * w.second, out.begin() + (k * N + off));
      off += w.second;
    }
  }
}
const float* concat_bias(std::initializer_list<std::pair<const float*, int64_t>> bs, std::vector<float>& out) {
  bool any = false;
  for (auto& b : bs) any = any || b.first;
  if (!any) return nullptr;
  out.clear();
  for (auto& b : bs) {
    if (b.first) out.insert(out.end(), b.first, b.first + b.second);
    else out.insert(out.end(), (size_t)b.second, 0.0f);
  }
  return out.data();
}
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
  std::vector<float> qbuf, kvbuf, vbuf, wcat, bcat;
  const bool self = p.query == p.key && p.key == p.value && L == S && p.E == p.Ek && p.E == p.Ev;
  if (self) {
    const int64_t nt = nq + nk + nv;
    concat_cols(p.E, {{p.wq, nq}, {p.wk, nk}, {p.wv, nv}}, wcat);
    const float* bc = concat_bias({{p.bq, nq}, {p.bk, nk}, {p.bv, nv}}, bcat);
    qbuf.resize((size_t)(B * L * nt));
    gemm(gk, B * L, nt, p.E, p.query, p.E, wcat.data(), nt, false, qbuf.data(), nt, bc, GemmAct::None, false, true);
    sp.q = qbuf.data();
    sp.k = qbuf.data() + nq;
    sp.v = qbuf.data() + nq + nk;
    sp.q_sb = sp.k_sb = sp.v_sb = L * nt;
    sp.q_si = sp.k_sj = sp.v_sj = nt;
  } else {
    qbuf.resize((size_t)(B * L * nq));
    gemm(gk, B * L, nq, p.E, p.query, p.E, p.wq, nq, false, qbuf.data(), nq, p.bq, GemmAct::None, false, true);
    sp.q = qbuf.data();
    sp.q_sb = L * nq;
    sp.q_si = nq;
    if (p.key == p.value && p.Ek == p.Ev) {
      const int64_t nt = nk + nv;
      concat_cols(p.Ek, {{p.wk, nk}, {p.wv, nv}}, wcat);
      const float* bc = concat_bias({{p.bk, nk}, {p.bv, nv}}, bcat);
      kvbuf.resize((size_t)(B * S * nt));
      gemm(gk, B * S, nt, p.Ek, p.key, p.Ek, wcat.data(), nt, false, kvbuf.data(), nt, bc, GemmAct::None, false, true);
      sp.k = kvbuf.data();
      sp.v = kvbuf.data() + nk;
      sp.k_sb = sp.v_sb = S * nt;
      sp.k_sj = sp.v_sj = nt;
    } else {
      kvbuf.resize((size_t)(B * S * nk));
      vbuf.resize((size_t)(B * S * nv));
      gemm(gk, B * S, nk, p.Ek, p.key, p.Ek, p.wk, nk, false, kvbuf.data(), nk, p.bk, GemmAct::None, false, true);
      gemm(gk, B * S, nv, p.Ev, p.value, p.Ev, p.wv, nv, false, vbuf.data(), nv, p.bv, GemmAct::None, false, true);
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
  sp.bias = p.bias;
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
  std::vector<float> att((size_t)(rows * nav));
  multiHeadAttention_attend(p, att.data());
  gemm(gk, rows, p.Eo, nav, att.data(), nav, p.wo, p.Eo, false, p.output, p.Eo, p.bo, GemmAct::None, false, true);
  return used;
}

}  // namespace attnkit
