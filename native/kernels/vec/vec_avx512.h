// Vector traits, AVX-512 (W = 16). Include inside ATTNKIT_TARGET_AVX512 region.
struct V {
  static constexpr int W = 16;
  using F = __m512;
  using M = __mmask16;
  static F zero() { return _mm512_setzero_ps(); }
  static F set1(float x) { return _mm512_set1_ps(x); }
  static F load(const float* p) { return _mm512_loadu_ps(p); }
  static void store(float* p, F x) { _mm512_storeu_ps(p, x); }
  static F loadp(const float* p, int n) { return _mm512_maskz_loadu_ps(static_cast<__mmask16>((1u << n) - 1u), p); }
  static void storep(float* p, F x, int n) { _mm512_mask_storeu_ps(p, static_cast<__mmask16>((1u << n) - 1u), x); }
  // Half loads (W 16-bit patterns widened to float32, exact; loadp_*: the first n, the rest 0).
  static __m256i ld16(const uint16_t* p) { return _mm256_loadu_si256(reinterpret_cast<const __m256i*>(p)); }
  static __m256i ld16p(const uint16_t* p, int n) { return _mm256_maskz_loadu_epi16(static_cast<__mmask16>((1u << n) - 1u), p); }
  static F from_f16(__m256i h) { return _mm512_cvtph_ps(h); }
  static F from_bf16(__m256i h) { return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_cvtepu16_epi32(h), 16)); }
  static F load_f16(const uint16_t* p) { return from_f16(ld16(p)); }
  static F loadp_f16(const uint16_t* p, int n) { return from_f16(ld16p(p, n)); }
  static F load_bf16(const uint16_t* p) { return from_bf16(ld16(p)); }
  static F loadp_bf16(const uint16_t* p, int n) { return from_bf16(ld16p(p, n)); }
  static F add(F a, F b) { return _mm512_add_ps(a, b); }
  static F sub(F a, F b) { return _mm512_sub_ps(a, b); }
  static F mul(F a, F b) { return _mm512_mul_ps(a, b); }
  static F div(F a, F b) { return _mm512_div_ps(a, b); }
  static F fmadd(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fma_exact(F a, F b, F c) { return _mm512_fmadd_ps(a, b, c); }
  static F fnmadd(F a, F b, F c) { return _mm512_fnmadd_ps(a, b, c); }
  static F max(F a, F b) { return _mm512_max_ps(a, b); }
  static F min(F a, F b) { return _mm512_min_ps(a, b); }
  static F round(F x) { return _mm512_roundscale_ps(x, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC); }
  static F abs(F x) { return _mm512_abs_ps(x); }
  static F sqrt(F x) { return _mm512_sqrt_ps(x); }  // correctly rounded (IEEE)
  static F pow2i(F n) {
    return _mm512_castsi512_ps(_mm512_slli_epi32(_mm512_add_epi32(_mm512_cvtps_epi32(n), _mm512_set1_epi32(127)), 23));
  }
  static M eq(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_EQ_OQ); }
  static M lt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_LT_OQ); }
  static M gt(F a, F b) { return _mm512_cmp_ps_mask(a, b, _CMP_GT_OQ); }
  static M isnan(F a) { return _mm512_cmp_ps_mask(a, a, _CMP_UNORD_Q); }
  static M nonfinite(F a) { F d = _mm512_sub_ps(a, a); return _mm512_cmp_ps_mask(d, d, _CMP_UNORD_Q); }
  static M mor(M a, M b) { return static_cast<M>(a | b); }
  static M mandnot(M a, M b) { return static_cast<M>(a & ~b); }
  static bool any(M m) { return m != 0; }
  static uint32_t bits(M m) { return m; }
  static M from_bits(uint32_t b) { return static_cast<M>(b); }
  static F blend(M m, F a, F b) { return _mm512_mask_blend_ps(m, a, b); }
  static float hsum(F a) { return _mm512_reduce_add_ps(a); }
  static float hmax(F a) { return _mm512_reduce_max_ps(a); }
  static M nan_or_pinf(F a) { return _mm512_fpclass_ps_mask(a, 0x01 | 0x80 | 0x08); }  // QNaN | SNaN | +Inf
  static F ldexp(F p, F n) { return _mm512_scalef_ps(p, n); }
  static constexpr bool kScalef = true;
  static void hsum4(F a0, F a1, F a2, F a3, float* s) {
    // 512 -> 256 -> 128 per vector, then two horizontal adds give the four sums.
    __m256 b0 = _mm256_add_ps(_mm512_castps512_ps256(a0), _mm512_extractf32x8_ps(a0, 1));
    __m256 b1 = _mm256_add_ps(_mm512_castps512_ps256(a1), _mm512_extractf32x8_ps(a1, 1));
    __m256 b2 = _mm256_add_ps(_mm512_castps512_ps256(a2), _mm512_extractf32x8_ps(a2, 1));
    __m256 b3 = _mm256_add_ps(_mm512_castps512_ps256(a3), _mm512_extractf32x8_ps(a3, 1));
    __m256 h01 = _mm256_hadd_ps(b0, b1), h23 = _mm256_hadd_ps(b2, b3);
    __m256 h = _mm256_hadd_ps(h01, h23);
    _mm_storeu_ps(s, _mm_add_ps(_mm256_castps256_ps128(h), _mm256_extractf128_ps(h, 1)));
  }
  // cols[c] lane r = rows[r] lane c (16x16 in-register transpose).
  static void transpose(const F* rows, F* cols) {
    F t[16], u[16];
    for (int i = 0; i < 8; ++i) {
      t[2 * i] = _mm512_unpacklo_ps(rows[2 * i], rows[2 * i + 1]);
      t[2 * i + 1] = _mm512_unpackhi_ps(rows[2 * i], rows[2 * i + 1]);
    }
    for (int g = 0; g < 4; ++g) {  // rows 4g..4g+3
      const __m512d a = _mm512_castps_pd(t[4 * g]), b = _mm512_castps_pd(t[4 * g + 2]);
      const __m512d c = _mm512_castps_pd(t[4 * g + 1]), d = _mm512_castps_pd(t[4 * g + 3]);
      u[g * 4 + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(a, b));  // col 0 (mod 4) of rows 4g..4g+3
      u[g * 4 + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(a, b));
      u[g * 4 + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(c, d));
      u[g * 4 + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(c, d));
    }
    for (int c = 0; c < 4; ++c) {
      const F v0 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x88), v1 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xdd);
      const F v2 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x88), v3 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xdd);
      cols[c] = _mm512_shuffle_f32x4(v0, v2, 0x88);
      cols[c + 8] = _mm512_shuffle_f32x4(v0, v2, 0xdd);
      cols[c + 4] = _mm512_shuffle_f32x4(v1, v3, 0x88);
      cols[c + 12] = _mm512_shuffle_f32x4(v1, v3, 0xdd);
    }
  }
};

// The generic kernels' tiling on this ISA (native/kernels/isa/generic_kernels.h).
// sdpa tiling (names as in vec_scalar.h): 16 lanes, 64-row query blocks (4 zmm) x 6 keys in the
// Q·Kᵀ microkernel (24 accumulators, K broadcast straight from memory), 6 rows x up to 4 zmm in
// the P·V microkernel (24 accumulators; the 64-row block ends with a 4-row chunk); 96-key tiles
// keep a block's logits (64 x 96 floats, 24 KiB) in L1.
struct SdpaTiles {
  static constexpr int RV = 4, BC = 96, NJ = 6, MR = 6, NVMAX = 4, NVR = 8;
};
// FMA peak: 16 chains of 16 lanes.
constexpr int PeakChains = 16;
