// topK: users are scored in tiles (a user block x an item chunk, the chunk packed as the
// transposed B of the GEMM, through the GEMM microkernel into a small buffer), and each
// user keeps a bounded heap of its k best (no full sort). A score enters the exact comparison
// only when !(s <= worst kept), so most of the table costs one compare after its dot product.
// Work splits into fixed tasks (user block x item range) and per-range heaps are merged at the
// end: the order is total, so the result does not depend on the partition or thread count.
// The k smallest (largest = false) run the same machinery on negated scores (negation is exact,
// and -0 == 0 keeps ties ties): the k smallest are the k largest of -s, with NaN ranked last
// instead of first (NaN is the greatest value in both directions, as in PyTorch). The scan is
// unchanged: it only pre-filters, and it lets every NaN through to the exact comparison.
#include "attnkit/topK.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "attnkit/convert.h"
#include "attnkit/gemm.h"
#include "attnkit/parallel.h"

namespace attnkit {
namespace {

struct Cand {
  float s;
  int32_t i;
};

// True when (sa, ia) ranks before (sb, ib): NaN first (nan_last: last), then higher score, then
// lower index.
inline bool ranks_before(float sa, int32_t ia, float sb, int32_t ib, bool nan_last) {
  const bool na = std::isnan(sa), nb = std::isnan(sb);
  if (na || nb) return na && nb ? ia < ib : (nan_last ? nb : na);
  return sa > sb || (sa == sb && ia < ib);
}

// Bounded heap of the k best; the root is the worst kept entry.
struct Heap {
  Cand* h;
  int64_t k, n = 0;
  bool nanLast = false;
  // Threshold for the cheap pre-filter: NaN while not full (every score passes !(s <= NaN)).
  float thr() const { return n < k ? std::numeric_limits<float>::quiet_NaN() : h[0].s; }
  bool worse(const Cand& a, const Cand& b) const { return ranks_before(b.s, b.i, a.s, a.i, nanLast); }
  void offer(float s, int32_t i) {
    if (n < k) {
      int64_t c = n++;
      h[c] = {s, i};
      while (c > 0) {  // sift up: parent must be worse than child
        int64_t p = (c - 1) / 2;
        if (!worse(h[c], h[p])) break;
        std::swap(h[c], h[p]);
        c = p;
      }
      return;
    }
    if (!ranks_before(s, i, h[0].s, h[0].i, nanLast)) return;
    h[0] = {s, i};
    int64_t c = 0;
    for (;;) {
      int64_t l = 2 * c + 1, r = l + 1, w = c;
      if (l < n && worse(h[l], h[w])) w = l;
      if (r < n && worse(h[r], h[w])) w = r;
      if (w == c) break;
      std::swap(h[c], h[w]);
      c = w;
    }
  }
};

}  // namespace

Isa topK_forward(const TopKParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& kern = gemm_kernel(&used);
  const int64_t B = p.B, N = p.N, D = p.D, k = p.k;
  if (B <= 0 || k <= 0) return used;
  const bool neg = !p.largest;  // rank -s (the k smallest), NaN last
  const float pad = neg ? std::numeric_limits<float>::infinity() : -std::numeric_limits<float>::infinity();
  if (N <= 0) {
    for (int64_t i = 0; i < B * k; i++) {
      p.indices[i] = -1;
      p.scores[i] = pad;
    }
    return used;
  }
  const TopKScanFn scan = topK_scan_table().get();

  // Fixed blocking (depends on sizes and the ISA only, never on the thread count).
  // ~256 users per block: the packed item table (N·D floats, usually far beyond the caches) is
  // streamed once per block, so bigger blocks mean less memory traffic; ~256 items per chunk
  // keep a chunk's packed items (D·256 floats) and its score tile (256 x 256) in L2.
  const int64_t ub = kern.mr * std::max(1, 256 / kern.mr);  // users per block
  const int64_t ic = kern.nr * std::max(1, 256 / kern.nr);  // items per chunk (scores buffer width)
  const int64_t ublocks = (B + ub - 1) / ub;
  const int64_t chunks = (N + ic - 1) / ic;
  // Split the items too when there are few user blocks, so small B still uses every core.
  const int64_t kk = std::min(k, N);  // a heap never holds more than N entries
  // ... but each split keeps its own k candidates per user: cap that memory at 16M entries.
  const int64_t memSplits = std::max<int64_t>(1, ((int64_t)1 << 24) / std::max<int64_t>(1, B * kk));
  const int64_t splits = std::max<int64_t>(1, std::min({chunks, (16 + ublocks - 1) / ublocks, memSplits}));
  const int64_t chunksPer = (chunks + splits - 1) / splits;
  std::vector<Cand> cand((size_t)(splits * B * kk));
  std::vector<int64_t> count((size_t)(splits * B), 0);

  const bool uhalf = p.users == nullptr, ihalf = p.items == nullptr;
  // bfloat16 users and items on a CPU with AVX512_BF16: scores by vdpbf16ps (twice the multiply-adds
  // per instruction; sums in pairs, so not the float32 path's bits: topK_bf16_avx512.cc).
  const TopKBf16Fn dot16 = (uhalf && ihalf && p.users_type == DType::bf16 && p.items_type == DType::bf16 && used == Isa::avx512 &&
                            kern.mr == 14 && kern.nr == 32 && cpu_has_avx512_bf16())
                               ? topK_bf16_kernel()
                               : nullptr;
  const ConvertFn widen = (uhalf || ihalf) && !dot16 ? convert_table().get() : nullptr;
  auto task = [&](int64_t t0, int64_t t1) {
    std::vector<float> sbuf((size_t)(ub * ic));
    // Half operands: the task's user block and the item chunk being scanned, widened (exact).
    std::vector<float> ubuf((size_t)(uhalf && !dot16 ? ub * D : 0)), ibuf((size_t)(ihalf && !dot16 ? ic * D : 0));
    std::vector<uint32_t> pairs((size_t)(dot16 ? topK_bf16_scratch(ub, ic, D) : 0));
    // Each chunk of the item table is packed where it is used (it stays in L2 for the whole user
    // block): no table-sized copy, no page faults on it, and nothing wasted when B is small.
    PackedB chunk;
    std::vector<std::vector<int32_t>> ex((size_t)ub);
    for (int64_t t = t0; t < t1; t++) {
      const int64_t blk = t / splits, sp = t % splits;
      const int64_t u0 = blk * ub, mu = std::min(ub, B - u0);
      const int64_t c0 = sp * chunksPer, c1 = std::min(chunks, c0 + chunksPer);
      if (c0 >= c1) continue;
      const float* users = p.users ? p.users + u0 * D : ubuf.data();
      if (uhalf && !dot16) widen(p.users16 + u0 * D, ubuf.data(), mu * D, p.users_type);
      std::vector<Heap> heaps((size_t)mu);
      for (int64_t r = 0; r < mu; r++) {
        heaps[r].h = cand.data() + (sp * B + u0 + r) * kk;
        heaps[r].k = kk;
        heaps[r].nanLast = neg;
        ex[r].clear();
        if (p.exclude && p.exclude[u0 + r]) {
          ex[r].assign(p.exclude[u0 + r], p.exclude[u0 + r] + p.excludeLen[u0 + r]);
          std::sort(ex[r].begin(), ex[r].end());
        }
      }
      for (int64_t c = c0; c < c1; c++) {
        const int64_t j0 = c * ic, cols = std::min(ic, N - j0);
        if (dot16) {
          dot16(p.users16 + u0 * D, mu, p.items16 + j0 * D, cols, D, sbuf.data(), ic, pairs.data(), c == c0);
        } else {
          const float* items = p.items ? p.items + j0 * D : ibuf.data();
          if (ihalf) widen(p.items16 + j0 * D, ibuf.data(), cols * D, p.items_type);
          gemm_pack_b(kern, D, cols, items, D, true, chunk, false);
          gemm_packed(mu, users, D, chunk, sbuf.data(), ic, nullptr, GemmAct::None, false, false);
        }
        if (neg)
          for (int64_t r = 0; r < mu; r++) {
            float* s = sbuf.data() + r * ic;
            for (int64_t j = 0; j < cols; j++) s[j] = -s[j];
          }
        for (int64_t r = 0; r < mu; r++) {
          Heap& hp = heaps[r];
          const float* s = sbuf.data() + r * ic;
          const std::vector<int32_t>& e = ex[r];
          float thr = hp.thr();
          for (int64_t j = 0; j < cols; j++) {
            j += scan(s + j, cols - j, thr);  // skip scores that cannot enter
            if (j >= cols) break;
            const int32_t idx = (int32_t)(j0 + j);
            if (!e.empty() && std::binary_search(e.begin(), e.end(), idx)) continue;
            hp.offer(s[j], idx);
            thr = hp.thr();
          }
        }
      }
      for (int64_t r = 0; r < mu; r++) count[sp * B + u0 + r] = heaps[r].n;
    }
  };
  parallel_for_each(ublocks * splits, task);

  // Merge the per-range heaps of each user and sort them best first.
  auto merge = [&](int64_t b0, int64_t b1) {
    std::vector<Cand> all;
    for (int64_t b = b0; b < b1; b++) {
      all.clear();
      for (int64_t sp = 0; sp < splits; sp++) {
        const Cand* c = cand.data() + (sp * B + b) * kk;
        all.insert(all.end(), c, c + count[sp * B + b]);
      }
      const int64_t m = std::min<int64_t>(k, (int64_t)all.size());
      auto cmp = [neg](const Cand& a, const Cand& b) { return ranks_before(a.s, a.i, b.s, b.i, neg); };
      std::partial_sort(all.begin(), all.begin() + m, all.end(), cmp);
      for (int64_t r = 0; r < k; r++) {
        p.indices[b * k + r] = r < m ? all[r].i : -1;
        p.scores[b * k + r] = r < m ? (neg ? -all[r].s : all[r].s) : pad;
      }
    }
  };
  parallel_for_each(B, merge, 64);
  return used;
}

}  // namespace attnkit
