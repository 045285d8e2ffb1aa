// transformerEncoderLayer (PyTorch semantics, x·W weights), plain C++ API (no N-API).
// Post-norm: x = norm1(x + mha(x)); x = norm2(x + ffn(x)).
// Pre-norm:  x = x + mha(norm1(x)); x = x + ffn(norm2(x)).   ffn(x) = act(x·w1 + b1)·w2 + b2.
// Composed natively: fused QKV GEMM + sdpa (multiHeadAttention_attend), output projection accumulated onto
// the residual, the FFN's first GEMM with a relu / exact-gelu epilogue, the second accumulated
// onto the residual, and the native layerNorm kernel (attnkit/layerNorm.h).
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link transformerEncoderLayer_forward} (pointers cover the extents their sizes imply). */
struct TransformerEncoderLayerParams {
  const float* x;  ///< [B, L, E]
  int64_t B, L, E, H, D, F;  ///< E == H*D
  const float *wq, *bq, *wk, *bk, *wv, *bv;  ///< [E, E] each, biases [E] or null
  const float *wo, *bo;                      ///< [E, E], [E] or null
  const float *gamma1, *beta1;               ///< [E] or null
  const float *w1, *b1;                      ///< [E, F], [F] or null
  const float *w2, *b2;                      ///< [F, E], [E] or null
  const float *gamma2, *beta2;               ///< [E] or null
  bool preNorm;
  bool gelu;  ///< else relu
  bool causal;
  const int32_t* offsets = nullptr;  ///< [B] query alignment (see SdpaParams), or null (S - L)
  int64_t windowLeft = -1, windowRight = -1;  ///< sliding window bounds, -1 = none
  float softcap = 0.0f;              ///< logit soft-cap, 0 = none
  const int32_t* keyLengths;  ///< [B] in [0, L], or null
  double eps;
  float* output;  ///< [B, L, E] (written)
};

/** Compute the layer; returns the ISA level of the GEMMs. */
Isa transformerEncoderLayer_forward(const TransformerEncoderLayerParams& p);

}  // namespace attnkit
