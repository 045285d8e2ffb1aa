// multiHeadAttention: projections through attnkit's GEMM, attention through sdpa_forward on the
// projected data in place (strided heads, no split/merge copies), output projection.
// Plain C++ API (no N-API).
//
// Fusion: when query, key and value are the same buffer (self-attention), one GEMM against
// [wq | wk | wv] produces Q, K and V side by side in one [B*L, Hq*D + Hkv*D + Hkv*Dv] buffer;
// when only key and value share a buffer, K and V come from one GEMM against [wk | wv].
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link multiHeadAttention_forward} (pointers cover the extents their sizes imply). */
struct MultiHeadAttentionParams {
  const float* query;  ///< [B, L, E]
  const float* key;    ///< [B, S, Ek]
  const float* value;  ///< [B, S, Ev]
  int64_t B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo;
  const float *wq, *bq;  ///< [E, Hq*D], [Hq*D] or null
  const float *wk, *bk;  ///< [Ek, Hkv*D], [Hkv*D] or null
  const float *wv, *bv;  ///< [Ev, Hkv*Dv], [Hkv*Dv] or null
  const float *wo, *bo;  ///< [Hq*Dv, Eo], [Eo] or null
  float scale;
  bool causal;
  const int32_t* offsets = nullptr;  ///< [B] query alignment (see SdpaParams), or null (S - L)
  int64_t windowLeft = -1, windowRight = -1;  ///< sliding window bounds, -1 = none
  float softcap = 0.0f;              ///< logit soft-cap, 0 = none
  const uint8_t* mask;  ///< strided over [B, Hq, L, S], or null
  int64_t maskStrides[4];
  const float* bias;    ///< strided over [B, Hq, L, S], or null
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
