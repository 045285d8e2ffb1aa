// sdpa driver: picks the ISA variant (ISA-free file).
#include "attnkit/sdpa.h"

#include <new>

namespace attnkit {

Isa sdpa_forward(const SdpaParams& p) {
  Isa used = Isa::scalar;
  SdpaFn fn = sdpa_table().get(&used);
  if (!fn) throw std::bad_alloc();  // unreachable: scalar is always registered
  fn(p);
  return used;
}

void sdpa_contiguous_strides(SdpaParams& p) {
  p.q_si = p.D;
  p.q_sh = p.L * p.D;
  p.q_sb = p.Hq * p.q_sh;
  p.k_sj = p.D;
  p.k_sh = p.S * p.D;
  p.k_sb = p.Hkv * p.k_sh;
  p.v_sj = p.Dv;
  p.v_sh = p.S * p.Dv;
  p.v_sb = p.Hkv * p.v_sh;
  p.o_si = p.Dv;
  p.o_sh = p.L * p.Dv;
  p.o_sb = p.Hq * p.o_sh;
}

}  // namespace attnkit
