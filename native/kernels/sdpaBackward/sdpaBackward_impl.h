// Generic sdpa backward over the vector traits V (attnkit/sdpaBackward.h has the math and the
// contract). Included by generic_kernels.h INSIDE namespace sdpa_k (after sdpa_impl.h), in a
// namespace of its own: it reuses the forward's geometry (Geo, block_keys, Spans, band_excluded),
// its Q·Kᵀ tile (qk_tile: logits St[key][row] with query rows in vector lanes), its block
// transpose, tiling constants (BR, BC, NJ, MR, NVMAX) and vexp / vtanh.
// Defines `bool sdpa_backward_run(const attnkit::SdpaBackwardParams&)` (false = out of memory).
//
// A tile is (block of up to BR query rows of head h) x (up to BC keys). Both passes compute its
//   St  = Qt·Kᵀ and dPt = dOᵀ·Vᵀ (qk_tile twice: Qt [D][BR] and dOt [Dv][BR] transposed once per block),
//   P   = exp(z - lse) (0 where excluded), dS = scale·P·(dP - δ)·(1 - t²) (0 where excluded),
// then pass 1 adds Pᵀ·dO and dSᵀ·Q to the key block's dV / dK, pass 2 adds dS·K to the block's dQ
// (or, with many (b, kv head) pairs and no dBias, one pass per pair adds all three), each by
// acc_rows: the forward's P·V microkernel (acc_micro) in MR-row chunks. Excluded pairs are 0 in P
// and dS by selection, not by product; the three accumulating products would still turn 0·NaN into
// NaN, so a tile with an excluded pair and a non-finite q / dO row (dK, dV) or k row (dQ) sums pair
// by pair, skipping the excluded ones.

using attnkit::SdpaBackwardParams;

constexpr uint32_t kFullLanes = (W >= 32) ? 0xffffffffu : ((1u << W) - 1u);

inline int64_t round_up_w(int64_t n) { return (n + W - 1) / W * W; }

// ---------------------------------------------------------------- accumulating products -------

/// The last rows (fewer than MR) of acc_rows: M found by recursion.
template <int AK, int AM, int M = 1>
inline void acc_rest(int rows, float* out, int64_t ldo, const float* a, const float* b, int64_t ldb, int nk, int64_t N) {
  if constexpr (M < MR) {
    if (rows == M) acc_cols<M, AK, AM, false>(out, ldo, a, nullptr, b, ldb, nk, N);
    else acc_rest<AK, AM, M + 1>(rows, out, ldo, a, b, ldb, nk, N);
  }
}

/// out[m][0..N) += Σ_{k < nk} a[k·AK + m·AM]·b[k·ldb + 0..N) for m < rows (row stride ldo): the
/// forward's P·V microkernel (acc_micro, sdpa_block.h) in MR-row chunks. a is P or dS of a tile,
/// [key][row] with stride BR: AK = BR, AM = 1 sums over keys (dQ), AK = 1, AM = BR over rows (dK, dV).
template <int AK, int AM>
inline void acc_rows(float* out, int64_t ldo, const float* a, const float* b, int64_t ldb, int nk, int64_t rows, int64_t N) {
  if (nk <= 0) return;
  int64_t m0 = 0;
  for (; m0 + MR <= rows; m0 += MR) acc_cols<MR, AK, AM, false>(out + m0 * ldo, ldo, a + m0 * AM, nullptr, b, ldb, nk, N);
  if (m0 < rows) acc_rest<AK, AM>(static_cast<int>(rows - m0), out + m0 * ldo, ldo, a + m0 * AM, b, ldb, nk, N);
}

/// Whether (row r of the block, key c of the tile) is an allowed pair (ab: one word per key and row vector).
inline bool allowed(const uint32_t* ab, int c, int r) { return (ab[c * RV + r / W] >> (r % W)) & 1u; }

// ---------------------------------------------------------------- per task -------------------

struct Scratch {
  float* qt;     // [D][BR]   the block's q rows, transposed
  float* dot;    // [Dv][BR]  its dO rows, transposed
  float* st;     // [BC + NJ][BR] logits, then P
  float* dpt;    // [BC + NJ][BR] dP, then scale·dS
  float* zero;   // [max(D, Dv)] the padding key of qk_tile
  float* acc1;   // pass 1: dK [BC][ldd]; pass 2: dQ [BR][ldd]
  float* acc2;   // pass 1: dV [BC][ldv]
  uint32_t* ab;  // [BC][RV] allowed pairs
  int64_t ldd, ldv;
};

inline size_t scratch_bytes(int64_t D, int64_t Dv) {
  const int64_t ldd = round_up_w(D), ldv = round_up_w(Dv), rows = imax(BC, BR);
  // + one 64-byte alignment pad (16 floats) per piece (carve).
  const int64_t floats = D * BR + Dv * BR + 2 * (BC + NJ) * BR + imax(D, Dv) + W + rows * ldd + BC * ldv + BC * RV + 8 * 16;
  return static_cast<size_t>(floats) * sizeof(float) + 64;
}

inline Scratch carve(void* mem, int64_t D, int64_t Dv) {
  Scratch s;
  s.ldd = round_up_w(D);
  s.ldv = round_up_w(Dv);
  // Each piece starts on a 64-byte line.
  AlignedCarver c(mem);
  auto take = [&c](int64_t n) { return c.take(n); };
  s.qt = take(D * BR);
  s.dot = take(Dv * BR);
  s.st = take((BC + NJ) * BR);
  s.dpt = take((BC + NJ) * BR);
  s.zero = take(imax(D, Dv) + W);
  s.acc1 = take(imax(BC, BR) * s.ldd);
  s.acc2 = take(BC * s.ldv);
  s.ab = reinterpret_cast<uint32_t*>(take(BC * RV));
  for (int64_t d = 0; d < imax(D, Dv) + W; ++d) s.zero[d] = 0.0f;
  return s;
}

/// Per-row data both passes read: δ_i = Σ dO_i·O_i and whether row i's q or dO holds a non-finite
/// value ([B·Hq·L] each), whether key j's k does ([B·Hkv·S]).
struct RowData {
  const float* delta;
  const uint8_t* row_bad;
  const uint8_t* key_bad;
};

/// One block of query rows of (b, h) with what the tiles need of it.
struct Block {
  int64_t i0;
  int nr;
  V::F lse[RV], delta[RV];
  uint32_t live[RV];  // lanes of real rows (< nr) whose lse is not -Inf
  bool rows_bad;      // a q or dO row of the block is not finite
};

inline void load_block(const SdpaBackwardParams& bp, const Geo& g, const RowData& rd, int64_t b, int64_t h, int64_t i0, int nr, Block& blk, Scratch& w) {
  const SdpaParams& p = bp.fwd;
  blk.i0 = i0;
  blk.nr = nr;
  const int64_t row0 = (b * p.Hq + h) * p.L + i0;
  alignas(64) float lv[BR], dv[BR];
  bool bad = false;
  for (int r = 0; r < BR; ++r) {
    lv[r] = r < nr ? bp.lse[row0 + r] : 0.0f;
    dv[r] = r < nr ? rd.delta[row0 + r] : 0.0f;
    if (r < nr) bad |= rd.row_bad[row0 + r] != 0;
  }
  blk.rows_bad = bad;
  for (int r = 0; r < RV; ++r) {
    // A row with lse = -Inf is dead (every pair excluded); its lse becomes 0 so that exp() of its
    // (discarded) arguments stays on vexp's fast path.
    const V::F l = V::load(lv + r * W);
    const V::M dead = V::eq(l, V::set1(ninf()));
    blk.lse[r] = V::blend(dead, l, V::zero());
    blk.delta[r] = V::load(dv + r * W);
    const int real = static_cast<int>(imax(0, imin(W, nr - r * W)));
    const uint32_t real_bits = real >= 32 ? 0xffffffffu : ((1u << real) - 1u);
    blk.live[r] = real_bits & ~V::bits(dead) & kFullLanes;
  }
  const int64_t at = i0 * p.q_si;
  transpose_block(g.q + at, nullptr, DType::f32, p.q_si, p.D, nr, w.qt);
  const int64_t oo = b * p.o_sb + h * p.o_sh + i0 * p.o_si;
  transpose_block(bp.dout + oo, nullptr, DType::f32, p.o_si, p.Dv, nr, w.dot);
}

/// exp(x) with NaN kept and overflow to +Inf (vexp clamps its input: callers usually pass x <= 0,
/// but a caller's lse need not be the forward's).
inline V::F exp_full(V::F x) {
  const V::M big = V::gt(x, V::set1(88.0f));
  const V::M nan = V::isnan(x);
  if (!V::any(V::mor(big, nan))) return vexp(x);
  V::F e = vexp(V::blend(big, x, V::sub(x, V::set1(88.0f))));
  e = V::blend(big, e, V::mul(e, V::set1(1.65163625e38f)));  // e^88
  return V::blend(nan, e, x);
}

/// P, dS of one tile (rows of blk x keys [j0, j0 + nc)): on return w.st holds P, w.dpt scale·dS
/// (both exactly 0 at excluded pairs), w.ab the allowed pairs; returns whether any pair of a real
/// row is excluded. With dbias (pass 2: dBias's double accumulator), dZ of every allowed pair is
/// added to its element.
inline bool tile_grads(const SdpaBackwardParams& bp, const Geo& g, int64_t b, int64_t h, const Block& blk, int64_t j0, int nc, bool need_causal, bool need_lower, Scratch& w, double* dbias) {
  const SdpaParams& p = bp.fwd;
  const V::F unused = V::zero();
  qk_tile<false>(w.qt, p.D, g.k + j0 * p.k_sj, p.k_sj, j0, nc, w.zero, w.st, need_causal, blk.i0, g.hi_off, unused, nullptr, nullptr);
  qk_tile<false>(w.dot, p.Dv, g.v + j0 * p.v_sj, p.v_sj, j0, nc, w.zero, w.dpt, need_causal, blk.i0, g.hi_off, unused, nullptr, nullptr);
  const V::F NI = V::set1(ninf()), ZERO = V::zero();
  const V::F scale = V::set1(p.scale);
  const bool capped = p.softcap > 0.0f;
  const V::F cap = V::set1(capped ? p.softcap : 1.0f);
  const int64_t ms2 = p.mask_s[2], ms3 = p.mask_s[3], bs2 = p.bias_s[2], bs3 = p.bias_s[3];
  const bool hasb = g.bias != nullptr;
  const BandCut cut{j0, blk.i0, g.hi_off, g.lo_off, need_causal, need_lower};
  double* db = dbias ? dbias + b * p.bias_s[0] + h * p.bias_s[1] : nullptr;
  uint32_t anyex = 0;
  for (int c = 0; c < nc; ++c) {
    const int64_t j = j0 + c;
    for (int r = 0; r < RV; ++r) {
      const int64_t ib = blk.i0 + r * W;
      const int real = static_cast<int>(imax(0, imin(W, blk.nr - r * W)));
      V::F x = V::mul(V::load(w.st + c * BR + r * W), scale);  // (q·k)·scale, the forward's order
      V::F fac = V::zero();
      if (capped) {
        const V::F t = vtanh(V::div(x, cap));  // vsoftcap's steps, keeping t
        x = V::mul(cap, t);
        fac = V::fnmadd(t, t, V::set1(1.0f));
      }
      uint32_t ex = ~blk.live[r] & kFullLanes;
      if (need_causal || need_lower) ex |= band_excluded(cut, j, ib);
      if (g.mask) {
        if (ms2 == 0) {
          if (!g.mask[j * ms3]) ex = kFullLanes;
        } else {
          for (int t = 0; t < real; ++t)
            if (!g.mask[(ib + t) * ms2 + j * ms3]) ex |= 1u << t;
        }
      }
      V::F lo = ZERO;
      if (hasb) {
        V::F bv;
        if (bs2 == 0) {
          bv = V::set1(g.bias[j * bs3]);
        } else {
          alignas(64) float tmp[W];
          for (int t = 0; t < W; ++t) tmp[t] = t < real ? g.bias[(ib + t) * bs2 + j * bs3] : 0.0f;
          bv = V::load(tmp);
        }
        // TwoSum, as the forward: hi + lo == x + bias exactly, so a large bias does not round the
        // logit's small part away (hi - lse is exact near the row's maximum).
        const V::F hi = V::add(x, bv);
        const V::F bb = V::sub(hi, x);
        lo = V::add(V::sub(x, V::sub(hi, bb)), V::sub(bv, bb));
        lo = V::blend(V::nonfinite(hi), lo, ZERO);
        x = hi;
      }
      ex |= V::bits(V::eq(x, NI));
      const V::M exm = V::from_bits(ex);
      anyex |= ex & ((real >= 32) ? 0xffffffffu : ((1u << real) - 1u));
      w.ab[c * RV + r] = ~ex & kFullLanes;
      const V::F pr = V::blend(exm, exp_full(V::add(V::sub(x, blk.lse[r]), lo)), ZERO);
      V::store(w.st + c * BR + r * W, pr);
      V::F dz = V::blend(exm, V::mul(pr, V::sub(V::load(w.dpt + c * BR + r * W), blk.delta[r])), ZERO);
      if (db) {
        alignas(64) float dzv[W];
        V::store(dzv, dz);
        const uint32_t ok = ~ex;
        for (int t = 0; t < real; ++t)
          if ((ok >> t) & 1u) db[(ib + t) * bs2 + j * bs3] += dzv[t];
      }
      if (capped) dz = V::mul(dz, fac);
      // Selected again after the factor: an excluded lane's logit may be anything (a NaN k, or
      // stale scratch where qk_tile skipped a row vector), and so may its 1 - t².
      V::store(w.dpt + c * BR + r * W, V::blend(exm, V::mul(dz, scale), ZERO));
    }
  }
  return anyex != 0;
}

// ---------------------------------------------------------------- a tile's products ----------

/// dK[c] += Σ_r dS[c][r]·Q[r] and dV[c] += Σ_r P[c][r]·dO[r] over the nr rows and nc keys of a tile
/// (dk / dv: row strides ldk / ldv). `careful` (a non-finite q / dO row and excluded pairs in the
/// tile): pair by pair, skipping the excluded ones.
inline void add_dk_dv(const SdpaParams& p, const Scratch& w, const float* qrows, const float* dorows, int nr, int nc, bool careful, float* dk, int64_t ldk, float* dv, int64_t ldv) {
  if (careful) {
    for (int c = 0; c < nc; ++c)
      for (int r = 0; r < nr; ++r) {
        if (!allowed(w.ab, c, r)) continue;
        const float pr = w.st[c * BR + r], ds = w.dpt[c * BR + r];
        for (int64_t e = 0; e < p.Dv; ++e) dv[c * ldv + e] += pr * dorows[r * p.o_si + e];
        for (int64_t d = 0; d < p.D; ++d) dk[c * ldk + d] += ds * qrows[r * p.q_si + d];
      }
    return;
  }
  acc_rows<1, BR>(dv, ldv, w.st, dorows, p.o_si, nr, nc, p.Dv);
  acc_rows<1, BR>(dk, ldk, w.dpt, qrows, p.q_si, nr, nc, p.D);
}

/// dQ[r] += Σ_c dS[c][r]·K[c] over a tile (dq: the block's scratch rows, stride w.ldd). `careful`
/// (a non-finite k row and excluded pairs in the tile): pair by pair, skipping the excluded ones.
inline void add_dq(const SdpaParams& p, Scratch& w, const float* krows, int nr, int nc, bool careful) {
  if (careful) {
    for (int r = 0; r < nr; ++r)
      for (int c = 0; c < nc; ++c) {
        if (!allowed(w.ab, c, r)) continue;
        const float ds = w.dpt[c * BR + r];
        for (int64_t d = 0; d < p.D; ++d) w.acc1[r * w.ldd + d] += ds * krows[c * p.k_sj + d];
      }
    return;
  }
  acc_rows<BR, 1>(w.acc1, w.ldd, w.dpt, krows, p.k_sj, nc, nr, p.D);
}

/// Whether a key of [j0, j0 + nc) has a non-finite k.
inline bool any_key_bad(const uint8_t* kbad, int64_t j0, int nc) {
  bool bad = false;
  for (int c = 0; c < nc; ++c) bad |= kbad[j0 + c] != 0;
  return bad;
}

// ---------------------------------------------------------------- pass 1: dK, dV --------------

/// The rows of (b, h) that see some key of [j0, j0 + nc) (nc >= 1, every key below kend), as Spans:
/// rows in [free_lo, free) see every key of the block (no band cut).
inline Spans key_block_rows(const Geo& g, int64_t L, int64_t j0, int64_t nc) {
  const int64_t j1 = j0 + nc;  // row i sees key j iff j <= i + hi_off (upper) and j >= i + lo_off (lower)
  Spans s;
  s.start = g.upper ? imin(L, imax(0, j0 - g.hi_off)) : 0;
  s.limit = g.lower ? imax(s.start, imin(L, j1 - g.lo_off)) : L;
  s.free_lo = g.upper ? imax(s.start, imin(s.limit, j1 - 1 - g.hi_off)) : s.start;
  s.free = g.lower ? imax(s.free_lo, imin(s.limit, j0 - g.lo_off + 1)) : s.limit;
  return s;
}

/// Rows [r0, r0 + n) of a scratch accumulator (row stride ld) into a strided output (n rows of cols).
inline void write_rows(float* dst, int64_t dst_ld, const float* acc, int64_t ld, int64_t n, int64_t cols) {
  for (int64_t r = 0; r < n; ++r) {
    float* d = dst + r * dst_ld;
    const float* a = acc + r * ld;
    int64_t e = 0;
    for (; e + W <= cols; e += W) V::store(d + e, V::load(a + e));
    if (e < cols) V::storep(d + e, V::load(a + e), static_cast<int>(cols - e));
  }
}

/// dK, dV of keys [j0, j0 + BC) of kv head hk in batch b: over the group's query heads in order, and
/// for each over the rows that see the keys, in blocks of up to BR rows.
inline void key_block_task(const SdpaBackwardParams& bp, const RowData& rd, int64_t b, int64_t hk, int64_t kb, Scratch& w) {
  const SdpaParams& p = bp.fwd;
  const int64_t D = p.D, Dv = p.Dv, G = p.Hq / p.Hkv;
  const int64_t j0 = kb * BC;
  const int nc_all = static_cast<int>(imin(BC, p.S - j0));
  for (int64_t e = 0; e < nc_all * w.ldd; ++e) w.acc1[e] = 0.0f;
  for (int64_t e = 0; e < nc_all * w.ldv; ++e) w.acc2[e] = 0.0f;
  for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
    const Geo g = geo(p, b, h);
    const int nc = static_cast<int>(imin(nc_all, g.kend - j0));  // keys past keyLengths get nothing
    if (nc <= 0) continue;
    const Spans rows = key_block_rows(g, p.L, j0, nc);
    const float* dob = bp.dout + b * p.o_sb + h * p.o_sh;
    for (int64_t i0 = rows.start; i0 < rows.limit;) {
      const int nr = rows.next(i0, BR);
      Block blk;
      load_block(bp, g, rd, b, h, i0, nr, blk, w);
      const bool need_causal = g.upper && (j0 + nc - 1 > i0 + g.hi_off);
      const bool need_lower = g.lower && (j0 < i0 + nr - 1 + g.lo_off);
      const bool anyex = tile_grads(bp, g, b, h, blk, j0, nc, need_causal, need_lower, w, nullptr);
      add_dk_dv(p, w, g.q + i0 * p.q_si, dob + i0 * p.o_si, nr, nc, anyex && blk.rows_bad, w.acc1, w.ldd, w.acc2, w.ldv);
      i0 += nr;
    }
  }
  write_rows(bp.dk + b * p.k_sb + hk * p.k_sh + j0 * p.k_sj, p.k_sj, w.acc1, w.ldd, nc_all, D);
  write_rows(bp.dv + b * p.v_sb + hk * p.v_sh + j0 * p.v_sj, p.v_sj, w.acc2, w.ldv, nc_all, Dv);
}

// ---------------------------------------------------------------- pass 2: dQ, dBias -----------

/// dQ of rows [blk·BR, +BR) of (b, h) over the key tiles they see (the forward's block_keys tiling);
/// with dbias, their dZ added to it.
inline void query_block_task(const SdpaBackwardParams& bp, const RowData& rd, int64_t b, int64_t h, int64_t qb, Scratch& w, double* dbias) {
  const SdpaParams& p = bp.fwd;
  const int64_t D = p.D;
  const int64_t i0 = qb * BR;
  const int nr = static_cast<int>(imin(BR, p.L - i0));
  const Geo g = geo(p, b, h);
  for (int64_t e = 0; e < BR * w.ldd; ++e) w.acc1[e] = 0.0f;
  const Spans keys = block_keys(g, i0, nr);
  if (keys.start < keys.limit) {
    Block blk;
    load_block(bp, g, rd, b, h, i0, nr, blk, w);
    const uint8_t* kbad = rd.key_bad + (b * p.Hkv + h / (p.Hq / p.Hkv)) * p.S;
    for (int64_t j0 = keys.start; j0 < keys.limit;) {
      const int nc = keys.next(j0, BC);
      const bool need_causal = g.upper && (j0 + nc - 1 > i0 + g.hi_off);
      const bool need_lower = g.lower && (j0 < i0 + nr - 1 + g.lo_off);
      const bool anyex = tile_grads(bp, g, b, h, blk, j0, nc, need_causal, need_lower, w, dbias);
      add_dq(p, w, g.k + j0 * p.k_sj, nr, nc, anyex && any_key_bad(kbad, j0, nc));
      j0 += nc;
    }
  }
  write_rows(bp.dq + b * p.q_sb + h * p.q_sh + i0 * p.q_si, p.q_si, w.acc1, w.ldd, nr, D);
}

// ---------------------------------------------------------------- one pass -------------------

/// Enough (b, kv head) pairs to keep every thread busy: then one pass per pair computes each tile's
/// logits and dP once (5 products a tile instead of the two passes' 7), without dBias.
constexpr int64_t kOnePassTasks = 32;

/// Rows [0, n) x cols of a strided output set to 0.
inline void zero_rows(float* dst, int64_t ld, int64_t n, int64_t cols) {
  for (int64_t r = 0; r < n; ++r)
    for (int64_t e = 0; e < cols; ++e) dst[r * ld + e] = 0.0f;
}

/// Everything of (b, kv head hk): for each query head of the group in order and each of its blocks
/// of BR rows, the tiles of the keys it sees (block_keys), each adding to the block's dQ (scratch)
/// and to dK / dV of its keys (in place in the outputs, which only this task writes).
inline void head_task(const SdpaBackwardParams& bp, const RowData& rd, int64_t b, int64_t hk, Scratch& w) {
  const SdpaParams& p = bp.fwd;
  const int64_t G = p.Hq / p.Hkv, nqb = (p.L + BR - 1) / BR;
  float* dk = bp.dk + b * p.k_sb + hk * p.k_sh;
  float* dv = bp.dv + b * p.v_sb + hk * p.v_sh;
  zero_rows(dk, p.k_sj, p.S, p.D);
  zero_rows(dv, p.v_sj, p.S, p.Dv);
  const uint8_t* kbad = rd.key_bad + (b * p.Hkv + hk) * p.S;
  for (int64_t h = hk * G; h < (hk + 1) * G; ++h) {
    const Geo g = geo(p, b, h);
    const float* dob = bp.dout + b * p.o_sb + h * p.o_sh;
    for (int64_t qb = 0; qb < nqb; ++qb) {
      const int64_t i0 = qb * BR;
      const int nr = static_cast<int>(imin(BR, p.L - i0));
      for (int64_t e = 0; e < BR * w.ldd; ++e) w.acc1[e] = 0.0f;
      const Spans keys = block_keys(g, i0, nr);
      if (keys.start < keys.limit) {
        Block blk;
        load_block(bp, g, rd, b, h, i0, nr, blk, w);
        for (int64_t j0 = keys.start; j0 < keys.limit;) {
          const int nc = keys.next(j0, BC);
          const bool need_causal = g.upper && (j0 + nc - 1 > i0 + g.hi_off);
          const bool need_lower = g.lower && (j0 < i0 + nr - 1 + g.lo_off);
          const bool anyex = tile_grads(bp, g, b, h, blk, j0, nc, need_causal, need_lower, w, nullptr);
          add_dq(p, w, g.k + j0 * p.k_sj, nr, nc, anyex && any_key_bad(kbad, j0, nc));
          add_dk_dv(p, w, g.q + i0 * p.q_si, dob + i0 * p.o_si, nr, nc, anyex && blk.rows_bad, dk + j0 * p.k_sj, p.k_sj, dv + j0 * p.v_sj, p.v_sj);
          j0 += nc;
        }
      }
      write_rows(bp.dq + b * p.q_sb + h * p.q_sh + i0 * p.q_si, p.q_si, w.acc1, w.ldd, nr, p.D);
    }
  }
}

// ---------------------------------------------------------------- driver ----------------------

/// δ and the non-finite flags (RowData), one task per (b, head) of q / dO and of k.
inline void row_data(const SdpaBackwardParams& bp, float* delta, uint8_t* row_bad, uint8_t* key_bad) {
  const SdpaParams& p = bp.fwd;
  auto bad_row = [](const float* x, int64_t n) {
    V::M m = V::from_bits(0);
    int64_t e = 0;
    for (; e + W <= n; e += W) m = V::mor(m, V::nonfinite(V::load(x + e)));
    if (e < n) m = V::mor(m, V::nonfinite(V::loadp(x + e, static_cast<int>(n - e))));
    return V::any(m);
  };
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      if (t < p.B * p.Hq) {
        const int64_t b = t / p.Hq, h = t % p.Hq;
        for (int64_t i = 0; i < p.L; ++i) {
          const int64_t oo = b * p.o_sb + h * p.o_sh + i * p.o_si;
          const float* dorow = bp.dout + oo;
          const float* orow = bp.out + oo;
          double s = 0;  // δ in double: dP - δ cancels where the gradient is small
          for (int64_t e = 0; e < p.Dv; ++e) s += static_cast<double>(dorow[e]) * orow[e];
          const int64_t at = t * p.L + i;
          delta[at] = static_cast<float>(s);
          row_bad[at] = bad_row(p.q + b * p.q_sb + h * p.q_sh + i * p.q_si, p.D) || bad_row(dorow, p.Dv);
        }
      } else {
        const int64_t u = t - p.B * p.Hq, b = u / p.Hkv, hk = u % p.Hkv;
        for (int64_t j = 0; j < p.S; ++j) key_bad[u * p.S + j] = bad_row(p.k + b * p.k_sb + hk * p.k_sh + j * p.k_sj, p.D);
      }
    }
  };
  attnkit::parallel_for_each(p.B * p.Hq + p.B * p.Hkv, body, 1);
}

/// Whether the bias's element index Σ idx·bias_s takes each value at most once over the axes it does
/// not broadcast (stride > 0, size > 1): then tasks split over those axes write disjoint dBias
/// elements. (Sufficient test: sorted by stride, each stride exceeds the span of the smaller ones.)
inline bool bias_index_injective(const SdpaParams& p) {
  int64_t st[4], dim[4];
  const int64_t dims[4] = {p.B, p.Hq, p.L, p.S};
  int n = 0;
  for (int a = 0; a < 4; ++a)
    if (p.bias_s[a] > 0 && dims[a] > 1) st[n] = p.bias_s[a], dim[n] = dims[a], ++n;
  for (int x = 1; x < n; ++x)  // insertion sort by stride
    for (int y = x; y > 0 && st[y] < st[y - 1]; --y) {
      int64_t t = st[y]; st[y] = st[y - 1]; st[y - 1] = t;
      t = dim[y]; dim[y] = dim[y - 1]; dim[y - 1] = t;
    }
  int64_t span = 0;  // largest index reached by the smaller strides
  for (int x = 0; x < n; ++x) {
    if (st[x] <= span) return false;
    span += st[x] * (dim[x] - 1);
  }
  return true;
}

inline bool sdpa_backward_run(const SdpaBackwardParams& bp) {
  const SdpaParams& p = bp.fwd;
  if (p.B <= 0 || p.Hq <= 0 || p.Hkv <= 0 || p.L <= 0 || p.S <= 0) return true;
  const int64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S;
  float* delta = static_cast<float*>(std::malloc(static_cast<size_t>(B * Hq * L) * sizeof(float)));
  uint8_t* flags = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(B * Hq * L + B * Hkv * S)));
  bool oom = !delta || !flags;
  if (!oom) {
    const RowData rd{delta, flags, flags + B * Hq * L};
    row_data(bp, delta, flags, flags + B * Hq * L);
    const size_t bytes = scratch_bytes(p.D, p.Dv);
    if (B * Hkv >= kOnePassTasks && !(bp.dbias && p.bias)) {
      auto one = [&](int64_t t0, int64_t t1) {
        void* mem = std::malloc(bytes);
        if (!mem) {
          __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
          return;
        }
        Scratch w = carve(mem, p.D, p.Dv);
        for (int64_t t = t0; t < t1; ++t) head_task(bp, rd, t / Hkv, t % Hkv, w);
        std::free(mem);
      };
      attnkit::parallel_for_each(B * Hkv, one, 1);
      std::free(delta);
      std::free(flags);
      return !oom;
    }
    // Pass 1: tasks (b, kv head, key block). Under the causal limit the first key blocks are seen by
    // the most rows: they are handed out first (every head's block 0, then block 1, ...).
    const int64_t nkb = (S + BC - 1) / BC;
    auto pass1 = [&](int64_t t0, int64_t t1) {
      void* mem = std::malloc(bytes);
      if (!mem) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        return;
      }
      Scratch w = carve(mem, p.D, p.Dv);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t bh = t % (B * Hkv), kb = t / (B * Hkv);
        key_block_task(bp, rd, bh / Hkv, bh % Hkv, kb, w);
      }
      std::free(mem);
    };
    attnkit::parallel_for_each(B * Hkv * nkb, pass1, 1);
    // Pass 2: tasks (b, head, query block), the last (costliest under the causal limit) blocks first.
    // With dBias, a task takes every index of each axis the bias broadcasts over (stride 0): each
    // dBias element then has one writer, summing in a fixed order (one task for all when the
    // strides could alias).
    const int64_t nqb = (L + BR - 1) / BR;
    // dBias is summed in double: an element of a broadcast bias sums dZ over many (row, key) pairs,
    // and dZ sums to 0 over each row's keys (a per-row or scalar bias's gradient is a small
    // difference of many terms).
    double* dbias = nullptr;
    if (bp.dbias && p.bias) {
      dbias = static_cast<double*>(std::calloc(static_cast<size_t>(bp.dbias_len), sizeof(double)));
      if (!dbias) oom = true;
    }
    const bool alias = dbias && !bias_index_injective(p);
    const bool split_b = !dbias || (!alias && p.bias_s[0] > 0);
    const bool split_h = !dbias || (!alias && p.bias_s[1] > 0);
    const bool split_q = !dbias || (!alias && p.bias_s[2] > 0);
    const int64_t nb = split_b ? B : 1, nh = split_h ? Hq : 1, nq = split_q ? nqb : 1;
    auto pass2 = [&](int64_t t0, int64_t t1) {
      void* mem = std::malloc(bytes);
      if (!mem) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        return;
      }
      Scratch w = carve(mem, p.D, p.Dv);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t bh = t % (nb * nh), qq = nq - 1 - t / (nb * nh);
        const int64_t bb = bh / nh, hh = bh % nh;
        for (int64_t b = split_b ? bb : 0; b < (split_b ? bb + 1 : B); ++b)
          for (int64_t h = split_h ? hh : 0; h < (split_h ? hh + 1 : Hq); ++h)
            for (int64_t qb = split_q ? qq : 0; qb < (split_q ? qq + 1 : nqb); ++qb) query_block_task(bp, rd, b, h, qb, w, dbias);
      }
      std::free(mem);
    };
    if (!__atomic_load_n(&oom, __ATOMIC_RELAXED)) attnkit::parallel_for_each(nb * nh * nq, pass2, 1);
    if (dbias && !oom)
      for (int64_t e = 0; e < bp.dbias_len; ++e) bp.dbias[e] = static_cast<float>(dbias[e]);
    std::free(dbias);
  }
  std::free(delta);
  std::free(flags);
  return !oom;
}
