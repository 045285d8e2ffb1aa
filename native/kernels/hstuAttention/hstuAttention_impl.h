// Generic HSTU attention forward over the vector traits V (attnkit/hstuAttention.h has the math).
// Included by generic_kernels.h INSIDE namespace sdpa_k, in namespace hstu (after the sdpa
// backward): it reuses the sdpa block path's Q·Kᵀ tile (qk_tile: St[key][row] with query rows in
// vector lanes, K broadcast straight from memory), its block transpose and tiling constants (BR,
// BC, NJ), and the backward's accumulating products (backward::acc_rows: the P·V microkernel).
// Defines `bool hstu_forward_run(const attnkit::HstuAttentionParams&)` (false = out of memory) and
// the mask geometry, tiles and activations hstuAttentionBackward_impl.h shares.
//
// A tile is (block of up to BR query rows of one sequence and head) x (up to BC keys):
//   St = Qᵀ-block · Kᵀ (qk_tile), z = alpha·St + posBias + timeBias, A = SiLU(z)/norm (0 where M
//   is 0, by selection: a NaN in a hidden pair's logit never reaches the output), O += A·V.
// The position bias of (row i, key j) is pos[N-1 + j - i]: along a row vector (rows i..i+W-1) it
// is a descending run of the table, so each head's table is reversed once per call and read with
// one vector load per (key, row vector). The time bias is a table lookup per pair (bucket by
// binary search over the thresholds, in double), filled per tile before the vector pass.

using attnkit::HstuAttentionParams;

constexpr uint32_t kLanes = (W >= 32) ? 0xffffffffu : ((1u << W) - 1u);

// ---------------------------------------------------------------- the mask of one sequence -----

/// generative-recommenders' ids (monotone non-decreasing in the position) of a sequence of length n.
struct SeqMask {
  int64_t n, c, max_id, mal;
  bool causal, clamp;
  int64_t id(int64_t p) const {
    int64_t x = p;
    if (c > 0) x = (p - c + 1 > 0) ? p - c + 1 : 0;
    return (clamp && x > max_id) ? max_id : x;
  }
  /// The smallest position p in [0, n] with id(p) >= x (n when none): ids are monotone.
  int64_t first_ge(int64_t x) const {
    int64_t lo = 0, hi = n;
    while (lo < hi) {
      const int64_t m = lo + (hi - lo) / 2;
      if (id(m) >= x) hi = m;
      else lo = m + 1;
    }
    return lo;
  }
};

inline SeqMask seq_mask(const HstuAttentionParams& p, int64_t b, int64_t n) {
  SeqMask m;
  m.n = n;
  m.c = p.contextual_length;
  m.mal = p.max_attn_len;
  m.causal = p.causal;
  m.max_id = m.c > 0 ? n - m.c + 1 : n;
  m.clamp = p.num_targets != nullptr;
  if (m.clamp) m.max_id -= p.num_targets[b];
  return m;
}

/// The keys row i sees: at most 4 disjoint intervals [a, b), sorted.
struct RowVis {
  int64_t a[4], b[4];
  int n;
};

/// Row i's visible keys. With dist = id_i - id_j (|.| when not causal), j is visible iff
/// (i == j || dist > 0) && (maxAttnLen == 0 || dist <= maxAttnLen), or (c > 0 && id_i == 0 &&
/// id_j < maxId). Since ids are monotone, {j : lo <= id_j < hi} is an interval of positions.
inline void row_vis(const SeqMask& m, int64_t i, RowVis& v) {
  int64_t a[4], b[4];
  int k = 0;
  const int64_t idi = m.id(i);
  a[k] = m.mal > 0 ? m.first_ge(idi - m.mal) : 0;  // id_i - mal <= id_j < id_i
  b[k] = m.first_ge(idi);
  ++k;
  if (!m.causal) {  // id_i < id_j <= id_i + mal
    a[k] = m.first_ge(idi + 1);
    b[k] = m.mal > 0 ? m.first_ge(idi + m.mal + 1) : m.n;
    ++k;
  }
  a[k] = i;
  b[k] = i + 1;
  ++k;
  if (m.c > 0 && idi == 0) {  // the contextual prefix sees every non-target position
    a[k] = 0;
    b[k] = m.first_ge(m.max_id);
    ++k;
  }
  for (int x = 1; x < k; ++x)  // insertion sort by start
    for (int y = x; y > 0 && a[y] < a[y - 1]; --y) {
      int64_t t = a[y]; a[y] = a[y - 1]; a[y - 1] = t;
      t = b[y]; b[y] = b[y - 1]; b[y - 1] = t;
    }
  v.n = 0;
  for (int x = 0; x < k; ++x) {
    if (a[x] >= b[x]) continue;
    if (v.n > 0 && a[x] <= v.b[v.n - 1]) {
      if (b[x] > v.b[v.n - 1]) v.b[v.n - 1] = b[x];
    } else {
      v.a[v.n] = a[x];
      v.b[v.n] = b[x];
      ++v.n;
    }
  }
}

enum TileClass { kNone = 0, kPartial = 1, kFull = 2 };

/// How a row sees keys [j0, j1): none, some, all.
inline int row_class(const RowVis& v, int64_t j0, int64_t j1) {
  for (int t = 0; t < v.n; ++t) {
    if (v.a[t] <= j0 && j1 <= v.b[t]) return kFull;
    if (v.a[t] < j1 && v.b[t] > j0) return kPartial;
  }
  return kNone;
}

/// The block's key range and its tiling: [kmin, kmax) holds every key a row of the block sees,
/// [fa, fb) keys every row sees (the intersection of each row's largest interval). Tiles end at fa
/// and fb so that only the band's edges are partial tiles; each segment is cut into equal tiles.
struct BlockKeys {
  int64_t kmin, kmax, fa, fb;
  int next(int64_t j) const {
    int64_t end = kmax;
    if (fa < fb) {
      if (j < fa) end = fa;
      else if (j < fb) end = fb;
    }
    const int64_t ntile = (end - j + BC - 1) / BC;
    return static_cast<int>(imin(BC, (end - j + ntile - 1) / ntile));
  }
};

inline BlockKeys block_keys_of(const RowVis* vis, int nr) {
  BlockKeys k{int64_t(1) << 62, -(int64_t(1) << 62), -(int64_t(1) << 62), int64_t(1) << 62};
  for (int r = 0; r < nr; ++r) {
    const RowVis& v = vis[r];  // never empty: the diagonal
    k.kmin = imin(k.kmin, v.a[0]);
    k.kmax = imax(k.kmax, v.b[v.n - 1]);
    int best = 0;
    for (int t = 1; t < v.n; ++t)
      if (v.b[t] - v.a[t] > v.b[best] - v.a[best]) best = t;
    k.fa = imax(k.fa, v.a[best]);
    k.fb = imin(k.fb, v.b[best]);
  }
  if (k.fa >= k.fb) k.fa = k.fb = k.kmin;
  return k;
}

/// The tile's class over the block's rows: none if no row sees a key, full if every row sees all.
inline int tile_class(const RowVis* vis, int nr, int64_t j0, int64_t j1) {
  bool all = true, any = false;
  for (int r = 0; r < nr; ++r) {
    const int c = row_class(vis[r], j0, j1);
    all &= c == kFull;
    any |= c != kNone;
  }
  return all ? kFull : (any ? kPartial : kNone);
}

/// ab[c·RV + rv] bit t: row rv·W + t sees key j0 + c (rows below nr; the rest 0).
inline void visible_bits(const RowVis* vis, int nr, int64_t j0, int nc, uint32_t* ab) {
  for (int e = 0; e < nc * RV; ++e) ab[e] = 0;
  for (int r = 0; r < nr; ++r) {
    const RowVis& v = vis[r];
    for (int t = 0; t < v.n; ++t) {
      const int64_t s = imax(v.a[t], j0), e = imin(v.b[t], j0 + nc);
      for (int64_t j = s; j < e; ++j) ab[(j - j0) * RV + r / W] |= 1u << (r % W);
    }
  }
}

// ---------------------------------------------------------------- biases -------------------------

/// The bucket of |delta|: the count of thresholds <= it (0 for a NaN delta, as the contract's
/// count and the oracle give).
inline int64_t bucket_of(double delta, const double* th, int64_t nb) {
  int64_t lo = 0, hi = nb;
  while (lo < hi) {
    const int64_t m = lo + (hi - lo) / 2;
    if (th[m] <= delta) lo = m + 1;
    else hi = m;
  }
  return lo;
}

/// Per call: each position-bias table reversed (rev[y] = pos[2N-2-y]) with BR + W zeros after it,
/// so that rows i..i+W-1 of key j read pos[N-1+j-i-t] as rev[N-1-j+i+t], one vector load.
struct Biases {
  float* rev = nullptr;   // [Hp][rev_ld]
  int64_t rev_ld = 0;
  bool pos = false, time = false;
};

inline bool make_biases(const HstuAttentionParams& p, Biases& bz) {
  bz.pos = p.pos_bias != nullptr;
  bz.time = p.time_bias != nullptr && p.timestamps != nullptr;
  if (!bz.pos) return true;
  const int64_t N = p.max_length, len = 2 * N - 1, hp = p.pos_per_head ? p.H : 1;
  bz.rev_ld = len + BR + W;
  bz.rev = static_cast<float*>(std::malloc(static_cast<size_t>(hp * bz.rev_ld) * sizeof(float)));
  if (!bz.rev) return false;
  for (int64_t h = 0; h < hp; ++h) {
    float* r = bz.rev + h * bz.rev_ld;
    const float* t = p.pos_bias + h * len;
    for (int64_t y = 0; y < len; ++y) r[y] = t[len - 1 - y];
    for (int64_t y = len; y < bz.rev_ld; ++y) r[y] = 0.0f;
  }
  return true;
}

/// tt[c·BR + r] = timeBias(bucket of |tq_r - t_{j0+c}|) for rows r < nr (0 beyond); with tu, the
/// bucket index too.
inline void time_tile(const HstuAttentionParams& p, const double* ts, const double* tq, int nr, int64_t j0, int nc, const float* tb, float* tt, int32_t* tu) {
  const int64_t nb = p.num_buckets;
  for (int c = 0; c < nc; ++c) {
    const double tj = ts[j0 + c];
    for (int r = 0; r < BR; ++r) {
      int64_t u = 0;
      float x = 0.0f;
      if (r < nr) {
        u = bucket_of(__builtin_fabs(tq[r] - tj), p.thresholds, nb);
        x = tb[u];
      }
      tt[c * BR + r] = x;
      if (tu) tu[c * BR + r] = static_cast<int32_t>(u);
    }
  }
}

/// The logit vector of (key c, row vector rv): alpha·St + pos + time.
template <bool POS, bool TIME>
inline V::F logit(const float* st, int c, int rv, const float* revj, const float* tt, V::F alpha) {
  const V::F s = V::load(st + c * BR + rv * W);
  V::F z = POS ? V::fmadd(s, alpha, V::load(revj + rv * W)) : V::mul(s, alpha);
  if constexpr (TIME) z = V::add(z, V::load(tt + c * BR + rv * W));
  return z;
}

/// SiLU(z)·scale = z·scale / (1 + exp(-z)): one exp and one division (vsilu's branch-free
/// sigmoid costs twice the operations; this is the hot elementwise pass). vexp clamps exp(-z) at
/// e^88, so below z = -88 the quotient would be z·e^-88 (-6e-9 at z = -1e30): there SiLU is -0
/// (as z/(1 + e^-z) gives in float64 once e^-z overflows). At z = -Inf the definition's -Inf·0 =
/// NaN (the oracle, the reference and PyTorch's x·sigmoid(x) give NaN, and verify wants the same
/// non-finite values on every backend); +Inf gives +Inf and NaN stays NaN.
inline V::F hstu_silu_scaled(V::F z, V::F scale) {
  const V::F e = vexp(V::sub(V::zero(), z));
  V::F a = V::div(V::mul(z, scale), V::add(V::set1(1.0f), e));
  a = V::blend(V::lt(z, V::set1(-88.0f)), a, V::set1(-0.0f));
  return V::blend(V::eq(z, V::set1(ninf())), a, V::set1(qnan()));
}

/// Both SiLU(z)·scale (into *a) and SiLU'(z) = s + z·s·(1 - s) with s = 1/(1 + e), e = exp(-z),
/// 1 - s = e·s (no cancellation). Below z = -88 (e clamped, see above) both are 0 (SiLU -0; SiLU'
/// = e^z·(1 + z) + ... is below 1e-36 there). At z = ±Inf the definition's ±Inf·0 = NaN for SiLU'
/// (+Inf gives it by itself: s = 1, e·s = 0), and SiLU(-Inf) = NaN as above.
inline V::F hstu_silu_and_grad(V::F z, V::F scale, V::F* a) {
  const V::F e = vexp(V::sub(V::zero(), z));
  const V::F sg = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  const V::F silu = V::mul(z, sg);
  const V::M minf = V::eq(z, V::set1(ninf()));
  const V::M low = V::lt(z, V::set1(-88.0f));
  *a = V::blend(minf, V::blend(low, V::mul(silu, scale), V::set1(-0.0f)), V::set1(qnan()));
  return V::blend(minf, V::blend(low, V::fmadd(silu, V::mul(e, sg), sg), V::zero()), V::set1(qnan()));
}

/// St (logits) -> A = SiLU(z)·inv_norm in place, 0 at hidden pairs when PART.
/// revb: the reversed table at N-1+i0 (key j's row vector rv reads revb - j + rv·W).
template <bool POS, bool TIME, bool PART>
inline void act_tile(float* st, int64_t j0, int nc, const float* revb, const float* tt, const uint32_t* ab, V::F alpha, V::F inv_norm) {
#pragma GCC unroll 2
  for (int c = 0; c < nc; ++c) {
    const float* revj = POS ? revb - (j0 + c) : nullptr;
#pragma GCC unroll 8
    for (int rv = 0; rv < RV; ++rv) {
      const V::F z = logit<POS, TIME>(st, c, rv, revj, tt, alpha);
      V::F a = hstu_silu_scaled(z, inv_norm);
      if constexpr (PART) a = V::blend(V::from_bits(~ab[c * RV + rv] & kLanes), a, V::zero());
      V::store(st + c * BR + rv * W, a);
    }
  }
}

template <bool PART>
inline void act_tile_dispatch(bool pos, bool time, float* st, int64_t j0, int nc, const float* revb, const float* tt, const uint32_t* ab, V::F alpha, V::F inv_norm) {
  if (pos) {
    if (time) act_tile<true, true, PART>(st, j0, nc, revb, tt, ab, alpha, inv_norm);
    else act_tile<true, false, PART>(st, j0, nc, revb, tt, ab, alpha, inv_norm);
  } else {
    if (time) act_tile<false, true, PART>(st, j0, nc, revb, tt, ab, alpha, inv_norm);
    else act_tile<false, false, PART>(st, j0, nc, revb, tt, ab, alpha, inv_norm);
  }
}

/// Whether a row of x (rows of `cols` floats, stride ld) holds a non-finite value.
inline bool rows_nonfinite(const float* x, int64_t ld, int64_t rows, int64_t cols) {
  V::M bad = V::from_bits(0);
  for (int64_t r = 0; r < rows; ++r) {
    const float* xr = x + r * ld;
    int64_t e = 0;
    for (; e + W <= cols; e += W) bad = V::mor(bad, V::nonfinite(V::load(xr + e)));
    if (e < cols) bad = V::mor(bad, V::nonfinite(V::loadp(xr + e, static_cast<int>(cols - e))));
  }
  return V::any(bad);
}

inline bool bit_set(const uint32_t* ab, int c, int r) { return (ab[c * RV + r / W] >> (r % W)) & 1u; }

// ---------------------------------------------------------------- scratch ------------------------

inline int64_t round_w(int64_t n) { return (n + W - 1) / W * W; }

/// Per-task scratch, each piece on a 64-byte line (the forward leaves dot, dpt, tu, dacc unused).
struct Scratch {
  float* qt;      // [D][BR]   the block's q rows, transposed
  float* dot;     // [Dv][BR]  its dO rows, transposed (backward)
  float* st;      // [BC + NJ][BR] logits, then A
  float* dpt;     // [BC + NJ][BR] dO·Vᵀ, then alpha·dZ (backward)
  float* tt;      // [BC][BR] time bias of the tile's pairs
  int32_t* tu;    // [BC][BR] their buckets (backward)
  uint32_t* ab;   // [BC][RV] visible pairs of a partial tile
  float* acc;     // [BR][lda] the block's O (forward) or dQ (backward)
  float* zero;    // [max(D, Dv) + W] the padding key of qk_tile
  double* tq;     // [BR] query times
  RowVis* vis;    // [BR]
  int64_t lda;
};

/// Bytes of a task's scratch; the forward (bwd false) has no dot, dpt or tu (keeps it under
/// malloc's mmap threshold: a task's malloc then reuses freed memory instead of mapping pages).
inline size_t scratch_bytes(int64_t D, int64_t Dv, bool bwd) {
  const int64_t lda = round_w(imax(D, Dv));
  const int64_t floats = D * BR + (bwd ? Dv * BR : 0) + (bwd ? 2 : 1) * (BC + NJ) * BR + (bwd ? 2 : 1) * BC * BR + BC * RV + BR * lda + imax(D, Dv) + W + 2 * BR +
                         BR * static_cast<int64_t>(sizeof(RowVis) / sizeof(float) + 1) + 11 * 16;
  return static_cast<size_t>(floats) * sizeof(float) + 64;
}

inline Scratch carve(void* mem, int64_t D, int64_t Dv, bool bwd) {
  Scratch s;
  s.lda = round_w(imax(D, Dv));
  AlignedCarver c(mem);
  auto take = [&c](int64_t n) { return c.take(n); };
  s.qt = take(D * BR);
  s.dot = bwd ? take(Dv * BR) : nullptr;
  s.st = take((BC + NJ) * BR);
  s.dpt = bwd ? take((BC + NJ) * BR) : nullptr;
  s.tt = take(BC * BR);
  s.tu = bwd ? reinterpret_cast<int32_t*>(take(BC * BR)) : nullptr;
  s.ab = reinterpret_cast<uint32_t*>(take(BC * RV));
  s.acc = take(BR * s.lda);
  s.zero = take(imax(D, Dv) + W);
  s.tq = reinterpret_cast<double*>(take(2 * BR));
  s.vis = reinterpret_cast<RowVis*>(take(BR * static_cast<int64_t>(sizeof(RowVis) / sizeof(float) + 1)));
  for (int64_t d = 0; d < imax(D, Dv) + W; ++d) s.zero[d] = 0.0f;
  // Rows of a tile past its keys and lanes qk_tile skips: finite (hidden pairs select them away).
  for (int64_t e = 0; e < (BC + NJ) * BR; ++e) s.st[e] = 0.0f;
  if (bwd)
    for (int64_t e = 0; e < (BC + NJ) * BR; ++e) s.dpt[e] = 0.0f;
  return s;
}

/// What a query block needs: its rows' visibility, key tiling and query times.
struct QBlock {
  int64_t o, n, i0;
  int nr;
  BlockKeys keys;
  int64_t reach;  // every row i of the block sees no key past i + reach (qk_tile's causal cut)
};

inline void load_qblock(const HstuAttentionParams& p, const SeqMask& m, int64_t o, int64_t i0, int nr, QBlock& qb, Scratch& w) {
  qb.o = o;
  qb.n = m.n;
  qb.i0 = i0;
  qb.nr = nr;
  for (int r = 0; r < nr; ++r) row_vis(m, i0 + r, w.vis[r]);
  qb.keys = block_keys_of(w.vis, nr);
  qb.reach = -(int64_t(1) << 40);
  for (int r = 0; r < nr; ++r) qb.reach = imax(qb.reach, w.vis[r].b[w.vis[r].n - 1] - 1 - (i0 + r));
  if (p.timestamps && p.time_bias) {
    const double* ts = p.timestamps + o;
    for (int r = 0; r < nr; ++r) w.tq[r] = ts[imin(i0 + r + 1, m.n - 1)];
  }
}

/// Rows [0, n) of a scratch accumulator (row stride ld) into a strided output (n rows of cols).
inline void store_rows(float* dst, int64_t dst_ld, const float* acc, int64_t ld, int64_t n, int64_t cols) {
  for (int64_t r = 0; r < n; ++r) {
    float* d = dst + r * dst_ld;
    const float* a = acc + r * ld;
    int64_t e = 0;
    for (; e + W <= cols; e += W) V::store(d + e, V::load(a + e));
    if (e < cols) V::storep(d + e, V::load(a + e), static_cast<int>(cols - e));
  }
}

// ---------------------------------------------------------------- forward ------------------------

/// O += A·V over a partial tile: each chunk of MR rows stops at the last key one of its rows sees
/// (A is 0 beyond; V is finite here, so stopping changes nothing): the diagonal tile of a causal
/// block costs half a tile.
inline void av_partial(float* acc, int64_t lda, const float* st, const float* vb, int64_t vs, int nc, int nr, int64_t Dv, const RowVis* vis, int64_t j0) {
  for (int r0 = 0; r0 < nr; r0 += MR) {
    const int rows = static_cast<int>(imin(MR, nr - r0));
    int64_t last = j0;
    for (int r = r0; r < r0 + rows; ++r) last = imax(last, vis[r].b[vis[r].n - 1]);
    const int nk = static_cast<int>(imin(nc, last - j0));
    backward::acc_rows<BR, 1>(acc + r0 * lda, lda, st + r0, vb, vs, nk, rows, Dv);
  }
}

/// Rows [i0, i0 + nr) of sequence b (first row o, length n), head h.
inline void forward_block(const HstuAttentionParams& p, const Biases& bz, int64_t b, int64_t o, int64_t n, int64_t i0, int64_t h, Scratch& w) {
  const int64_t H = p.H, D = p.D, Dv = p.Dv, N = p.max_length;
  const int64_t qs = H * D, vs = H * Dv;
  const int nr = static_cast<int>(imin(BR, n - i0));
  const SeqMask m = seq_mask(p, b, n);
  QBlock qb;
  load_qblock(p, m, o, i0, nr, qb, w);
  const float* qbase = p.q + (o * H + h) * D;
  const float* kbase = p.k + (o * H + h) * D;
  const float* vbase = p.v + (o * H + h) * Dv;
  transpose_block(qbase + i0 * qs, nullptr, DType::f32, qs, D, nr, w.qt);
  for (int64_t e = 0; e < nr * w.lda; ++e) w.acc[e] = 0.0f;
  const V::F alpha = V::set1(p.alpha);
  const V::F inv_norm = V::set1(1.0f / static_cast<float>(p.norm_by_length ? n : N));
  const float* revb = bz.pos ? bz.rev + (p.pos_per_head ? h * bz.rev_ld : 0) + (N - 1 + i0) : nullptr;
  const float* tb = bz.time ? p.time_bias + (p.time_per_head ? h * (p.num_buckets + 1) : 0) : nullptr;
  const V::F unused = V::zero();
  for (int64_t j0 = qb.keys.kmin; j0 < qb.keys.kmax;) {
    const int nc = qb.keys.next(j0);
    const int cls = tile_class(w.vis, nr, j0, j0 + nc);
    if (cls != kNone) {
      // Partial tiles skip the row vectors that see none of a key group (their lanes are hidden
      // pairs, selected to 0 below whatever St holds there).
      qk_tile<false>(w.qt, D, kbase + j0 * qs, qs, j0, nc, w.zero, w.st, cls == kPartial, i0, qb.reach, unused, nullptr, nullptr);
      if (bz.time) time_tile(p, p.timestamps + o, w.tq, nr, j0, nc, tb, w.tt, nullptr);
      const float* vb = vbase + j0 * vs;
      if (cls == kFull) {
        act_tile_dispatch<false>(bz.pos, bz.time, w.st, j0, nc, revb, w.tt, nullptr, alpha, inv_norm);
        backward::acc_rows<BR, 1>(w.acc, w.lda, w.st, vb, vs, nc, nr, Dv);
      } else {
        visible_bits(w.vis, nr, j0, nc, w.ab);
        act_tile_dispatch<true>(bz.pos, bz.time, w.st, j0, nc, revb, w.tt, w.ab, alpha, inv_norm);
        if (rows_nonfinite(vb, vs, nc, Dv)) {
          // A hidden key's non-finite v must not reach the rows that do not see it (0·NaN): pair by pair.
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r) {
              if (!bit_set(w.ab, c, r)) continue;
              const float a = w.st[c * BR + r];
              for (int64_t e = 0; e < Dv; ++e) w.acc[r * w.lda + e] += a * vb[c * vs + e];
            }
        } else {
          av_partial(w.acc, w.lda, w.st, vb, vs, nc, nr, Dv, w.vis, j0);
        }
      }
    }
    j0 += nc;
  }
  store_rows(p.out + ((o + i0) * H + h) * Dv, vs, w.acc, w.lda, nr, Dv);
}

inline bool hstu_forward_run(const HstuAttentionParams& p) {
  if (p.B <= 0 || p.H <= 0 || p.offsets[p.B] <= 0) return true;
  // Tasks: (query block, head) over the sequences' blocks, fixed by the lengths alone. Under a
  // causal mask a sequence's later blocks cost the most: blocks are handed out by block index,
  // the last first (a counting sort), so the region ends on cheap tasks.
  int64_t nblocks = 0, maxblk = 0;
  for (int64_t b = 0; b < p.B; ++b) {
    const int64_t nbk = (p.offsets[b + 1] - p.offsets[b] + BR - 1) / BR;
    nblocks += nbk;
    maxblk = imax(maxblk, nbk);
  }
  int64_t* blocks = static_cast<int64_t*>(std::malloc(static_cast<size_t>(imax(1, nblocks)) * 2 * sizeof(int64_t)));
  int64_t* start = static_cast<int64_t*>(std::calloc(static_cast<size_t>(maxblk + 1), sizeof(int64_t)));
  Biases bz;
  bool oom = !blocks || !start || !make_biases(p, bz);
  if (!oom) {
    for (int64_t b = 0; b < p.B; ++b)  // start[x]: sequences with more than x blocks
      for (int64_t x = 0; x < (p.offsets[b + 1] - p.offsets[b] + BR - 1) / BR; ++x) ++start[x];
    int64_t at = 0;
    for (int64_t x = maxblk - 1; x >= 0; --x) {  // block index x: its slots, sequences in order
      const int64_t cnt = start[x];
      start[x] = at;
      at += cnt;
    }
    for (int64_t b = 0; b < p.B; ++b)
      for (int64_t x = 0; x < (p.offsets[b + 1] - p.offsets[b] + BR - 1) / BR; ++x) {
        const int64_t y = start[x]++;
        blocks[2 * y] = b;
        blocks[2 * y + 1] = x * BR;
      }
    const size_t bytes = scratch_bytes(p.D, p.Dv, false);
    auto body = [&](int64_t t0, int64_t t1) {
      void* mem = std::malloc(bytes);
      if (!mem) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        return;
      }
      Scratch w = carve(mem, p.D, p.Dv, false);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t blk = t / p.H, h = t % p.H, b = blocks[2 * blk];
        const int64_t o = p.offsets[b], n = p.offsets[b + 1] - o;
        forward_block(p, bz, b, o, n, blocks[2 * blk + 1], h, w);
      }
      std::free(mem);
    };
    attnkit::parallel_for_each(nblocks * p.H, body, 1);
  }
  std::free(bz.rev);
  std::free(blocks);
  std::free(start);
  return !oom;
}
