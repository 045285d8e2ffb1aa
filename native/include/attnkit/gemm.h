// Blocked SIMD GEMM of our own (no BLAS): C[M,N] (+)= A[M,K]·B[K,N] (+ bias), optional activation.
// Plain C++ API, no N-API. attnkit stores weights as [in,out] row-major (the x·W layout), so B is
// usually a weight matrix; topK passes the item table [N,K] as a transposed B.
//
// Determinism: every output element is reduced over K in the same order (K blocks of a fixed size
// in ascending order, k ascending inside a block, one FMA chain per element) whatever the thread
// count or the task partition, so results are bit-identical for any number of threads. They
// differ between ISAs (different block sizes, FMA vs mul+add), which is expected.
//
// Half operands (attnkit/dtype.h Floats: float16 / bfloat16 bit patterns): A and B may each be
// half. They are widened as they are packed, never up front: B's panels as gemm_pack_b packs them
// (or, when B is read in place for a small M, each task's K block of B into task scratch), A's
// rows of a task tile per K block into task scratch (a half A is always copied, never read in
// place). The conversion is exact (attnkit/convert.h), the microkernels are the float32 ones, so
// the result is bit-identical to the float32 GEMM on the decoded values.
#pragma once
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <vector>

#include "attnkit/dtype.h"
#include "attnkit/isa.h"

namespace attnkit {

/** Activation applied to the finished tile (the GEMM epilogue). */
enum class GemmAct : int { None = 0, Relu = 1, Gelu = 2, GeluTanh = 3 };

/**
 * Register-blocked microkernel: tile[MR,NR] = init + A·B over kc, A element (i,k) at
 * `A[i*rs + k*cs]` (a packed panel: rs = 1, cs = MR; rows read in place: rs = lda, cs = 1),
 * B row k of the panel at `B + k*ldbk` (packed: ldbk = NR; read in place: ldbk = ldb).
 */
using GemmMicroFn = void (*)(int64_t kc, const float* A, int64_t rs, int64_t cs, const float* B, int64_t ldbk,
                             float* C, int64_t ldc, int init, const float* bias);
/**
 * Epilogue over a finished tile of rows x cols (row stride ldc): relu / gelu / tanh-gelu in place.
 * One generic family over the vector math (native/kernels/gemm/gemm_act_impl.h), per ISA.
 */
using GemmActFn = void (*)(float* C, int64_t ldc, int64_t rows, int64_t cols, int act);
ATTNKIT_DECLARE_TABLE(GemmActFn, gemm_act_table)

/** Micro-kernel init modes. */
enum : int { kGemmInitZero = 0, kGemmInitLoad = 1, kGemmInitBias = 2 };

/** One ISA's GEMM: microkernel shape, blocking and functions. */
struct GemmKernel {
  const char* name;  ///< "avx512", "avx2", "scalar", "neon"
  int mr, nr;        ///< microkernel tile
  int kc;            ///< K block (fixed per ISA: part of the reduction order)
  int mc, nc;        ///< task tile: M and N extent of one parallel task (multiples of mr / nr)
  GemmMicroFn micro;
};

/** Per-ISA GEMM descriptors, registered in gemm_<isa>.cc (ATTNKIT_REGISTER). */
using GemmKernelFn = const GemmKernel* (*)();
ATTNKIT_DECLARE_TABLE(GemmKernelFn, gemm_table)

/** The GEMM of the active ISA level (ATTNKIT_ISA respected); `used` gets the level. */
const GemmKernel& gemm_kernel(Isa* used = nullptr);

/**
 * B packed into K blocks of `kc` and column panels of `nr` (zero-padded), ready for the
 * microkernel. Pack once and reuse (weights in MHA / DIN).
 */
struct PackedB {
  const GemmKernel* kern = nullptr;
  int64_t K = 0, N = 0, Npad = 0;
  std::vector<float> data;
  /** Panel p (columns p*nr ..) of the K block starting at k0 (length kcb). */
  const float* panel(int64_t k0, int64_t kcb, int64_t p) const {
    return data.data() + k0 * Npad + p * kcb * kern->nr;
  }
};

/**
 * Pack B, element (k,n) at `B[k*ldb + n]` or, when `bTrans`, at `B[n*ldb + k]`; a half B is
 * widened as it is packed. `parallel`: split the packing over the thread pool (inline inside a task).
 */
void gemm_pack_b(const GemmKernel& kern, int64_t K, int64_t N, Floats B, int64_t ldb, bool bTrans, PackedB& out,
                 bool parallel);
inline void gemm_pack_b(const GemmKernel& kern, int64_t K, int64_t N, const float* B, int64_t ldb, bool bTrans,
                        PackedB& out, bool parallel) {
  gemm_pack_b(kern, K, N, Floats{B, DType::f32}, ldb, bTrans, out, parallel);
}

/**
 * One column block of a B given as [B_1 | B_2 | ...]: `cols` columns, element (k,n) at
 * `data[k*ld + n]` (ld 0: `cols`).
 */
struct GemmCols {
  Floats data;
  int64_t cols;
  int64_t ld = 0;
};

/**
 * C[M,N] = (accumulate ? C : 0) + A·B + bias, then `act` (accumulating: (C + bias) + A·B). A element (i,k) at `A[i*lda + k]`,
 * C element (i,j) at `C[i*ldc + j]`; bias `[N]` or null. M == 0 or N == 0 is a no-op; K == 0
 * gives the initial value (+bias, act). `parallel`: run the fixed tasks (mc x nc tiles of C) on
 * the thread pool; the result is the same either way.
 */
void gemm_packed(int64_t M, Floats A, int64_t lda, const PackedB& B, float* C, int64_t ldc, const float* bias,
                 GemmAct act, bool accumulate, bool parallel);
inline void gemm_packed(int64_t M, const float* A, int64_t lda, const PackedB& B, float* C, int64_t ldc,
                        const float* bias, GemmAct act, bool accumulate, bool parallel) {
  gemm_packed(M, Floats{A, DType::f32}, lda, B, C, ldc, bias, act, accumulate, parallel);
}

/**
 * C = A·B (+ bias, act) for a B used once: element (k,n) of B at `B[k*ldb + n]` (or, `bTrans`,
 * `B[n*ldb + k]`). When M fits one task tile (M <= mc) and B is not transposed, B's full column
 * panels are read in place (packing it would cost as much as the product; a half B: each task
 * widens its K block of B into task scratch instead); otherwise B is packed and
 * {@link gemm_packed} runs. Both paths reduce every element in the same order (same bits).
 */
void gemm(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, Floats A, int64_t lda, Floats B, int64_t ldb,
          bool bTrans, float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel);
inline void gemm(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
                 int64_t ldb, bool bTrans, float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate,
                 bool parallel) {
  gemm(kern, M, N, K, Floats{A, DType::f32}, lda, Floats{B, DType::f32}, ldb, bTrans, C, ldc, bias, act, accumulate,
       parallel);
}

/**
 * C[M,N] = (accumulate ? C : 0) + Aᵀ·B for an A stored transposed, [K, M]: element (i,k) of the
 * left operand at `A[k*lda + i]` (linearBackward's xᵀ·dy); B non-transposed as in {@link gemm}.
 * float32 only. A's tiles are always packed (read k by k, transposed into the micro-panels); the
 * reduction order is gemm's (K blocks in order, one FMA chain per element), so the result does
 * not depend on the thread count.
 */
void gemm_at(const GemmKernel& kern, int64_t M, int64_t N, int64_t K, const float* A, int64_t lda, const float* B,
             int64_t ldb, float* C, int64_t ldc, bool accumulate, bool parallel);

/**
 * {@link gemm} against the column-wise concatenation B = [B_1 | B_2 | ...] of [K, cols_i] blocks
 * (each float32 or half), without forming it: read in place / packed straight from the blocks
 * (multiHeadAttention's fused [wq | wk | wv]). N is the sum of the blocks' columns. Same bits as
 * gemm on the concatenated matrix.
 */
void gemm_cols(const GemmKernel& kern, int64_t M, int64_t K, Floats A, int64_t lda, std::initializer_list<GemmCols> blocks,
               float* C, int64_t ldc, const float* bias, GemmAct act, bool accumulate, bool parallel);

/**
 * The float32 values of a small vector operand (a bias, LayerNorm's gamma / beta, a PReLU slope):
 * `v` itself when float32, else its `n` values widened into `scratch` (O(n)); null when `v` is.
 */
const float* gemm_vector(Floats v, int64_t n, std::vector<float>& scratch);

}  // namespace attnkit
