// Generic layerNorm over V (included inside an ISA region + anonymous namespace after V).
using attnkit::LayerNormParams;

inline int64_t ln_min(int64_t a, int64_t b) { return a < b ? a : b; }

// mean_out / inv_out (nullable): where the row's mean (x0 + delta) and 1/sqrt(var + eps) go: the
// values the row is normalised with below.
inline void layerNorm_row(const float* x, float* out, int64_t C, const float* gamma, const float* beta, float eps,
                          float* mean_out, float* inv_out) {
  // Shifted by the row's first value x0 (exact for nearby values, Sterbenz), so a large common
  // offset does not cost the mean its precision: mean = x0 + delta, delta = Σ(x - x0)/C; then
  // d = (x - x0) - delta, var = Σd²/C, and the two-pass correction corr = Σd/C (the rounding
  // left in delta: without it a row whose mean is small beside its spread, e.g. U(-1,1) over
  // 4096 columns, got its mean only to ~3e-5 relative on the scalar path). The output is
  // normalised with delta + corr, the mean returned. Fixed accumulation order (4 vector accumulators).
  const V::F x0 = V::set1(x[0]);
  V::F a0 = V::zero(), a1 = V::zero(), a2 = V::zero(), a3 = V::zero();
  int64_t j = 0;
  for (; j + 4 * W <= C; j += 4 * W) {
    a0 = V::add(a0, V::sub(V::load(x + j), x0));
    a1 = V::add(a1, V::sub(V::load(x + j + W), x0));
    a2 = V::add(a2, V::sub(V::load(x + j + 2 * W), x0));
    a3 = V::add(a3, V::sub(V::load(x + j + 3 * W), x0));
  }
  for (; j + W <= C; j += W) a0 = V::add(a0, V::sub(V::load(x + j), x0));
  if (j < C) {
    const int rem = static_cast<int>(C - j);
    a1 = V::add(a1, V::blend(V::from_bits((1u << rem) - 1u), V::zero(), V::sub(V::loadp(x + j, rem), x0)));
  }
  const float dl = V::hsum(V::add(V::add(a0, a1), V::add(a2, a3))) / static_cast<float>(C);
  V::F delta = V::set1(dl);
  a0 = a1 = a2 = a3 = V::zero();
  V::F c0 = V::zero(), c1 = V::zero();
  for (j = 0; j + 4 * W <= C; j += 4 * W) {
    V::F d0 = V::sub(V::sub(V::load(x + j), x0), delta), d1 = V::sub(V::sub(V::load(x + j + W), x0), delta);
    V::F d2 = V::sub(V::sub(V::load(x + j + 2 * W), x0), delta), d3 = V::sub(V::sub(V::load(x + j + 3 * W), x0), delta);
    a0 = V::fmadd(d0, d0, a0);
    a1 = V::fmadd(d1, d1, a1);
    a2 = V::fmadd(d2, d2, a2);
    a3 = V::fmadd(d3, d3, a3);
    c0 = V::add(c0, V::add(d0, d1));
    c1 = V::add(c1, V::add(d2, d3));
  }
  for (; j + W <= C; j += W) {
    V::F d = V::sub(V::sub(V::load(x + j), x0), delta);
    a0 = V::fmadd(d, d, a0);
    c0 = V::add(c0, d);
  }
  if (j < C) {
    const int rem = static_cast<int>(C - j);
    V::F d = V::blend(V::from_bits((1u << rem) - 1u), V::zero(), V::sub(V::sub(V::loadp(x + j, rem), x0), delta));
    a1 = V::fmadd(d, d, a1);
    c1 = V::add(c1, d);
  }
  const float var = V::hsum(V::add(V::add(a0, a1), V::add(a2, a3))) / static_cast<float>(C);
  const float corr = V::hsum(V::add(c0, c1)) / static_cast<float>(C);
  const float inv = 1.0f / __builtin_sqrtf(var + eps);
  const float m1 = x[0] + dl;  // exact when x0 and -dl are within a factor 2 (Sterbenz)
  if (mean_out) {
    float m = m1 + corr;
    if (!(m - m == 0.0f)) {
      // A row with ±Inf or NaN: the shifted sums give NaN (Inf - Inf); the mean of the values
      // themselves is ±Inf or NaN, as reference has it (a double sum of the row).
      double sum = 0.0;
      for (int64_t c = 0; c < C; ++c) sum += x[c];
      m = static_cast<float>(sum / static_cast<double>(C));
    }
    *mean_out = m;
  }
  if (inv_out) *inv_out = inv;
  const V::F iv = V::set1(inv);
  delta = V::set1(dl + corr);
  for (j = 0; j < C; j += W) {
    const int n = static_cast<int>(ln_min(W, C - j));
    V::F y = V::mul(V::sub(V::sub(n == W ? V::load(x + j) : V::loadp(x + j, n), x0), delta), iv);
    if (gamma) y = V::mul(y, n == W ? V::load(gamma + j) : V::loadp(gamma + j, n));
    if (beta) y = V::add(y, n == W ? V::load(beta + j) : V::loadp(beta + j, n));
    if (n == W) V::store(out + j, y);
    else V::storep(out + j, y, n);
  }
}

inline void layerNorm_run(const LayerNormParams& p) {
  const int64_t C = p.cols;
  const int64_t per = C >= 8192 ? 1 : 8192 / C;
  const int64_t ntask = (p.rows + per - 1) / per;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t r = t * per; r < ln_min(p.rows, (t + 1) * per); ++r)
        layerNorm_row(p.x + r * C, p.out + r * C, C, p.gamma, p.beta, p.eps, p.mean ? p.mean + r : nullptr,
                      p.invStd ? p.invStd + r : nullptr);
  };
  attnkit::parallel_for_each(ntask, body, 1);
}
