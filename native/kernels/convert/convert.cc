// half_to_float: the active ISA's variant of the convert family (ISA-free file).
#include "attnkit/convert.h"

namespace attnkit {

Isa half_to_float(const uint16_t* src, float* dst, int64_t n, DType type) {
  Isa used = Isa::scalar;
  ConvertFn fn = convert_table().get(&used);
  fn(src, dst, n, type);  // scalar is always registered
  return used;
}

}  // namespace attnkit
