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
//    Key tiles beyond a block's causal / keyLengths limit are never computed.
//  * rows (no weights, small L): tasks (b, kv head, key chunk, head in group) so the query
//    heads sharing a kv head read the same chunk back to back; each task leaves (max, sum, out)
//    partials per row and chunk, merged afterwards per row in chunk order (log-sum-exp
//    rescaling), so the result does not depend on which thread ran which chunk.
//  * weights: per row, logits written into the weights row, normalised there, and the output
//    summed with exactly those probabilities.
// Excluded keys (mask, keyLengths, causal, -Inf logit) get logit -Inf; a NaN/+Inf logit marks its
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
  int64_t kend;  // keys >= kend are padding (keyLengths)
  int64_t off;   // S - L: causal row i sees keys j <= i + off
};

inline Geo geo(const SdpaParams& p, int64_t b, int64_t h) {
  const int64_t hk = h / (p.Hq / p.Hkv);
  Geo g;
  g.q = p.q + b * p.q_sb + h * p.q_sh;
  g.k = p.k + b * p.k_sb + hk * p.k_sh;
  g.v = p.v + b * p.v_sb + hk * p.v_sh;
  g.o = p.out + b * p.o_sb + h * p.o_sh;
  g.mask = p.mask ? p.mask + b * p.mask_s[0] + h * p.mask_s[1] : nullptr;
  g.bias = p.bias ? p.bias + b * p.bias_s[0] + h * p.bias_s[1] : nullptr;
  g.kend = p.key_lengths ? imax(0, imin(p.S, p.key_lengths[b])) : p.S;
  g.off = p.S - p.L;
  return g;
}

/// Keys [0, row_end) are candidates for row i (keyLengths and causal); the mask and -Inf
/// logits may exclude more.
inline int64_t row_end(const SdpaParams& p, const Geo& g, int64_t i) {
  int64_t e = g.kend;
  if (p.causal) e = imin(e, imax(0, i + g.off + 1));
  return e;
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
  if (p.lse) p.lse[(b * p.Hq + h) * p.L + i] = lse;
}

// ---------------------------------------------------------------- block path ------------------

/// One group of NJ keys: St[c0+t][r] for the row vectors RV0..RV-1 (the ones before RV0 cannot
/// see any key of the group under the causal limit; their St entries are left stale and are
/// overwritten with -Inf by softmax_tile).
/// FUSE (no exclusion, mask or bias in this tile): the epilogue also scales the logits, folds
/// NaN/+Inf flags into nf[] (those lanes become -Inf) and the running max into mx[] for the
/// first `nvalid` keys, so softmax_tile's first pass is not needed.
// noinline: kept out of block_task so its 24 accumulators + 4 Q vectors own the register file
// (inlined, register pressure turned every Q load into a memory operand: 6x the L1 traffic).
template <int RV0, bool FUSE>
__attribute__((noinline)) void qk_group(const float* qt, int64_t D, const float* const* kp, float* st, V::F scale, int nvalid, V::F* mx, V::M* nf) {
  constexpr int NR = RV - RV0;
  V::F acc[NJ][NR];
#pragma GCC unroll 16
  for (int t = 0; t < NJ; ++t)
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) acc[t][r] = V::zero();
  for (int64_t d = 0; d < D; ++d) {
    V::F qv[NR];
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) qv[r] = V::load(qt + d * BR + (RV0 + r) * W);
#pragma GCC unroll 16
    for (int t = 0; t < NJ; ++t) {
      const V::F kv = V::set1(kp[t][d]);
#pragma GCC unroll 8
      for (int r = 0; r < NR; ++r) acc[t][r] = V::fmadd(qv[r], kv, acc[t][r]);
    }
  }
  if constexpr (FUSE) {
    const V::F NI = V::set1(ninf());
    V::F mxl[NR];  // local copies: no aliasing, stay in registers
    V::M nfl[NR];
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      mxl[r] = mx[RV0 + r];
      nfl[r] = nf[RV0 + r];
    }
#pragma GCC unroll 16
    for (int t = 0; t < NJ; ++t) {
#pragma GCC unroll 8
      for (int r = 0; r < NR; ++r) {
        V::F x = V::mul(acc[t][r], scale);
        const V::M bad = V::nan_or_pinf(x);
        x = V::blend(bad, x, NI);
        if (t < nvalid) {
          nfl[r] = V::mor(nfl[r], bad);
          mxl[r] = V::max(mxl[r], x);
        }
        V::store(st + t * BR + (RV0 + r) * W, x);
      }
    }
#pragma GCC unroll 8
    for (int r = 0; r < NR; ++r) {
      mx[RV0 + r] = mxl[r];
      nf[RV0 + r] = nfl[r];
    }
  } else {
#pragma GCC unroll 16
    for (int t = 0; t < NJ; ++t)
#pragma GCC unroll 8
      for (int r = 0; r < NR; ++r) V::store(st + t * BR + (RV0 + r) * W, acc[t][r]);
  }
}

/// St[c][r] = Σ_d Qt[d][r] · K[j0+c][d] for c < nc (rows of St past nc up to the next NJ multiple
/// are scratch). `causal_first` = the first key index (relative to the block's rows) a row vector
/// can see is rv*W + W - 1 + off_rel: row vectors wholly before a key group are skipped.
template <bool FUSE>
inline void qk_tile(const float* qt, int64_t D, const float* kb, int64_t k_sj, int64_t j0, int nc, const float* zero, float* st,
                    bool causal, int64_t i0, int64_t off, V::F scale, V::F* mx, V::M* nf) {
  for (int c0 = 0; c0 < nc; c0 += NJ) {
    const float* kp[NJ];
    for (int t = 0; t < NJ; ++t) kp[t] = (c0 + t < nc) ? kb + (j0 + c0 + t) * k_sj : zero;
    int rv0 = 0;
    if (causal) {
      // Row vector rv sees key j iff i0 + rv*W + W - 1 >= j - off; the group's first key decides.
      const int64_t need = (j0 + c0 - off) - (i0 + W - 1);  // rv*W >= need
      if (need > 0) rv0 = static_cast<int>(imin(RV - 1, (need + W - 1) / W));
    }
    float* stc = st + c0 * BR;
    const int nv = static_cast<int>(imin(NJ, nc - c0));
    if constexpr (FUSE) {
      qk_group<0, true>(qt, D, kp, stc, scale, nv, mx, nf);  // FUSE implies no causal cut
      continue;
    }
    switch (rv0) {
      case 0: qk_group<0, false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 1: if constexpr (RV > 1) qk_group<(RV > 1 ? 1 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 2: if constexpr (RV > 2) qk_group<(RV > 2 ? 2 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 3: if constexpr (RV > 3) qk_group<(RV > 3 ? 3 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 4: if constexpr (RV > 4) qk_group<(RV > 4 ? 4 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 5: if constexpr (RV > 5) qk_group<(RV > 5 ? 5 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      case 6: if constexpr (RV > 6) qk_group<(RV > 6 ? 6 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
      default: if constexpr (RV > 7) qk_group<(RV > 7 ? 7 : 0), false>(qt, D, kp, stc, scale, nv, mx, nf); break;
    }
  }
}

/// O[r][0..NV*W) = O[r]·alpha[r] + Σ_c P[c][r]·V[c][..] for MR rows (last vector partial if PART).
/// The tile's sum starts from fresh accumulators and is added to the rescaled O once, so the
/// rounding error grows with the tile length plus the tile count, not with S.
template <int MRr, int NV, bool PART>
inline void pv_micro(float* o, int64_t ldo, const float* pt, const float* alpha, const float* vb, int64_t v_sj, int nc, int tail) {
  constexpr int MR = MRr;
  V::F acc[MR][NV];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r)
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) acc[r][t] = V::zero();
  for (int c = 0; c < nc; ++c) {
    const float* vr = vb + c * v_sj;
    V::F vv[NV];
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) vv[t] = (PART && t == NV - 1) ? V::loadp(vr + t * W, tail) : V::load(vr + t * W);
    const float* pr = pt + c * BR;
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const V::F pb = V::set1(pr[r]);
#pragma GCC unroll 4
      for (int t = 0; t < NV; ++t) acc[r][t] = V::fmadd(pb, vv[t], acc[r][t]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    const V::F a = V::set1(alpha[r]);
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) V::store(o + r * ldo + t * W, V::fmadd(V::load(o + r * ldo + t * W), a, acc[r][t]));
  }
}

template <int MRr, bool PART>
inline void pv_dispatch(int nv, float* o, int64_t ldo, const float* pt, const float* alpha, const float* vb, int64_t v_sj, int nc, int tail) {
  switch (nv) {
    case 1: pv_micro<MRr, 1, PART>(o, ldo, pt, alpha, vb, v_sj, nc, tail); break;
    case 2: if constexpr (NVMAX >= 2) pv_micro<MRr, 2, PART>(o, ldo, pt, alpha, vb, v_sj, nc, tail); break;
    case 3: if constexpr (NVMAX >= 3) pv_micro<MRr, 3, PART>(o, ldo, pt, alpha, vb, v_sj, nc, tail); break;
    case 4: if constexpr (NVMAX >= 4) pv_micro<MRr, 4, PART>(o, ldo, pt, alpha, vb, v_sj, nc, tail); break;
    default: break;
  }
}

template <int MRr>
inline void pv_rows(float* o, int64_t ldo, const float* st, const float* alpha, const float* vb, int64_t v_sj, int nc, int64_t Dv) {
  const int64_t nvec = (Dv + W - 1) / W;
  const int tail = static_cast<int>(Dv - (nvec - 1) * W);
  for (int64_t v0 = 0; v0 < nvec; v0 += NVMAX) {
    const int nv = static_cast<int>(imin(NVMAX, nvec - v0));
    const bool part = (v0 + nv == nvec) && tail != W;
    if (part) pv_dispatch<MRr, true>(nv, o + v0 * W, ldo, st, alpha, vb + v0 * W, v_sj, nc, tail);
    else pv_dispatch<MRr, false>(nv, o + v0 * W, ldo, st, alpha, vb + v0 * W, v_sj, nc, tail);
  }
}

/// `vis_base` >= 0 (causal): rows r0..r0+MR-1 see keys c <= r0 + MR - 1 + vis_base of this tile;
/// the rest have P = 0 exactly and are skipped (V is finite here, so skipping changes nothing).
inline void pv_tile(float* o, int64_t ldo, const float* st, const float* alpha, const float* vb, int64_t v_sj, int nc_all, int64_t Dv,
                    bool causal, int64_t vis_base) {
  int r0 = 0;
  for (; r0 + MR <= BR; r0 += MR) {
    const int nc = causal ? static_cast<int>(imax(0, imin(nc_all, r0 + MR - 1 + vis_base + 1))) : nc_all;
    pv_rows<MR>(o + r0 * ldo, ldo, st + r0, alpha + r0, vb, v_sj, nc, Dv);
  }
  if constexpr (MRT > 0) {
    const int nc = causal ? static_cast<int>(imax(0, imin(nc_all, r0 + MRT - 1 + vis_base + 1))) : nc_all;
    pv_rows<(MRT > 0 ? MRT : 1)>(o + r0 * ldo, ldo, st + r0, alpha + r0, vb, v_sj, nc, Dv);
  }
}

/// Key by key, skipping excluded (row, key) pairs: used when an excluded key's V row is non-finite.
inline void pv_careful(float* o, int64_t ldo, const float* st, const float* alpha, const uint32_t* ab, const float* vb, int64_t v_sj, int nc, int64_t Dv) {
  for (int r = 0; r < BR; ++r)
    for (int64_t e = 0; e < ldo; ++e) o[r * ldo + e] *= alpha[r];
  for (int c = 0; c < nc; ++c) {
    const float* vr = vb + c * v_sj;
    for (int r = 0; r < BR; ++r) {
      if (!((ab[c * RV + r / W] >> (r % W)) & 1u)) continue;
      const float pr = st[c * BR + r];
      float* orow = o + r * ldo;
      for (int64_t e = 0; e < Dv; ++e) orow[e] += pr * vr[e];
    }
  }
}

inline bool v_rows_nonfinite(const float* vb, int64_t v_sj, int nc, int64_t Dv) {
  for (int c = 0; c < nc; ++c) {
    const float* vr = vb + c * v_sj;
    V::M bad = V::from_bits(0);
    int64_t e = 0;
    for (; e + W <= Dv; e += W) bad = V::mor(bad, V::nonfinite(V::load(vr + e)));
    if (e < Dv) bad = V::mor(bad, V::nonfinite(V::loadp(vr + e, static_cast<int>(Dv - e))));
    if (V::any(bad)) return true;
  }
  return false;
}

struct BlockState {
  V::F m[RV], l[RV];
  uint32_t flags[RV];
};

/// Exclusions, bias, NaN flags and the online-softmax update of one tile (St becomes P).
/// With TRACK, records the allowed (row, key) bits in `ab` and returns whether any is excluded
/// (only needed when the tile's V rows hold a non-finite value); otherwise returns false.
/// St = exp(St - ms[row vector]) in place, lsum += the new values (own function: its ~14
/// polynomial constants and 8 running vectors get the register file to themselves).
/// With LO, lo[c][r] holds each logit's rounding error (bias added by TwoSum): the exponent is
/// (St - ms) + lo, where St - ms is exact for the logits that carry weight (same binade as the max).
template <bool LO>
__attribute__((noinline)) void exp_tile(float* st, const float* lo, int nc, const V::F* msp, V::F* lsump) {
  V::F ms[RV], lsum[RV];
#pragma GCC unroll 8
  for (int r = 0; r < RV; ++r) {
    ms[r] = msp[r];
    lsum[r] = lsump[r];
  }
  for (int c = 0; c < nc; ++c) {
#pragma GCC unroll 8
    for (int r = 0; r < RV; ++r) {
      V::F x = V::sub(V::load(st + c * BR + r * W), ms[r]);
      if constexpr (LO) x = V::add(x, V::load(lo + c * BR + r * W));
      const V::F e = vexp(x);
      lsum[r] = V::add(lsum[r], e);
      V::store(st + c * BR + r * W, e);
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < RV; ++r) lsump[r] = lsum[r];
}

template <bool TRACK, bool FUSED>
inline bool softmax_tile(const SdpaParams& p, const Geo& g, int64_t i0, int64_t j0, int nc, bool need_causal, float* st, float* lo, uint32_t* ab, float* alpha, BlockState& s,
                         const V::F* fmx, const V::M* fnf) {
  const V::F NI = V::set1(ninf());
  const uint32_t full = (W >= 32) ? 0xffffffffu : ((1u << W) - 1u);
  V::F tmax[RV];
  V::M nfacc[RV];
  for (int r = 0; r < RV; ++r) {
    tmax[r] = NI;
    nfacc[r] = V::from_bits(0);
  }
  bool anyex = false;
  const V::F scale = V::set1(p.scale);  // logit = (q·k)·scale, in the reference's order
  const int64_t ms2 = p.mask_s[2], ms3 = p.mask_s[3], bs2 = p.bias_s[2], bs3 = p.bias_s[3];
  if constexpr (FUSED) {  // pass 1 was done in the QK epilogue
    for (int r = 0; r < RV; ++r) {
      tmax[r] = fmx[r];
      nfacc[r] = fnf[r];
    }
  }
  for (int c = 0; c < (FUSED ? 0 : nc); ++c) {
    const int64_t j = j0 + c;
    for (int r = 0; r < RV; ++r) {
      V::F x = V::mul(V::load(st + c * BR + r * W), scale);
      const int64_t ib = i0 + r * W;
      uint32_t ex = 0;
      if (need_causal) {
        const int64_t e = (j - g.off) - ib;  // lanes with i < j - off cannot see key j
        if (e > 0) ex = e >= W ? full : ((1u << e) - 1u);
      }
      if (g.mask) {
        if (ms2 == 0) {
          if (!g.mask[j * ms3]) ex = full;
        } else {
          for (int t = 0; t < W; ++t) {
            const int64_t i = ib + t;
            if (i < p.L && !g.mask[i * ms2 + j * ms3]) ex |= 1u << t;
          }
        }
      }
      V::F xlo = V::zero();
      if (g.bias) {
        V::F b;
        if (bs2 == 0) {
          b = V::set1(g.bias[j * bs3]);
        } else {
          alignas(64) float tmp[W];
          for (int t = 0; t < W; ++t) {
            const int64_t i = ib + t;
            tmp[t] = i < p.L ? g.bias[i * bs2 + j * bs3] : 0.0f;
          }
          b = V::load(tmp);
        }
        // TwoSum: hi + lo == x + b exactly. A bias of ±1e4 would otherwise round each logit by up to
        // 1e4·2^-24 ≈ 6e-4 and the softmax weight by that much relatively.
        const V::F hi = V::add(x, b);
        const V::F bb = V::sub(hi, x);
        xlo = V::add(V::sub(x, V::sub(hi, bb)), V::sub(b, bb));
        x = hi;
      }
      if (ex) x = V::blend(V::from_bits(ex), x, NI);
      const V::M nf = V::nan_or_pinf(x);
      nfacc[r] = V::mor(nfacc[r], nf);
      x = V::blend(nf, x, NI);  // the row is flagged; keep the arithmetic finite
      if (g.bias) V::store(lo + c * BR + r * W, V::blend(V::nonfinite(x), xlo, V::zero()));  // no lo on excluded keys
      if constexpr (TRACK) {
        const uint32_t xb = V::bits(V::eq(x, NI));
        anyex |= xb != 0;
        ab[c * RV + r] = ~xb & full;
      }
      tmax[r] = V::max(tmax[r], x);
      V::store(st + c * BR + r * W, x);
    }
  }
  for (int r = 0; r < RV; ++r) s.flags[r] |= V::bits(nfacc[r]);
  V::F ms[RV], lsum[RV], al[RV];
  for (int r = 0; r < RV; ++r) {
    const V::F mnew = V::max(s.m[r], tmax[r]);
    ms[r] = V::blend(V::eq(mnew, NI), mnew, V::zero());  // an all-excluded row keeps exp() at 0
    al[r] = vexp(V::sub(s.m[r], ms[r]));
    V::store(alpha + r * W, al[r]);
    s.m[r] = mnew;
    lsum[r] = V::zero();
  }
  if (g.bias && !FUSED) exp_tile<true>(st, lo, nc, ms, lsum);
  else exp_tile<false>(st, nullptr, nc, ms, lsum);
  for (int r = 0; r < RV; ++r) s.l[r] = V::fmadd(s.l[r], al[r], lsum[r]);
  return anyex;
}

struct BlockScratch {
  float* qt;     // [D][BR]
  float* st;     // [BC + NJ][BR]
  float* lo;     // [BC][BR]: low parts of biased logits
  float* o;      // [BR][ldo]
  float* alpha;  // [BR]
  float* zero;   // [D]
  uint32_t* ab;  // [BC][RV]
  int64_t ldo;
};

inline size_t block_scratch_bytes(int64_t D, int64_t Dv) {
  const int64_t ldo = (Dv + W - 1) / W * W;
  return static_cast<size_t>(D * BR + (BC + NJ) * BR + BC * BR + BR * ldo + BR + D + 64) * sizeof(float) + BC * RV * sizeof(uint32_t) + 256;
}

inline BlockScratch carve(void* mem, int64_t D, int64_t Dv) {
  BlockScratch s;
  s.ldo = (Dv + W - 1) / W * W;
  uintptr_t a = (reinterpret_cast<uintptr_t>(mem) + 63) & ~uintptr_t(63);
  float* f = reinterpret_cast<float*>(a);
  s.qt = f; f += D * BR;
  s.st = f; f += (BC + NJ) * BR;
  s.lo = f; f += BC * BR;
  s.o = f; f += BR * s.ldo;
  s.alpha = f; f += BR;
  s.zero = f; f += D;
  s.ab = reinterpret_cast<uint32_t*>(f);
  return s;
}

/// vflags[(b*Hkv + hk)*ntiles + tile]: 0 unknown, 1 V rows finite, 2 some V value non-finite.
/// Filled lazily by whichever task gets there first (same value from any task: deterministic).
/// A flag always covers its whole aligned tile [t·bcx, min(S, (t+1)·bcx)), whatever part of it
/// the asking task uses, so every task reads the same answer.
inline bool tile_v_bad(uint8_t* vflag, const float* vb, int64_t v_sj, int nc, int64_t Dv) {
  uint8_t f = __atomic_load_n(vflag, __ATOMIC_RELAXED);
  if (f == 0) {
    f = v_rows_nonfinite(vb, v_sj, nc, Dv) ? 2 : 1;
    __atomic_store_n(vflag, f, __ATOMIC_RELAXED);
  }
  return f == 2;
}

/// Whether V rows [j0, j0 + nc) may hold a non-finite value: the flags of the aligned tiles the
/// range overlaps (a key range need not start on a tile boundary: see block_task).
inline bool range_v_bad(uint8_t* vflags, const float* v, int64_t v_sj, int64_t S, int bcx, int64_t j0, int nc, int64_t Dv) {
  bool bad = false;
  for (int64_t t = j0 / bcx; t <= (j0 + nc - 1) / bcx; ++t) {
    const int64_t t0 = t * bcx;
    bad |= tile_v_bad(vflags + t, v + t0 * v_sj, v_sj, static_cast<int>(imin(bcx, S - t0)), Dv);
  }
  return bad;
}

inline void block_task(const SdpaParams& p, int64_t b, int64_t h, int64_t blk, BlockScratch& w, uint8_t* vflags, int64_t ntiles, int bcx) {
  const Geo g = geo(p, b, h);
  const int64_t i0 = blk * BR;
  const int nr = static_cast<int>(imin(BR, p.L - i0));
  const int64_t D = p.D, Dv = p.Dv;
  // Prefetch the block's Q rows first: the transpose below reads 16 rows a segment at a time and
  // stalls on each row's first miss (perf, causal (1,8,512,512,64) 1 thread: the transpose's
  // loads held 4.2% of the samples, 1.9% with this prefetch).
  for (int r = 0; r < nr; ++r)
    for (int64_t d0 = 0; d0 < D; d0 += 16) __builtin_prefetch(g.q + (i0 + r) * p.q_si + d0, 0, 3);
  // Qt[d][r] = q[i0 + r][d], by W x W in-register transposes of contiguous row segments.
  for (int r0 = 0; r0 < BR; r0 += W) {
    const int nrv = static_cast<int>(imax(0, imin(W, nr - r0)));
    for (int64_t d0 = 0; d0 < D; d0 += W) {
      const int dn = static_cast<int>(imin(W, D - d0));
      V::F rows[W], cols[W];
      for (int r = 0; r < W; ++r) {
        const float* src = g.q + (i0 + r0 + r) * p.q_si + d0;
        rows[r] = r >= nrv ? V::zero() : (dn == W ? V::load(src) : V::loadp(src, dn));
      }
      V::transpose(rows, cols);
      for (int c = 0; c < dn; ++c) V::store(w.qt + (d0 + c) * BR + r0, cols[c]);
    }
  }
  for (int64_t d = 0; d < D; ++d) w.zero[d] = 0.0f;
  for (int64_t e = 0; e < BR * w.ldo; ++e) w.o[e] = 0.0f;
  BlockState s;
  for (int r = 0; r < RV; ++r) {
    s.m[r] = V::set1(ninf());
    s.l[r] = V::zero();
    s.flags[r] = 0;
  }
  int64_t jlimit = g.kend;
  if (p.causal) jlimit = imin(jlimit, imax(0, i0 + nr - 1 + g.off + 1));
  // Causal: keys [0, jfree) are visible to every row of the block and go through the fused path
  // in whole tiles; the diagonal [jfree, jlimit) (at most BR keys) is its own tile, so only it
  // pays for the per-element causal cut.
  const int64_t jfree = p.causal ? imin(jlimit, imax(0, i0 + g.off + 1)) : jlimit;
  const int64_t hk = h / (p.Hq / p.Hkv);
  uint8_t* head_flags = vflags + (b * p.Hkv + hk) * ntiles;
  for (int64_t j0 = 0; j0 < jlimit;) {
    const int nc = static_cast<int>(imin(bcx, (j0 < jfree ? jfree : jlimit) - j0));
    const int64_t jnext = j0 + nc;
    const bool need_causal = p.causal && (j0 + nc - 1 > i0 + g.off);
    const int64_t vis_base = i0 + g.off - j0;  // row r sees tile keys c <= r + vis_base
    const float* vb = g.v + j0 * p.v_sj;
    const V::F scale = V::set1(p.scale);
    const bool vbad = range_v_bad(head_flags, g.v, p.v_sj, p.S, bcx, j0, nc, Dv);
    if (!vbad && !need_causal && !p.mask && !p.bias) {
      // Common case: scale, flags and max folded into the QK epilogue.
      V::F mx[RV];
      V::M nf[RV];
      for (int r = 0; r < RV; ++r) {
        mx[r] = V::set1(ninf());
        nf[r] = V::from_bits(0);
      }
      qk_tile<true>(w.qt, D, g.k, p.k_sj, j0, nc, w.zero, w.st, false, i0, g.off, scale, mx, nf);
      softmax_tile<false, true>(p, g, i0, j0, nc, false, w.st, w.lo, w.ab, w.alpha, s, mx, nf);
      pv_tile(w.o, w.ldo, w.st, w.alpha, vb, p.v_sj, nc, Dv, false, 0);
      j0 = jnext;
      continue;
    }
    qk_tile<false>(w.qt, D, g.k, p.k_sj, j0, nc, w.zero, w.st, need_causal, i0, g.off, scale, nullptr, nullptr);
    if (vbad) {
      const bool anyex = softmax_tile<true, false>(p, g, i0, j0, nc, need_causal, w.st, w.lo, w.ab, w.alpha, s, nullptr, nullptr);
      if (anyex) pv_careful(w.o, w.ldo, w.st, w.alpha, w.ab, vb, p.v_sj, nc, Dv);
      else pv_tile(w.o, w.ldo, w.st, w.alpha, vb, p.v_sj, nc, Dv, false, 0);
    } else {
      softmax_tile<false, false>(p, g, i0, j0, nc, need_causal, w.st, w.lo, w.ab, w.alpha, s, nullptr, nullptr);
      pv_tile(w.o, w.ldo, w.st, w.alpha, vb, p.v_sj, nc, Dv, need_causal, vis_base);
    }
    j0 = jnext;
  }
  alignas(64) float mv[BR], lv[BR];
  for (int r = 0; r < RV; ++r) {
    V::store(mv + r * W, s.m[r]);
    V::store(lv + r * W, s.l[r]);
  }
  for (int r = 0; r < nr; ++r) {
    const bool flag = (s.flags[r / W] >> (r % W)) & 1u;
    write_row_result(p, g, b, h, i0 + r, w.o + r * w.ldo, mv[r], lv[r], flag);
  }
}

// ---------------------------------------------------------------- row path --------------------

/// o[0..NV*W) = Σ_k p[k]·v[k][..] over allowed keys (all when `allowed` is null); the last
/// vector holds `rem` lanes.
template <int NV>
inline void row_pv(float* o, const float* vb, int64_t v_sj, const float* pk, const uint8_t* allowed, int64_t n, int rem) {
  // KU interleaved accumulator sets so short rows are not bound by the FMA latency chain;
  // summed in a fixed order at the end.
  constexpr int KU = NV <= 2 ? 4 : (NV <= 4 ? 2 : 1);
  V::F acc[KU][NV];
#pragma GCC unroll 4
  for (int k = 0; k < KU; ++k)
#pragma GCC unroll 16
    for (int u = 0; u < NV; ++u) acc[k][u] = V::zero();
  const bool part = rem != W;
  for (int64_t k0 = 0; k0 < n; k0 += KU) {
#pragma GCC unroll 4
    for (int ku = 0; ku < KU; ++ku) {
      const int64_t k = k0 + ku;
      if (k >= n || (allowed && !allowed[k])) continue;
      const V::F pb = V::set1(pk[k]);
      const float* vr = vb + k * v_sj;
#pragma GCC unroll 16
      for (int u = 0; u < NV - 1; ++u) acc[ku][u] = V::fmadd(pb, V::load(vr + u * W), acc[ku][u]);
      acc[ku][NV - 1] = V::fmadd(pb, part ? V::loadp(vr + (NV - 1) * W, rem) : V::load(vr + (NV - 1) * W), acc[ku][NV - 1]);
    }
  }
#pragma GCC unroll 4
  for (int k = 1; k < KU; ++k)
#pragma GCC unroll 16
    for (int u = 0; u < NV; ++u) acc[0][u] = V::add(acc[0][u], acc[k][u]);
#pragma GCC unroll 16
  for (int u = 0; u < NV - 1; ++u) V::store(o + u * W, acc[0][u]);
  if (part) V::storep(o + (NV - 1) * W, acc[0][NV - 1], rem);
  else V::store(o + (NV - 1) * W, acc[0][NV - 1]);
}

inline void row_pv_dispatch(int nvec, int rem, float* o, const float* vb, int64_t v_sj, const float* pk, const uint8_t* allowed, int64_t n) {
  static_assert(NVR == 8, "row_pv_dispatch covers 1..8 vectors");
  switch (nvec) {
    case 1: row_pv<1>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 2: row_pv<2>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 3: row_pv<3>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 4: row_pv<4>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 5: row_pv<5>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 6: row_pv<6>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 7: row_pv<7>(o, vb, v_sj, pk, allowed, n, rem); break;
    default: row_pv<8>(o, vb, v_sj, pk, allowed, n, rem); break;
  }
}

/// One row over keys [c0, c1): logits into sbuf (excluded = -Inf), allowed flags into abuf,
/// then p = exp(s - m) in sbuf (normalised by 1/l when `normalize`), o = Σ allowed p·v.
/// Returns the partial (m, l, flag); o has Dv entries (unnormalised unless `normalize`).
inline void row_chunk(const SdpaParams& p, const Geo& g, int64_t i, int64_t c0, int64_t c1, float* sbuf, uint8_t* abuf, double* dbuf, float* o,
                      bool normalize, float& m_out, float& l_out, bool& flag_out) {
  const int64_t D = p.D, Dv = p.Dv;
  const int64_t e = imin(c1, row_end(p, g, i));
  const int64_t n = imax(0, e - c0);
  m_out = ninf();
  l_out = 0.0f;
  flag_out = false;
  for (int64_t d = 0; d < Dv; ++d) o[d] = 0.0f;
  if (n == 0) return;
  const float* qr = g.q + i * p.q_si;
  // Logits, four keys at a time (independent accumulators over d).
  for (int64_t t0 = 0; t0 < n; t0 += 4) {
    const float* kp[4];
    for (int u = 0; u < 4; ++u) kp[u] = g.k + (c0 + (t0 + u < n ? t0 + u : t0)) * p.k_sj;
    V::F a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    int64_t d = 0;
    for (; d + W <= D; d += W) {
      const V::F qv = V::load(qr + d);
      a0 = V::fmadd(qv, V::load(kp[0] + d), a0);
      a1 = V::fmadd(qv, V::load(kp[1] + d), a1);
      a2 = V::fmadd(qv, V::load(kp[2] + d), a2);
      a3 = V::fmadd(qv, V::load(kp[3] + d), a3);
    }
    if (d < D) {
      const int rem = static_cast<int>(D - d);
      const V::F qv = V::loadp(qr + d, rem);
      a0 = V::fmadd(qv, V::loadp(kp[0] + d, rem), a0);
      a1 = V::fmadd(qv, V::loadp(kp[1] + d, rem), a1);
      a2 = V::fmadd(qv, V::loadp(kp[2] + d, rem), a2);
      a3 = V::fmadd(qv, V::loadp(kp[3] + d, rem), a3);
    }
    float r4[4];
    V::hsum4(a0, a1, a2, a3, r4);
    for (int u = 0; u < 4 && t0 + u < n; ++u) sbuf[t0 + u] = r4[u] * p.scale;
  }
  // Exclusions, bias, NaN/+Inf flag, max.
  float m = ninf();
  float shift = 0.0f;  // the exp pass computes exp(s - shift)
  bool flag = false;
  bool all_allowed = true;
  if (!g.mask && !g.bias) {
    // Vector scan: NaN/+Inf flag, -Inf (excluded) keys, max.
    const V::F NI = V::set1(ninf());
    V::F mx = NI;
    V::M nf = V::from_bits(0), ni = V::from_bits(0);
    int64_t t = 0;
    for (; t + W <= n; t += W) {
      const V::F x = V::load(sbuf + t);
      nf = V::mor(nf, V::nan_or_pinf(x));
      ni = V::mor(ni, V::eq(x, NI));
      mx = V::max(mx, x);
    }
    for (; t < n; ++t) {  // scalar tail
      const float x = sbuf[t];
      if (x != x || x == pinf()) flag = true;
      else if (x == ninf()) all_allowed = false;
      else if (x > m) m = x;
    }
    if (V::any(nf)) flag = true;
    if (V::any(ni)) all_allowed = false;
    if (!flag) m = V::hmax(mx) > m ? V::hmax(mx) : m;
    shift = m;
    if (!all_allowed || flag)
      for (int64_t u = 0; u < n; ++u) abuf[u] = sbuf[u] != ninf() ? 1 : 0;
  } else {
    // Mask / bias: logits in double so that a large bias (±1e4) does not round away the dot
    // products' differences; the exp pass then gets s - max already formed in double.
    all_allowed = false;
    double md = -__builtin_inf();
    for (int64_t t = 0; t < n; ++t) {
      const int64_t j = c0 + t;
      double x = sbuf[t];
      bool ok = !g.mask || g.mask[i * p.mask_s[2] + j * p.mask_s[3]] != 0;
      if (ok && g.bias) x += static_cast<double>(g.bias[i * p.bias_s[2] + j * p.bias_s[3]]);
      if (ok && x == -__builtin_inf()) ok = false;
      abuf[t] = ok ? 1 : 0;
      dbuf[t] = ok ? x : -__builtin_inf();
      if (!ok) continue;
      if (x != x || x == __builtin_inf()) flag = true;
      else if (x > md) md = x;
    }
    if (!flag && md != -__builtin_inf()) {
      for (int64_t t = 0; t < n; ++t) sbuf[t] = static_cast<float>(dbuf[t] - md);
      m = static_cast<float>(md);
      shift = 0.0f;
    } else if (!flag) {
      m = ninf();
    }
  }
  if (flag) {
    flag_out = true;
    return;
  }
  if (m == ninf()) return;  // nothing allowed
  // p = exp(s - shift), l = Σ p (vector accumulator, fixed order).
  const V::F mv = V::set1(shift);
  V::F lacc = V::zero();
  int64_t t = 0;
  for (; t + W <= n; t += W) {
    const V::F x = vexp(V::sub(V::load(sbuf + t), mv));
    lacc = V::add(lacc, x);
    V::store(sbuf + t, x);
  }
  if (t < n) {
    const int rem = static_cast<int>(n - t);
    V::F x = vexp(V::sub(V::loadp(sbuf + t, rem), mv));
    x = V::blend(V::from_bits((1u << rem) - 1u), V::zero(), x);
    lacc = V::add(lacc, x);
    V::storep(sbuf + t, x, rem);
  }
  const float l = V::hsum(lacc);
  if (normalize) {
    const V::F inv = V::set1(1.0f / l);
    for (t = 0; t + W <= n; t += W) V::store(sbuf + t, V::mul(V::load(sbuf + t), inv));
    if (t < n) {
      const int rem = static_cast<int>(n - t);
      V::storep(sbuf + t, V::mul(V::loadp(sbuf + t, rem), inv), rem);
    }
  }
  // o = Σ allowed p·v, up to NVR vectors of o in registers at a time.
  const float* vb = g.v + c0 * p.v_sj;
  const uint8_t* allowed = all_allowed ? nullptr : abuf;
  for (int64_t e0 = 0; e0 < Dv; e0 += NVR * W) {
    const int64_t span = imin(NVR * W, Dv - e0);
    const int nvec = static_cast<int>((span + W - 1) / W);
    const int rem = static_cast<int>(span - (nvec - 1) * W);
    row_pv_dispatch(nvec, rem, o + e0, vb + e0, p.v_sj, sbuf, allowed, n);
  }
  m_out = m;
  l_out = l;
}

// ---------------------------------------------------------------- driver ----------------------

inline bool sdpa_run(const SdpaParams& p) {
  const int64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, Dv = p.Dv;
  if (B <= 0 || Hq <= 0 || L <= 0) return true;
  bool oom = false;
  if (p.weights) {
    // Weights path: tasks of up to 8 rows of one (b, h).
    constexpr int64_t RB = 8;
    const int64_t nrb = (L + RB - 1) / RB;
    auto body = [&](int64_t t0, int64_t t1) {
      uint8_t* abuf = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(S > 0 ? S : 1)));
      float* o = static_cast<float*>(std::malloc(static_cast<size_t>(Dv) * sizeof(float)));
      double* dbuf = (p.mask || p.bias) ? static_cast<double*>(std::malloc(static_cast<size_t>(S) * sizeof(double))) : nullptr;
      if (!abuf || !o || ((p.mask || p.bias) && !dbuf)) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        std::free(abuf);
        std::free(o);
        std::free(dbuf);
        return;
      }
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t bh = t / nrb, rb = t % nrb;
        const int64_t b = bh / Hq, h = bh % Hq;
        const Geo g = geo(p, b, h);
        for (int64_t i = rb * RB; i < imin(L, rb * RB + RB); ++i) {
          float* wrow = p.weights + ((b * Hq + h) * L + i) * S;
          float m, l;
          bool flag;
          row_chunk(p, g, i, 0, S, wrow, abuf, dbuf, o, true, m, l, flag);
          const int64_t n = imax(0, imin(S, row_end(p, g, i)));
          if (flag) {
            for (int64_t j = 0; j < S; ++j) wrow[j] = (j < n && abuf[j]) ? qnan() : 0.0f;
          } else if (!(l > 0.0f)) {
            for (int64_t j = 0; j < S; ++j) wrow[j] = 0.0f;
          } else {
            for (int64_t j = n; j < S; ++j) wrow[j] = 0.0f;
          }
          // o was summed with the normalised weights: write it as is (sum 1), then the true lse.
          write_row_result(p, g, b, h, i, o, m, l > 0.0f ? 1.0f : 0.0f, flag);
          if (p.lse && !flag && l > 0.0f) p.lse[(b * Hq + h) * L + i] = m + __builtin_logf(l);
        }
      }
      std::free(abuf);
      std::free(o);
      std::free(dbuf);
    };
    attnkit::parallel_for_each(B * Hq * nrb, body, 1);
    return !oom;
  }
  if (L >= BR / 2) {
    // Block path.
    const int64_t nblk = (L + BR - 1) / BR;
    const size_t bytes = block_scratch_bytes(p.D, Dv);
    // Key tiles of BC (measured: full-length tiles beat balanced shorter ones).
    const int bcx = BC;
    const int64_t ntiles = (S + bcx - 1) / bcx;
    uint8_t* vflags = static_cast<uint8_t*>(std::calloc(static_cast<size_t>(B * Hkv * ntiles), 1));
    if (!vflags) return false;
    auto body = [&](int64_t t0, int64_t t1) {
      void* mem = std::malloc(bytes);
      if (!mem) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        return;
      }
      BlockScratch w = carve(mem, p.D, Dv);
      for (int64_t t = t0; t < t1; ++t) {
        // Causal: the last query blocks cost the most, so hand them out first (all heads' last
        // block, then the one before, ...) and the region ends on cheap tasks, not one thread
        // finishing a long block alone. Each task writes only its own rows: order-independent.
        const bool lpt = p.causal;
        const int64_t bh = lpt ? t % (B * Hq) : t / nblk;
        const int64_t blk = lpt ? nblk - 1 - t / (B * Hq) : t % nblk;
        block_task(p, bh / Hq, bh % Hq, blk, w, vflags, ntiles, bcx);
      }
      std::free(mem);
    };
    attnkit::parallel_for_each(B * Hq * nblk, body, 1);
    std::free(vflags);
    return !oom;
  }
  // Row path: keys in chunks when L is tiny (decode), else one chunk per row.
  const int64_t group = Hq / Hkv;
  const int64_t nch = (L <= 4 && S > CHUNK) ? (S + CHUNK - 1) / CHUNK : 1;
  const int64_t csize = nch == 1 ? S : CHUNK;
  const int64_t PS = Dv + 4;  // partial record: m, l, flag, pad, o[Dv]
  // One chunk: each task writes its rows' results directly; several: partials, merged below.
  const bool direct = nch == 1;
  float* part = nullptr;
  if (!direct) {
    part = static_cast<float*>(std::malloc(static_cast<size_t>(B * Hq * L * nch * PS) * sizeof(float)));
    if (!part) return false;
  }
  // Small rows (DIN-like): scratch on the stack, no malloc per task.
  constexpr int64_t kStackKeys = 1024, kStackDv = 512;
  const bool on_stack = csize <= kStackKeys && Dv <= kStackDv;
  auto body = [&](int64_t t0, int64_t t1) {
    float* sbuf;
    uint8_t* abuf;
    double* dbuf = nullptr;
    alignas(64) float stack_f[kStackKeys + 16 + kStackDv];
    alignas(64) uint8_t stack_a[kStackKeys + 16];
    alignas(64) double stack_d[kStackKeys];
    if (on_stack) {
      sbuf = stack_f;
      abuf = stack_a;
      if (p.mask || p.bias) dbuf = stack_d;
    } else {
      sbuf = static_cast<float*>(std::malloc(static_cast<size_t>(csize + W + Dv) * sizeof(float)));
      abuf = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(csize + W)));
      dbuf = (p.mask || p.bias) ? static_cast<double*>(std::malloc(static_cast<size_t>(csize) * sizeof(double))) : nullptr;
      if (!sbuf || !abuf || ((p.mask || p.bias) && !dbuf)) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        std::free(sbuf);
        std::free(abuf);
        std::free(dbuf);
        return;
      }
    }
    float* obuf = sbuf + csize + W;
    for (int64_t t = t0; t < t1; ++t) {
      // t = ((b * Hkv + hk) * nch + c) * group + hg: heads sharing a kv head read a chunk back to back.
      const int64_t hg = t % group;
      const int64_t c = (t / group) % nch;
      const int64_t bhk = t / (group * nch);
      const int64_t b = bhk / Hkv, h = (bhk % Hkv) * group + hg;
      const Geo g = geo(p, b, h);
      const int64_t c0 = c * csize, c1 = imin(S, c0 + csize);
      for (int64_t i = 0; i < L; ++i) {
        float m, l;
        bool flag;
        if (direct) {
          row_chunk(p, g, i, c0, c1, sbuf, abuf, dbuf, obuf, false, m, l, flag);
          write_row_result(p, g, b, h, i, obuf, m, l, flag);
          continue;
        }
        float* rec = part + (((b * Hq + h) * L + i) * nch + c) * PS;
        row_chunk(p, g, i, c0, c1, sbuf, abuf, dbuf, rec + 4, false, m, l, flag);
        rec[0] = m;
        rec[1] = l;
        rec[2] = flag ? 1.0f : 0.0f;
      }
    }
    if (!on_stack) {
      std::free(sbuf);
      std::free(abuf);
      std::free(dbuf);
    }
  };
  // Claim several tiny tasks at a time (the tasks themselves do not change, so neither do results).
  const int64_t task_flops = L * csize * (p.D + Dv) * 2;
  const int64_t grain = imax(1, imin(64, 32768 / imax(1, task_flops)));
  attnkit::parallel_for_each(B * Hkv * nch * group, body, grain);
  if (direct) return !oom;
  if (oom) {
    std::free(part);
    return false;
  }
  // Merge the chunks of each row in chunk order.
  auto merge = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / L, i = t % L;
      const int64_t b = bh / Hq, h = bh % Hq;
      const Geo g = geo(p, b, h);
      float* rec0 = part + (bh * L + i) * nch * PS;
      bool flag = false;
      float M = ninf();
      for (int64_t c = 0; c < nch; ++c) {
        const float* rec = rec0 + c * PS;
        if (rec[2] != 0.0f) flag = true;
        else if (rec[1] > 0.0f && rec[0] > M) M = rec[0];
      }
      float* acc = rec0 + 4;  // accumulate into chunk 0's record
      float lsum = 0.0f;
      if (!flag && M != ninf()) {
        const float w0 = rec0[1] > 0.0f ? __builtin_expf(rec0[0] - M) : 0.0f;
        lsum = rec0[1] * w0;
        for (int64_t e = 0; e < Dv; ++e) acc[e] *= w0;
        for (int64_t c = 1; c < nch; ++c) {
          const float* rec = rec0 + c * PS;
          if (!(rec[1] > 0.0f)) continue;
          const float wc = __builtin_expf(rec[0] - M);
          lsum += rec[1] * wc;
          for (int64_t e = 0; e < Dv; ++e) acc[e] += rec[4 + e] * wc;
        }
      }
      write_row_result(p, g, b, h, i, acc, M, lsum, flag);
    }
  };
  attnkit::parallel_for_each(B * Hq * L, merge, 16);
  std::free(part);
  return true;
}
