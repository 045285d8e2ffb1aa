// attnkit: the backward of scaled dot-product attention (docs/TRAINING.md), plain C++ API.
//
// Given the forward's inputs (q, k, v, mask, bias, keyLengths, limits, scale: `fwd`, an SdpaParams
// whose out / weights / lse / logits are unused), its output `out` (O) and log-sum-exp `lse`, and
// the loss gradient `dout` (dO), it writes
//   P = exp(z - lse) over the keys the forward let each row see (z = c + bias, c = scale·q·k or its
//       soft cap), dV = Pᵀ·dO, dP = dO·Vᵀ, δ_i = Σ dO_i·O_i, dZ = P∘(dP − δ),
//   dS = dZ·(1 − (c/softcap)²) (softcap) or dZ, dQ = scale·dS·K, dK = scale·dSᵀ·Q,
//   dBias[Σ idx·bias_s] += dZ (when dbias is set),
// grouped-query heads summed into their kv head's dK / dV. Excluded (row, key) pairs (keyLengths,
// causal / window, mask == 0, z == -Inf) and rows with lse == -Inf contribute nothing: a NaN / Inf in
// an excluded key's k or v, or in a dead row's q or dO, never reaches a gradient.
//
// Every gradient is written whole (no output needs zeroing; dBias is summed in a double buffer of
// dbias_len elements, then rounded into dbias). dq has q's strides (fwd.q_*), dk k's, dv v's; out
// and dout share fwd.o_*.
//
// Algorithm (flash-style, P recomputed tile by tile from lse, never stored; extra memory O(tile) per
// task plus O(B·Hq·L + B·Hkv·S) for δ and row flags, plus dbias_len doubles with dBias):
//  * pass 1, tasks (b, kv head, block of keys): dK and dV of those keys summed over the group's query
//    heads and the query blocks that see them (the forward's band geometry: blocks the causal limit,
//    a window or keyLengths rule out are never computed), in a fixed order;
//  * pass 2, tasks (b, q head, block of query rows): dQ over the key tiles the block sees. With
//    dbias, a task covers every index of the bias's broadcast axes, so each dBias element has one
//    writer summing in a fixed order.
// When B·Hkv alone gives enough tasks (32) and no dBias is asked for, one pass instead: tasks
// (b, kv head), each tile's logits and dP computed once and used for dQ, dK and dV (5 products a
// tile instead of 7). The choice depends on the problem only.
// Task boundaries never depend on the thread count: results are bit-identical for any count.
#pragma once

#include <cstdint>

#include "attnkit/isa.h"
#include "attnkit/sdpa.h"

namespace attnkit {

/// Arguments of sdpa_backward. Float32 operands only (fwd's half pointers must be null).
struct SdpaBackwardParams {
  SdpaParams fwd;                ///< the forward call: q, k, v, sizes, limits, mask, bias, strides (o_*: out / dout)
  const float* out = nullptr;    ///< the forward's output O [B,Hq,L,Dv], strides fwd.o_*
  const float* dout = nullptr;   ///< dO, strides fwd.o_*
  const float* lse = nullptr;    ///< [B,Hq,L] contiguous: the forward's log-sum-exp (-Inf: a row with no key)
  float* dq = nullptr;           ///< strides fwd.q_*
  float* dk = nullptr;           ///< strides fwd.k_*
  float* dv = nullptr;           ///< strides fwd.v_*
  float* dbias = nullptr;        ///< optional, indexed through fwd.bias_s (needs fwd.bias)
  int64_t dbias_len = 0;         ///< its elements (every Σ idx·bias_s is below it); all are written
};

/// One ISA variant; false = out of memory.
using SdpaBackwardFn = bool (*)(const SdpaBackwardParams& p);
ATTNKIT_DECLARE_TABLE(SdpaBackwardFn, sdpaBackward_table)

/// Run the backward with the best variant for the active ISA (uses the thread pool). Returns the
/// ISA level that ran; throws std::bad_alloc when scratch memory cannot be allocated.
Isa sdpa_backward(const SdpaBackwardParams& p);

}  // namespace attnkit
