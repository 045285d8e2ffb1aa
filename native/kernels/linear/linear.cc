// linear = one GEMM with the bias fused into the accumulator init (bias + Σ x·w, the reference's
// order). ISA-specific work is all in the GEMM microkernels, so this file is portable. Half x / w
// are widened by the GEMM as it packs them; a half b into O(outDim) scratch.
#include "attnkit/linear.h"

#include <vector>

#include "attnkit/gemm.h"

namespace attnkit {

Isa linear_forward(const LinearParams& p) {
  Isa used = Isa::scalar;
  const GemmKernel& k = gemm_kernel(&used);
  std::vector<float> bs;
  const float* b = gemm_vector(p.b, p.outDim, bs);
  gemm(k, p.rows, p.outDim, p.inDim, p.x, p.inDim, p.w, p.outDim, false, p.y, p.outDim, b, GemmAct::None, false, true);
  return used;
}

}  // namespace attnkit
