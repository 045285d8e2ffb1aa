// Vector traits, NEON (W = 4, AArch64). Compiled only on arm64 (not built on the x86 CI box).
struct V {
  static constexpr int W = 4;
  using F = float32x4_t;
  using M = uint32x4_t;
  static uint32x4_t tailmask(int n) {
    const uint32_t idx[4] = {0, 1, 2, 3};
    return vcltq_u32(vld1q_u32(idx), vdupq_n_u32(static_cast<uint32_t>(n)));
  }
  static F zero() { return vdupq_n_f32(0.0f); }
  static F set1(float x) { return vdupq_n_f32(x); }
  static F load(const float* p) { return vld1q_f32(p); }
  static void store(float* p, F x) { vst1q_f32(p, x); }
  static F loadp(const float* p, int n) {
    float t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1q_f32(t);
  }
  static void storep(float* p, F x, int n) {
    float t[4];
    vst1q_f32(t, x);
    for (int i = 0; i < n; ++i) p[i] = t[i];
  }
  // Half loads (W 16-bit patterns widened to float32, exact; loadp_*: the first n, the rest 0).
  static uint16x4_t ld16p(const uint16_t* p, int n) {
    uint16_t t[4] = {0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return vld1_u16(t);
  }
  static F from_f16(uint16x4_t h) { return vcvt_f32_f16(vreinterpret_f16_u16(h)); }
  static F from_bf16(uint16x4_t h) { return vreinterpretq_f32_u32(vshll_n_u16(h, 16)); }
  static F load_f16(const uint16_t* p) { return from_f16(vld1_u16(p)); }
  static F loadp_f16(const uint16_t* p, int n) { return from_f16(ld16p(p, n)); }
  static F load_bf16(const uint16_t* p) { return from_bf16(vld1_u16(p)); }
  static F loadp_bf16(const uint16_t* p, int n) { return from_bf16(ld16p(p, n)); }
  static F add(F a, F b) { return vaddq_f32(a, b); }
  static F sub(F a, F b) { return vsubq_f32(a, b); }
  static F mul(F a, F b) { return vmulq_f32(a, b); }
  static F div(F a, F b) { return vdivq_f32(a, b); }
  static F fmadd(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F fma_exact(F a, F b, F c) { return vfmaq_f32(c, a, b); }
  static F fnmadd(F a, F b, F c) { return vfmsq_f32(c, a, b); }
  // x86 semantics (second operand on NaN), so NaN handling matches the other ISAs.
  static F max(F a, F b) { return vbslq_f32(vcgtq_f32(a, b), a, b); }
  static F min(F a, F b) { return vbslq_f32(vcltq_f32(a, b), a, b); }
  static F round(F x) { return vrndnq_f32(x); }
  static F abs(F x) { return vabsq_f32(x); }
  static F sqrt(F x) { return vsqrtq_f32(x); }  // correctly rounded (IEEE)
  static F pow2i(F n) {
    return vreinterpretq_f32_s32(vshlq_n_s32(vaddq_s32(vcvtnq_s32_f32(n), vdupq_n_s32(127)), 23));
  }
  static M eq(F a, F b) { return vceqq_f32(a, b); }
  static M lt(F a, F b) { return vcltq_f32(a, b); }
  static M gt(F a, F b) { return vcgtq_f32(a, b); }
  static M isnan(F a) { return vmvnq_u32(vceqq_f32(a, a)); }
  static M nonfinite(F a) { F d = vsubq_f32(a, a); return vmvnq_u32(vceqq_f32(d, d)); }
  static M mor(M a, M b) { return vorrq_u32(a, b); }
  static M mandnot(M a, M b) { return vbicq_u32(a, b); }
  static bool any(M m) { return vmaxvq_u32(m) != 0; }
  static uint32_t bits(M m) {
    const uint32_t w[4] = {1, 2, 4, 8};
    return vaddvq_u32(vandq_u32(m, vld1q_u32(w)));
  }
  static M from_bits(uint32_t b) {
    const uint32_t w[4] = {1, 2, 4, 8};
    uint32x4_t lane = vld1q_u32(w);
    return vceqq_u32(vandq_u32(vdupq_n_u32(b), lane), lane);
  }
  static F blend(M m, F a, F b) { return vbslq_f32(m, b, a); }
  static float hsum(F a) { return vaddvq_f32(a); }
  static float hmax(F a) { return vmaxvq_f32(a); }
  static M nan_or_pinf(F a) { return vorrq_u32(isnan(a), vceqq_f32(a, vdupq_n_f32(__builtin_inff()))); }
  static F ldexp(F p, F n) { return mul(p, pow2i(n)); }
  static constexpr bool kScalef = false;
  static void hsum4(F a0, F a1, F a2, F a3, float* s) { s[0] = vaddvq_f32(a0); s[1] = vaddvq_f32(a1); s[2] = vaddvq_f32(a2); s[3] = vaddvq_f32(a3); }
  static void transpose(const F* rows, F* cols) {
    const float32x4x2_t p01 = vtrnq_f32(rows[0], rows[1]);
    const float32x4x2_t p23 = vtrnq_f32(rows[2], rows[3]);
    cols[0] = vcombine_f32(vget_low_f32(p01.val[0]), vget_low_f32(p23.val[0]));
    cols[1] = vcombine_f32(vget_low_f32(p01.val[1]), vget_low_f32(p23.val[1]));
    cols[2] = vcombine_f32(vget_high_f32(p01.val[0]), vget_high_f32(p23.val[0]));
    cols[3] = vcombine_f32(vget_high_f32(p01.val[1]), vget_high_f32(p23.val[1]));
  }
};

// The generic kernels' tiling on this ISA (native/kernels/isa/generic_kernels.h).
// sdpa tiling (names as in vec_scalar.h): 4 lanes, 16-row query blocks x 6 keys in Q·Kᵀ, 8 rows x 2
// vectors in P·V (32 NEON registers).
struct SdpaTiles {
  static constexpr int RV = 4, BC = 64, NJ = 6, MR = 8, NVMAX = 2, NVR = 8;
};
// FMA peak: 16 chains of 4 lanes.
constexpr int PeakChains = 16;
