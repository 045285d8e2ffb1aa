// Vector traits, AVX2 + FMA (W = 8). Include inside ATTNKIT_TARGET_AVX2 region.
struct V {
  static constexpr int W = 8;
  using F = __m256;
  using M = __m256;  // all-ones lanes
  static __m256i tailmask(int n) {
    return _mm256_cmpgt_epi32(_mm256_set1_epi32(n), _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
  }
  static F zero() { return _mm256_setzero_ps(); }
  static F set1(float x) { return _mm256_set1_ps(x); }
  static F load(const float* p) { return _mm256_loadu_ps(p); }
  static void store(float* p, F x) { _mm256_storeu_ps(p, x); }
  static F loadp(const float* p, int n) { return _mm256_maskload_ps(p, tailmask(n)); }
  static void storep(float* p, F x, int n) { _mm256_maskstore_ps(p, tailmask(n), x); }
  // Half loads (W 16-bit patterns widened to float32, exact; F16C for float16; loadp_*: the
  // first n, the rest 0).
  static __m128i ld16(const uint16_t* p) { return _mm_loadu_si128(reinterpret_cast<const __m128i*>(p)); }
  static __m128i ld16p(const uint16_t* p, int n) {
    alignas(16) uint16_t t[8] = {0, 0, 0, 0, 0, 0, 0, 0};
    for (int i = 0; i < n; ++i) t[i] = p[i];
    return _mm_load_si128(reinterpret_cast<const __m128i*>(t));
  }
  static F from_f16(__m128i h) { return _mm256_cvtph_ps(h); }
  static F from_bf16(__m128i h) { return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_cvtepu16_epi32(h), 16)); }
  static F load_f16(const uint16_t* p) { return from_f16(ld16(p)); }
  static F loadp_f16(const uint16_t* p, int n) { return from_f16(ld16p(p, n)); }
  static F load_bf16(const uint16_t* p) { return from_bf16(ld16(p)); }
  static F loadp_bf16(const uint16_t* p, int n) { return from_bf16(ld16p(p, n)); }
  static F add(F a, F b) { return _mm256_add_ps(a, b); }
  static F sub(F a, F b) { return _mm256_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm256_mul_ps(a, b); }
  static F div(F a, F b) { return _mm256_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fma_exact(F a, F b, F c) { return _mm256_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm256_fnmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm256_max_ps(a, b); }
  static F min(F a, F b) { return _mm256_min_ps(a, b); }
  static F round(F x) { return _mm256_round_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F abs(F x) { return _mm256_andnot_ps(_mm256_set1_ps(-0.0f), x); }
  static F sqrt(F x) { return _mm256_sqrt_ps(x); }  // correctly rounded (IEEE)
  static F pow2i(F n) {
    return _mm256_castsi256_ps(_mm256_slli_epi32(_mm256_add_epi32(_mm256_cvtps_epi32(n), _mm256_set1_epi32(127)), 23));
  }
  static M eq(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_EQ_OQ); }
  static M lt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm256_cmp_ps(a, b, _CMP_GT_OQ); }
  static M isnan(F a) { return _mm256_cmp_ps(a, a, _CMP_UNORD_Q); }
  static M nonfinite(F a) { F d = _mm256_sub_ps(a, a); return _mm256_cmp_ps(d, d, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return _mm256_or_ps(a, b); }
  static M mandnot(M a, M b) { return _mm256_andnot_ps(b, a); }
  static bool any(M m) { return _mm256_movemask_ps(m) != 0; }
  static uint32_t bits(M m) { return static_cast<uint32_t>(_mm256_movemask_ps(m)); }
  static M from_bits(uint32_t b) {
    __m256i lane = _mm256_setr_epi32(1, 2, 4, 8, 16, 32, 64, 128);
    return _mm256_castsi256_ps(_mm256_cmpeq_epi32(_mm256_and_si256(_mm256_set1_epi32(static_cast<int>(b)), lane), lane));
  }
  static F blend(M m, F a, F b) { return _mm256_blendv_ps(a, b, m); }
  static float hsum(F a) {
    __m128 s = _mm_add_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_add_ps(s, _mm_movehl_ps(s, s));
    s = _mm_add_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  static M nan_or_pinf(F a) { return _mm256_or_ps(_mm256_cmp_ps(a, a, _CMP_UNORD_Q), _mm256_cmp_ps(a, _mm256_set1_ps(__builtin_inff()), _CMP_EQ_OQ)); }
  static F ldexp(F p, F n) { return mul(p, pow2i(n)); }
  static constexpr bool kScalef = false;
  static void hsum4(F a0, F a1, F a2, F a3, float* s) {
    __m256 h01 = _mm256_hadd_ps(a0, a1), h23 = _mm256_hadd_ps(a2, a3);
    __m256 h = _mm256_hadd_ps(h01, h23);
    _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  static float hmax(F a) {
    __m128 s = _mm_max_ps(_mm256_castps256_ps128(a), _mm256_extractf128_ps(a, 1));
    s = _mm_max_ps(s, _mm_movehl_ps(s, s));
    s = _mm_max_ss(s, _mm_movehdup_ps(s));
    return _mm_cvtss_f32(s);
  }
  // cols[c] lane r = rows[r] lane c (8x8 in-register transpose).
  static void transpose(const F* rows, F* cols) {
    F t[8], u[8];
    for (int i = 0; i < 4; ++i) {
      t[2 * i] = _mm256_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
      t[2 * i + 1] = _mm256_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
    }
    for (int g = 0; g < 2; ++g) {
      u[4 * g + 0] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0x44);
      u[4 * g + 1] = _mm256_shuffle_ps(t[4 * g], t[4 * g + 2], 0xEE);
      u[4 * g + 2] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0x44);
      u[4 * g + 3] = _mm256_shuffle_ps(t[4 * g + 1], t[4 * g + 3], 0xEE);
    }
    for (int c = 0; c < 4; ++c) {
      cols[c] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x20);
      cols[c + 4] = _mm256_permute2f128_ps(u[c], u[4 + c], 0x31);
    }
  }
};

// The generic kernels' tiling on this ISA (native/kernels/isa/generic_kernels.h).
// sdpa tiling (names as in vec_scalar.h): 8 lanes, 32-row query blocks (4 vectors) x 3 keys in the
// Q·Kᵀ microkernel, 4 rows x 3 vectors in the P·V microkernel: 12 accumulators + operands fit the
// 16 ymm registers.
struct SdpaTiles {
  static constexpr int RV = 4, BC = 64, NJ = 3, MR = 4, NVMAX = 3, NVR = 8;
};
// FMA peak: 12 chains: FMA latency 4 x 2 ports, plus slack.
constexpr int PeakChains = 12;
