// transformerEncoderLayer driver (portable; SIMD lives in the GEMM / sdpa kernels it calls).
#include "attnkit/transformerEncoderLayer.h"

#include <cmath>
#include <cstring>
#include <vector>

#include "attnkit/layerNorm.h"
#include "attnkit/gemm.h"
#include "attnkit/multiHeadAttention.h"
#include "attnkit/parallel.h"

namespace attnkit {

namespace {
// Row layerNorm through the native layerNorm kernel (attnkit/layerNorm.h, vectorised per ISA).
void layer_norm_rows(const float* x, float* y, int64_t rows, int64_t cols, const float* gamma, const float* beta, double eps) {
  LayerNormParams lp;
  lp.x = x;
  lp.out = y;
  lp.rows = rows;
  lp.cols = cols;
  lp.gamma = gamma;
  lp.beta = beta;
  lp.eps = (float)eps;
  layerNorm_table().get()(lp);
}
}  // namespace

Isa transformerEncoderLayer_forward(const TransformerEncoderLayerParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& gk = gemm_kernel(&used);
  const int64_t R = p.B * p.L, E = p.E, F = p.F;
  if (R == 0) return used;
  std::vector<float> att((size_t)(R * E)), x1((size_t)(R * E)), hid((size_t)(R * F)), nrm;

  MultiHeadAttentionParams m{};
  m.B = p.B;
  m.L = m.S = p.L;
  m.E = m.Ek = m.Ev = m.Eo = E;
  m.Hq = m.Hkv = p.H;
  m.D = m.Dv = p.D;
  m.wq = p.wq;
  m.bq = p.bq;
  m.wk = p.wk;
  m.bk = p.bk;
  m.wv = p.wv;
  m.bv = p.bv;
  m.scale = (float)(1.0 / std::sqrt((double)p.D));
  m.causal = p.causal;
  m.offsets = p.offsets;
  m.windowLeft = p.windowLeft;
  m.windowRight = p.windowRight;
  m.softcap = p.softcap;
  m.keyLengths = p.keyLengths;
  const GemmAct act = p.gelu ? GemmAct::Gelu : GemmAct::Relu;

  if (!p.preNorm) {
    m.query = m.key = m.value = p.x;
    multiHeadAttention_attend(m, att.data());
    // s1 = x + (att·wo + bo), then x1 = norm1(s1); reuse `output` for s1.
    std::memcpy(p.output, p.x, sizeof(float) * (size_t)(R * E));
    gemm(gk, R, E, E, att.data(), E, p.wo, E, false, p.output, E, p.bo, GemmAct::None, true, true);
    layer_norm_rows(p.output, x1.data(), R, E, p.gamma1, p.beta1, p.eps);
    gemm(gk, R, F, E, x1.data(), E, p.w1, F, false, hid.data(), F, p.b1, act, false, true);
    // s2 = x1 + ffn, then norm2 into output.
    gemm(gk, R, E, F, hid.data(), F, p.w2, E, false, x1.data(), E, p.b2, GemmAct::None, true, true);
    layer_norm_rows(x1.data(), p.output, R, E, p.gamma2, p.beta2, p.eps);
  } else {
    nrm.resize((size_t)(R * E));
    layer_norm_rows(p.x, nrm.data(), R, E, p.gamma1, p.beta1, p.eps);
    m.query = m.key = m.value = nrm.data();
    multiHeadAttention_attend(m, att.data());
    std::memcpy(x1.data(), p.x, sizeof(float) * (size_t)(R * E));
    gemm(gk, R, E, E, att.data(), E, p.wo, E, false, x1.data(), E, p.bo, GemmAct::None, true, true);
    layer_norm_rows(x1.data(), nrm.data(), R, E, p.gamma2, p.beta2, p.eps);
    gemm(gk, R, F, E, nrm.data(), E, p.w1, F, false, hid.data(), F, p.b1, act, false, true);
    std::memcpy(p.output, x1.data(), sizeof(float) * (size_t)(R * E));
    gemm(gk, R, E, F, hid.data(), F, p.w2, E, false, p.output, E, p.b2, GemmAct::None, true, true);
  }
  return used;
}

}  // namespace attnkit
