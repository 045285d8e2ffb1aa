// GEMM driver (portable): packing, K blocking, task partition, edge tiles. The register-blocked
// microkernels live in gemm_<isa>.cc; this file only calls them through GemmKernel.
#include "attnkit/gemm.h"
#include "attnkit/parallel.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace attnkit {

const GemmKernel& gemm_kernel(Isa* used) {
  GemmKernelFn f = gemm_table().get(used);
  return *f();  // scalar is always registered
}

namespace {
// Run body(t) for t in [0, n): on the pool when `parallel`, else inline (same tasks either way).
template <class F>
void run_tasks(bool parallel, int64_t n, F&& body) {
  if (n <= 0) return;
  if (parallel && n > 1) {
    auto range = [&](int64_t b, int64_t e) {
      for (int64_t t = b; t < e; t++) body(t);
    };
    parallel_for_each(n, range);
  } else {
    for (int64_t t = 0; t < n; t++) body(t);
  }
}
}  // namespace

void gemm_pack_b(const GemmKernel& kern, int64_t K, int64_t N, const float* B, int64_t ldb, bool bTrans,
                 PackedB& out, bool parallel) {
  const int64_t nr = kern.nr, kc = kern.kc;
  out.kern = &kern;
  out.K = K;
  out.N = N;
  out.Npad = (N + nr - 1) / nr * nr;
  out.data.resize((size_t)(K * out.Npad));
  const int64_t panels = out.Npad / nr;
  float* base = out.data.data();
  // Group panels so that a task packs a reasonable amount (few tasks for small B).
  const int64_t per = std::max<int64_t>(1, (int64_t)65536 / std::max<int64_t>(1, K * nr));
  const int64_t ntask = (panels + per - 1) / per;
  run_tasks(parallel && K * N >= 65536, ntask, [&](int64_t t) {
    const int64_t p0 = t * per, p1 = std::min(panels, p0 + per);
    for (int64_t p = p0; p < p1; p++) {
      const int64_t j0 = p * nr, cols = std::min(nr, N - j0);
      for (int64_t k0 = 0; k0 < K; k0 += kc) {
        const int64_t kcb = std::min(kc, K - k0);
        float* dst = base + k0 * out.Npad + p * kcb * nr;
        if (bTrans) {
          // Source rows are items: read each contiguously, write with stride nr.
          for (int64_t j = 0; j < cols; j++) {
            const float* src = B + (j0 + j) * ldb + k0;
            for (int64_t k = 0; k < kcb; k++) dst[k * nr + j] = src[k];
          }
          for (int64_t j = cols; j < nr; j++)
            for (int64_t k = 0; k < kcb; k++) dst[k * nr + j] = 0.0f;
        } else {
          for (int64_t k = 0; k < kcb; k++) {
            const float* src = B + (k0 + k) * ldb + j0;
            float* d = dst + k * nr;
            std::memcpy(d, src, (size_t)cols * sizeof(float));
            for (int64_t j = cols; j < nr; j++) d[j] = 0.0f;
          }
        }
      }
    }
  });
}

namespace {
// Pack rows [i0, i0+rows) x cols [k0, k0+kcb) of A into micro-panels [kcb][mr], zero-padded rows.
void pack_a(const float* A, int64_t lda, int64_t i0, int64_t rows, int64_t k0, int64_t kcb, int64_t mr, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += mr) {
    const int64_t rr = std::min(mr, rows - r0);
    float* d = dst + r0 * kcb;
    for (int64_t r = 0; r < rr; r++) {
      const float* src = A + (i0 + r0 + r) * lda + k0;
      for (int64_t k = 0; k < kcb; k++) d[k * mr + r] = src[k];
    }
    for (int64_t r = rr; r < mr; r++)
      for (int64_t k = 0; k < kcb; k++) d[k * mr + r] = 0.0f;
  }
}
}  // namespace

namespace {
// Where the microkernel finds B: packed panels (Bp), or B itself in place
// (Braw with row stride ldb; a ragged last panel is packed per task into a padded buffer).
struct BSource {
  const PackedB* Bp;
  const float* Braw;
  int64_t ldb;
};

void gemm_core(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const BSource& bs,
               float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel) {
  if (M <= 0 || N <= 0) return;
  const int64_t mr = kern.mr, nr = kern.nr, kc = kern.kc, mc = kern.mc, nc = kern.nc;
  const int actv = (int)act;
  const GemmActFn epilogue = actv ? gemm_act_table().get() : nullptr;
  if (K == 0) {
    for (int64_t i = 0; i < M; i++) {
      float* c = C + i * ldc;
      for (int64_t j = 0; j < N; j++) c[j] = (accumulate ? c[j] : 0.0f) + (bias ? bias[j] : 0.0f);
    }
    if (actv) epilogue(C, ldc, M, N, actv);
    return;
  }
  const int64_t mt = (M + mc - 1) / mc, nt = (N + nc - 1) / nc;
  // Small products are not worth waking threads for (the result is the same either way).
  // Short rows (lda <= 256 floats, 1 KB) are read in place: 14 of them sit in distinct L1 sets.
  // Long rows are packed: a 4 KB stride would put every row of a micro-panel in the same set.
  const bool direct = lda <= 256;
  run_tasks(parallel && M * N * K >= 32768, mt * nt, [&](int64_t t) {
    const int64_t i0 = (t / nt) * mc, j0 = (t % nt) * nc;
    const int64_t rows = std::min(mc, M - i0), cols = std::min(nc, N - j0);
    const int64_t rowsPad = (rows + mr - 1) / mr * mr;
    thread_local std::vector<float> abuf, bbuf;
    if ((int64_t)abuf.size() < rowsPad * kc) abuf.resize((size_t)(rowsPad * kc));
    if (!bs.Bp && (int64_t)bbuf.size() < kc * nr) bbuf.resize((size_t)(kc * nr));
    alignas(64) float tmp[64 * 64];  // edge tile (mr*nr <= 4096 for every kernel)
    if (accumulate && bias) {
      // C + bias first, then the products (the microkernel's load-init has no bias term).
      for (int64_t r = 0; r < rows; r++) {
        float* c = C + (i0 + r) * ldc + j0;
        for (int64_t q = 0; q < cols; q++) c[q] += bias[j0 + q];
      }
    }
    for (int64_t k0 = 0; k0 < K; k0 += kc) {
      const int64_t kcb = std::min(kc, K - k0);
      // Full micro-panels may read A's rows in place (packing costs ~1 cycle per element, up to
      // a third of the work when N is small); a ragged last panel is always packed (padded).
      const int64_t fullRows = direct ? rows / mr * mr : 0;
      if (fullRows < rows) pack_a(A, lda, i0 + fullRows, rows - fullRows, k0, kcb, mr, abuf.data() + fullRows * kcb);
      const int init = k0 > 0 || accumulate ? kGemmInitLoad : (bias ? kGemmInitBias : kGemmInitZero);
      for (int64_t jj = 0; jj < cols; jj += nr) {
        const int64_t j = j0 + jj, nn = std::min(nr, N - j);
        const float* bpanel;
        int64_t ldbk = nr;
        if (bs.Bp) {
          bpanel = bs.Bp->panel(k0, kcb, j / nr);
        } else if (nn == nr) {
          bpanel = bs.Braw + k0 * bs.ldb + j;
          ldbk = bs.ldb;
        } else {
          for (int64_t k = 0; k < kcb; k++)
            for (int64_t q = 0; q < nr; q++) bbuf[(size_t)(k * nr + q)] = q < nn ? bs.Braw[(k0 + k) * bs.ldb + j + q] : 0.0f;
          bpanel = bbuf.data();
        }
        const float* bb = bias ? bias + j : nullptr;
        for (int64_t ii = 0; ii < rows; ii += mr) {
          const int64_t i = i0 + ii, mm = std::min(mr, M - i);
          const bool inPlace = ii < fullRows;
          const float* apanel = inPlace ? A + i * lda + k0 : abuf.data() + ii * kcb;
          const int64_t rs = inPlace ? lda : 1, cs = inPlace ? 1 : mr;
          float* c = C + i * ldc + j;
          if (mm == mr && nn == nr) {
            kern.micro(kcb, apanel, rs, cs, bpanel, ldbk, c, ldc, init, bb);
            continue;
          }
          // Edge tile: stage through tmp so the microkernel always runs full width.
          for (int64_t r = 0; r < mr; r++)
            for (int64_t q = 0; q < nr; q++) {
              float v = 0.0f;
              if (r < mm && q < nn) {
                if (init == kGemmInitLoad) v = c[r * ldc + q];
                else if (init == kGemmInitBias) v = bb[q];
              }
              tmp[r * nr + q] = v;
            }
          kern.micro(kcb, apanel, rs, cs, bpanel, ldbk, tmp, nr, kGemmInitLoad, nullptr);
          for (int64_t r = 0; r < mm; r++) std::memcpy(c + r * ldc, tmp + r * nr, (size_t)nn * sizeof(float));
        }
      }
    }
    if (actv) epilogue(C + i0 * ldc + j0, ldc, rows, cols, actv);
  });
}
}  // namespace

void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedB& Bp, float* C, int64_t ldc,
                 const float* bias, GemmAct act, bool accumulate, bool parallel) {
  const BSource bs{&Bp, nullptr, 0};
  gemm_core(*Bp.kern, M, Bp.N, Bp.K, A, lda, bs, C, ldc, bias, act, accumulate, parallel);
}

void gemm(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
          int64_t ldb, bool bTrans, float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate,
          bool parallel) {
  if (M <= 0 || N <= 0) return;
  if (!bTrans && M <= kern.mc) {
    const BSource bs{nullptr, B, ldb};
    gemm_core(kern, M, N, K, A, lda, bs, C, ldc, bias, act, accumulate, parallel);
    return;
  }
  PackedB pb;
  gemm_pack_b(kern, K, N, B, ldb, bTrans, pb, parallel);
  gemm_packed(M, A, lda, pb, C, ldc, bias, act, accumulate, parallel);
}

}  // namespace attnkit
