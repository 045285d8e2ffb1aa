// sdpa row path (included by sdpa_impl.h): one query row at a time over a chunk of keys; the
// decode shape (few rows, long S) splits the keys into chunks across tasks.
// ---------------------------------------------------------------- row path --------------------

/// o[0..NV*W) = Σ_k p[k]·v[k][..] over allowed keys (all when `allowed` is null); the last
/// vector holds `rem` lanes. V's elements are of type T (a half V is widened as it is loaded).
template <int NV, DType T>
inline void row_pv(float* o, const typename Ld<T>::E* vb, int64_t v_sj, const float* pk, const uint8_t* allowed, int64_t n, int rem) {
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
      const typename Ld<T>::E* vr = vb + k * v_sj;
#pragma GCC unroll 16
      for (int u = 0; u < NV - 1; ++u) acc[ku][u] = V::fmadd(pb, Ld<T>::load(vr + u * W), acc[ku][u]);
      acc[ku][NV - 1] = V::fmadd(pb, part ? Ld<T>::loadp(vr + (NV - 1) * W, rem) : Ld<T>::load(vr + (NV - 1) * W), acc[ku][NV - 1]);
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

template <DType T>
inline void row_pv_dispatch(int nvec, int rem, float* o, const typename Ld<T>::E* vb, int64_t v_sj, const float* pk, const uint8_t* allowed, int64_t n) {
  static_assert(NVR == 8, "row_pv_dispatch covers 1..8 vectors");
  switch (nvec) {
    case 1: row_pv<1, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 2: row_pv<2, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 3: row_pv<3, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 4: row_pv<4, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 5: row_pv<5, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 6: row_pv<6, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    case 7: row_pv<7, T>(o, vb, v_sj, pk, allowed, n, rem); break;
    default: row_pv<8, T>(o, vb, v_sj, pk, allowed, n, rem); break;
  }
}

/// sbuf[t] = scale·(q · k[c0 + t]) for t < n, four keys at a time (independent accumulators over
/// d); K's elements are of type T (a half K is widened as it is loaded, in registers).
template <DType T>
inline void row_logits(const float* qr, const typename Ld<T>::E* kb, int64_t k_sj, int64_t c0, int64_t n, int64_t D, float scale, float* sbuf) {
  for (int64_t t0 = 0; t0 < n; t0 += 4) {
    const typename Ld<T>::E* kp[4];
    for (int u = 0; u < 4; ++u) kp[u] = kb + (c0 + (t0 + u < n ? t0 + u : t0)) * k_sj;
    constexpr int PF = T == DType::f32 ? 0 : 4;
    if constexpr (PF > 0) {
      // Prefetch the key rows PF steps ahead (every 64-byte line of the 4 rows).
      const char* ahead = reinterpret_cast<const char*>(kb + (c0 + imin(n - 1, t0 + 4 * PF)) * k_sj);
      for (int64_t b = 0; b < 4 * D * static_cast<int64_t>(sizeof(typename Ld<T>::E)); b += 64) __builtin_prefetch(ahead + b, 0, 0);
    }
    V::F a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
    int64_t d = 0;
    for (; d + W <= D; d += W) {
      const V::F qv = V::load(qr + d);
      a0 = V::fmadd(qv, Ld<T>::load(kp[0] + d), a0);
      a1 = V::fmadd(qv, Ld<T>::load(kp[1] + d), a1);
      a2 = V::fmadd(qv, Ld<T>::load(kp[2] + d), a2);
      a3 = V::fmadd(qv, Ld<T>::load(kp[3] + d), a3);
    }
    if (d < D) {
      const int rem = static_cast<int>(D - d);
      const V::F qv = V::loadp(qr + d, rem);
      a0 = V::fmadd(qv, Ld<T>::loadp(kp[0] + d, rem), a0);
      a1 = V::fmadd(qv, Ld<T>::loadp(kp[1] + d, rem), a1);
      a2 = V::fmadd(qv, Ld<T>::loadp(kp[2] + d, rem), a2);
      a3 = V::fmadd(qv, Ld<T>::loadp(kp[3] + d, rem), a3);
    }
    float r4[4];
    V::hsum4(a0, a1, a2, a3, r4);
    for (int u = 0; u < 4 && t0 + u < n; ++u) sbuf[t0 + u] = r4[u] * scale;
  }
}

/// One row over keys [c0, c1) ∩ its candidate range [s0, e): logits into sbuf (excluded = -Inf),
/// allowed flags into abuf (both indexed by key - c0; entries outside [s0, e) are not written),
/// then p = exp(s - m) in sbuf (normalised by 1/l when `normalize`), o = Σ allowed p·v.
/// With `lrow`, the logits (after softcap, bias and exclusions) are also copied to lrow[key - c0].
/// Returns the partial (m, l, flag); o has Dv entries (unnormalised unless `normalize`).
/// `qbuf` (D floats) receives the query row widened when q is half (unused otherwise).
inline void row_chunk(const SdpaParams& p, const Geo& g, int64_t i, int64_t c0, int64_t c1, float* sbuf, uint8_t* abuf, double* dbuf, float* o,
                      bool normalize, float& m_out, float& l_out, bool& flag_out, float* qbuf, float* lrow = nullptr) {
  const int64_t D = p.D, Dv = p.Dv;
  const int64_t e = imin(c1, row_end(p, g, i));
  const int64_t s0 = imax(c0, row_start(p, g, i));
  const int64_t n = imax(0, e - s0);
  m_out = ninf();
  l_out = 0.0f;
  flag_out = false;
  for (int64_t d = 0; d < Dv; ++d) o[d] = 0.0f;
  if (n == 0) return;
  // From here on, index t is key s0 + t.
  sbuf += s0 - c0;
  abuf += s0 - c0;
  if (dbuf) dbuf += s0 - c0;
  if (lrow) lrow += s0 - c0;
  c0 = s0;
  const float* qr;
  if (g.q) {
    qr = g.q + i * p.q_si;
  } else {  // a half query row, widened once for the chunk
    widen_rows(qbuf, D, g.q16 + i * p.q_si, D, 1, D, p.q_type);
    qr = qbuf;
  }
  // Logits, four keys at a time.
  if (g.k) row_logits<DType::f32>(qr, g.k, p.k_sj, c0, n, D, p.scale, sbuf);
  else if (p.k_type == DType::bf16) row_logits<DType::bf16>(qr, g.k16, p.k_sj, c0, n, D, p.scale, sbuf);
  else row_logits<DType::f16>(qr, g.k16, p.k_sj, c0, n, D, p.scale, sbuf);
  if (p.softcap > 0.0f) softcap_row(sbuf, n, p.softcap);
  // Exclusions, bias, NaN/+Inf flag, max.
  float m = ninf();
  float shift = 0.0f;  // the exp pass computes exp(s - shift)
  bool flag = false;
  bool all_allowed = true;
  if (!g.mask && !has_bias(g)) {
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
    if (lrow)
      for (int64_t u = 0; u < n; ++u) lrow[u] = sbuf[u];
  } else {
    // Mask / bias: logits in double so that a large bias (±1e4) does not round away the dot
    // products' differences; the exp pass then gets s - max already formed in double.
    all_allowed = false;
    double md = -__builtin_inf();
    for (int64_t t = 0; t < n; ++t) {
      const int64_t j = c0 + t;
      double x = sbuf[t];
      bool ok = !g.mask || g.mask[i * p.mask_s[2] + j * p.mask_s[3]] != 0;
      if (ok && has_bias(g)) x += static_cast<double>(bias_at(p, g, i * p.bias_s[2] + j * p.bias_s[3]));
      if (ok && x == -__builtin_inf()) ok = false;
      abuf[t] = ok ? 1 : 0;
      dbuf[t] = ok ? x : -__builtin_inf();
      if (lrow) lrow[t] = ok ? static_cast<float>(x) : ninf();
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
  const uint8_t* allowed = all_allowed ? nullptr : abuf;
  for (int64_t e0 = 0; e0 < Dv; e0 += NVR * W) {
    const int64_t span = imin(NVR * W, Dv - e0);
    const int nvec = static_cast<int>((span + W - 1) / W);
    const int rem = static_cast<int>(span - (nvec - 1) * W);
    const int64_t at = c0 * p.v_sj + e0;
    if (g.v) row_pv_dispatch<DType::f32>(nvec, rem, o + e0, g.v + at, p.v_sj, sbuf, allowed, n);
    else if (p.v_type == DType::bf16) row_pv_dispatch<DType::bf16>(nvec, rem, o + e0, g.v16 + at, p.v_sj, sbuf, allowed, n);
    else row_pv_dispatch<DType::f16>(nvec, rem, o + e0, g.v16 + at, p.v_sj, sbuf, allowed, n);
  }
  m_out = m;
  l_out = l;
}


// The row path's driver: keys in chunks of CHUNK when L is tiny (decode), else one chunk per row;
// with several chunks, each task leaves partials that sdpa_merge_chunks combines in chunk order.
inline bool sdpa_merge_chunks(const SdpaParams& p, float* part, int64_t nch, int64_t PS);

inline bool sdpa_row_path(const SdpaParams& p) {
  const int64_t B = p.B, Hq = p.Hq, Hkv = p.Hkv, L = p.L, S = p.S, Dv = p.Dv;
  bool oom = false;
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
  const bool qhalf = p.q == nullptr;
  const bool on_stack = csize <= kStackKeys && Dv <= kStackDv && (!qhalf || p.D <= kStackDv);
  const bool mb = p.mask || has_bias(p);
  auto body = [&](int64_t t0, int64_t t1) {
    float* sbuf;
    uint8_t* abuf;
    double* dbuf = nullptr;
    float* qbuf = nullptr;  // the widened query row (half q)
    alignas(64) float stack_f[kStackKeys + 16 + kStackDv];
    alignas(64) uint8_t stack_a[kStackKeys + 16];
    alignas(64) double stack_d[kStackKeys];
    alignas(64) float stack_q[kStackDv];
    if (on_stack) {
      sbuf = stack_f;
      abuf = stack_a;
      if (mb) dbuf = stack_d;
      if (qhalf) qbuf = stack_q;
    } else {
      sbuf = static_cast<float*>(std::malloc(static_cast<size_t>(csize + W + Dv + (qhalf ? p.D : 0)) * sizeof(float)));
      abuf = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(csize + W)));
      dbuf = mb ? static_cast<double*>(std::malloc(static_cast<size_t>(csize) * sizeof(double))) : nullptr;
      if (!sbuf || !abuf || (mb && !dbuf)) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        std::free(sbuf);
        std::free(abuf);
        std::free(dbuf);
        return;
      }
      if (qhalf) qbuf = sbuf + csize + W + Dv;
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
          row_chunk(p, g, i, c0, c1, sbuf, abuf, dbuf, obuf, false, m, l, flag, qbuf);
          write_row_result(p, g, b, h, i, obuf, m, l, flag);
          continue;
        }
        float* rec = part + (((b * Hq + h) * L + i) * nch + c) * PS;
        row_chunk(p, g, i, c0, c1, sbuf, abuf, dbuf, rec + 4, false, m, l, flag, qbuf);
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
  return sdpa_merge_chunks(p, part, nch, PS);
}

// Merge each row's chunk partials (max, sum, output) by log-sum-exp rescaling, in chunk order
// (so the result does not depend on which thread ran which chunk); frees `part`.
inline bool sdpa_merge_chunks(const SdpaParams& p, float* part, int64_t nch, int64_t PS) {
  const int64_t B = p.B, Hq = p.Hq, L = p.L, Dv = p.Dv;
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
