// additiveAttention (Bahdanau) and attention pooling. Plain C++ API (no N-API).
//   score(i,j) = v · tanh(q_i·wq + k_j·wk + b), softmax over the allowed j, output Σ p_j values_j.
// Projections run once through the GEMM (keys·wk + b for every key, query·wq for every query);
// the tanh sum is vectorised over 16 (AVX-512) / 8 (AVX2) keys at a time with the tanh of
// native/kernels/vec/vmath_*.h (max abs error 2.74e-7, measured by bench/native-gemm.mjs vmath).
// Exclusion (mask == 0, j >= keyLengths[b], score == -inf) and empty rows as in sdpa. Jagged keys
// (keyOffsets) are projected and scored over their T rows only: no padding is touched.
// Half operands (attnkit/dtype.h): query, keys, values, wq, wk, b and v may each be float16 or
// bfloat16. The projection GEMMs widen query / keys and wq / wk as they pack them
// (attnkit/gemm.h); b and v are widened into O(A) scratch; a value row is widened as the weighted
// sum reads it (O(Dv) per task). Results are bit-identical to the float32 call on the decoded values.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link additiveAttention_forward} (pointers cover the extents their sizes imply). */
struct AdditiveAttentionParams {
  Floats query;         ///< [B, L, Dq], or null (pooling: L == 1, no query term)
  Floats keys;          ///< [B, S, Dk]
  Floats values;        ///< [B, S, Dv]
  int64_t B, L, S, Dq, Dk, Dv, A;
  Floats wq;            ///< [Dq, A] (null with query)
  Floats wk;            ///< [Dk, A]
  Floats b;             ///< [A]
  Floats v;             ///< [A]
  const uint8_t* mask;  ///< strided over [B, L, S], or null
  int64_t maskStrides[3];
  const int32_t* keyLengths;  ///< [B] in [0, S], or null
  /// Jagged keys / values (#17): [B+1] offsets (0, non-decreasing, last = T; S = the longest
  /// sequence): keys [T, Dk], values [T, Dv], batch b's keys the rows offsets[b] .. offsets[b+1]-1;
  /// mask and keyLengths are then null. Null: padded.
  const int32_t* keyOffsets;
  /// With keyOffsets only: [L * T] bytes, batch b's row-major [L, n_b] block at L * offsets[b]
  /// (1 = may attend), or null.
  const uint8_t* jaggedMask;
  float* output;        ///< [B, L, Dv] (written)
  float* weights;       ///< [B, L, S], or [T, L] with keyOffsets (written), or null
};

/**
 * Score kernel: `logits[j] = Σ_u v[u]·tanh(q[u] + kT[u*ldk + j])` for j in [0, S), with q null
 * meaning 0. kT is the projected keys transposed ([A, S] with row stride ldk). Per ISA.
 */
using AdditiveScoreFn = void (*)(const float* q, const float* kT, int64_t ldk, const float* v, int64_t A, int64_t S,
                                 float* logits);
ATTNKIT_DECLARE_TABLE(AdditiveScoreFn, additiveAttention_score_table)

/** Compute additiveAttention; returns the ISA level the tanh sum ran at. */
Isa additiveAttention_forward(const AdditiveAttentionParams& p);

}  // namespace attnkit
