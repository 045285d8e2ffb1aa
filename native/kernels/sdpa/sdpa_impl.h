// Generic sdpa over a vector traits type V (native/kernels/vec/) and a blocking config Cfg.
// Included INSIDE an ISA region and an anonymous namespace, after V, vexp and Cfg are defined;
// it defines `bool sdpa_run(const attnkit::SdpaParams&)` (false = out of memory).
//
// Three paths (chosen from the problem, never from the thread count):
//  * block (no weights, L >= BR/2): tasks (b, h, block of BR query rows). Query rows live in
//    vector lanes: Qt [D][BR] is packed once per task (pre-scaled), logits St [key][row] come
//    from an NJ-keys x RV-row-vectors register-blocked microkernel that broadcasts k[j][d]
//    straight from K (no K packing), so the online-softmax max/sum are vertical vector ops.
//    P·V is an MR-rows x NV-vectors microkernel that also applies the per-row rescale factor.
//    Key tiles outside a block's causal / window / keyLengths range are never computed.
//  * rows (no weights, small L): tasks (b, kv head, key chunk, head in group) so the query
//    heads sharing a kv head read the same chunk back to back; each task leaves (max, sum, out)
//    partials per row and chunk, merged afterwards per row in chunk order (log-sum-exp
//    rescaling), so the result does not depend on which thread ran which chunk.
//  * weights (or logits asked for): per row, logits written into the weights row (and copied to
//    the logits row), normalised there, and the output summed with exactly those probabilities.
// Excluded keys (mask, keyLengths, causal, window, -Inf logit) get logit -Inf; a NaN/+Inf logit marks its
// row (NaN result). Excluded keys never touch the output: in the block path, a tile that has an
// excluded element and a non-finite value in its V rows is summed key by key, skipping them.

using attnkit::SdpaParams;

constexpr int W = V::W;
constexpr int RV = Cfg::RV;
constexpr int BR = W * RV;
constexpr int BC = Cfg::BC;
constexpr int NJ = Cfg::NJ;
constexpr int MR = Cfg::MR;
constexpr int NVMAX = Cfg::NVMAX;
constexpr int NVR = Cfg::NVR;  // output vectors kept in registers by the row path
constexpr int64_t CHUNK = 512;  // keys per task in the row path (decode)
constexpr int MRT = BR % MR;  // rows in the last P·V row chunk when MR does not divide BR
static_assert(W <= 16, "lane masks are 32-bit");

inline int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t imax(int64_t a, int64_t b) { return a > b ? a : b; }
inline float ninf() { return -__builtin_inff(); }
inline float pinf() { return __builtin_inff(); }
inline float qnan() { return __builtin_nanf(""); }

struct Geo {
  const float* q;
  const float* k;
  const float* v;
  float* o;
  const uint8_t* mask;
  const float* bias;
  // Half operands (SdpaParams q_type ...): the same places in the 16-bit patterns; null when float32.
  const uint16_t* q16;
  const uint16_t* k16;
  const uint16_t* v16;
  const uint16_t* bias16;
  int64_t kend;    // keys >= kend are padding (keyLengths), or past a jagged sequence's keys
  int64_t lrows;   // query rows of this (b, h): L, or a jagged sequence's Lq_b
  int64_t vrows;   // key rows that belong to this b (V rows a tile may read): S, or S_b
  int64_t ms2, ms3;  // mask strides of a row and a key within this (b, h)
  int64_t bs2, bs3;  // bias strides alike
  int64_t lse0, lse_si;  // lse of row i at lse[lse0 + i * lse_si]
  bool upper;      // causal or a right window: row i sees keys j <= i + hi_off
  bool lower;      // a left window: row i sees keys j >= i + lo_off
  int64_t hi_off;
  int64_t lo_off;
};

inline Geo geo(const SdpaParams& p, int64_t b, int64_t h) {
  const int64_t hk = h / (p.Hq / p.Hkv);
  Geo g;
  const bool jag = p.q_offsets != nullptr;
  // Jagged: the sequence's first query / key row (its rows are [t, H, D], *_sb unused).
  const int64_t qs = jag ? p.q_offsets[b] : 0, ks = jag ? p.kv_offsets[b] : 0;
  const int64_t qo = jag ? qs * p.q_si + h * p.q_sh : b * p.q_sb + h * p.q_sh;
  const int64_t ko = jag ? ks * p.k_sj + hk * p.k_sh : b * p.k_sb + hk * p.k_sh;
  const int64_t vo = jag ? ks * p.v_sj + hk * p.v_sh : b * p.v_sb + hk * p.v_sh;
  g.q = p.q ? p.q + qo : nullptr;
  g.k = p.k ? p.k + ko : nullptr;
  g.v = p.v ? p.v + vo : nullptr;
  g.q16 = p.q16 ? p.q16 + qo : nullptr;
  g.k16 = p.k16 ? p.k16 + ko : nullptr;
  g.v16 = p.v16 ? p.v16 + vo : nullptr;
  const int64_t oo = jag ? qs * p.o_si + h * p.o_sh : b * p.o_sb + h * p.o_sh;
  g.o = p.out ? p.out + oo : nullptr;  // null: the backward reads no output here
  const int64_t bo = b * p.bias_s[0] + h * p.bias_s[1];
  g.bias = p.bias ? p.bias + bo : nullptr;
  g.bias16 = p.bias16 ? p.bias16 + bo : nullptr;
  if (jag) {
    g.lrows = p.q_offsets[b + 1] - qs;
    g.vrows = p.kv_offsets[b + 1] - ks;
    g.kend = g.vrows;
    g.mask = p.jagged_mask ? p.jagged_mask + p.jagged_mask_starts[b] : nullptr;
    g.ms2 = g.vrows;
    g.ms3 = 1;
    g.bias = p.jagged_bias ? p.jagged_bias + p.jagged_mask_starts[b] : nullptr;
    g.bias16 = nullptr;
    g.bs2 = g.vrows;
    g.bs3 = 1;
    g.lse0 = qs * p.Hq + h;
    g.lse_si = p.Hq;
  } else {
    g.lrows = p.L;
    g.vrows = p.S;
    g.kend = p.key_lengths ? imax(0, imin(p.S, p.key_lengths[b])) : p.S;
    g.mask = p.mask ? p.mask + b * p.mask_s[0] + h * p.mask_s[1] : nullptr;
    g.ms2 = p.mask_s[2];
    g.ms3 = p.mask_s[3];
    g.bs2 = p.bias_s[2];
    g.bs3 = p.bias_s[3];
    g.lse0 = (b * p.Hq + h) * p.L;
    g.lse_si = 1;
  }
  const int64_t off = p.offsets ? static_cast<int64_t>(p.offsets[b]) : g.vrows - g.lrows;  // row i sits at key i + off
  constexpr int64_t kFar = int64_t(1) << 40;  // beyond any key index
  g.upper = p.causal || p.window_right >= 0;
  g.hi_off = imin(p.causal ? off : kFar, p.window_right >= 0 ? off + p.window_right : kFar);
  g.lower = p.window_left >= 0;
  g.lo_off = g.lower ? off - p.window_left : -kFar;
  return g;
}

// ---------------------------------------------------------------- half operands ---------------
// Loads of one operand's elements as float32 vectors, by element type: Ld<T>::load(p) (W
// elements), Ld<T>::loadp(p, n) (the first n, the rest 0). Exact widening (V::load_f16 / _bf16).
template <DType T> struct Ld;
template <> struct Ld<DType::f32> {
  using E = float;
  static V::F load(const float* p) { return V::load(p); }
  static V::F loadp(const float* p, int n) { return V::loadp(p, n); }
};
template <> struct Ld<DType::f16> {
  using E = uint16_t;
  static V::F load(const uint16_t* p) { return V::load_f16(p); }
  static V::F loadp(const uint16_t* p, int n) { return V::loadp_f16(p, n); }
};
template <> struct Ld<DType::bf16> {
  using E = uint16_t;
  static V::F load(const uint16_t* p) { return V::load_bf16(p); }
  static V::F loadp(const uint16_t* p, int n) { return V::loadp_bf16(p, n); }
};

/// One scalar of a half operand as float32.
inline float half_at(const uint16_t* p, int64_t i, DType t) { return t == DType::bf16 ? bf16_to_f32(p[i]) : f16_to_f32(p[i]); }

inline bool has_bias(const SdpaParams& p) { return p.bias || p.bias16; }
inline bool has_bias(const Geo& g) { return g.bias || g.bias16; }
/// Bias element at offset idx of the (b, h) plane, float32 or half.
inline float bias_at(const SdpaParams& p, const Geo& g, int64_t idx) { return g.bias ? g.bias[idx] : half_at(g.bias16, idx, p.bias_type); }

/// dst[r][c] (row stride ldd) = src[r][c] (row stride lds) as float32, r < rows, c < cols.
template <DType T>
inline void widen_rows_t(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols) {
  for (int64_t r = 0; r < rows; ++r) {
    const uint16_t* s = src + r * lds;
    float* d = dst + r * ldd;
    int64_t c = 0;
    for (; c + W <= cols; c += W) V::store(d + c, Ld<T>::load(s + c));
    if (c < cols) V::storep(d + c, Ld<T>::loadp(s + c, static_cast<int>(cols - c)), static_cast<int>(cols - c));
  }
}
inline void widen_rows(float* dst, int64_t ldd, const uint16_t* src, int64_t lds, int64_t rows, int64_t cols, DType t) {
  if (t == DType::bf16) widen_rows_t<DType::bf16>(dst, ldd, src, lds, rows, cols);
  else widen_rows_t<DType::f16>(dst, ldd, src, lds, rows, cols);
}

/// Keys [row_start, row_end) are candidates for row i (keyLengths, causal, window); the mask and
/// -Inf logits may exclude more. The range may be empty (start >= end).
inline int64_t row_end(const SdpaParams&, const Geo& g, int64_t i) {
  return g.upper ? imin(g.kend, imax(0, i + g.hi_off + 1)) : g.kend;
}
inline int64_t row_start(const SdpaParams&, const Geo& g, int64_t i) {
  return g.lower ? imax(0, i + g.lo_off) : 0;
}

/// A range of indices cut into spans for tiling: [start, limit) holds every index that takes part,
/// [free_lo, free) the ones no band cut touches (every row sees every key there). Spans end at
/// free_lo and free, so only the spans outside [free_lo, free) (each at most one block's worth: the
/// band's two edges) pay for the per-element cut; a long span is cut into equal tiles (no short
/// last tile). Used for a block's keys (block_keys) and, in the backward, a key block's rows.
struct Spans {
  int64_t start, limit, free_lo, free;
  /// The length (<= tile) of the tile starting at j.
  int next(int64_t j, int tile) const {
    int64_t end = limit;
    if (j < free_lo) end = free_lo;
    else if (j < free) end = free;
    const int64_t ntile = (end - j + tile - 1) / tile;
    return static_cast<int>(imin(tile, (end - j + ntile - 1) / ntile));
  }
};

/// The keys rows [i0, i0 + nr) may see (keyLengths, causal, window): keys below `free` are seen
/// by every row under the upper limit, keys from `free_lo` on under the left window.
inline Spans block_keys(const Geo& g, int64_t i0, int64_t nr) {
  Spans s;
  s.limit = g.kend;
  if (g.upper) s.limit = imin(s.limit, imax(0, i0 + nr - 1 + g.hi_off + 1));
  s.start = g.lower ? imin(s.limit, imax(0, i0 + g.lo_off)) : 0;
  s.free = g.upper ? imin(s.limit, imax(0, i0 + g.hi_off + 1)) : s.limit;
  s.free_lo = g.lower ? imax(s.start, imin(s.limit, i0 + nr - 1 + g.lo_off)) : s.start;
  return s;
}

/// The soft-capped logit c·tanh(x / c) (every path applies it through this one function).
inline V::F vsoftcap(V::F x, V::F c) { return V::mul(c, vtanh(V::div(x, c))); }

/// logit = softcap·tanh(x / softcap) for the n logits at s (in place).
inline void softcap_row(float* s, int64_t n, float cap) {
  const V::F c = V::set1(cap);
  int64_t t = 0;
  for (; t + W <= n; t += W) V::store(s + t, vsoftcap(V::load(s + t), c));
  if (t < n) {
    const int rem = static_cast<int>(n - t);
    V::storep(s + t, vsoftcap(V::loadp(s + t, rem), c), rem);
  }
}

inline void write_row_result(const SdpaParams& p, const Geo& g, int64_t b, int64_t h, int64_t i, const float* o, float m, float l, bool flag) {
  float* out = g.o + i * p.o_si;
  const int64_t Dv = p.Dv;
  float lse;
  V::F f;
  bool copy = false;
  if (flag) {
    f = V::set1(qnan());
    lse = qnan();
  } else if (!(l > 0.0f)) {
    f = V::zero();
    lse = ninf();
  } else {
    f = V::set1(l);  // divide (one rounding) rather than multiply by 1/l
    copy = true;
    lse = m + __builtin_logf(l);
  }
  int64_t e = 0;
  for (; e + W <= Dv; e += W) V::store(out + e, copy ? V::div(V::load(o + e), f) : f);
  if (e < Dv) {
    const int rem = static_cast<int>(Dv - e);
    V::storep(out + e, copy ? V::div(V::loadp(o + e, rem), f) : f, rem);
  }
  (void)b;
  (void)h;
  if (p.lse) p.lse[g.lse0 + i * g.lse_si] = lse;
}

// The paths, one file each (included here: they share the constants and helpers above).
#include "sdpa_block.h"
#include "sdpa_row.h"
#include "sdpa_weights.h"

// ---------------------------------------------------------------- driver ----------------------

// The path is chosen from the problem, never from the thread count.
inline bool sdpa_run(const SdpaParams& p) {
  if (p.B <= 0 || p.Hq <= 0 || p.L <= 0) return true;
  if (p.q_offsets) return sdpa_jagged_path(p);
  if (p.weights || p.logits) return sdpa_weights_path(p);
  if (p.L >= BR / 2) return sdpa_block_path(p);
  return sdpa_row_path(p);
}
