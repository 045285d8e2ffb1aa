// Vector traits, scalar (W = 1). Also the reference for the interface every V provides.
// Include inside an anonymous namespace region; needs <cstdint>, <cstring>, <cmath> above.
struct V {
  static constexpr int W = 1;
  using F = float;
  using M = uint32_t;  // bit l = lane l
  static F zero() { return 0.0f; }
  static F set1(float x) { return x; }
  static F load(const float* p) { return *p; }
  static void store(float* p, F x) { *p = x; }
  static F loadp(const float* p, int n) { return n > 0 ? *p : 0.0f; }  // first n lanes, rest 0
  static void storep(float* p, F x, int n) { if (n > 0) *p = x; }
  // Half loads (half_bits.h: exact bit manipulation; loadp_*: the first n, the rest 0).
  static F load_f16(const uint16_t* p) { return f16_to_f32(*p); }
  static F loadp_f16(const uint16_t* p, int n) { return n > 0 ? f16_to_f32(*p) : 0.0f; }
  static F load_bf16(const uint16_t* p) { return bf16_to_f32(*p); }
  static F loadp_bf16(const uint16_t* p, int n) { return n > 0 ? bf16_to_f32(*p) : 0.0f; }
  static F add(F a, F b) { return a + b; }
  static F sub(F a, F b) { return a - b; }
  static F mul(F a, F b) { return a * b; }
  static F div(F a, F b) { return a / b; }
  static F fmadd(F a, F b, F c) { return a * b + c; }  // may or may not fuse; fine
  static F fma_exact(F a, F b, F c) { return std::fma(a, b, c); }  // true fused (libm), for error terms
  static F fnmadd(F a, F b, F c) { return c - a * b; }
  // max/min: when either is NaN the SECOND operand is returned (x86 semantics).
  static F max(F a, F b) { return a > b ? a : b; }
  static F min(F a, F b) { return a < b ? a : b; }
  static F round(F x) { return std::nearbyint(x); }
  static F abs(F x) { return std::fabs(x); }
  static F sqrt(F x) { return std::sqrt(x); }  // correctly rounded (IEEE)
  static F pow2i(F n) {  // 2^n for integral n in [-126, 127]
    int32_t e = (static_cast<int32_t>(n) + 127) << 23;
    float r;
    std::memcpy(&r, &e, 4);
    return r;
  }
  static M eq(F a, F b) { return a == b ? 1u : 0u; }
  static M lt(F a, F b) { return a < b ? 1u : 0u; }
  static M gt(F a, F b) { return a > b ? 1u : 0u; }
  static M isnan(F a) { return a != a ? 1u : 0u; }
  static M nonfinite(F a) { return (a - a) != (a - a) ? 1u : 0u; }  // NaN or ±Inf
  static M mor(M a, M b) { return a | b; }
  static M mandnot(M a, M b) { return a & ~b; }  // a and not b
  static bool any(M m) { return m != 0; }
  static uint32_t bits(M m) { return m; }
  static M from_bits(uint32_t b) { return b & 1u; }
  static F blend(M m, F a, F b) { return m ? b : a; }  // m ? b : a
  static float hsum(F a) { return a; }
  static float hmax(F a) { return a; }
  static M nan_or_pinf(F a) { return (a != a || a == __builtin_inff()) ? 1u : 0u; }
  static F ldexp(F p, F n) { return mul(p, pow2i(n)); }
  static constexpr bool kScalef = false;
  // s[0..3] = horizontal sums of a0..a3
  static void hsum4(F a0, F a1, F a2, F a3, float* s) { s[0] = a0; s[1] = a1; s[2] = a2; s[3] = a3; }
  static void transpose(const F* rows, F* cols) { cols[0] = rows[0]; }
};

// The generic kernels' tiling on this ISA (native/kernels/isa/generic_kernels.h).
// sdpa tiling: RV row vectors per query block (BR = W·RV rows), BC keys per key tile, NJ keys per
// Q·Kᵀ microkernel step, MR rows x up to NVMAX output vectors in the P·V microkernel, NVR output
// vectors kept in registers by the row path. Scalar (W = 1): 8-row blocks, 4x4 microkernels.
struct SdpaTiles {
  static constexpr int RV = 8, BC = 64, NJ = 4, MR = 4, NVMAX = 4, NVR = 8;
};
// FMA peak: 8 multiply-add chains (no FMA instruction assumed).
constexpr int PeakChains = 8;
