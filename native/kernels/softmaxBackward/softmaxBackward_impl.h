// Generic softmaxBackward over V (included inside an ISA region + anonymous namespace after V).
using attnkit::SoftmaxBackwardParams;

inline int64_t smb_min(int64_t a, int64_t b) { return a < b ? a : b; }

// One row: s = Σ dy·y, then dx = y·(dy - s). The sum: blocks of up to 16 vectors in float lanes,
// the blocks added in double (its rounding does not grow with the row length), the last C % W
// entries in order. Every error in s lands in the dx where dy is close to s, absolutely: blocks
// of 64 (the forward's) left 2e-7 in such a dx on rows of 1000 (arm64 scalar check).
inline void softmaxBackward_row(const float* dy, const float* y, float* dx, int64_t C) {
  double sum = 0.0;
  int64_t j = 0;
  // The scalar traits' multiply-add is not fused (each product rounded, as a plain float sum on the
  // gpu: 8e-8 in a cancelling dx of short rows): there every product and the sum are in double.
  if constexpr (W == 1) {
    for (; j < C; ++j) sum += static_cast<double>(dy[j]) * static_cast<double>(y[j]);
  }
  while (j + W <= C) {
    V::F s = V::zero();
    for (int n = 0; n < 16 && j + W <= C; ++n, j += W) s = V::fmadd(V::load(dy + j), V::load(y + j), s);
    sum += V::hsum(s);
  }
  for (int64_t t = j; t < C; ++t) sum += static_cast<double>(dy[t]) * static_cast<double>(y[t]);
  // The sum as two floats, s = hi + lo: where dy is close to s (the cancellation that leaves a small
  // dx), dy - hi is exact (Sterbenz) and lo restores what rounding s to one float would lose.
  // A non-finite s has no low part (Inf - Inf would make every dx NaN where y·(dy - s) is ±Inf).
  const float hi = static_cast<float>(sum);
  const float lo = hi - hi == 0.0f ? static_cast<float>(sum - static_cast<double>(hi)) : 0.0f;
  const V::F hv = V::set1(hi), lv = V::set1(lo);
  for (j = 0; j + W <= C; j += W) V::store(dx + j, V::mul(V::load(y + j), V::sub(V::sub(V::load(dy + j), hv), lv)));
  for (; j < C; ++j) dx[j] = y[j] * ((dy[j] - hi) - lo);
}

inline void softmaxBackward_run(const SoftmaxBackwardParams& p) {
  const int64_t C = p.cols;
  const int64_t per = C >= 8192 ? 1 : 8192 / C;  // rows per task: fixed by the shape only
  const int64_t ntask = (p.rows + per - 1) / per;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t)
      for (int64_t r = t * per; r < smb_min(p.rows, (t + 1) * per); ++r) softmaxBackward_row(p.dy + r * C, p.y + r * C, p.dx + r * C, C);
  };
  attnkit::parallel_for_each(ntask, body, 1);
}
