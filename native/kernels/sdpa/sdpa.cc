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

namespace {
// Strides of a contiguous [B, H, rows, cols] tensor (cols contiguous).
void contiguous(int64_t& sb, int64_t& sh, int64_t& srow, int64_t H, int64_t rows, int64_t cols) {
  srow = cols;
  sh = rows * cols;
  sb = H * sh;
}
// Strides of a [B, rows, H, cols] tensor read as [B, H, rows, cols].
void token_major(int64_t& sb, int64_t& sh, int64_t& srow, int64_t H, int64_t rows, int64_t cols) {
  sh = cols;
  srow = H * cols;
  sb = rows * srow;
}
}  // namespace

void sdpa_token_major_strides(SdpaParams& p) {
  token_major(p.q_sb, p.q_sh, p.q_si, p.Hq, p.L, p.D);
  token_major(p.k_sb, p.k_sh, p.k_sj, p.Hkv, p.S, p.D);
  token_major(p.v_sb, p.v_sh, p.v_sj, p.Hkv, p.S, p.Dv);
  token_major(p.o_sb, p.o_sh, p.o_si, p.Hq, p.L, p.Dv);
}

void sdpa_contiguous_strides(SdpaParams& p) {
  contiguous(p.q_sb, p.q_sh, p.q_si, p.Hq, p.L, p.D);
  contiguous(p.k_sb, p.k_sh, p.k_sj, p.Hkv, p.S, p.D);
  contiguous(p.v_sb, p.v_sh, p.v_sj, p.Hkv, p.S, p.Dv);
  contiguous(p.o_sb, p.o_sh, p.o_si, p.Hq, p.L, p.Dv);
}

}  // namespace attnkit
