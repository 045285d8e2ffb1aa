// sdpa block path (included by sdpa_impl.h): query rows in vector lanes, register-blocked Q·Kᵀ
// and P·V microkernels, online softmax over key tiles of BC.
// ---------------------------------------------------------------- block path ------------------

/// One group of NJ keys: St[c0+t][r] for the row vectors RV0..RV-1 (the ones before RV0 cannot
/// see any key of the group under the causal limit; their St entries are left stale and are
/// overwritten with -Inf by softmax_tile).
/// FUSE (no exclusion, mask or bias in this tile): the epilogue also scales the logits, folds
/// NaN/+Inf flags into nf[] (those lanes become -Inf) and the running max into mx[] for the
/// first `nvalid` keys, so softmax_tile's first pass is not needed.
// noinline: kept out of block_task so its 24 accumulators + 4 Q vectors own the register file
// (inlined, register pressure turned every Q load into a memory operand: 6x the L1 traffic).
/// Band cut of a fused group (CUT): key jg + t is excluded for the lanes of row vector r whose row
/// i = ib + r*W + lane has i < j - hi_off (causal / right window) or i > j - lo_off (left window).
struct BandCut {
  int64_t jg;      // the group's first key
  int64_t ib;      // the block's first row
  int64_t hi_off;  // used when `hi`
  int64_t lo_off;  // used when `lo`
  bool hi, lo;
};

/// The lanes (bit t = row ib + t) of one row vector that cannot see key j.
inline uint32_t band_excluded(const BandCut& b, int64_t j, int64_t ib) {
  constexpr uint32_t full = (W >= 32) ? 0xffffffffu : ((1u << W) - 1u);
  uint32_t ex = 0;
  if (b.hi) {
    const int64_t e = (j - b.hi_off) - ib;  // lanes below e cannot see key j
    if (e > 0) ex = e >= W ? full : ((1u << e) - 1u);
  }
  if (b.lo) {
    const int64_t u = (j - b.lo_off) - ib;  // lanes above u cannot see key j
    if (u < 0) ex = full;
    else if (u < W - 1) ex |= full & ~((2u << u) - 1u);
  }
  return ex;
}

template <int RV0, bool FUSE, bool CUT = false, int RV1 = RV>
__attribute__((noinline)) void qk_group(const float* qt, int64_t D, const float* const* kp, float* st, V::F scale, int nvalid, V::F* mx, V::M* nf, const BandCut* cut = nullptr) {
  constexpr int NR = RV1 - RV0;
  if constexpr (FUSE && CUT) {
    // Row vectors outside [RV0, RV1) see no key of this group: -Inf, and no work.
#pragma GCC unroll 16
    for (int t = 0; t < NJ; ++t) {
      for (int r = 0; r < RV0; ++r) V::store(st + t * BR + r * W, V::set1(ninf()));
      for (int r = RV1; r < RV; ++r) V::store(st + t * BR + r * W, V::set1(ninf()));
    }
  }
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
        V::M bad = V::nan_or_pinf(x);
        if constexpr (CUT) {
          // Excluded lanes become -Inf and never flag their row (a NaN there must not leak).
          const V::M ex = V::from_bits(band_excluded(*cut, cut->jg + t, cut->ib + (RV0 + r) * W));
          bad = V::mandnot(bad, ex);
          x = V::blend(ex, x, NI);
        }
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

/// The fused, band-cut group for row vectors [rv0, rv1) (a compile-time pair, found by recursion).
template <int A = 0, int B1 = 1>
inline void qk_group_band(int rv0, int rv1, const float* qt, int64_t D, const float* const* kp, float* st, V::F scale, int nvalid, V::F* mx, V::M* nf, const BandCut* cut) {
  if constexpr (A < RV) {
    if constexpr (B1 <= RV) {
      if (rv0 == A && rv1 == B1) {
        qk_group<A, true, true, B1>(qt, D, kp, st, scale, nvalid, mx, nf, cut);
        return;
      }
      qk_group_band<A, B1 + 1>(rv0, rv1, qt, D, kp, st, scale, nvalid, mx, nf, cut);
    } else {
      qk_group_band<A + 1, A + 2>(rv0, rv1, qt, D, kp, st, scale, nvalid, mx, nf, cut);
    }
  }
}

/// The first row vector of a block whose rows start at ib that can see key j under the upper limit
/// (causal / right window: row i sees j iff i >= j - hi_off); unclamped, >= 0.
inline int64_t first_seeing_row_vector(int64_t j, int64_t ib, int64_t hi_off) {
  const int64_t need = (j - hi_off) - (ib + W - 1);  // rv*W >= need
  return need > 0 ? (need + W - 1) / W : 0;
}

/// St[c][r] = Σ_d Qt[d][r] · K[j0+c][d] for c < nc, key j0+c's row at kt + c·k_sj (rows of St
/// past nc up to the next NJ multiple are scratch). `causal_first` = the first key index (relative to the block's rows) a row vector
/// can see is rv*W + W - 1 + off_rel: row vectors wholly before a key group are skipped.
template <bool FUSE>
inline void qk_tile(const float* qt, int64_t D, const float* kt, int64_t k_sj, int64_t j0, int nc, const float* zero, float* st,
                    bool causal, int64_t i0, int64_t off, V::F scale, V::F* mx, V::M* nf, const BandCut* cut = nullptr) {
  for (int c0 = 0; c0 < nc; c0 += NJ) {
    const float* kp[NJ];
    for (int t = 0; t < NJ; ++t) kp[t] = (c0 + t < nc) ? kt + (c0 + t) * k_sj : zero;
    // The group's first key decides which row vectors see none of it.
    const int rv0 = causal ? static_cast<int>(imin(RV - 1, first_seeing_row_vector(j0 + c0, i0, off))) : 0;
    float* stc = st + c0 * BR;
    const int nv = static_cast<int>(imin(NJ, nc - c0));
    if constexpr (FUSE) {
      // Every row vector is computed (no causal skip): the band cut, if any, is in the epilogue.
      if (cut) {
        BandCut c = *cut;
        c.jg = j0 + c0;
        // Row vectors that see none of the group's keys are skipped: rv sees key j iff its last
        // row >= j - hi_off (causal) and its first row <= j - lo_off (left window).
        const int first = c.hi ? static_cast<int>(imin(RV, first_seeing_row_vector(c.jg, c.ib, c.hi_off))) : 0;
        int end = RV;
        if (c.lo) {
          const int64_t last = (c.jg + nv - 1 - c.lo_off) - c.ib;  // rv*W <= last
          end = last < 0 ? 0 : static_cast<int>(imin(RV, last / W + 1));
        }
        if (first >= end) {  // nothing visible: the whole group is -Inf
          for (int t = 0; t < NJ; ++t)
            for (int r = 0; r < RV; ++r) V::store(stc + t * BR + r * W, V::set1(ninf()));
        } else {
          qk_group_band(first, end, qt, D, kp, stc, scale, nv, mx, nf, &c);
        }
      } else {
        qk_group<0, true>(qt, D, kp, stc, scale, nv, mx, nf);
      }
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

/// out[m][0..NV·W) = out[m]·alpha[m] (RESCALE; else out[m]) + Σ_{k < nk} a[k·AK + m·AM]·b[k·ldb + 0..NV·W)
/// for M rows; the last vector of b and out partial (`tail` lanes) when PART. The sum starts from
/// fresh accumulators and is added to out once, so the rounding error grows with the tile length
/// plus the tile count, not with S. The forward's P·V (a = P [key][row]: AK = BR, AM = 1, with the
/// online-softmax rescale) and the backward's dQ, dK and dV products (sdpaBackward_impl.h).
template <int M, int NV, bool PART, int AK, int AM, bool RESCALE>
inline void acc_micro(float* out, int64_t ldo, const float* a, const float* alpha, const float* b, int64_t ldb, int nk, int tail) {
  V::F acc[M][NV];
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m)
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) acc[m][t] = V::zero();
  for (int k = 0; k < nk; ++k) {
    const float* br = b + k * ldb;
    V::F bv[NV];
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) bv[t] = (PART && t == NV - 1) ? V::loadp(br + t * W, tail) : V::load(br + t * W);
    const float* ar = a + k * AK;
#pragma GCC unroll 16
    for (int m = 0; m < M; ++m) {
      const V::F av = V::set1(ar[m * AM]);
#pragma GCC unroll 4
      for (int t = 0; t < NV; ++t) acc[m][t] = V::fmadd(av, bv[t], acc[m][t]);
    }
  }
#pragma GCC unroll 16
  for (int m = 0; m < M; ++m) {
    const V::F al = RESCALE ? V::set1(alpha[m]) : V::zero();
#pragma GCC unroll 4
    for (int t = 0; t < NV; ++t) {
      float* o = out + m * ldo + t * W;
      const bool part = PART && t == NV - 1;
      const V::F old = part ? V::loadp(o, tail) : V::load(o);
      const V::F sum = RESCALE ? V::fmadd(old, al, acc[m][t]) : V::add(old, acc[m][t]);
      if (part) V::storep(o, sum, tail);
      else V::store(o, sum);
    }
  }
}

template <int M, bool PART, int AK, int AM, bool RESCALE>
inline void acc_nv(int nv, float* out, int64_t ldo, const float* a, const float* alpha, const float* b, int64_t ldb, int nk, int tail) {
  switch (nv) {
    case 1: acc_micro<M, 1, PART, AK, AM, RESCALE>(out, ldo, a, alpha, b, ldb, nk, tail); break;
    case 2: if constexpr (NVMAX >= 2) acc_micro<M, (NVMAX >= 2 ? 2 : 1), PART, AK, AM, RESCALE>(out, ldo, a, alpha, b, ldb, nk, tail); break;
    case 3: if constexpr (NVMAX >= 3) acc_micro<M, (NVMAX >= 3 ? 3 : 1), PART, AK, AM, RESCALE>(out, ldo, a, alpha, b, ldb, nk, tail); break;
    case 4: if constexpr (NVMAX >= 4) acc_micro<M, (NVMAX >= 4 ? 4 : 1), PART, AK, AM, RESCALE>(out, ldo, a, alpha, b, ldb, nk, tail); break;
    default: break;
  }
}

/// acc_micro over M rows and every column vector of [0, N), NVMAX vectors at a time.
template <int M, int AK, int AM, bool RESCALE>
inline void acc_cols(float* out, int64_t ldo, const float* a, const float* alpha, const float* b, int64_t ldb, int nk, int64_t N) {
  const int64_t nvec = (N + W - 1) / W;
  const int tail = static_cast<int>(N - (nvec - 1) * W);
  for (int64_t v0 = 0; v0 < nvec; v0 += NVMAX) {
    const int nv = static_cast<int>(imin(NVMAX, nvec - v0));
    if (v0 + nv == nvec && tail != W) acc_nv<M, true, AK, AM, RESCALE>(nv, out + v0 * W, ldo, a, alpha, b + v0 * W, ldb, nk, tail);
    else acc_nv<M, false, AK, AM, RESCALE>(nv, out + v0 * W, ldo, a, alpha, b + v0 * W, ldb, nk, tail);
  }
}

/// O[r][0..Dv) = O[r]·alpha[r] + Σ_c P[c][r]·V[c][..] for MRr rows (P = St, [key][row]).
template <int MRr>
inline void pv_rows(float* o, int64_t ldo, const float* st, const float* alpha, const float* vb, int64_t v_sj, int nc, int64_t Dv) {
  acc_cols<MRr, BR, 1, true>(o, ldo, st, alpha, vb, v_sj, nc, Dv);
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

template <DType T>
inline bool v_rows_nonfinite(const typename Ld<T>::E* vb, int64_t v_sj, int nc, int64_t Dv) {
  for (int c = 0; c < nc; ++c) {
    const typename Ld<T>::E* vr = vb + c * v_sj;
    V::M bad = V::from_bits(0);
    int64_t e = 0;
    for (; e + W <= Dv; e += W) bad = V::mor(bad, V::nonfinite(Ld<T>::load(vr + e)));
    if (e < Dv) bad = V::mor(bad, V::nonfinite(Ld<T>::loadp(vr + e, static_cast<int>(Dv - e))));
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
inline bool softmax_tile(const SdpaParams& p, const Geo& g, int64_t i0, int64_t j0, int nc, bool need_causal, bool need_lower, float* st, float* lo, uint32_t* ab, float* alpha, BlockState& s,
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
  const bool capped = p.softcap > 0.0f;
  const V::F cap = V::set1(capped ? p.softcap : 1.0f);
  const int64_t ms2 = g.ms2, ms3 = g.ms3, bs2 = g.bs2, bs3 = g.bs3;
  const bool hasb = has_bias(g);
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
      if (capped) x = vsoftcap(x, cap);
      const int64_t ib = i0 + r * W;
      uint32_t ex = 0;
      if (need_causal) {
        const int64_t e = (j - g.hi_off) - ib;  // lanes with i < j - hi_off cannot see key j
        if (e > 0) ex = e >= W ? full : ((1u << e) - 1u);
      }
      if (need_lower) {
        const int64_t u = (j - g.lo_off) - ib;  // lanes with i > j - lo_off cannot see key j
        if (u < 0) ex = full;
        else if (u < W - 1) ex |= full & ~((2u << u) - 1u);
      }
      if (g.mask) {
        if (ms2 == 0) {
          if (!g.mask[j * ms3]) ex = full;
        } else {
          for (int t = 0; t < W; ++t) {
            const int64_t i = ib + t;
            if (i < g.lrows && !g.mask[i * ms2 + j * ms3]) ex |= 1u << t;
          }
        }
      }
      V::F xlo = V::zero();
      if (hasb) {
        V::F b;
        if (bs2 == 0) {
          b = V::set1(bias_at(p, g, j * bs3));
        } else {
          alignas(64) float tmp[W];
          for (int t = 0; t < W; ++t) {
            const int64_t i = ib + t;
            tmp[t] = i < g.lrows ? bias_at(p, g, i * bs2 + j * bs3) : 0.0f;
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
      if (hasb) V::store(lo + c * BR + r * W, V::blend(V::nonfinite(x), xlo, V::zero()));  // no lo on excluded keys
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
  if (hasb && !FUSED) exp_tile<true>(st, lo, nc, ms, lsum);
  else exp_tile<false>(st, nullptr, nc, ms, lsum);
  for (int r = 0; r < RV; ++r) s.l[r] = V::fmadd(s.l[r], al[r], lsum[r]);
  return anyex;
}

struct BlockScratch {
  float* qt;     // [nb][D][BR]
  float* st;     // [BC + NJ][BR]
  float* lo;     // [BC][BR]: low parts of biased logits
  float* o;      // [nb][BR][ldo]
  float* alpha;  // [BR]
  float* zero;   // [D]
  uint32_t* ab;  // [BC][RV]
  float* kt;     // [BC][D]: a key tile of a half K widened (null when K is float32)
  float* vt;     // [BC][Dv]: a key tile of a half V widened (null when V is float32)
  int64_t ldo;
};

/// Most query blocks one task computes together (sharing its widened half K / V tiles).
constexpr int kGroupMax = 4;

inline size_t block_scratch_bytes(int64_t D, int64_t Dv, bool khalf, bool vhalf, int nb) {
  const int64_t ldo = (Dv + W - 1) / W * W;
  const int64_t half = (khalf ? BC * D + 16 : 0) + (vhalf ? BC * Dv + 16 : 0);
  return static_cast<size_t>(nb * D * BR + (BC + NJ) * BR + BC * BR + nb * BR * ldo + BR + D + 64 + half) * sizeof(float) + BC * RV * sizeof(uint32_t) + 256;
}

inline BlockScratch carve(void* mem, int64_t D, int64_t Dv, bool khalf, bool vhalf, int nb) {
  BlockScratch s;
  s.ldo = (Dv + W - 1) / W * W;
  uintptr_t a = (reinterpret_cast<uintptr_t>(mem) + 63) & ~uintptr_t(63);
  float* f = reinterpret_cast<float*>(a);
  s.qt = f; f += nb * D * BR;  // nb blocks' Qt, then their O below
  s.st = f; f += (BC + NJ) * BR;
  s.lo = f; f += BC * BR;
  s.o = f; f += nb * BR * s.ldo;
  s.alpha = f; f += BR;
  s.zero = f; f += D;
  s.ab = reinterpret_cast<uint32_t*>(f);
  f += BC * RV;  // ab's uint32_t entries take one float each
  f = reinterpret_cast<float*>((reinterpret_cast<uintptr_t>(f) + 63) & ~uintptr_t(63));
  s.kt = khalf ? f : nullptr;
  if (khalf) f += BC * D;
  s.vt = vhalf ? f : nullptr;
  return s;
}

/// vflags[(b*Hkv + hk)*ntiles + tile]: 0 unknown, 1 V rows finite, 2 some V value non-finite.
/// Filled lazily by whichever task gets there first (same value from any task: deterministic).
/// A flag always covers its whole aligned tile [t·bcx, min(S, (t+1)·bcx)), whatever part of it
/// the asking task uses, so every task reads the same answer.
inline bool tile_v_bad(uint8_t* vflag, const SdpaParams& p, const Geo& g, int64_t t0, int nc) {
  uint8_t f = __atomic_load_n(vflag, __ATOMIC_RELAXED);
  if (f == 0) {
    bool bad;
    if (g.v) bad = v_rows_nonfinite<DType::f32>(g.v + t0 * p.v_sj, p.v_sj, nc, p.Dv);
    else if (p.v_type == DType::bf16) bad = v_rows_nonfinite<DType::bf16>(g.v16 + t0 * p.v_sj, p.v_sj, nc, p.Dv);
    else bad = v_rows_nonfinite<DType::f16>(g.v16 + t0 * p.v_sj, p.v_sj, nc, p.Dv);
    f = bad ? 2 : 1;
    __atomic_store_n(vflag, f, __ATOMIC_RELAXED);
  }
  return f == 2;
}

/// Whether V rows [j0, j0 + nc) may hold a non-finite value: the flags of the aligned tiles the
/// range overlaps (a key range need not start on a tile boundary: see block_task).
inline bool range_v_bad(uint8_t* vflags, const SdpaParams& p, const Geo& g, int bcx, int64_t j0, int nc) {
  bool bad = false;
  for (int64_t t = j0 / bcx; t <= (j0 + nc - 1) / bcx; ++t) {
    const int64_t t0 = t * bcx;
    bad |= tile_v_bad(vflags + t, p, g, t0, static_cast<int>(imin(bcx, g.vrows - t0)));
  }
  return bad;
}

/// Prefetch rows [0, n) of a half operand (row stride ld elements, `cols` used per row).
inline void prefetch_rows(const uint16_t* x, int64_t ld, int64_t n, int64_t cols) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t c = 0; c < cols; c += 32) __builtin_prefetch(x + r * ld + c, 0, 3);
}

/// Xt[c][r] = x[r][c] for rows r < nr (row stride ld, `cols` columns; rows nr..BR-1 of Xt are 0),
/// by W x W in-register transposes of contiguous row segments: x is float32 (x32) or the half
/// patterns x16 of type t, widened as they are loaded. The Q block of the forward and backward,
/// and dO's in the backward.
inline void transpose_block(const float* x32, const uint16_t* x16, DType t, int64_t ld, int64_t cols, int nr, float* xt) {
  // Prefetch the block's rows first: the transpose below reads 16 rows a segment at a time and
  // stalls on each row's first miss (perf, causal (1,8,512,512,64) 1 thread: the transpose's
  // loads held 4.2% of the samples, 1.9% with this prefetch).
  if (x32)
    for (int r = 0; r < nr; ++r)
      for (int64_t d0 = 0; d0 < cols; d0 += 16) __builtin_prefetch(x32 + r * ld + d0, 0, 3);
  for (int r0 = 0; r0 < BR; r0 += W) {
    const int nrv = static_cast<int>(imax(0, imin(W, nr - r0)));
    for (int64_t d0 = 0; d0 < cols; d0 += W) {
      const int dn = static_cast<int>(imin(W, cols - d0));
      V::F rows[W], tr[W];
      for (int r = 0; r < W; ++r) {
        const int64_t at = (r0 + r) * ld + d0;
        if (r >= nrv) rows[r] = V::zero();
        else if (x32) rows[r] = dn == W ? V::load(x32 + at) : V::loadp(x32 + at, dn);
        else if (t == DType::bf16) rows[r] = dn == W ? V::load_bf16(x16 + at) : V::loadp_bf16(x16 + at, dn);
        else rows[r] = dn == W ? V::load_f16(x16 + at) : V::loadp_f16(x16 + at, dn);
      }
      V::transpose(rows, tr);
      for (int c = 0; c < dn; ++c) V::store(xt + (d0 + c) * BR + r0, tr[c]);
    }
  }
}

/// Qt[d][r] = q[i0 + r][d] for the nr rows of a block (a half q widened as it is loaded).
inline void transpose_q(const SdpaParams& p, const Geo& g, int64_t i0, int nr, float* qt) {
  const int64_t at = i0 * p.q_si;
  transpose_block(g.q ? g.q + at : nullptr, g.q ? nullptr : g.q16 + at, p.q_type, p.q_si, p.D, nr, qt);
}

/// Blocks blk0 .. blk0 + nb - 1 of (b, h), each computed exactly as on its own. nb > 1 only
/// without a band (no causal, no window): the blocks then have the same key range and tiles, and
/// a half K / V tile is widened once for all of them (BlockScratch holds nb Qt and O).
inline void block_task(const SdpaParams& p, int64_t b, int64_t h, int64_t blk0, int nb, BlockScratch& w, uint8_t* vflags, int64_t ntiles, int bcx) {
  const Geo g = geo(p, b, h);
  const int64_t D = p.D, Dv = p.Dv;
  int64_t i0s[kGroupMax];
  int nrs[kGroupMax];
  BlockState ss[kGroupMax];
  for (int u = 0; u < nb; ++u) {
    i0s[u] = (blk0 + u) * BR;
    nrs[u] = static_cast<int>(imin(BR, g.lrows - i0s[u]));
    transpose_q(p, g, i0s[u], nrs[u], w.qt + u * D * BR);
    float* o = w.o + u * BR * w.ldo;
    for (int64_t e = 0; e < BR * w.ldo; ++e) o[e] = 0.0f;
    for (int r = 0; r < RV; ++r) {
      ss[u].m[r] = V::set1(ninf());
      ss[u].l[r] = V::zero();
      ss[u].flags[r] = 0;
    }
  }
  for (int64_t d = 0; d < D; ++d) w.zero[d] = 0.0f;
  const int64_t i0 = i0s[0];
  const int nr = nrs[0];
  // Keys [ks.start, ks.limit) are candidates for some row of the block, tiled so that only the
  // tiles outside [ks.free_lo, ks.free) pay for the per-element band cut (Spans). (Without a band,
  // every block of a group has the same: [0, kend), one segment.)
  const Spans ks = block_keys(g, i0, nr);
  const int64_t jlimit = ks.limit;
  const bool capped = p.softcap > 0.0f;
  const int64_t hk = h / (p.Hq / p.Hkv);
  uint8_t* head_flags = vflags + (b * p.Hkv + hk) * ntiles;
  for (int64_t j0 = ks.start; j0 < jlimit;) {
    const int nc = ks.next(j0, bcx);
    const int64_t jnext = j0 + nc;
    // Half K / V: the tile's rows widened into scratch (exact), then the same microkernels.
    const float* kt = g.k ? g.k + j0 * p.k_sj : w.kt;
    const int64_t ksj = g.k ? p.k_sj : D;
    if (!g.k) widen_rows(w.kt, D, g.k16 + j0 * p.k_sj, p.k_sj, nc, D, p.k_type);
    const float* vb = g.v ? g.v + j0 * p.v_sj : w.vt;
    const int64_t vsj = g.v ? p.v_sj : Dv;
    if (!g.v) widen_rows(w.vt, Dv, g.v16 + j0 * p.v_sj, p.v_sj, nc, Dv, p.v_type);
    // Half K / V: fetch the next tile's rows while this one is computed (the widening pass above
    // otherwise waits on them).
    if (jnext < jlimit) {
      const int64_t nn = imin(nc, jlimit - jnext);
      if (!g.k) prefetch_rows(g.k16 + jnext * p.k_sj, p.k_sj, nn, D);
      if (!g.v) prefetch_rows(g.v16 + jnext * p.v_sj, p.v_sj, nn, Dv);
    }
    const V::F scale = V::set1(p.scale);
    const bool vbad = range_v_bad(head_flags, p, g, bcx, j0, nc);
    for (int u = 0; u < nb; ++u) {
      const int64_t ib = i0s[u];
      const int nru = nrs[u];
      float* qt = w.qt + u * D * BR;
      float* o = w.o + u * BR * w.ldo;
      BlockState& s = ss[u];
      const bool need_causal = g.upper && (j0 + nc - 1 > ib + g.hi_off);
      const bool need_lower = g.lower && (j0 < ib + nru - 1 + g.lo_off);
      const int64_t vis_base = ib + g.hi_off - j0;  // row r sees tile keys c <= r + vis_base
      if (!vbad && !capped && !g.mask && !has_bias(g)) {
        // Common case: scale, flags, max and the band's edges folded into the QK epilogue.
        V::F mx[RV];
        V::M nf[RV];
        for (int r = 0; r < RV; ++r) {
          mx[r] = V::set1(ninf());
          nf[r] = V::from_bits(0);
        }
        const BandCut cut{j0, ib, g.hi_off, g.lo_off, need_causal, need_lower};
        qk_tile<true>(qt, D, kt, ksj, j0, nc, w.zero, w.st, false, ib, g.hi_off, scale, mx, nf, (need_causal || need_lower) ? &cut : nullptr);
        softmax_tile<false, true>(p, g, ib, j0, nc, false, false, w.st, w.lo, w.ab, w.alpha, s, mx, nf);
        pv_tile(o, w.ldo, w.st, w.alpha, vb, vsj, nc, Dv, need_causal, vis_base);
        continue;
      }
      qk_tile<false>(qt, D, kt, ksj, j0, nc, w.zero, w.st, need_causal, ib, g.hi_off, scale, nullptr, nullptr);
      if (vbad) {
        const bool anyex = softmax_tile<true, false>(p, g, ib, j0, nc, need_causal, need_lower, w.st, w.lo, w.ab, w.alpha, s, nullptr, nullptr);
        if (anyex) pv_careful(o, w.ldo, w.st, w.alpha, w.ab, vb, vsj, nc, Dv);
        else pv_tile(o, w.ldo, w.st, w.alpha, vb, vsj, nc, Dv, false, 0);
      } else {
        softmax_tile<false, false>(p, g, ib, j0, nc, need_causal, need_lower, w.st, w.lo, w.ab, w.alpha, s, nullptr, nullptr);
        pv_tile(o, w.ldo, w.st, w.alpha, vb, vsj, nc, Dv, need_causal, vis_base);
      }
    }
    j0 = jnext;
  }
  for (int u = 0; u < nb; ++u) {
    alignas(64) float mv[BR], lv[BR];
    for (int r = 0; r < RV; ++r) {
      V::store(mv + r * W, ss[u].m[r]);
      V::store(lv + r * W, ss[u].l[r]);
    }
    const float* o = w.o + u * BR * w.ldo;
    for (int r = 0; r < nrs[u]; ++r) {
      const bool flag = (ss[u].flags[r / W] >> (r % W)) & 1u;
      write_row_result(p, g, b, h, i0s[u] + r, o + r * w.ldo, mv[r], lv[r], flag);
    }
  }
}


// The block path's driver: tasks (b, h, block of BR query rows), causal blocks longest first.
inline bool sdpa_block_path(const SdpaParams& p) {
  const int64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, Dv = p.Dv;
  bool oom = false;
  // Block path.
  const int64_t nblk = (L + BR - 1) / BR;
  const bool khalf = p.k == nullptr, vhalf = p.v == nullptr;
  // A half K or V without a band: a task computes G consecutive query blocks of one head, so each
  // widened K / V tile serves G blocks (the widening pass, ~4% of (1,8,512,512,64) per block, is
  // paid once per G). G keeps at least 16 tasks; it depends on the problem only, and each block's
  // result is the same as computed alone.
  int G = 1;
  if ((khalf || vhalf) && !p.causal && p.window_left < 0 && p.window_right < 0)
    while (G * 2 <= kGroupMax && B * Hq * ((nblk + G * 2 - 1) / (G * 2)) >= 16) G *= 2;
  const int64_t ngroups = (nblk + G - 1) / G;
  const size_t bytes = block_scratch_bytes(p.D, Dv, khalf, vhalf, G);
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
    BlockScratch w = carve(mem, p.D, Dv, khalf, vhalf, G);
    for (int64_t t = t0; t < t1; ++t) {
      // Causal: the last query blocks cost the most, so hand them out first (all heads' last
      // block, then the one before, ...) and the region ends on cheap tasks, not one thread
      // finishing a long block alone. Each task writes only its own rows: order-independent.
      // A left window makes every block cost about the same: then blocks of one head run in
      // order, so consecutive tasks share most of their K/V band in cache (measured: (1,8,4096,
      // 4096,64) causal, window 256, 2 threads: 10.7 ms head-interleaved, 8.6 ms in order).
      const bool lpt = p.causal && p.window_left < 0;
      if (G > 1) {  // (never causal)
        const int64_t bh = t / ngroups, blk0 = (t % ngroups) * G;
        block_task(p, bh / Hq, bh % Hq, blk0, static_cast<int>(imin(G, nblk - blk0)), w, vflags, ntiles, bcx);
        continue;
      }
      const int64_t bh = lpt ? t % (B * Hq) : t / nblk;
      const int64_t blk = lpt ? nblk - 1 - t / (B * Hq) : t % nblk;
      block_task(p, bh / Hq, bh % Hq, blk, 1, w, vflags, ntiles, bcx);
    }
    std::free(mem);
  };
  attnkit::parallel_for_each(B * Hq * ngroups, body, 1);
  std::free(vflags);
  return !oom;
}


// Jagged rows (SdpaParams q_offsets / kv_offsets): the block path's tasks over each sequence's
// own rows, (sequence, head, block of BR query rows), no task for padding. The task list depends
// on the offsets only; each task writes its own rows, so any thread count gives the same bits.
// Blocks of longer sequences are listed first (descending length, stable), so a long causal
// sequence does not end the region on one thread.
inline bool sdpa_jagged_path(const SdpaParams& p) {
  const int64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, S = p.S, Dv = p.Dv;
  std::vector<int64_t> order(static_cast<size_t>(B));
  for (int64_t b = 0; b < B; ++b) order[b] = b;
  const int32_t* qo = p.q_offsets;
  std::stable_sort(order.begin(), order.end(), [qo](int64_t a, int64_t c) { return qo[a + 1] - qo[a] > qo[c + 1] - qo[c]; });
  // first[n]: the first task of the n-th sequence in that order; tasks of one sequence are
  // (head, block) in head-major order.
  std::vector<int64_t> first(static_cast<size_t>(B + 1), 0);
  for (int64_t n = 0; n < B; ++n) {
    const int64_t b = order[n];
    const int64_t nblk = (qo[b + 1] - qo[b] + BR - 1) / BR;
    first[n + 1] = first[n] + Hq * nblk;
  }
  const int64_t ntasks = first[B];
  if (ntasks == 0) return true;
  std::vector<int64_t> starts;
  SdpaParams pj = p;
  if ((p.jagged_mask || p.jagged_bias) && !p.jagged_mask_starts) {  // (the binding passes them; a C++ caller may not)
    starts.assign(static_cast<size_t>(B), 0);
    int64_t at = 0;
    for (int64_t b = 0; b < B; ++b) {
      starts[b] = at;
      at += static_cast<int64_t>(qo[b + 1] - qo[b]) * (p.kv_offsets[b + 1] - p.kv_offsets[b]);
    }
    pj.jagged_mask_starts = starts.data();
  }
  const bool khalf = p.k == nullptr, vhalf = p.v == nullptr;
  const size_t bytes = block_scratch_bytes(p.D, Dv, khalf, vhalf, 1);
  const int bcx = BC;
  const int64_t ntiles = (S + bcx - 1) / bcx;
  uint8_t* vflags = static_cast<uint8_t*>(std::calloc(static_cast<size_t>(B * Hkv * ntiles), 1));
  if (!vflags) return false;
  bool oom = false;
  auto body = [&](int64_t t0, int64_t t1) {
    void* mem = std::malloc(bytes);
    if (!mem) {
      __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
      return;
    }
    BlockScratch w = carve(mem, pj.D, Dv, khalf, vhalf, 1);
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t n = std::upper_bound(first.begin(), first.end(), t) - first.begin() - 1;
      const int64_t b = order[n];
      const int64_t nblk = (qo[b + 1] - qo[b] + BR - 1) / BR;
      const int64_t r = t - first[n];
      block_task(pj, b, r / nblk, r % nblk, 1, w, vflags, ntiles, bcx);
    }
    std::free(mem);
  };
  attnkit::parallel_for_each(ntasks, body, 1);
  std::free(vflags);
  return !oom;
}
