// attnkit: the backward of HSTU pointwise attention (attnkit/hstuAttention.h), plain C++ API.
//
// With dZ_ij = (dO_i·v_j)·M(i,j)/norm·SiLU'(z_ij) and A_ij = M(i,j)·SiLU(z_ij)/norm:
//   dq_i = alpha·Σ_j dZ_ij k_j,  dk_j = alpha·Σ_i dZ_ij q_i,  dv_j = Σ_i A_ij dO_i,
//   dPosBias[h?, N-1 + j - i] += dZ_ij,  dTimeBias[h?, bucket_ij] += dZ_ij.
// z is recomputed tile by tile (nothing saved by the forward). Tasks: (group of consecutive
// sequences, head), the groups cut from the lengths alone; a task computes each visible tile's
// logits and dO·Vᵀ once and adds to dQ (scratch), dK and dV (in place: only that task writes
// those rows). The bias gradients are summed per task in double into private tables, then added
// task by task in a fixed order. No atomics: bit-identical for any thread count.
#pragma once

#include <cstdint>

#include "attnkit/hstuAttention.h"
#include "attnkit/isa.h"

namespace attnkit {

struct HstuAttentionBackwardParams {
  HstuAttentionParams fwd;       ///< the forward call (fwd.out unused)
  const float* dout = nullptr;   ///< [T,H,Dv]
  float* dq = nullptr;           ///< [T,H,D]
  float* dk = nullptr;           ///< [T,H,D]
  float* dv = nullptr;           ///< [T,H,Dv]
  float* dpos_bias = nullptr;    ///< positionBias's shape, or null (then not computed)
  float* dtime_bias = nullptr;   ///< timeBias's shape, or null
};

/// One ISA variant; false = out of memory.
using HstuAttentionBackwardFn = bool (*)(const HstuAttentionBackwardParams& p);
ATTNKIT_DECLARE_TABLE(HstuAttentionBackwardFn, hstuAttentionBackward_table)

/// Run with the best variant for the active ISA (thread pool). Returns the ISA level that ran;
/// throws std::bad_alloc when scratch memory cannot be allocated.
Isa hstu_attention_backward(const HstuAttentionBackwardParams& p);

}  // namespace attnkit
