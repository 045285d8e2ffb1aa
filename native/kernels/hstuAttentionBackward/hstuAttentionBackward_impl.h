// Generic HSTU attention backward over the vector traits V (attnkit/hstuAttentionBackward.h has
// the math). Included by generic_kernels.h INSIDE namespace sdpa_k::hstu, after
// hstuAttention_impl.h (its mask geometry, tiling, biases, scratch and activations).
// Defines `bool hstu_backward_run(const attnkit::HstuAttentionBackwardParams&)` (false = out of
// memory).
//
// Per visible tile (rows of a query block x keys), recomputed from q, k, v (nothing saved):
//   St = Q·Kᵀ, dPt = dO·Vᵀ (qk_tile twice), z = alpha·St + biases,
//   A = SiLU(z)/norm, dZ = dP/norm·SiLU'(z) (both 0 at hidden pairs, by selection),
// then dQ += alpha·dZ·K (block scratch), dK += alpha·dZᵀ·Q and dV += Aᵀ·dO (in place) through
// backward::acc_rows, and dZ of every visible pair into the task's double bias tables. A partial
// tile with a non-finite q / dO row (dK, dV) or k row (dQ) sums pair by pair, skipping hidden pairs.

using attnkit::HstuAttentionBackwardParams;

/// A group of consecutive sequences whose Σ n² reaches this is one task (per head): many short
/// sequences share a task (and its bias tables) instead of one task each.
constexpr int64_t kGroupWork = int64_t(1) << 16;

/// logits and dP -> A (in st) and alpha·dZ (in dpt) in place; dZ of each visible pair of a real
/// row added to dpos (index j - i + pc) and dtime (its bucket) when they are set.
template <bool POS, bool TIME, bool PART>
inline void grad_tile(float* st, float* dpt, int64_t i0, int nr, int64_t j0, int nc, const float* revb, const float* tt, const int32_t* tu, const uint32_t* ab, V::F alpha,
                      V::F inv_norm, double* dpos, int64_t pc, double* dtime) {
  for (int c = 0; c < nc; ++c) {
    const float* revj = POS ? revb - (j0 + c) : nullptr;
    for (int rv = 0; rv < RV; ++rv) {
      const V::F z = logit<POS, TIME>(st, c, rv, revj, tt, alpha);
      V::F a;
      const V::F g = hstu_silu_and_grad(z, inv_norm, &a);
      V::F dz = V::mul(V::mul(V::load(dpt + c * BR + rv * W), inv_norm), g);
      uint32_t vis = kLanes;
      if constexpr (PART) {
        vis = ab[c * RV + rv] & kLanes;
        const V::M hid = V::from_bits(~vis & kLanes);
        a = V::blend(hid, a, V::zero());
        dz = V::blend(hid, dz, V::zero());
      }
      V::store(st + c * BR + rv * W, a);
      V::store(dpt + c * BR + rv * W, V::mul(dz, alpha));
      if (dpos || dtime) {
        alignas(64) float dzv[W];
        V::store(dzv, dz);
        const int real = static_cast<int>(imax(0, imin(W, nr - rv * W)));
        for (int t = 0; t < real; ++t) {
          if (!((vis >> t) & 1u)) continue;
          const int r = rv * W + t;
          if (dpos) dpos[(j0 + c) - (i0 + r) + pc] += dzv[t];
          if (dtime) {
            dtime[tu[c * BR + r]] += dzv[t];
          }
        }
      }
    }
  }
}

template <bool PART>
inline void grad_tile_dispatch(bool pos, bool time, float* st, float* dpt, int64_t i0, int nr, int64_t j0, int nc, const float* revb, const float* tt, const int32_t* tu,
                               const uint32_t* ab, V::F alpha, V::F inv_norm, double* dpos, int64_t pc, double* dtime) {
  if (pos) {
    if (time) grad_tile<true, true, PART>(st, dpt, i0, nr, j0, nc, revb, tt, tu, ab, alpha, inv_norm, dpos, pc, dtime);
    else grad_tile<true, false, PART>(st, dpt, i0, nr, j0, nc, revb, tt, tu, ab, alpha, inv_norm, dpos, pc, dtime);
  } else {
    if (time) grad_tile<false, true, PART>(st, dpt, i0, nr, j0, nc, revb, tt, tu, ab, alpha, inv_norm, dpos, pc, dtime);
    else grad_tile<false, false, PART>(st, dpt, i0, nr, j0, nc, revb, tt, tu, ab, alpha, inv_norm, dpos, pc, dtime);
  }
}

/// Sequence b (first row o, length n), head h: dQ of every row, dK and dV of every key; dZ into
/// the task's tables dpos (centre pc) and dtime.
inline void backward_sequence(const HstuAttentionBackwardParams& bp, const Biases& bz, int64_t b, int64_t h, Scratch& w, double* dpos, int64_t pc, double* dtime) {
  const HstuAttentionParams& p = bp.fwd;
  const int64_t o = p.offsets[b], n = p.offsets[b + 1] - o;
  if (n <= 0) return;
  const int64_t H = p.H, D = p.D, Dv = p.Dv, N = p.max_length;
  const int64_t qs = H * D, vs = H * Dv;
  const SeqMask m = seq_mask(p, b, n);
  const float* qbase = p.q + (o * H + h) * D;
  const float* kbase = p.k + (o * H + h) * D;
  const float* vbase = p.v + (o * H + h) * Dv;
  const float* dobase = bp.dout + (o * H + h) * Dv;
  float* dk = bp.dk + (o * H + h) * D;
  float* dv = bp.dv + (o * H + h) * Dv;
  for (int64_t j = 0; j < n; ++j) {
    for (int64_t d = 0; d < D; ++d) dk[j * qs + d] = 0.0f;
    for (int64_t e = 0; e < Dv; ++e) dv[j * vs + e] = 0.0f;
  }
  const V::F alpha = V::set1(p.alpha);
  const V::F inv_norm = V::set1(1.0f / static_cast<float>(p.norm_by_length ? n : N));
  const float* tb = bz.time ? p.time_bias + (p.time_per_head ? h * (p.num_buckets + 1) : 0) : nullptr;
  const V::F unused = V::zero();
  for (int64_t i0 = 0; i0 < n; i0 += BR) {
    const int nr = static_cast<int>(imin(BR, n - i0));
    QBlock qb;
    load_qblock(p, m, o, i0, nr, qb, w);
    const float* qrows = qbase + i0 * qs;
    const float* dorows = dobase + i0 * vs;
    transpose_block(qrows, nullptr, DType::f32, qs, D, nr, w.qt);
    transpose_block(dorows, nullptr, DType::f32, vs, Dv, nr, w.dot);
    const bool rows_bad = rows_nonfinite(qrows, qs, nr, D) || rows_nonfinite(dorows, vs, nr, Dv);
    for (int64_t e = 0; e < nr * w.lda; ++e) w.acc[e] = 0.0f;
    const float* revb = bz.pos ? bz.rev + (p.pos_per_head ? h * bz.rev_ld : 0) + (N - 1 + i0) : nullptr;
    for (int64_t j0 = qb.keys.kmin; j0 < qb.keys.kmax;) {
      const int nc = qb.keys.next(j0);
      const int cls = tile_class(w.vis, nr, j0, j0 + nc);
      if (cls != kNone) {
        const float* kb = kbase + j0 * qs;
        // Partial tiles skip the row vectors that see none of a key group (hidden lanes: selected to 0).
        const bool cut = cls == kPartial;
        qk_tile<false>(w.qt, D, kb, qs, j0, nc, w.zero, w.st, cut, i0, qb.reach, unused, nullptr, nullptr);
        qk_tile<false>(w.dot, Dv, vbase + j0 * vs, vs, j0, nc, w.zero, w.dpt, cut, i0, qb.reach, unused, nullptr, nullptr);
        if (bz.time) time_tile(p, p.timestamps + o, w.tq, nr, j0, nc, tb, w.tt, w.tu);
        const bool part = cls == kPartial;
        if (part) {
          visible_bits(w.vis, nr, j0, nc, w.ab);
          grad_tile_dispatch<true>(bz.pos, bz.time, w.st, w.dpt, i0, nr, j0, nc, revb, w.tt, w.tu, w.ab, alpha, inv_norm, dpos, pc, dtime);
        } else {
          grad_tile_dispatch<false>(bz.pos, bz.time, w.st, w.dpt, i0, nr, j0, nc, revb, w.tt, w.tu, nullptr, alpha, inv_norm, dpos, pc, dtime);
        }
        // dQ += (alpha·dZ)·K
        if (part && rows_nonfinite(kb, qs, nc, D)) {
          for (int r = 0; r < nr; ++r)
            for (int c = 0; c < nc; ++c) {
              if (!bit_set(w.ab, c, r)) continue;
              const float g = w.dpt[c * BR + r];
              for (int64_t d = 0; d < D; ++d) w.acc[r * w.lda + d] += g * kb[c * qs + d];
            }
        } else {
          backward::acc_rows<BR, 1>(w.acc, w.lda, w.dpt, kb, qs, nc, nr, D);
        }
        // dK += (alpha·dZ)ᵀ·Q, dV += Aᵀ·dO
        float* dkt = dk + j0 * qs;
        float* dvt = dv + j0 * vs;
        if (part && rows_bad) {
          for (int c = 0; c < nc; ++c)
            for (int r = 0; r < nr; ++r) {
              if (!bit_set(w.ab, c, r)) continue;
              const float g = w.dpt[c * BR + r], a = w.st[c * BR + r];
              for (int64_t d = 0; d < D; ++d) dkt[c * qs + d] += g * qrows[r * qs + d];
              for (int64_t e = 0; e < Dv; ++e) dvt[c * vs + e] += a * dorows[r * vs + e];
            }
        } else {
          backward::acc_rows<1, BR>(dkt, qs, w.dpt, qrows, qs, nr, nc, D);
          backward::acc_rows<1, BR>(dvt, vs, w.st, dorows, vs, nr, nc, Dv);
        }
      }
      j0 += nc;
    }
    store_rows(bp.dq + ((o + i0) * H + h) * D, qs, w.acc, w.lda, nr, D);
  }
}

inline bool hstu_backward_run(const HstuAttentionBackwardParams& bp) {
  const HstuAttentionParams& p = bp.fwd;
  if (p.B <= 0 || p.H <= 0) return true;
  const int64_t H = p.H, N = p.max_length, nb1 = p.num_buckets + 1;
  // Groups of consecutive sequences: [gs[g], gs[g+1]), cut from the lengths alone.
  int64_t* gs = static_cast<int64_t*>(std::malloc(static_cast<size_t>(p.B + 1) * sizeof(int64_t)));
  int64_t* gmax = static_cast<int64_t*>(std::malloc(static_cast<size_t>(p.B + 1) * sizeof(int64_t)));
  int64_t* gpos = static_cast<int64_t*>(std::malloc(static_cast<size_t>(p.B + 1) * sizeof(int64_t)));
  Biases bz;
  bool oom = !gs || !gmax || !gpos || !make_biases(p, bz);
  double* dpos_all = nullptr;
  double* dtime_all = nullptr;
  int64_t ng = 0;
  const bool want_pos = bz.pos && bp.dpos_bias;
  const bool want_time = bz.time && bp.dtime_bias;
  if (!oom) {
    int64_t work = 0, mx = 0, pos_total = 0;
    gs[0] = 0;
    for (int64_t b = 0; b < p.B; ++b) {
      const int64_t n = p.offsets[b + 1] - p.offsets[b];
      work += n * n;
      mx = imax(mx, n);
      if (work >= kGroupWork || b == p.B - 1) {
        gmax[ng] = mx;
        gpos[ng] = pos_total;
        pos_total += (mx > 0 ? 2 * mx - 1 : 0) * H;
        gs[++ng] = b + 1;
        work = 0;
        mx = 0;
      }
    }
    if (want_pos) {
      dpos_all = static_cast<double*>(std::calloc(static_cast<size_t>(imax(1, pos_total)), sizeof(double)));
      if (!dpos_all) oom = true;
    }
    if (want_time) {
      dtime_all = static_cast<double*>(std::calloc(static_cast<size_t>(ng * H * nb1), sizeof(double)));
      if (!dtime_all) oom = true;
    }
  }
  if (!oom) {
    const size_t bytes = scratch_bytes(p.D, p.Dv, true);
    auto body = [&](int64_t t0, int64_t t1) {
      void* mem = std::malloc(bytes);
      if (!mem) {
        __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
        return;
      }
      Scratch w = carve(mem, p.D, p.Dv, true);
      for (int64_t t = t0; t < t1; ++t) {
        const int64_t g = t / H, h = t % H;
        const int64_t pc = gmax[g] - 1;
        double* dpos = want_pos ? dpos_all + gpos[g] + h * (2 * gmax[g] - 1) : nullptr;
        double* dtime = want_time ? dtime_all + t * nb1 : nullptr;
        for (int64_t b = gs[g]; b < gs[g + 1]; ++b) backward_sequence(bp, bz, b, h, w, dpos, pc, dtime);
      }
      std::free(mem);
    };
    attnkit::parallel_for_each(ng * H, body, 1);
  }
  if (!oom) {
    // The bias gradients: the tasks' tables added in task order (group, then head), in double.
    if (want_pos) {
      const int64_t len = 2 * N - 1, hp = p.pos_per_head ? H : 1;
      double* acc = static_cast<double*>(std::calloc(static_cast<size_t>(hp * len), sizeof(double)));
      if (!acc) {
        oom = true;
      } else {
        for (int64_t g = 0; g < ng; ++g) {
          const int64_t mxg = gmax[g];
          if (mxg <= 0) continue;
          for (int64_t h = 0; h < H; ++h) {
            const double* t = dpos_all + gpos[g] + h * (2 * mxg - 1);
            double* a = acc + (p.pos_per_head ? h * len : 0) + (N - 1) - (mxg - 1);
            for (int64_t d = 0; d < 2 * mxg - 1; ++d) a[d] += t[d];
          }
        }
        for (int64_t e = 0; e < hp * len; ++e) bp.dpos_bias[e] = static_cast<float>(acc[e]);
        std::free(acc);
      }
    } else if (bp.dpos_bias) {
      const int64_t len = (2 * N - 1) * (p.pos_per_head ? H : 1);
      for (int64_t e = 0; e < len; ++e) bp.dpos_bias[e] = 0.0f;
    }
    if (want_time) {
      const int64_t hp = p.time_per_head ? H : 1;
      double* acc = static_cast<double*>(std::calloc(static_cast<size_t>(hp * nb1), sizeof(double)));
      if (!acc) {
        oom = true;
      } else {
        for (int64_t t = 0; t < ng * H; ++t) {
          double* a = acc + (p.time_per_head ? (t % H) * nb1 : 0);
          for (int64_t u = 0; u < nb1; ++u) a[u] += dtime_all[t * nb1 + u];
        }
        for (int64_t e = 0; e < hp * nb1; ++e) bp.dtime_bias[e] = static_cast<float>(acc[e]);
        std::free(acc);
      }
    } else if (bp.dtime_bias) {
      const int64_t len = nb1 * (p.time_per_head ? H : 1);
      for (int64_t e = 0; e < len; ++e) bp.dtime_bias[e] = 0.0f;
    }
  }
  std::free(dpos_all);
  std::free(dtime_all);
  std::free(bz.rev);
  std::free(gs);
  std::free(gmax);
  std::free(gpos);
  return !oom;
}
