// attnkit: HSTU pointwise attention over a jagged batch (forward), plain C++ API.
//
// The math and the mask are HstuAttentionArgs' (src/kernels.ts): for sequence b (rows offsets[b] ..
// offsets[b+1]-1, length n), head h and positions i, j < n,
//   z_ij = alpha·q_i·k_j + posBias(h, j - i) + timeBias(h, bucket_ij),
//   y_i  = Σ_j M(i, j)·SiLU(z_ij) / norm · v_j,
// M the generative-recommenders mask (causal, targets, maxAttnLen, contextual prefix). q, k
// [T,H,D], v and out [T,H,Dv] contiguous, T = offsets[B].
//
// Algorithm: tasks (sequence, query block of BR rows, head); per task the visible keys of each
// row are a union of at most 4 intervals (the mask's ids are monotone in the position), key tiles
// no row of the block sees are never computed, tiles every row sees fully take a branch-free
// path, the others select per pair. No [n, n] matrix; extra memory O(tile) per task.
// Every output row is written (out needs no clearing). Bit-identical for any thread count.
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// Arguments of hstu_attention (every pointer checked by the binding; optional ones may be null).
struct HstuAttentionParams {
  const float* q = nullptr;             ///< [T,H,D]
  const float* k = nullptr;             ///< [T,H,D]
  const float* v = nullptr;             ///< [T,H,Dv]
  float* out = nullptr;                 ///< [T,H,Dv]
  const int32_t* offsets = nullptr;     ///< [B+1], 0 = offsets[0] <= ... <= offsets[B] = T
  int64_t B = 0, H = 0, D = 0, Dv = 0;
  int64_t max_length = 1;               ///< N: >= every sequence length
  float alpha = 1.0f;
  bool norm_by_length = false;          ///< divide by the sequence's length (else by N)
  bool causal = true;
  const int32_t* num_targets = nullptr; ///< [B] or null
  int64_t max_attn_len = 0;             ///< 0 = unlimited
  int64_t contextual_length = 0;
  const float* pos_bias = nullptr;      ///< [2N-1] or [H, 2N-1] (pos_per_head)
  bool pos_per_head = false;
  const double* timestamps = nullptr;   ///< [T] (with time_bias)
  const float* time_bias = nullptr;     ///< [nb+1] or [H, nb+1] (time_per_head)
  bool time_per_head = false;
  int64_t num_buckets = 0;              ///< nb
  const double* thresholds = nullptr;   ///< [nb] ascending; bucket = count <= |delta|
};

/// One ISA variant; false = out of memory.
using HstuAttentionFn = bool (*)(const HstuAttentionParams& p);
ATTNKIT_DECLARE_TABLE(HstuAttentionFn, hstuAttention_table)

/// Run with the best variant for the active ISA (thread pool). Returns the ISA level that ran;
/// throws std::bad_alloc when scratch memory cannot be allocated.
Isa hstu_attention(const HstuAttentionParams& p);

}  // namespace attnkit
