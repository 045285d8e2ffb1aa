// hstuAttentionBackward driver: picks the ISA variant (ISA-free file; the kernel is the generic
// family hstuAttentionBackward_impl.h, instantiated per ISA by native/kernels/isa/).
#include "attnkit/hstuAttentionBackward.h"

#include <new>

namespace attnkit {

Isa hstu_attention_backward(const HstuAttentionBackwardParams& p) {
  Isa used = Isa::scalar;
  HstuAttentionBackwardFn fn = hstuAttentionBackward_table().get(&used);
  if (!fn || !fn(p)) throw std::bad_alloc();  // (!fn is unreachable: scalar is always registered)
  return used;
}

}  // namespace attnkit
