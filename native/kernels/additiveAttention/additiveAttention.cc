// additiveAttention driver (portable): projections through the GEMM, keys projected once and
// stored transposed per batch ([A, S]) so the per-ISA score kernel runs over contiguous keys,
// then the exclusion-aware softmax (double) and the weighted sum of the allowed values only
// (NaN in an excluded value never leaks). Tasks are fixed blocks of query rows.
#include "attnkit/additiveAttention.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attnkit/convert.h"
#include "attnkit/gemm.h"
#include "attnkit/parallel.h"

namespace attnkit {

Isa additiveAttention_forward(const AdditiveAttentionParams& p) {
  const int64_t B = p.B, L = p.L, S = p.S, A = p.A, Dv = p.Dv;
  Isa used = Isa::scalar;
  const AdditiveScoreFn score = additiveAttention_score_table().get(&used);
  const GemmKernel& gk = gemm_kernel();
  if (B == 0 || L == 0) return used;

  // Small vectors' float32 values (half ones widened, O(A)).
  std::vector<float> s_b, s_v;
  const float* bvec = gemm_vector(p.b, A, s_b);
  const float* vvec = gemm_vector(p.v, A, s_v);
  const bool halfValues = p.values.type != DType::f32;
  const ConvertFn widen = halfValues ? convert_table().get() : nullptr;

  // kp[b*S + j, :] = keys·wk + b, then transposed per batch: kT[b][u][j].
  std::vector<float> kp((size_t)(B * S * A)), kT((size_t)(B * S * A));
  gemm(gk, B * S, A, p.Dk, p.keys, p.Dk, p.wk, A, false, kp.data(), A, bvec, GemmAct::None, false, true);
  auto transpose = [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++)
      for (int64_t j = 0; j < S; j++)
        for (int64_t u = 0; u < A; u++) kT[(size_t)((b * A + u) * S + j)] = kp[(size_t)((b * S + j) * A + u)];
  };
  parallel_for_each(B, transpose);
  std::vector<float> qp;
  if (p.query && p.wq) {
    qp.resize((size_t)(B * L * A));
    gemm(gk, B * L, A, p.Dq, p.query, p.Dq, p.wq, A, false, qp.data(), A, nullptr, GemmAct::None, false, true);
  }

  const int64_t rows = B * L;
  const int64_t grain = std::max<int64_t>(1, 65536 / std::max<int64_t>(1, S * std::max<int64_t>(A, 1)));
  auto body = [&](int64_t r0, int64_t r1) {
    std::vector<float> logits((size_t)S);
    std::vector<double> pr((size_t)S);
    std::vector<uint8_t> allowed((size_t)S);
    std::vector<double> acc((size_t)Dv);
    std::vector<float> vrow((size_t)(halfValues ? Dv : 0));  // a half value row, widened
    for (int64_t row = r0; row < r1; row++) {
      const int64_t b = row / L, i = row % L;
      const int64_t len = p.keyLengths ? p.keyLengths[b] : S;
      score(qp.empty() ? nullptr : qp.data() + row * A, kT.data() + b * A * S, S, vvec, A, S, logits.data());
      bool any = false, nan = false;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < S; j++) {
        bool ok = j < len;
        if (ok && p.mask) ok = p.mask[b * p.maskStrides[0] + i * p.maskStrides[1] + j * p.maskStrides[2]] != 0;
        const double s = logits[(size_t)j];
        if (ok && s == -std::numeric_limits<double>::infinity()) ok = false;  // excluded, as if masked
        allowed[(size_t)j] = ok;
        if (!ok) continue;
        any = true;
        if (std::isnan(s)) nan = true;
        else if (s > mx) mx = s;
      }
      float* out = p.output + row * Dv;
      float* w = p.weights ? p.weights + row * S : nullptr;
      if (!any) {
        std::fill(out, out + Dv, 0.0f);
        if (w) std::fill(w, w + S, 0.0f);
        continue;
      }
      if (nan || mx == std::numeric_limits<double>::infinity()) {
        // A NaN or +inf logit makes this row (and only this row) NaN.
        std::fill(out, out + Dv, std::numeric_limits<float>::quiet_NaN());
        if (w)
          for (int64_t j = 0; j < S; j++) w[j] = allowed[(size_t)j] ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < S; j++) {
        if (!allowed[(size_t)j]) continue;
        pr[(size_t)j] = std::exp((double)logits[(size_t)j] - mx);
        sum += pr[(size_t)j];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < S; j++) {
        if (!allowed[(size_t)j]) {
          if (w) w[j] = 0.0f;
          continue;
        }
        const double pj = pr[(size_t)j] / sum;
        if (w) w[j] = (float)pj;
        const float* vv;
        if (halfValues) {
          widen(p.values.u16() + (b * S + j) * Dv, vrow.data(), Dv, p.values.type);
          vv = vrow.data();
        } else {
          vv = p.values.f32() + (b * S + j) * Dv;
        }
        for (int64_t d = 0; d < Dv; d++) acc[(size_t)d] += pj * vv[d];
      }
      for (int64_t d = 0; d < Dv; d++) out[d] = (float)acc[(size_t)d];
    }
  };
  parallel_for_each(rows, body, grain);
  return used;
}

}  // namespace attnkit
