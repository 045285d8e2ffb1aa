// Generic softmax over V (included inside an ISA region + anonymous namespace after V, vexp).
using attnkit::SoftmaxParams;

inline int64_t sm_min(int64_t a, int64_t b) { return a < b ? a : b; }

inline void softmax_row(const float* x, float* out, int64_t C, const uint8_t* mrow, int64_t mstride) {
  const float NINF = -__builtin_inff();
  const float* src = x;
  if (mrow) {  // masked entries become -Inf in out, which then serves as the source
    for (int64_t j = 0; j < C; ++j) out[j] = mrow[j * mstride] ? x[j] : NINF;
    src = out;
  }
  const V::F NI = V::set1(NINF);
  V::F mx = NI;
  V::M bad = V::from_bits(0);
  int64_t j = 0;
  for (; j + W <= C; j += W) {
    const V::F v = V::load(src + j);
    bad = V::mor(bad, V::nan_or_pinf(v));
    mx = V::max(mx, v);
  }
  float m = V::hmax(mx);
  bool flag = V::any(bad);
  for (; j < C; ++j) {
    const float v = src[j];
    if (v != v || v == __builtin_inff()) flag = true;
    else if (v > m) m = v;
  }
  if (flag) {  // NaN/+Inf: every allowed entry NaN, excluded 0
    for (j = 0; j < C; ++j) out[j] = src[j] == NINF ? 0.0f : __builtin_nanf("");
    return;
  }
  if (m == NINF) {  // nothing allowed
    for (j = 0; j < C; ++j) out[j] = 0.0f;
    return;
  }
  const V::F mv = V::set1(m);
  // The sum: blocks of up to 64 vectors in float lanes, the blocks added in double, so its
  // rounding error does not grow with the row length (one float accumulator per lane over a whole
  // row put the scalar path 2e-5 off, relatively, on 20000 normal logits: test/specs/primitives).
  double sum = 0.0;
  j = 0;
  while (j + W <= C) {
    V::F s = V::zero();
    for (int n = 0; n < 64 && j + W <= C; ++n, j += W) {
      const V::F e = vexp(V::sub(V::load(src + j), mv));
      s = V::add(s, e);
      V::store(out + j, e);
    }
    sum += V::hsum(s);
  }
  if (j < C) {  // the last C % W entries: one partial vector, summed in order
    const int rem = static_cast<int>(C - j);
    alignas(64) float tail[W];
    V::storep(tail, vexp(V::sub(V::loadp(src + j, rem), mv)), rem);
    for (int t = 0; t < rem; ++t) {
      out[j + t] = tail[t];
      sum += tail[t];
    }
  }
  const float invs = static_cast<float>(1.0 / sum);
  const V::F inv = V::set1(invs);
  for (j = 0; j + W <= C; j += W) V::store(out + j, V::mul(V::load(out + j), inv));
  for (; j < C; ++j) out[j] *= invs;
}

inline void softmax_run(const SoftmaxParams& p) {
  const int64_t C = p.cols;
  const int64_t per = C >= 8192 ? 1 : 8192 / C;  // rows per task: fixed by the shape only
  const int64_t ntask = (p.rows + per - 1) / per;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t r = t * per; r < sm_min(p.rows, (t + 1) * per); ++r) {
        const uint8_t* mrow = nullptr;
        if (p.mask) {
          int64_t off = 0, rem = r;
          for (int ax = p.rank - 2; ax >= 0; --ax) {
            off += (rem % p.shape[ax]) * p.mask_strides[ax];
            rem /= p.shape[ax];
          }
          mrow = p.mask + off;
        }
        softmax_row(p.x + r * C, p.out + r * C, C, mrow, p.mask ? p.mask_strides[p.rank - 1] : 0);
      }
    }
  };
  attnkit::parallel_for_each(ntask, body, 1);
}
