// attnkit: adamStep, one AdamW step (PyTorch torch.optim.AdamW), elementwise, plain C++ API (no
// Node-API). Vectorised per ISA (native/kernels/adamStep/, instantiated by native/kernels/isa/)
// and split over the thread pool in fixed blocks of elements (bit-identical for any thread count).
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// One AdamW step over n parameters; the outputs may be the inputs themselves (in place: every
/// element is read before it is written) or arrays that overlap none of the inputs.
struct AdamStepParams {
  const float* param = nullptr;
  const float* grad = nullptr;
  const float* m = nullptr;
  const float* v = nullptr;
  float* param_out = nullptr;
  float* m_out = nullptr;
  float* v_out = nullptr;
  int64_t n = 0;
  int64_t step = 1;  ///< the step being taken, >= 1
  double lr = 1e-3, beta1 = 0.9, beta2 = 0.999, eps = 1e-8, weight_decay = 1e-2;
  bool maximize = false;
};

/// The per-element constants, from the float64 bias corrections, rounded once to float32.
struct AdamScalars {
  float decay, beta1, one_minus_beta1, beta2, sqrt_one_minus_beta2, step_size, bc2_sqrt, eps, sign;
};

/// The constants of one step: `step_size = lr / (1 - beta1^step)`, `bc2_sqrt = sqrt(1 - beta2^step)`,
/// `decay = 1 - lr·weight_decay`, ... computed in float64 and rounded once to float32.
AdamScalars adam_scalars(const AdamStepParams& p);

using AdamStepFn = void (*)(const AdamStepParams&, const AdamScalars&);
ATTNKIT_DECLARE_TABLE(AdamStepFn, adamStep_table)

/// One step per element: `g = sign·grad`, `m' = beta1·m + (1-beta1)·g`, `v' = beta2·v +
/// (sqrt(1-beta2)·g)²` (no overflow of g² where (1-beta2)·g² fits float32), `param' = param·decay -
/// step_size · m' / (sqrt(v') / bc2_sqrt + eps)`, in float32 from adam_scalars(p). Returns the ISA
/// level that ran.
Isa adamStep_forward(const AdamStepParams& p);

}  // namespace attnkit
