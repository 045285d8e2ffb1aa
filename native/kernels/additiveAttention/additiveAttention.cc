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
#include "attnkit/scratch.h"
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

  // Batch b's keys are key rows base(b) .. base(b) + n(b) - 1 (padded: b*S and S; jagged: the
  // offsets, no padding rows at all).
  const int32_t* offs = p.keyOffsets;
  auto base = [&](int64_t b) -> int64_t { return offs ? (int64_t)offs[b] : b * S; };
  auto count = [&](int64_t b) -> int64_t { return offs ? (int64_t)(offs[b + 1] - offs[b]) : S; };
  const int64_t keyRows = offs ? (int64_t)offs[B] : B * S;
  // kp[r, :] = keys_r·wk + b, then transposed per batch: batch b's block kT[A*base(b) ..] is
  // [A, n(b)] (row stride n(b)).
  // Both kept between calls (attnkit/scratch.h); each is written whole before it is read.
  ScratchFloats kpS((size_t)(keyRows * A)), kTS((size_t)(keyRows * A));
  float* const kp = kpS.data();
  float* const kT = kTS.data();
  gemm(gk, keyRows, A, p.Dk, p.keys, p.Dk, p.wk, A, false, kp, A, bvec, GemmAct::None, false, true);
  auto transpose = [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t r0 = base(b), n = count(b);
      for (int64_t j = 0; j < n; j++)
        for (int64_t u = 0; u < A; u++) kT[(size_t)(A * r0 + u * n + j)] = kp[(size_t)((r0 + j) * A + u)];
    }
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
      const int64_t r0 = base(b), n = count(b);  // n: the keys of this row (jagged: no padding)
      const int64_t len = p.keyLengths ? p.keyLengths[b] : n;
      // This row's block of the jagged mask: batch b's [L, n] block starts at L * base(b).
      const uint8_t* jmask = offs && p.jaggedMask ? p.jaggedMask + L * r0 : nullptr;
      score(qp.empty() ? nullptr : qp.data() + row * A, kT + A * r0, n, vvec, A, n, logits.data());
      bool any = false, nan = false;
      double mx = -std::numeric_limits<double>::infinity();
      for (int64_t j = 0; j < n; j++) {
        bool ok = j < len;
        if (ok && p.mask) ok = p.mask[b * p.maskStrides[0] + i * p.maskStrides[1] + j * p.maskStrides[2]] != 0;
        if (ok && jmask) ok = jmask[i * n + j] != 0;
        const double s = logits[(size_t)j];
        if (ok && s == -std::numeric_limits<double>::infinity()) ok = false;  // excluded, as if masked
        allowed[(size_t)j] = ok;
        if (!ok) continue;
        any = true;
        if (std::isnan(s)) nan = true;
        else if (s > mx) mx = s;
      }
      float* out = p.output + row * Dv;
      // This row's weights: w[j * wstride] (padded: [B,L,S] row; jagged: column i of [T,L] from row r0).
      float* w = !p.weights ? nullptr : offs ? p.weights + r0 * L + i : p.weights + row * S;
      const int64_t wstride = offs ? L : 1;
      if (!any) {
        std::fill(out, out + Dv, 0.0f);
        if (w)
          for (int64_t j = 0; j < n; j++) w[j * wstride] = 0.0f;
        continue;
      }
      if (nan || mx == std::numeric_limits<double>::infinity()) {
        // A NaN or +inf logit makes this row (and only this row) NaN.
        std::fill(out, out + Dv, std::numeric_limits<float>::quiet_NaN());
        if (w)
          for (int64_t j = 0; j < n; j++) w[j * wstride] = allowed[(size_t)j] ? std::numeric_limits<float>::quiet_NaN() : 0.0f;
        continue;
      }
      double sum = 0;
      for (int64_t j = 0; j < n; j++) {
        if (!allowed[(size_t)j]) continue;
        pr[(size_t)j] = std::exp((double)logits[(size_t)j] - mx);
        sum += pr[(size_t)j];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < n; j++) {
        if (!allowed[(size_t)j]) {
          if (w) w[j * wstride] = 0.0f;
          continue;
        }
        const double pj = pr[(size_t)j] / sum;
        if (w) w[j * wstride] = (float)pj;
        const float* vv;
        if (halfValues) {
          widen(p.values.u16() + (r0 + j) * Dv, vrow.data(), Dv, p.values.type);
          vv = vrow.data();
        } else {
          vv = p.values.f32() + (r0 + j) * Dv;
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
