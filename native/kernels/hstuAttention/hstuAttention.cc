// hstuAttention driver: picks the ISA variant (ISA-free file; the kernel is the generic family
// hstuAttention_impl.h, instantiated per ISA by native/kernels/isa/).
#include "attnkit/hstuAttention.h"

#include <new>

namespace attnkit {

Isa hstu_attention(const HstuAttentionParams& p) {
  Isa used = Isa::scalar;
  HstuAttentionFn fn = hstuAttention_table().get(&used);
  if (!fn || !fn(p)) throw std::bad_alloc();  // (!fn is unreachable: scalar is always registered)
  return used;
}

}  // namespace attnkit
