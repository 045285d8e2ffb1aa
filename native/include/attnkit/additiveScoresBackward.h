// attnkit: additiveScoresBackward, the pairwise part of additive attention's backward (issue #15),
// plain C++ API (no Node-API). With t = tanh(qa_i + ka_j), P the forward's weights,
// dP_ij = dOut_i·values_j and dE_ij = P_ij·(dP_ij − Σ_j' P_ij'·dP_ij'):
//   dValues_j = Σ_i P_ij dOut_i,  g_ij = dE_ij·v∘(1 − t²),  dqa_i = Σ_j g_ij,  dka_j = Σ_i g_ij,
//   dv = Σ_ij dE_ij·t.
// A pair counts only where P_ij ≠ 0 (dP, dValues) and dE_ij ≠ 0 (g, dv): excluded keys never leak.
// Tasks are fixed blocks of query rows of one batch (their count does not depend on the thread
// count); each writes its rows of dqa and its own partial dka, dValues and dv, reduced afterwards
// in block order in double: bit-identical for any thread count.
#pragma once
#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// Arguments of {@link additiveScores_backward}; every pointer covers the extent its sizes imply.
struct AdditiveScoresBackwardParams {
  const float* dOut;     ///< [B, L, Dv]
  const float* values;   ///< [B, S, Dv]
  const float* weights;  ///< [B, L, S]
  const float* qa;       ///< [B, L, A], or null (pooling: no query term)
  const float* ka;       ///< [B, S, A]
  const float* v;        ///< [A]
  int64_t B, L, S, Dv, A;
  float* dValues;        ///< [B, S, Dv] (written)
  float* dqa;            ///< [B, L, A] (written; null when qa is)
  float* dka;            ///< [B, S, A] (written)
  float* dv;             ///< [A] (written)
};

/**
 * The tanh pairs of one query row, per ISA: for every key j with e[j] ≠ 0, with
 * t = tanh(q + k_j) (q null: 0) and g = e[j]·v∘(1 − t²): dq += g, dk_j += g (k_j, dk_j rows of A
 * at stride A), and dvrow = Σ_j e[j]·t (overwritten). Over A in vectors, keys in order.
 */
using AdditiveScoresRowFn = void (*)(const float* q, const float* k, const float* v, const float* e, int64_t A, int64_t S,
                                     float* dq, float* dk, float* dvrow);
ATTNKIT_DECLARE_TABLE(AdditiveScoresRowFn, additiveScoresBackward_row_table)

/** Compute additiveScoresBackward; returns the ISA level the tanh pairs ran at. */
Isa additiveScores_backward(const AdditiveScoresBackwardParams& p);

}  // namespace attnkit
