// targetAttention driver (portable); see attnkit/targetAttention.h for the scheme.
#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attnkit/convert.h"
#include "attnkit/gemm.h"
#include "attnkit/parallel.h"
#include "attnkit/targetAttention.h"

namespace attnkit {

Isa targetAttention_forward(const TargetAttentionParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& gk = gemm_kernel(&used);
  const DinActFn act = targetAttention_act_table().get();
  const int64_t B = p.B, S = p.S, D = p.D, NL = p.nLayers;
  if (B == 0) return used;
  const DinLayer& l0 = p.layers[0];
  const int64_t H1 = l0.outDim;
  const bool oneLayer = NL == 1;
  const bool halfT = p.target.type != DType::f32, halfH = p.history.type != DType::f32;
  const ConvertFn widen = convert_table().get();

  // Every layer's bias and PReLU slope, and the last layer's weight vector, as float32 (half ones
  // widened: O(width) each).
  std::vector<std::vector<float>> small((size_t)(3 * NL));
  std::vector<const float*> bias((size_t)NL), alpha((size_t)NL);
  for (int64_t l = 0; l < NL; l++) {
    bias[(size_t)l] = gemm_vector(p.layers[l].b, p.layers[l].outDim, small[(size_t)(3 * l)]);
    alpha[(size_t)l] = gemm_vector(p.layers[l].alpha, p.layers[l].outDim, small[(size_t)(3 * l + 1)]);
  }
  const DinLayer& last = p.layers[NL - 1];
  const float* lastW = oneLayer ? nullptr : gemm_vector(last.w, last.inDim, small[(size_t)(3 * (NL - 1) + 2)]);

  // Rearranged first layer: Whp = [W1a + W1c; W1d] ([2D, H1]), Wt = W1b - W1c ([D, H1]).
  std::vector<float> whp((size_t)(2 * D * H1)), wt((size_t)(D * H1));
  {
    // Row r of W1 as float32: in place, or a half row widened into rows[q].
    std::vector<float> rows((size_t)(l0.w.type != DType::f32 ? 4 * H1 : 0));
    auto wrow = [&](int64_t r, int q) -> const float* {
      if (l0.w.type == DType::f32) return l0.w.f32() + r * H1;
      widen(l0.w.u16() + r * H1, rows.data() + q * H1, H1, l0.w.type);
      return rows.data() + q * H1;
    };
    for (int64_t d = 0; d < D; d++) {
      const float *wa = wrow(d, 0), *wb = wrow(D + d, 1), *wc = wrow(2 * D + d, 2), *wd = wrow(3 * D + d, 3);
      for (int64_t o = 0; o < H1; o++) {
        const float a = wa[o], bb = wb[o], c = wc[o], dd = wd[o];
        whp[(size_t)(d * H1 + o)] = a + c;
        whp[(size_t)((D + d) * H1 + o)] = dd;
        wt[(size_t)(d * H1 + o)] = bb - c;
      }
    }
  }
  // tpart[b] = t_b·Wt + b1: the bias of batch row b's per-item GEMM.
  std::vector<float> tpart((size_t)(B * H1));
  gemm(gk, B, H1, D, p.target, D, Floats{wt.data(), DType::f32}, H1, false, tpart.data(), H1, bias[0], GemmAct::None, false,
       true);

  // Pack every GEMM layer once (hidden layers after the first; the last width-1 layer is a dot).
  std::vector<PackedB> packed((size_t)NL);
  gemm_pack_b(gk, 2 * D, H1, whp.data(), H1, false, packed[0], true);
  for (int64_t l = 1; l + 1 < NL; l++)
    gemm_pack_b(gk, p.layers[l].inDim, p.layers[l].outDim, p.layers[l].w, p.layers[l].outDim, false, packed[(size_t)l], true);
  int64_t maxW = 2 * D;
  for (int64_t l = 0; l < NL; l++) maxW = std::max(maxW, p.layers[l].outDim);

  // User b's items are history rows base(b) .. base(b) + len(b) - 1 (padded: b*S, keyLengths or S;
  // jagged: the offsets). scores[] follows the history's rows.
  const int32_t* offs = p.historyOffsets;
  auto base = [&](int64_t b) -> int64_t { return offs ? (int64_t)offs[b] : b * S; };
  auto length = [&](int64_t b) -> int64_t { return offs ? (int64_t)(offs[b + 1] - offs[b]) : p.keyLengths ? (int64_t)p.keyLengths[b] : S; };
  const int64_t rowsTotal = offs ? (int64_t)offs[B] : B * S;
  std::vector<float> scores((size_t)rowsTotal);
  const int64_t CH = 64;  // items per task (fixed)
  const int64_t chunks = (S + CH - 1) / CH;
  // Jagged: the tasks are each user's own blocks of CH items (taskFirst[b] = the first task of
  // user b), so no task exists for padding; the partition depends on the offsets only.
  std::vector<int64_t> taskFirst(offs ? (size_t)(B + 1) : 0);
  if (offs) {
    for (int64_t b = 0; b < B; b++) taskFirst[(size_t)(b + 1)] = taskFirst[(size_t)b] + (length(b) + CH - 1) / CH;
  }
  const int64_t tasks = offs ? taskFirst[(size_t)B] : B * chunks;
  auto phase1 = [&](int64_t t0, int64_t t1) {
    std::vector<float> bufA((size_t)(CH * maxW)), bufB((size_t)(CH * maxW));
    // Half target row / history rows of the task, widened.
    std::vector<float> tbuf((size_t)(halfT ? D : 0)), hbuf((size_t)(halfH ? CH * D : 0));
    for (int64_t t = t0; t < t1; t++) {
      int64_t b, j0;
      if (offs) {
        b = (int64_t)(std::upper_bound(taskFirst.begin(), taskFirst.end(), t) - taskFirst.begin()) - 1;
        j0 = (t - taskFirst[(size_t)b]) * CH;
      } else {
        b = t / chunks;
        j0 = (t % chunks) * CH;
      }
      const int64_t len = length(b);
      const int64_t n = offs ? std::min(CH, len - j0) : std::min(std::min(CH, S - j0), len - j0);
      if (n <= 0) continue;
      const float* tv;
      if (halfT) {
        widen(p.target.u16() + b * D, tbuf.data(), D, p.target.type);
        tv = tbuf.data();
      } else {
        tv = p.target.f32() + b * D;
      }
      const float* hist;
      if (halfH) {
        widen(p.history.u16() + (base(b) + j0) * D, hbuf.data(), n * D, p.history.type);
        hist = hbuf.data();
      } else {
        hist = p.history.f32() + (base(b) + j0) * D;
      }
      float* x = bufA.data();
      for (int64_t r = 0; r < n; r++) {
        const float* h = hist + r * D;
        for (int64_t d = 0; d < D; d++) {
          x[r * 2 * D + d] = h[d];
          x[r * 2 * D + D + d] = h[d] * tv[d];
        }
      }
      float* cur = bufB.data();
      float* nxt = bufA.data();
      gemm_packed(n, x, 2 * D, packed[0], cur, H1, tpart.data() + b * H1, GemmAct::None, false, false);
      int64_t width = H1;
      if (!oneLayer) act(cur, n, H1, H1, (int)p.activation, alpha[0]);
      for (int64_t l = 1; l + 1 < NL; l++) {
        const DinLayer& ly = p.layers[l];
        gemm_packed(n, cur, width, packed[(size_t)l], nxt, ly.outDim, bias[(size_t)l], GemmAct::None, false, false);
        act(nxt, n, ly.outDim, ly.outDim, (int)p.activation, alpha[(size_t)l]);
        std::swap(cur, nxt);
        width = ly.outDim;
      }
      float* sc = scores.data() + base(b) + j0;
      if (oneLayer) {
        for (int64_t r = 0; r < n; r++) sc[r] = cur[r];
      } else {
        for (int64_t r = 0; r < n; r++) {
          float s = bias[(size_t)(NL - 1)][0];
          for (int64_t k = 0; k < width; k++) s += cur[r * width + k] * lastW[k];
          sc[r] = s;
        }
      }
    }
  };
  parallel_for_each(tasks, phase1);

  auto phase2 = [&](int64_t b0, int64_t b1) {
    std::vector<double> pr((size_t)S), acc((size_t)D);
    std::vector<uint8_t> allowed((size_t)S);
    std::vector<float> hrow((size_t)(halfH ? D : 0));  // a half history row, widened
    for (int64_t b = b0; b < b1; b++) {
      const int64_t len = length(b), n = offs ? len : S;  // n: the items of this row (jagged: no padding)
      const float* sc = scores.data() + base(b);
      bool nanRow = false, any = false;
      for (int64_t j = 0; j < n; j++) allowed[(size_t)j] = j < len;
      if (p.softmax) {
        double mx = -std::numeric_limits<double>::infinity();
        for (int64_t j = 0; j < len; j++) {
          if (sc[j] == -std::numeric_limits<float>::infinity()) {
            allowed[(size_t)j] = 0;  // excluded, as if padded
            continue;
          }
          any = true;
          if (std::isnan(sc[j])) nanRow = true;
          else if (sc[j] > mx) mx = sc[j];
        }
        if (mx == std::numeric_limits<double>::infinity()) nanRow = true;
        if (any && !nanRow) {
          double sum = 0;
          for (int64_t j = 0; j < len; j++)
            if (allowed[(size_t)j]) sum += (pr[(size_t)j] = std::exp((double)sc[j] - mx));
          for (int64_t j = 0; j < len; j++)
            if (allowed[(size_t)j]) pr[(size_t)j] /= sum;
        } else {
          for (int64_t j = 0; j < len; j++) pr[(size_t)j] = any ? std::numeric_limits<double>::quiet_NaN() : 0.0;
        }
      } else {
        for (int64_t j = 0; j < len; j++) pr[(size_t)j] = sc[j];
      }
      std::fill(acc.begin(), acc.end(), 0.0);
      for (int64_t j = 0; j < len; j++) {
        if (!allowed[(size_t)j]) continue;
        const double pj = pr[(size_t)j];
        const float* h;
        if (halfH) {
          widen(p.history.u16() + (base(b) + j) * D, hrow.data(), D, p.history.type);
          h = hrow.data();
        } else {
          h = p.history.f32() + (base(b) + j) * D;
        }
        for (int64_t d = 0; d < D; d++) acc[(size_t)d] += pj * h[d];
      }
      for (int64_t d = 0; d < D; d++) p.output[b * D + d] = (float)acc[(size_t)d];
      if (p.weights)
        for (int64_t j = 0; j < n; j++) p.weights[base(b) + j] = allowed[(size_t)j] ? (float)pr[(size_t)j] : 0.0f;
    }
  };
  parallel_for_each(B, phase2, 16);
  return used;
}

}  // namespace attnkit
