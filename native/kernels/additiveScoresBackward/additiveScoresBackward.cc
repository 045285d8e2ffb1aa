// additiveScoresBackward driver (portable): fixed blocks of ROWS query rows per batch are the
// tasks (their count depends on B and L only). A task computes, per row, dP and δ in double over
// the keys with a nonzero weight, dE = P·(dP − δ) (rounded to float), adds P·dOut_i into its
// dValues rows, and hands the row to the per-ISA tanh-pair kernel (dqa row, dka rows, the row's
// dv). With one block per batch a task owns its batch's dka and dValues rows outright; with more,
// each block writes its own partial rows, added in block order in double afterwards, as the
// per-task dv partials are: bit-identical for any thread count.
#include "attnkit/additiveScoresBackward.h"

#include <algorithm>
#include <vector>

#include "attnkit/parallel.h"

namespace attnkit {

Isa additiveScores_backward(const AdditiveScoresBackwardParams& p) {
  const int64_t B = p.B, L = p.L, S = p.S, Dv = p.Dv, A = p.A;
  Isa used = Isa::scalar;
  const AdditiveScoresRowFn row_pairs = additiveScoresBackward_row_table().get(&used);
  constexpr int64_t ROWS = 32;
  const int64_t blocks = (L + ROWS - 1) / ROWS;
  const int64_t tasks = B * blocks;
  const bool partial = blocks > 1;
  std::vector<float> part_ka, part_values;
  if (partial) {
    part_ka.assign((size_t)(tasks * S * A), 0.0f);
    part_values.assign((size_t)(tasks * S * Dv), 0.0f);
  }
  std::vector<double> part_dv((size_t)(tasks * A), 0.0);

  auto body = [&](int64_t t0, int64_t t1) {
    std::vector<double> dP((size_t)S);
    std::vector<float> e((size_t)S), dvrow((size_t)A);
    for (int64_t t = t0; t < t1; t++) {
      const int64_t b = t / blocks, i0 = (t % blocks) * ROWS, i1 = std::min(L, i0 + ROWS);
      float* dk = partial ? part_ka.data() + t * S * A : p.dka + b * S * A;
      float* dvals = partial ? part_values.data() + t * S * Dv : p.dValues + b * S * Dv;
      if (!partial) {
        std::fill(dk, dk + S * A, 0.0f);
        std::fill(dvals, dvals + S * Dv, 0.0f);
      }
      double* dvp = part_dv.data() + t * A;
      for (int64_t i = i0; i < i1; i++) {
        const int64_t row = b * L + i;
        const float* P = p.weights + row * S;
        const float* go = p.dOut + row * Dv;
        double delta = 0;
        for (int64_t j = 0; j < S; j++) {
          const double pj = P[j];
          if (pj == 0) continue;
          const float* vj = p.values + (b * S + j) * Dv;
          float* dvj = dvals + j * Dv;
          double s = 0;
          for (int64_t d = 0; d < Dv; d++) {
            s += (double)go[d] * vj[d];
            dvj[d] += P[j] * go[d];
          }
          dP[(size_t)j] = s;
          delta += pj * s;
        }
        for (int64_t j = 0; j < S; j++) e[(size_t)j] = P[j] == 0 ? 0.0f : (float)(P[j] * (dP[(size_t)j] - delta));
        float* dq = p.dqa ? p.dqa + row * A : nullptr;
        if (dq) std::fill(dq, dq + A, 0.0f);
        row_pairs(p.qa ? p.qa + row * A : nullptr, p.ka + b * S * A, p.v, e.data(), A, S, dq, dk, dvrow.data());
        for (int64_t u = 0; u < A; u++) dvp[u] += dvrow[(size_t)u];
      }
    }
  };
  parallel_for_each(tasks, body, 1);

  if (partial) {
    auto reduce = [&](int64_t b0, int64_t b1) {
      for (int64_t b = b0; b < b1; b++) {
        for (int64_t x = 0; x < S * A; x++) {
          double s = 0;
          for (int64_t k = 0; k < blocks; k++) s += part_ka[(size_t)((b * blocks + k) * S * A + x)];
          p.dka[b * S * A + x] = (float)s;
        }
        for (int64_t x = 0; x < S * Dv; x++) {
          double s = 0;
          for (int64_t k = 0; k < blocks; k++) s += part_values[(size_t)((b * blocks + k) * S * Dv + x)];
          p.dValues[b * S * Dv + x] = (float)s;
        }
      }
    };
    parallel_for_each(B, reduce, 1);
  }
  for (int64_t u = 0; u < A; u++) {
    double s = 0;
    for (int64_t t = 0; t < tasks; t++) s += part_dv[(size_t)(t * A + u)];
    p.dv[u] = (float)s;
  }
  return used;
}

}  // namespace attnkit
