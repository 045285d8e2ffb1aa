// NEON GEMM microkernel (arm64 only; empty elsewhere). 8x8 tile = 16 q-register
// accumulators + 2 B vectors, using fmla by scalar (vfmaq_n_f32).
#include <cstdint>

#include "attnkit/gemm.h"

#if defined(__aarch64__)
#include <arm_neon.h>

namespace attnkit {
namespace {
constexpr int MR = 8, NR = 8;

void micro_neon(int64_t kc, const float* A, int64_t rs, int64_t cs, const float* B, int64_t ldbk, float* C,
                int64_t ldc, int init, const float* bias) {
  float32x4_t c0[MR], c1[MR];
  for (int i = 0; i < MR; i++) {
    if (init == kGemmInitLoad) {
      c0[i] = vld1q_f32(C + i * ldc);
      c1[i] = vld1q_f32(C + i * ldc + 4);
    } else if (init == kGemmInitBias) {
      c0[i] = vld1q_f32(bias);
      c1[i] = vld1q_f32(bias + 4);
    } else {
      c0[i] = vdupq_n_f32(0.0f);
      c1[i] = vdupq_n_f32(0.0f);
    }
  }
  for (int64_t k = 0; k < kc; k++) {
    const float32x4_t b0 = vld1q_f32(B), b1 = vld1q_f32(B + 4);
    for (int i = 0; i < MR; i++) {
      c0[i] = vfmaq_n_f32(c0[i], b0, A[i * rs]);
      c1[i] = vfmaq_n_f32(c1[i], b1, A[i * rs]);
    }
    A += cs;
    B += ldbk;
  }
  for (int i = 0; i < MR; i++) {
    vst1q_f32(C + i * ldc, c0[i]);
    vst1q_f32(C + i * ldc + 4, c1[i]);
  }
}

const GemmKernel kNeon = {"neon", MR, NR, 256, MR * 12, NR * 32, micro_neon};
}  // namespace

const GemmKernel* gemm_kernel_neon() { return &kNeon; }
ATTNKIT_REGISTER(gemm_table, neon, &gemm_kernel_neon);
}  // namespace attnkit

#endif
