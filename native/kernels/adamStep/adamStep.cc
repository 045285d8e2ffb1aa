// adamStep driver: the step's constants from the float64 bias corrections, then the active ISA's
// elementwise pass.
#include "attnkit/adamStep.h"

#include <cmath>

namespace attnkit {

AdamScalars adam_scalars(const AdamStepParams& p) {
  const double t = static_cast<double>(p.step);
  AdamScalars s;
  s.decay = static_cast<float>(1.0 - p.lr * p.weight_decay);
  s.beta1 = static_cast<float>(p.beta1);
  s.one_minus_beta1 = static_cast<float>(1.0 - p.beta1);
  s.beta2 = static_cast<float>(p.beta2);
  s.sqrt_one_minus_beta2 = static_cast<float>(std::sqrt(1.0 - p.beta2));
  s.step_size = static_cast<float>(p.lr / (1.0 - std::pow(p.beta1, t)));
  s.bc2_sqrt = static_cast<float>(std::sqrt(1.0 - std::pow(p.beta2, t)));
  s.eps = static_cast<float>(p.eps);
  s.sign = p.maximize ? -1.0f : 1.0f;
  return s;
}

Isa adamStep_forward(const AdamStepParams& p) {
  Isa used = Isa::scalar;
  adamStep_table().get(&used)(p, adam_scalars(p));
  return used;
}

}  // namespace attnkit
