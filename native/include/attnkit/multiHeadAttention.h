// multiHeadAttention: projections through attnkit's GEMM, attention through sdpa_forward on the
// projected data in place (strided heads, no split/merge copies), output projection.
// Plain C++ API (no N-API).
//
// Fusion: when query, key and value are the same buffer of the same type (self-attention), one
// GEMM against [wq | wk | wv] produces Q, K and V side by side in one [B*L, Hq*D + Hkv*D + Hkv*Dv]
// buffer; when only key and value share a buffer, K and V come from one GEMM against [wk | wv].
// The GEMM reads (or packs) the blocks straight from the separate matrices (gemm_cols): no
// concatenated copy of the weights.
//
// Half operands (attnkit/dtype.h): any of query, key, value, the weights, the biases and the
// attention bias may be float16 or bfloat16. The projection GEMMs widen query / key / value and
// the weights as they pack them (attnkit/gemm.h); the projection biases are widened into
// O(width) scratch; a half attention bias goes to sdpa as it is (SdpaParams::bias16). Results are
// bit-identical to the float32 call on the decoded values.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link multiHeadAttention_forward} (pointers cover the extents their sizes imply). */
struct MultiHeadAttentionParams {
  Floats query;  ///< [B, L, E]
  Floats key;    ///< [B, S, Ek]
  Floats value;  ///< [B, S, Ev]
  int64_t B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo;
  Floats wq, bq;  ///< [E, Hq*D], [Hq*D] or null
  Floats wk, bk;  ///< [Ek, Hkv*D], [Hkv*D] or null
  Floats wv, bv;  ///< [Ev, Hkv*Dv], [Hkv*Dv] or null
  Floats wo, bo;  ///< [Hq*Dv, Eo], [Eo] or null
  float scale;
  bool causal;
  const int32_t* offsets = nullptr;  ///< [B] query alignment (see SdpaParams), or null (S - L)
  int64_t windowLeft = -1, windowRight = -1;  ///< sliding window bounds, -1 = none
  float softcap = 0.0f;              ///< logit soft-cap, 0 = none
  const uint8_t* mask;  ///< strided over [B, Hq, L, S], or null
  int64_t maskStrides[4];
  Floats bias;          ///< strided over [B, Hq, L, S], or null
  int64_t biasStrides[4];
  const int32_t* keyLengths;  ///< [B] in [0, S], or null
  float* output;   ///< [B, L, Eo] (written)
  float* weights;  ///< [B, Hq, L, S] (written) or null
  float* lse;      ///< [B, Hq, L] (written) or null
};

/**
 * Projections + attention only: writes the merged heads `att` [B*L, Hq*Dv] (token-major, ready
 * for the output projection) and weights/lse when set. Used by multiHeadAttention_forward and the encoder.
 * Returns the sdpa variant that ran.
 */
const char* multiHeadAttention_attend(const MultiHeadAttentionParams& p, float* att);

/** The whole op; returns the ISA level of the GEMM (the sdpa variant matches it). */
Isa multiHeadAttention_forward(const MultiHeadAttentionParams& p);

}  // namespace attnkit
