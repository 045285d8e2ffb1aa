// sdpa backward driver: picks the ISA variant (ISA-free file; the kernel is the generic family
// sdpaBackward_impl.h, instantiated per ISA by native/kernels/isa/).
#include "attnkit/sdpaBackward.h"

#include <new>

namespace attnkit {

Isa sdpa_backward(const SdpaBackwardParams& p) {
  Isa used = Isa::scalar;
  SdpaBackwardFn fn = sdpaBackward_table().get(&used);
  if (!fn || !fn(p)) throw std::bad_alloc();  // (!fn is unreachable: scalar is always registered)
  return used;
}

}  // namespace attnkit
