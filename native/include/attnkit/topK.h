// topK: score every user against every item by dot product and keep the k best per user.
// Plain C++ API (no N-API). Order (largest): higher score first, NaN above every number, ties to
// the lower item index. Order (!largest, the k smallest): lower score first, NaN below every
// number (NaN counts as the greatest value either way, as in PyTorch), ties to the lower item
// index. Both are total orders, so the selection is unique and independent of the partition:
// results are bit-identical for any thread count. Fewer than k items left: tail index -1, score
// -inf (largest) or +inf (!largest).
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
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
  /// Half operands: when users_type (items_type) is f16 or bf16, users (items) is null and users16
  /// (items16) holds the 16-bit patterns. A task widens the user block it scores and each item
  /// chunk as it scans it (attnkit/convert.h) into its own scratch: never the whole table. The
  /// scores are then bit-identical to the float32 call on the decoded values, except when both
  /// are bfloat16 and cpu_has_avx512_bf16(): then vdpbf16ps scores the raw pairs (TopKBf16Fn).
  DType users_type = DType::f32, items_type = DType::f32;
  const uint16_t* users16 = nullptr;
  const uint16_t* items16 = nullptr;
};

/**
 * Scan kernel: the first j in [0, n) with !(s[j] <= thr) (a score that may enter the heap: above
 * the threshold, or NaN, or anything when thr is NaN), or n if none. Per ISA (topk_<isa>.cc).
 */
using TopKScanFn = int64_t (*)(const float* s, int64_t n, float thr);
ATTNKIT_DECLARE_TABLE(TopKScanFn, topK_scan_table)

/**
 * Scores of bfloat16 users x bfloat16 items by AVX512_BF16 vdpbf16ps (topK_bf16_avx512.cc):
 * C[r][j] = Σ_d users[r][d]·items[j][d] for r < mu, j < cols (row strides D; C row stride ldc),
 * summed over pairs of d in order. Writes whole 14 x 32 tiles: C must have room for
 * ceil(mu/14)·14 rows of ceil(cols/32)·32 columns. `scratch` holds topK_bf16_scratch(mu, cols, D)
 * uint32 values; `pack_users`: pack the users into it (false: they are there from the previous call
 * with the same users and mu, whatever the items). Null when the build has no x86-64 AVX-512
 * code; use only when cpu_has_avx512_bf16().
 */
using TopKBf16Fn = void (*)(const uint16_t* users, int64_t mu, const uint16_t* items, int64_t cols, int64_t D, float* C, int64_t ldc, uint32_t* scratch,
                            bool pack_users);
TopKBf16Fn topK_bf16_kernel();
int64_t topK_bf16_scratch(int64_t mu, int64_t cols, int64_t D);

/** Compute topK; returns the ISA level the scoring GEMM ran at. */
Isa topK_forward(const TopKParams& p);

}  // namespace attnkit
