// GEMM driver (portable): packing, K blocking, task partition, edge tiles. The register-blocked
// microkernels live in gemm_<isa>.cc; this file only calls them through GemmKernel.
//
// Half operands: this file widens them (attnkit/convert.h, the active ISA's vectorised widening)
// wherever the float32 path copies or packs: B's panels in gemm_pack_b, a B read in place per
// task and K block, A's rows per task and K block. The microkernels only ever see float32.
#include "attnkit/gemm.h"
#include "attnkit/convert.h"
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

// The active ISA's half -> float32 widening, or null when no operand is half.
ConvertFn widener(std::initializer_list<DType> types) {
  for (DType t : types)
    if (t != DType::f32) return convert_table().get();
  return nullptr;
}

// A non-transposed B as column blocks [B_1 | B_2 | ...] (one block: B itself): block b holds
// columns [c0, c0 + cols) of B, element (k, n) at data[k*ld + n - c0].
struct ColBlock {
  Floats data;
  int64_t ld, cols, c0;
};
struct Cols {
  std::vector<ColBlock> blocks;
  int64_t N = 0;
  DType half = DType::f32;  // a half type if any block is half
  void add(Floats data, int64_t cols, int64_t ld) {
    blocks.push_back(ColBlock{data, ld, cols, N});
    N += cols;
    if (data.type != DType::f32) half = data.type;
  }
  // Row k, columns [lo, hi) of B as float32 into dst[0, hi - lo).
  void row(int64_t k, int64_t lo, int64_t hi, float* dst, ConvertFn widen) const {
    for (const ColBlock& b : blocks) {
      const int64_t a = std::max(lo, b.c0), e = std::min(hi, b.c0 + b.cols);
      if (a >= e) continue;
      const int64_t off = k * b.ld + (a - b.c0);
      if (b.data.type == DType::f32) std::memcpy(dst + (a - lo), b.data.f32() + off, (size_t)(e - a) * sizeof(float));
      else widen(b.data.u16() + off, dst + (a - lo), e - a, b.data.type);
    }
  }
  // The block that holds all of columns [lo, hi), or null.
  const ColBlock* holding(int64_t lo, int64_t hi) const {
    for (const ColBlock& b : blocks)
      if (lo >= b.c0 && hi <= b.c0 + b.cols) return &b;
    return nullptr;
  }
  // True when a column of [lo, hi) is in a half block.
  bool any_half(int64_t lo, int64_t hi) const {
    for (const ColBlock& b : blocks)
      if (b.data.type != DType::f32 && lo < b.c0 + b.cols && b.c0 < hi) return true;
    return false;
  }
};

Cols one_block(Floats B, int64_t N, int64_t ldb) {
  Cols c;
  c.add(B, N, ldb);
  return c;
}

// The layout both packers share: `out` sized for K x Npad, its column panels grouped into tasks so
// that a task packs a reasonable amount (few tasks for small B).
struct PackLayout {
  int64_t panels, per, ntask;
};
PackLayout pack_layout(const GemmKernel& kern, int64_t K, int64_t N, PackedB& out) {
  const int64_t nr = kern.nr;
  out.kern = &kern;
  out.K = K;
  out.N = N;
  out.Npad = (N + nr - 1) / nr * nr;
  out.data.resize((size_t)(K * out.Npad));
  PackLayout l;
  l.panels = out.Npad / nr;
  l.per = std::max<int64_t>(1, (int64_t)65536 / std::max<int64_t>(1, K * nr));
  l.ntask = (l.panels + l.per - 1) / l.per;
  return l;
}

// Pack a non-transposed B (any blocks) into K blocks x column panels.
void pack_cols(const GemmKernel& kern, int64_t K, const Cols& B, PackedB& out, bool parallel) {
  const int64_t nr = kern.nr, kc = kern.kc, N = B.N;
  const ConvertFn widen = widener({B.half});
  const PackLayout lay = pack_layout(kern, K, N, out);
  const int64_t panels = lay.panels, per = lay.per, ntask = lay.ntask;
  float* base = out.data.data();
  const bool single = B.blocks.size() == 1 && B.half == DType::f32;
  run_tasks(parallel && K * N >= 65536, ntask, [&](int64_t t) {
    const int64_t p0 = t * per, p1 = std::min(panels, p0 + per);
    for (int64_t p = p0; p < p1; p++) {
      const int64_t j0 = p * nr, cols = std::min(nr, N - j0);
      for (int64_t k0 = 0; k0 < K; k0 += kc) {
        const int64_t kcb = std::min(kc, K - k0);
        float* dst = base + k0 * out.Npad + p * kcb * nr;
        for (int64_t k = 0; k < kcb; k++) {
          float* d = dst + k * nr;
          if (single) std::memcpy(d, B.blocks[0].data.f32() + (k0 + k) * B.blocks[0].ld + j0, (size_t)cols * sizeof(float));
          else B.row(k0 + k, j0, j0 + cols, d, widen);
          for (int64_t j = cols; j < nr; j++) d[j] = 0.0f;
        }
      }
    }
  });
}
}  // namespace

void gemm_pack_b(const GemmKernel& kern, int64_t K, int64_t N, Floats B, int64_t ldb, bool bTrans, PackedB& out,
                 bool parallel) {
  if (!bTrans) {
    pack_cols(kern, K, one_block(B, N, ldb), out, parallel);
    return;
  }
  const int64_t nr = kern.nr, kc = kern.kc;
  const ConvertFn widen = widener({B.type});
  const PackLayout lay = pack_layout(kern, K, N, out);
  const int64_t panels = lay.panels, per = lay.per, ntask = lay.ntask;
  float* base = out.data.data();
  run_tasks(parallel && K * N >= 65536, ntask, [&](int64_t t) {
    thread_local std::vector<float> row;  // a half item's K block, widened
    if (widen && (int64_t)row.size() < kc) row.resize((size_t)kc);
    const int64_t p0 = t * per, p1 = std::min(panels, p0 + per);
    for (int64_t p = p0; p < p1; p++) {
      const int64_t j0 = p * nr, cols = std::min(nr, N - j0);
      for (int64_t k0 = 0; k0 < K; k0 += kc) {
        const int64_t kcb = std::min(kc, K - k0);
        float* dst = base + k0 * out.Npad + p * kcb * nr;
        // Source rows are items: read each contiguously, write with stride nr.
        for (int64_t j = 0; j < cols; j++) {
          const float* src;
          if (widen) {
            widen(B.u16() + (j0 + j) * ldb + k0, row.data(), kcb, B.type);
            src = row.data();
          } else {
            src = B.f32() + (j0 + j) * ldb + k0;
          }
          for (int64_t k = 0; k < kcb; k++) dst[k * nr + j] = src[k];
        }
        for (int64_t j = cols; j < nr; j++)
          for (int64_t k = 0; k < kcb; k++) dst[k * nr + j] = 0.0f;
      }
    }
  });
}

const float* gemm_vector(Floats v, int64_t n, std::vector<float>& scratch) {
  if (!v) return nullptr;
  if (v.type == DType::f32) return v.f32();
  scratch.resize((size_t)std::max<int64_t>(n, 1));
  half_to_float(v.u16(), scratch.data(), n, v.type);
  return scratch.data();
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

// The same for a transposed A (element (i, k) at A[k*lda + i], gemm_at): each k's rows of the
// panel are contiguous in A, so the panel is read k by k.
void pack_a_t(const float* A, int64_t lda, int64_t i0, int64_t rows, int64_t k0, int64_t kcb, int64_t mr, float* dst) {
  for (int64_t r0 = 0; r0 < rows; r0 += mr) {
    const int64_t rr = std::min(mr, rows - r0);
    float* d = dst + r0 * kcb;
    for (int64_t k = 0; k < kcb; k++) {
      const float* src = A + (k0 + k) * lda + i0 + r0;
      float* dk = d + k * mr;
      for (int64_t r = 0; r < rr; r++) dk[r] = src[r];
      for (int64_t r = rr; r < mr; r++) dk[r] = 0.0f;
    }
  }
}

// Row stride of a half A's widened rows in task scratch: kcb rounded up to 16 floats (64-byte
// rows) plus 16 at kcb = 256 (kc on every ISA), so a micro-panel's rows stay in distinct L1 sets
// as A's own short rows (read in place, lda <= 256) do.
inline int64_t widened_lda(int64_t kcb) { return (kcb + 15) / 16 * 16 + (kcb % 256 == 0 ? 16 : 0); }

// Where the microkernel finds B: packed panels (Bp), or B itself in place (blocks Braw; a panel
// not inside one float32 block, or ragged, is copied per task into a padded buffer; a task whose
// columns touch a half block widens its K block of B into task scratch instead).
struct BSource {
  const PackedB* Bp;
  const Cols* Braw;
};

// aTrans: A is stored transposed ([K, M], float32 only, gemm_at): always packed (pack_a_t).
void gemm_core(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, Floats A, int64_t lda, const BSource& bs,
               float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel,
               bool aTrans = false) {
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
  const bool halfA = A.type != DType::f32;
  const ConvertFn widen = widener({A.type, bs.Bp ? DType::f32 : bs.Braw->half});
  const float* Af = halfA ? nullptr : A.f32();
  // Small products are not worth waking threads for (the result is the same either way).
  // Short rows (lda <= 256 floats, 1 KB) are read in place: 14 of them sit in distinct L1 sets.
  // Long rows are packed: a 4 KB stride would put every row of a micro-panel in the same set.
  // A half A is always copied: widened per task and K block into row-major scratch (short rows).
  const bool direct = !halfA && !aTrans && lda <= 256;
  run_tasks(parallel && M * N * K >= 32768, mt * nt, [&](int64_t t) {
    const int64_t i0 = (t / nt) * mc, j0 = (t % nt) * nc;
    const int64_t rows = std::min(mc, M - i0), cols = std::min(nc, N - j0);
    const int64_t rowsPad = (rows + mr - 1) / mr * mr, colsPad = (cols + nr - 1) / nr * nr;
    // B in place, but this task's columns touch a half block: widen its K block of B (all its columns).
    const bool widenB = !bs.Bp && bs.Braw->any_half(j0, j0 + cols);
    thread_local std::vector<float> abuf, bbuf;
    const int64_t aneed = rowsPad * (halfA ? widened_lda(kc) : kc);
    if ((int64_t)abuf.size() < aneed) abuf.resize((size_t)aneed);
    const int64_t bneed = bs.Bp ? 0 : widenB ? kc * colsPad : kc * nr;
    if ((int64_t)bbuf.size() < bneed) bbuf.resize((size_t)bneed);
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
      const int64_t wlda = halfA ? widened_lda(kcb) : 0;
      if (halfA) {
        // The tile's rows of this K block, widened; rows past M zero (the edge tile's padding).
        for (int64_t r = 0; r < rows; r++) widen(A.u16() + (i0 + r) * lda + k0, abuf.data() + r * wlda, kcb, A.type);
        for (int64_t r = rows; r < rowsPad; r++) std::memset(abuf.data() + r * wlda, 0, (size_t)kcb * sizeof(float));
      } else if (fullRows < rows) {
        if (aTrans) pack_a_t(Af, lda, i0 + fullRows, rows - fullRows, k0, kcb, mr, abuf.data() + fullRows * kcb);
        else pack_a(Af, lda, i0 + fullRows, rows - fullRows, k0, kcb, mr, abuf.data() + fullRows * kcb);
      }
      if (widenB) {
        // The task's columns of this K block as float32; columns past N zero (the ragged panel's padding).
        for (int64_t k = 0; k < kcb; k++) {
          float* d = bbuf.data() + k * colsPad;
          bs.Braw->row(k0 + k, j0, j0 + cols, d, widen);
          for (int64_t q = cols; q < colsPad; q++) d[q] = 0.0f;
        }
      }
      const int init = k0 > 0 || accumulate ? kGemmInitLoad : (bias ? kGemmInitBias : kGemmInitZero);
      for (int64_t jj = 0; jj < cols; jj += nr) {
        const int64_t j = j0 + jj, nn = std::min(nr, N - j);
        const float* bpanel;
        int64_t ldbk = nr;
        const ColBlock* in = nullptr;
        if (bs.Bp) {
          bpanel = bs.Bp->panel(k0, kcb, j / nr);
        } else if (widenB) {
          bpanel = bbuf.data() + jj;
          ldbk = colsPad;
        } else if (nn == nr && (in = bs.Braw->holding(j, j + nr)) != nullptr) {
          bpanel = in->data.f32() + k0 * in->ld + (j - in->c0);
          ldbk = in->ld;
        } else {
          // A ragged panel, or one across two blocks: copied, zero-padded.
          for (int64_t k = 0; k < kcb; k++) {
            float* d = bbuf.data() + k * nr;
            bs.Braw->row(k0 + k, j, j + nn, d, nullptr);
            for (int64_t q = nn; q < nr; q++) d[q] = 0.0f;
          }
          bpanel = bbuf.data();
        }
        const float* bb = bias ? bias + j : nullptr;
        for (int64_t ii = 0; ii < rows; ii += mr) {
          const int64_t i = i0 + ii, mm = std::min(mr, M - i);
          const float* apanel;
          int64_t rs, cs;
          if (halfA) {
            apanel = abuf.data() + ii * wlda;
            rs = wlda;
            cs = 1;
          } else if (ii < fullRows) {
            apanel = Af + i * lda + k0;
            rs = lda;
            cs = 1;
          } else {
            apanel = abuf.data() + ii * kcb;
            rs = 1;
            cs = mr;
          }
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

// gemm over B given as blocks: read in place when M fits one task tile, else packed.
void gemm_blocks(const GemmKernel& kern, int64_t M, int64_t K, Floats A, int64_t lda, const Cols& B, float* C,
                 int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel, bool aTrans = false) {
  if (M <= 0 || B.N <= 0) return;
  if (M <= kern.mc) {
    const BSource bs{nullptr, &B};
    gemm_core(kern, M, B.N, K, A, lda, bs, C, ldc, bias, act, accumulate, parallel, aTrans);
    return;
  }
  PackedB pb;
  pack_cols(kern, K, B, pb, parallel);
  const BSource bs{&pb, nullptr};
  gemm_core(kern, M, B.N, K, A, lda, bs, C, ldc, bias, act, accumulate, parallel, aTrans);
}
}  // namespace

void gemm_packed(int64_t M, Floats A, int64_t lda, const PackedB& Bp, float* C, int64_t ldc, const float* bias,
                 GemmAct act, bool accumulate, bool parallel) {
  const BSource bs{&Bp, nullptr};
  gemm_core(*Bp.kern, M, Bp.N, Bp.K, A, lda, bs, C, ldc, bias, act, accumulate, parallel);
}

void gemm(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, Floats A, int64_t lda, Floats B, int64_t ldb,
          bool bTrans, float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel) {
  if (M <= 0 || N <= 0) return;
  if (!bTrans) {
    gemm_blocks(kern, M, K, A, lda, one_block(B, N, ldb), C, ldc, bias, act, accumulate, parallel);
    return;
  }
  PackedB pb;
  gemm_pack_b(kern, K, N, B, ldb, bTrans, pb, parallel);
  gemm_packed(M, A, lda, pb, C, ldc, bias, act, accumulate, parallel);
}

void gemm_at(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
             int64_t ldb, float* C, int64_t ldc, bool accumulate, bool parallel) {
  if (M <= 0 || N <= 0) return;
  gemm_blocks(kern, M, K, Floats{A, DType::f32}, lda, one_block(Floats{B, DType::f32}, N, ldb), C, ldc, nullptr,
              GemmAct::None, accumulate, parallel, true);
}

void gemm_cols(const GemmKernel& kern, int64_t M, int64_t K, Floats A, int64_t lda, std::initializer_list<GemmCols> blocks,
               float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel) {
  Cols B;
  for (const GemmCols& b : blocks) B.add(b.data, b.cols, b.ld ? b.ld : b.cols);
  gemm_blocks(kern, M, K, A, lda, B, C, ldc, bias, act, accumulate, parallel);
}

}  // namespace attnkit
