// topK: score every user against every item by dot product and keep the k best per user.
// Plain C++ API (no N-API). Order (largest): higher score first, NaN above every number, ties to
// the lower item index. Order (!largest, the k smallest): lower score first, NaN below every
// number (NaN counts as the greatest value either way, as in PyTorch), ties to the lower item
// index. Both are total orders, so the selection is unique and independent of the partition:
// results are bit-identical for any thread count. Fewer than k items left: tail index -1, score
// -inf (largest) or +inf (!largest).
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/** Arguments of {@link topK_forward}. Exclusion indices must be in [0, N) (checked by the caller). */
struct TopKParams {
  const float* users;            ///< [B, D]
  const float* items;            ///< [N, D]
  int64_t B, N, D, k;
  const int32_t* const* exclude; ///< [B] lists (entries may be null), or null for none
  const int64_t* excludeLen;     ///< [B] list lengths (when exclude is set)
  int32_t* indices;              ///< [B, k] (written)
  float* scores;                 ///< [B, k] (written)
  bool largest = true;           ///< the k largest (true) or the k smallest (false)
};

/**
 * Scan kernel: the first j in [0, n) with !(s[j] <= thr) (a score that may enter the heap: above
 * the threshold, or NaN, or anything when thr is NaN), or n if none. Per ISA (topk_<isa>.cc).
 */
using TopKScanFn = int64_t (*)(const float* s, int64_t n, float thr);
ATTNKIT_DECLARE_TABLE(TopKScanFn, topK_scan_table)

/** Compute topK; returns the ISA level the scoring GEMM ran at. */
Isa topK_forward(const TopKParams& p);

}  // namespace attnkit
