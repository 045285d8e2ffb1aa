// Generic softmaxBackward over V (included inside an ISA region + anonymous namespace after V).
using attnkit::SoftmaxBackwardParams;

inline int64_t smb_min(int64_t a, int64_t b) { return a < b ? a : b; }

// One row: s = Σ dy·y, then dx = y·(dy - s). The sum as the forward's: blocks of up to 64 vectors
// in float lanes, the blocks added in double (its rounding does not grow with the row length),
// the last C % W entries in order.
inline void softmaxBackward_row(const float* dy, const float* y, float* dx, int64_t C) {
  double sum = 0.0;
  int64_t j = 0;
  while (j + W <= C) {
    V::F s = V::zero();
    for (int n = 0; n < 64 && j + W <= C; ++n, j += W) s = V::fmadd(V::load(dy + j), V::load(y + j), s);
    sum += V::hsum(s);
  }
  for (int64_t t = j; t < C; ++t) sum += static_cast<double>(dy[t]) * static_cast<double>(y[t]);
  const float sf = static_cast<float>(sum);
  const V::F sv = V::set1(sf);
  for (j = 0; j + W <= C; j += W) V::store(dx + j, V::mul(V::load(y + j), V::sub(V::load(dy + j), sv)));
  for (; j < C; ++j) dx[j] = y[j] * (dy[j] - sf);
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
