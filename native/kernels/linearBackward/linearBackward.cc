// linearBackward through the GEMM: dx = dy·wᵀ (w [In,Out] read as a transposed B), dW = xᵀ·dy
// (gemm_at: x [rows,In] as a transposed A), db = Σ_rows dy. ISA-specific work is all in the GEMM
// microkernels, so this file is portable.
//
// dW and db sum over the rows. The rows are cut into blocks fixed by the shape alone: each block's
// product and column sums are one task (its GEMM runs inside the task), the blocks' partials then
// added element by element in block order, in double. The GEMM over a single block runs its own
// tiles in parallel. Either way no sum depends on the thread count.
#include "attnkit/linearBackward.h"

#include <algorithm>
#include <vector>

#include "attnkit/gemm.h"
#include "attnkit/parallel.h"

namespace attnkit {
namespace {

/// Blocks of the dW / db sums over the rows: 256 rows each (one K block of the GEMM on every ISA,
/// so each partial is a float32 FMA chain of at most 256 products and the long sum is in double:
/// with blocks of ~1700 rows the float chains put 4.4e-5 into a dW of 0.17 summed over 5000
/// rows), fewer and longer when In·Out is large (the partials are held at once: at most 2^22 floats).
int64_t row_blocks(int64_t rows, int64_t in, int64_t out) {
  const int64_t cells = std::max<int64_t>(1, in * out);
  const int64_t byMemory = std::max<int64_t>(1, (int64_t(1) << 22) / cells);
  return std::max<int64_t>(1, std::min<int64_t>((rows + 255) / 256, byMemory));
}

/// db[o] = Σ_{r in [r0, r1)} dy[r, o], in double.
void column_sums(const float* dy, int64_t r0, int64_t r1, int64_t O, double* acc) {
  std::fill(acc, acc + O, 0.0);
  for (int64_t r = r0; r < r1; r++)
    for (int64_t o = 0; o < O; o++) acc[o] += dy[r * O + o];
}

}  // namespace

Isa linear_backward(const LinearBackwardParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& k = gemm_kernel(&used);
  const int64_t R = p.rows, I = p.inDim, O = p.outDim;
  // dx [R, I] = dy [R, O] · wᵀ: B element (k = o, n = i) at w[i*O + o] (transposed, ldb = O).
  gemm(k, R, I, O, p.dy, O, p.w, O, true, p.dx, I, nullptr, GemmAct::None, false, true);
  if (O == 0) return used;  // dW [I, 0] and db [0]: nothing to write
  const int64_t nblk = row_blocks(R, I, O);
  const int64_t per = nblk > 0 ? (R + nblk - 1) / nblk : 0;
  if (nblk <= 1 || I == 0) {
    // dW [I, O] = xᵀ·dy: A element (i, k = r) at x[r*I + i] (transposed, lda = I). K = R = 0 gives zeros.
    if (I > 0) gemm_at(k, I, O, R, p.x, I, p.dy, O, p.dW, O, false, true);
    std::vector<double> acc((size_t)O);
    column_sums(p.dy, 0, R, O, acc.data());
    for (int64_t o = 0; o < O; o++) p.db[o] = (float)acc[o];
    return used;
  }
  std::vector<float> dWp((size_t)(nblk * I * O));
  std::vector<double> dbp((size_t)(nblk * O));
  auto body = [&](int64_t b0, int64_t b1) {
    for (int64_t b = b0; b < b1; b++) {
      const int64_t r0 = b * per, r1 = std::min(R, r0 + per);
      gemm_at(k, I, O, r1 - r0, p.x + r0 * I, I, p.dy + r0 * O, O, dWp.data() + b * I * O, O, false, false);
      column_sums(p.dy, r0, r1, O, dbp.data() + b * O);
    }
  };
  parallel_for_each(nblk, body, 1);
  for (int64_t e = 0; e < I * O; e++) {
    double s = 0.0;
    for (int64_t b = 0; b < nblk; b++) s += dWp[(size_t)(b * I * O + e)];
    p.dW[e] = (float)s;
  }
  for (int64_t o = 0; o < O; o++) {
    double s = 0.0;
    for (int64_t b = 0; b < nblk; b++) s += dbp[(size_t)(b * O + o)];
    p.db[o] = (float)s;
  }
  return used;
}

}  // namespace attnkit
