// attnkit: scaled dot-product attention, plain C++ API (no Node-API).
//
// out[b,h,i,:] = Σ_j softmax_j(scale·q[b,h,i]·k[b,hk,j] + bias[b,h,i,j]) · v[b,hk,j,:]
// over the keys j not excluded, hk = h / (Hq/Hkv) (grouped-query heads read the shared kv head
// in place, no copies). Row (b,h,i) sits at key position pos = i + off[b] (off = offsets[b], or
// S - L when offsets is null). Key j is excluded from it when j >= key_lengths[b], when causal &&
// j > pos, when window_left >= 0 && j < pos - window_left, when window_right >= 0 &&
// j > pos + window_right, when mask[...] == 0, or when its logit is -Inf. The logit is
// scale·q·k, then softcap·tanh(logit/softcap) when softcap > 0, then + bias. Excluded keys contribute nothing (NaN/Inf in their k, v or bias never leaks).
// A row with no key left gives zeros and lse = -Inf. A NaN or +Inf logit among a row's allowed
// keys makes that row's output, lse and allowed weights NaN (that row only).
//
// Strided tensors (so multiHeadAttention can pass projections without transposing):
//   q   element (b,h,i,d)  at q[b*q_sb + h*q_sh + i*q_si + d]       (d contiguous)
//   k   element (b,hk,j,d) at k[b*k_sb + hk*k_sh + j*k_sj + d]
//   v   element (b,hk,j,e) at v[b*v_sb + hk*v_sh + j*v_sj + e]
//   out element (b,h,i,e)  at out[b*o_sb + h*o_sh + i*o_si + e]
// e.g. contiguous [B,H,L,D]: sb = H*L*D, sh = L*D, si = D; projections laid out [B,L,H*D]:
// sb = L*H*D, sh = D, si = H*D. mask/bias: element (b,h,i,j) at data[Σ idx*strides] (0 on
// broadcast axes). weights and logits (optional) are contiguous [B,Hq,L,S], lse (optional) [B,Hq,L].
//
// Algorithm: without weights, a tiled online softmax (flash-attention style; extra memory per
// task O(tile)): blocks of query rows × tiles of keys, tiles that causal/window/key_lengths rule
// out for the whole block are skipped (a window's cost grows with L·window, not L·S). Few query rows (decode): keys split into fixed chunks across
// threads, partial (max, sum, out) merged by log-sum-exp rescaling in chunk order. With weights:
// per row, two passes (the returned weights are the probabilities the output is summed with).
// Task boundaries never depend on the thread count: results are bit-identical for any count.
//
// Jagged rows (src/kernels.ts SdpaArgs.qOffsets / kvOffsets): with q_offsets and kv_offsets set,
// sequence b's query rows are q_offsets[b] .. q_offsets[b+1]-1 and its keys kv_offsets[b] ..
// kv_offsets[b+1]-1, element (row t, h, d) at q[t*q_si + h*q_sh + d] (k, v, out alike; the *_sb
// strides are unused); each sequence is the problem above with L = Lq_b, S = S_b (offsets[b] then
// required: the op resolves every causal form per sequence). lse is [ΣLq, Hq]. Only the block path
// runs (no weights, logits, mask, bias or key_lengths; jagged_mask / jagged_bias instead of mask / bias); tasks are
// (sequence, head, block of query rows) over the sequences' own rows: no padding computed.
//
// Half operands (src/kernels.ts DTypes): q, k, v and bias may each be float16 or bfloat16
// (q_type, k_type, v_type, bias_type; any subset, independently). Such an operand's 16-bit
// patterns are at q16 (k16, v16, bias16) with the same strides, and its float pointer is null.
// The kernel widens what a task reads (exact): the block path converts a query block as it
// transposes it and each key tile of K and V into per-task float32 scratch (O(tile)) before the
// same float microkernels; the row (decode) and weights paths convert K and V rows in registers
// as they stream them and the query row into scratch. Every half value is a float32 value, so
// the result is bit-identical to the float32 call on the decoded inputs.
#pragma once

#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/// Arguments of sdpa_forward (see the file comment for the layout of every pointer).
struct SdpaParams {
  const float* q = nullptr;
  int64_t q_sb = 0, q_sh = 0, q_si = 0;
  const float* k = nullptr;
  int64_t k_sb = 0, k_sh = 0, k_sj = 0;
  const float* v = nullptr;
  int64_t v_sb = 0, v_sh = 0, v_sj = 0;
  float* out = nullptr;
  int64_t o_sb = 0, o_sh = 0, o_si = 0;
  int64_t B = 0, Hq = 0, Hkv = 0, L = 0, S = 0, D = 0, Dv = 0;
  float scale = 1.0f;
  bool causal = false;
  const int32_t* offsets = nullptr;  ///< optional [B]: row i of batch b sits at key position i + offsets[b] (null: S - L)
  int64_t window_left = -1;          ///< keys before pos - window_left are excluded; -1 = no limit
  int64_t window_right = -1;         ///< keys after pos + window_right are excluded; -1 = no limit
  float softcap = 0.0f;              ///< > 0: logit = softcap·tanh(scale·q·k / softcap), before the bias
  const uint8_t* mask = nullptr;  ///< optional, 1 = may attend
  int64_t mask_s[4] = {0, 0, 0, 0};
  const float* bias = nullptr;    ///< optional, added to the scaled logits
  int64_t bias_s[4] = {0, 0, 0, 0};
  const int32_t* key_lengths = nullptr;  ///< optional [B], each in [0, S]
  float* weights = nullptr;       ///< optional out [B,Hq,L,S]
  float* lse = nullptr;           ///< optional out [B,Hq,L]
  float* logits = nullptr;        ///< optional out [B,Hq,L,S]: capped, biased logits, -Inf where excluded
  /// Element types (see the file comment); a half operand's patterns are at its *16 pointer.
  DType q_type = DType::f32, k_type = DType::f32, v_type = DType::f32, bias_type = DType::f32;
  const uint16_t* q16 = nullptr;
  const uint16_t* k16 = nullptr;
  const uint16_t* v16 = nullptr;
  const uint16_t* bias16 = nullptr;  ///< strides bias_s, like bias
  /// Jagged rows (both or neither; see the file comment): [B+1] offsets of each sequence's query
  /// rows in q / out and of its key rows in k / v; L and S are then the longest lengths.
  const int32_t* q_offsets = nullptr;
  const int32_t* kv_offsets = nullptr;
  /// Jagged only: per-sequence [Lq_b, S_b] boolean blocks back to back (broadcast over heads),
  /// block b starting at jagged_mask_starts[b] (= Σ_{c<b} Lq_c·S_c, [B] entries).
  const uint8_t* jagged_mask = nullptr;
  /// Jagged only: a float32 bias per sequence laid out as jagged_mask (broadcast over heads).
  const float* jagged_bias = nullptr;
  const int64_t* jagged_mask_starts = nullptr;
};

/// One ISA variant. Throws std::bad_alloc when scratch memory cannot be allocated.
using SdpaFn = void (*)(const SdpaParams& p);
ATTNKIT_DECLARE_TABLE(SdpaFn, sdpa_table)

/// Run sdpa with the best variant for the active ISA (uses the thread pool). Returns the ISA
/// level that ran.
Isa sdpa_forward(const SdpaParams& p);

/// Simple contiguous-layout helper: fill the strides of `p` for q [B,Hq,L,D], k [B,Hkv,S,D],
/// v [B,Hkv,S,Dv], out [B,Hq,L,Dv] (sizes must already be set).
void sdpa_contiguous_strides(SdpaParams& p);
/// The same for the token-major layout ('blhd'): q [B,L,Hq,D], k [B,S,Hkv,D], v [B,S,Hkv,Dv],
/// out [B,L,Hq,Dv].
void sdpa_token_major_strides(SdpaParams& p);

}  // namespace attnkit
