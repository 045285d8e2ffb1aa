// transformerEncoderLayer driver (portable; SIMD lives in the GEMM / sdpa kernels it calls).
#include "attnkit/transformerEncoderLayer.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <vector>

#include "attnkit/convert.h"
#include "attnkit/layerNorm.h"
#include "attnkit/gemm.h"
#include "attnkit/multiHeadAttention.h"
#include "attnkit/parallel.h"
#include "attnkit/scratch.h"

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

// dst = x's float32 values ([R, E], row-major): a copy, or a half x widened block of rows by block
// of rows on the pool (the layer's residual buffer; no other copy of x is made).
void residual_from(const Floats& x, float* dst, int64_t R, int64_t E) {
  if (x.type == DType::f32) {
    std::memcpy(dst, x.f32(), sizeof(float) * (size_t)(R * E));
    return;
  }
  const ConvertFn widen = convert_table().get();
  const int64_t rb = std::max<int64_t>(1, 16384 / std::max<int64_t>(1, E));  // rows per task
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; t++) {
      const int64_t r0 = t * rb, r1 = std::min(R, r0 + rb);
      widen(x.u16() + r0 * E, dst + r0 * E, (r1 - r0) * E, x.type);
    }
  };
  parallel_for_each((R + rb - 1) / rb, body);
}
}  // namespace

Isa transformerEncoderLayer_forward(const TransformerEncoderLayerParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& gk = gemm_kernel(&used);
  const int64_t R = p.B * p.L, E = p.E, F = p.F;
  if (R == 0) return used;
  // Intermediate rows, kept between calls (attnkit/scratch.h): each is written before it is read.
  ScratchFloats att((size_t)(R * E)), x1((size_t)(R * E)), hid((size_t)(R * F)), nrm((size_t)(p.preNorm ? R * E : 0));
  // The small vectors' float32 values (half ones widened here, O(E + F)).
  std::vector<float> s_bo, s_g1, s_be1, s_b1, s_b2, s_g2, s_be2;
  const float* bo = gemm_vector(p.bo, E, s_bo);
  const float* gamma1 = gemm_vector(p.gamma1, E, s_g1);
  const float* beta1 = gemm_vector(p.beta1, E, s_be1);
  const float* b1 = gemm_vector(p.b1, F, s_b1);
  const float* b2 = gemm_vector(p.b2, E, s_b2);
  const float* gamma2 = gemm_vector(p.gamma2, E, s_g2);
  const float* beta2 = gemm_vector(p.beta2, E, s_be2);
  const Floats attF{att.data(), DType::f32}, x1F{x1.data(), DType::f32}, hidF{hid.data(), DType::f32};

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
    if (p.x.type == DType::f32) {
      m.query = m.key = m.value = p.x;
    } else {
      // A half x is widened once, into `output` (the residual s1 lives there anyway), and the
      // fused QKV GEMM reads those float32 rows.
      residual_from(p.x, p.output, R, E);
      m.query = m.key = m.value = Floats{p.output, DType::f32};
    }
    multiHeadAttention_attend(m, att.data());
    // s1 = x + (att·wo + bo), then x1 = norm1(s1); reuse `output` for s1.
    if (p.x.type == DType::f32) residual_from(p.x, p.output, R, E);
    gemm(gk, R, E, E, attF, E, p.wo, E, false, p.output, E, bo, GemmAct::None, true, true);
    layer_norm_rows(p.output, x1.data(), R, E, gamma1, beta1, p.eps);
    gemm(gk, R, F, E, x1F, E, p.w1, F, false, hid.data(), F, b1, act, false, true);
    // s2 = x1 + ffn, then norm2 into output.
    gemm(gk, R, E, F, hidF, F, p.w2, E, false, x1.data(), E, b2, GemmAct::None, true, true);
    layer_norm_rows(x1.data(), p.output, R, E, gamma2, beta2, p.eps);
  } else {
    // x1 = x first (the residual), so norm1 reads float32 rows whatever x's type.
    residual_from(p.x, x1.data(), R, E);
    layer_norm_rows(x1.data(), nrm.data(), R, E, gamma1, beta1, p.eps);
    m.query = m.key = m.value = Floats{nrm.data(), DType::f32};
    multiHeadAttention_attend(m, att.data());
    gemm(gk, R, E, E, attF, E, p.wo, E, false, x1.data(), E, bo, GemmAct::None, true, true);
    layer_norm_rows(x1.data(), nrm.data(), R, E, gamma2, beta2, p.eps);
    gemm(gk, R, F, E, Floats{nrm.data(), DType::f32}, E, p.w1, F, false, hid.data(), F, b1, act, false, true);
    std::memcpy(p.output, x1.data(), sizeof(float) * (size_t)(R * E));
    gemm(gk, R, E, F, hidF, F, p.w2, E, false, p.output, E, b2, GemmAct::None, true, true);
  }
  return used;
}

}  // namespace attnkit
