// transformerEncoderLayer (PyTorch semantics, x·W weights), plain C++ API (no N-API).
// Post-norm: x = norm1(x + mha(x)); x = norm2(x + ffn(x)).
// Pre-norm:  x = x + mha(norm1(x)); x = x + ffn(norm2(x)).   ffn(x) = act(x·w1 + b1)·w2 + b2.
// Composed natively: fused QKV GEMM + sdpa (multiHeadAttention_attend), output projection accumulated onto
// the residual, the FFN's first GEMM with a relu / exact-gelu epilogue, the second accumulated
// onto the residual, and the native layerNorm kernel (attnkit/layerNorm.h).
// Half operands (attnkit/dtype.h): x and every parameter may be float16 or bfloat16. The GEMMs
// widen the weights as they pack them (attnkit/gemm.h). A half x is widened once, block of rows
// by block of rows, into the residual buffer the layer writes anyway (post-norm: the output;
// pre-norm: the residual x1), which the QKV GEMM (post-norm), norm1 (pre-norm) and the residual
// sums read: no extra copy of x. Biases, gamma and beta are widened into O(E + F) scratch.
// Results are bit-identical to the float32 call on the decoded values.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link transformerEncoderLayer_forward} (pointers cover the extents their sizes imply). */
struct TransformerEncoderLayerParams {
  Floats x;  ///< [B, L, E]
  int64_t B, L, E, H, D, F;  ///< E == H*D
  Floats wq, bq, wk, bk, wv, bv;  ///< [E, E] each, biases [E] or null
  Floats wo, bo;                  ///< [E, E], [E] or null
  Floats gamma1, beta1;           ///< [E] or null
  Floats w1, b1;                  ///< [E, F], [F] or null
  Floats w2, b2;                  ///< [F, E], [E] or null
  Floats gamma2, beta2;           ///< [E] or null
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
