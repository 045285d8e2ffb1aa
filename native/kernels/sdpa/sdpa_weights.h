// sdpa weights path (included by sdpa_impl.h, after sdpa_row.h: it reuses row_chunk).

// ---------------------------------------------------------------- weights path ---------------

// Weights path: tasks of up to 8 rows of one (b, h); each row's logits are written into its
// weights row (scratch when only the logits are asked for), normalised there, and the output
// summed with exactly those probabilities.
inline bool sdpa_weights_path(const SdpaParams& p) {
  const int64_t B = p.B, Hq = p.Hq, L = p.L, S = p.S, Dv = p.Dv;
  bool oom = false;
  constexpr int64_t RB = 8;
  const int64_t nrb = (L + RB - 1) / RB;
  auto body = [&](int64_t t0, int64_t t1) {
    uint8_t* abuf = static_cast<uint8_t*>(std::malloc(static_cast<size_t>(S > 0 ? S : 1)));
    float* o = static_cast<float*>(std::malloc(static_cast<size_t>(Dv) * sizeof(float)));
    const bool mb = p.mask || has_bias(p);
    double* dbuf = mb ? static_cast<double*>(std::malloc(static_cast<size_t>(S) * sizeof(double))) : nullptr;
    float* scratch = p.weights ? nullptr : static_cast<float*>(std::malloc(static_cast<size_t>(S) * sizeof(float)));
    float* qbuf = p.q ? nullptr : static_cast<float*>(std::malloc(static_cast<size_t>(p.D) * sizeof(float)));  // a widened half query row
    if (!abuf || !o || (mb && !dbuf) || (!p.weights && !scratch) || (!p.q && !qbuf)) {
      __atomic_store_n(&oom, true, __ATOMIC_RELAXED);
      std::free(abuf);
      std::free(o);
      std::free(dbuf);
      std::free(scratch);
      std::free(qbuf);
      return;
    }
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t bh = t / nrb, rb = t % nrb;
      const int64_t b = bh / Hq, h = bh % Hq;
      const Geo g = geo(p, b, h);
      for (int64_t i = rb * RB; i < imin(L, rb * RB + RB); ++i) {
        const int64_t row = (b * Hq + h) * L + i;
        float* wrow = p.weights ? p.weights + row * S : scratch;
        float* lrow = p.logits ? p.logits + row * S : nullptr;
        float m, l;
        bool flag;
        row_chunk(p, g, i, 0, S, wrow, abuf, dbuf, o, true, m, l, flag, qbuf, lrow);
        // Candidate keys [lo, n); weights and logits outside it are 0 and -Inf.
        const int64_t n = imax(0, imin(S, row_end(p, g, i)));
        const int64_t lo = imin(n, row_start(p, g, i));
        if (lrow) {
          for (int64_t j = 0; j < lo; ++j) lrow[j] = ninf();
          for (int64_t j = n; j < S; ++j) lrow[j] = ninf();
        }
        if (p.weights) {
          if (flag) {
            for (int64_t j = 0; j < S; ++j) wrow[j] = (j >= lo && j < n && abuf[j]) ? qnan() : 0.0f;
          } else if (!(l > 0.0f)) {
            for (int64_t j = 0; j < S; ++j) wrow[j] = 0.0f;
          } else {
            for (int64_t j = 0; j < lo; ++j) wrow[j] = 0.0f;
            for (int64_t j = n; j < S; ++j) wrow[j] = 0.0f;
          }
        }
        // o was summed with the normalised weights: write it as is (sum 1), then the true lse.
        write_row_result(p, g, b, h, i, o, m, l > 0.0f ? 1.0f : 0.0f, flag);
        if (p.lse && !flag && l > 0.0f) p.lse[row] = m + __builtin_logf(l);
      }
    }
    std::free(abuf);
    std::free(o);
    std::free(dbuf);
    std::free(scratch);
    std::free(qbuf);
  };
  attnkit::parallel_for_each(B * Hq * nrb, body, 1);
  return !oom;
}
