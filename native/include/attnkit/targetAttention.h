// targetAttention: DIN's activation unit fused over the history. Plain C++ API (no N-API).
//
// The first layer's input [h, t, h-t, h*t]·W1 splits as h·(W1a+W1c) + (h*t)·W1d + t·(W1b-W1c):
// the t-part (plus b1) is one GEMM over the batch, computed once per batch row and used as the
// bias of the per-item GEMM over [h, h*t] (K = 2D instead of 4D). Hidden layers are GEMMs with a
// per-ISA activation pass; the last layer (width 1) is a dot product. Padded items are never
// computed. Tasks are fixed (batch row x block of items), so results are bit-identical for any
// thread count. A jagged history (historyOffsets) makes one task per block of a user's own items:
// the work and the scratch follow T = Σ lengths, not B·S.
//
// Half operands (attnkit/dtype.h): target, history and each layer's w, b and alpha may be float16
// or bfloat16. The first layer's rearranged weights are formed from w's decoded rows; hidden
// layers' weights are widened as they are packed (attnkit/gemm.h); biases, slopes and the last
// layer's weight vector into O(width) scratch; a task widens the target row and the history rows
// it reads (O(64 items x D)). Results are bit-identical to the float32 call on the decoded values.
#pragma once
#include <cstdint>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** One dense layer: w [inDim, outDim], b [outDim], PReLU slope alpha [outDim] or null. */
struct DinLayer {
  Floats w;
  Floats b;
  int64_t inDim, outDim;
  Floats alpha;
};

/** DIN hidden activations. */
enum class DinAct : int { Relu = 0, Sigmoid = 1, Prelu = 2 };

/** Arguments of {@link targetAttention_forward}; layers[0].inDim == 4D, chained, last outDim == 1. */
struct TargetAttentionParams {
  Floats target;         ///< [B, D]
  Floats history;        ///< [B, S, D], or [T, D] with historyOffsets
  int64_t B, S, D;
  const DinLayer* layers;
  int64_t nLayers;
  DinAct activation;
  bool softmax;               ///< normalize: 'softmax' (else 'none')
  const int32_t* keyLengths;  ///< [B] in [0, S], or null
  /// Jagged history (#17): [B+1] offsets (0, non-decreasing, last = T; S = the longest history),
  /// user b's items the rows offsets[b] .. offsets[b+1]-1; keyLengths is then null. Null: padded.
  const int32_t* historyOffsets;
  float* output;              ///< [B, D] (written)
  float* weights;             ///< [B, S], or [T] with historyOffsets (written), or null
};

/**
 * Activation pass over rows x cols (row stride ld): relu (NaN kept), sigmoid 1/(1+e^-x),
 * prelu (x >= 0 ? x : alpha[col]·x). Per ISA.
 */
using DinActFn = void (*)(float* x, int64_t rows, int64_t cols, int64_t ld, int kind, const float* alpha);
ATTNKIT_DECLARE_TABLE(DinActFn, targetAttention_act_table)

/** Compute targetAttention; returns the ISA level the GEMMs ran at. */
Isa targetAttention_forward(const TargetAttentionParams& p);

}  // namespace attnkit
