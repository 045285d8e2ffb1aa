// Scalar GEMM microkernel (portable baseline, any CPU). 4x16 tile: small enough for 16 general
// FP registers' worth of accumulators, and the compiler may still use the baseline SSE2 for the
// 16 independent columns (no FMA, so the reduction order is the plain mul+add chain).
#include <cstdint>

#include "attnkit/gemm.h"

namespace attnkit {

namespace {
constexpr int MR = 4, NR = 16;

void micro_scalar(int64_t kc, const float* A, int64_t rs, int64_t cs, const float* B, int64_t ldbk, float* C,
                  int64_t ldc, int init, const float* bias) {
  float c[MR][NR];
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++)
      c[i][j] = init == kGemmInitLoad ? C[i * ldc + j] : init == kGemmInitBias ? bias[j] : 0.0f;
  for (int64_t k = 0; k < kc; k++) {
    const float* b = B + k * ldbk;
    const float* a = A + k * cs;
    for (int i = 0; i < MR; i++) {
      const float ai = a[i * rs];
      for (int j = 0; j < NR; j++) c[i][j] += ai * b[j];
    }
  }
  for (int i = 0; i < MR; i++)
    for (int j = 0; j < NR; j++) C[i * ldc + j] = c[i][j];
}

const GemmKernel kScalar = {"scalar", MR, NR, 256, MR * 16, NR * 8, micro_scalar};
}  // namespace

const GemmKernel* gemm_kernel_scalar() { return &kScalar; }
ATTNKIT_REGISTER(gemm_table, scalar, &gemm_kernel_scalar);

}  // namespace attnkit
