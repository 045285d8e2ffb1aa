// Generic AdamW step over V (included inside an ISA region + anonymous namespace after V). Fixed
// tasks of 16384 elements (the split does not depend on the thread count); each element is read
// (param, grad, m, v) before its outputs are written, so the outputs may be the inputs.
using attnkit::AdamScalars;
using attnkit::AdamStepParams;

struct AdamConsts {
  V::F decay, b1, c1, b2, c2, step_size, bc2, eps, sign;
};

// One vector of n lanes (n == V::W: whole loads and stores).
inline void adam_vector(const AdamStepParams& p, const AdamConsts& k, int64_t j, int n) {
  const bool whole = n == V::W;
  auto ld = [&](const float* a) { return whole ? V::load(a + j) : V::loadp(a + j, n); };
  auto st = [&](float* a, V::F x) {
    if (whole) V::store(a + j, x);
    else V::storep(a + j, x, n);
  };
  const V::F g = V::mul(k.sign, ld(p.grad));
  const V::F par = ld(p.param), m0 = ld(p.m), v0 = ld(p.v);
  const V::F m = V::add(V::mul(k.b1, m0), V::mul(k.c1, g));
  const V::F gs = V::mul(k.c2, g);
  const V::F v = V::add(V::mul(k.b2, v0), V::mul(gs, gs));
  const V::F denom = V::add(V::div(V::sqrt(v), k.bc2), k.eps);
  const V::F out = V::sub(V::mul(par, k.decay), V::mul(k.step_size, V::div(m, denom)));
  st(p.m_out, m);
  st(p.v_out, v);
  st(p.param_out, out);
}

inline void adamStep_run(const AdamStepParams& p, const AdamScalars& s) {
  constexpr int64_t BLOCK = 16384;
  const AdamConsts k{V::set1(s.decay), V::set1(s.beta1), V::set1(s.one_minus_beta1), V::set1(s.beta2), V::set1(s.sqrt_one_minus_beta2),
                     V::set1(s.step_size), V::set1(s.bc2_sqrt), V::set1(s.eps), V::set1(s.sign)};
  const int64_t n = p.n;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t * BLOCK, e = (b + BLOCK < n) ? b + BLOCK : n;
      int64_t j = b;
      for (; j + V::W <= e; j += V::W) adam_vector(p, k, j, V::W);
      if (j < e) adam_vector(p, k, j, static_cast<int>(e - j));
    }
  };
  attnkit::parallel_for_each((n + BLOCK - 1) / BLOCK, body, 1);
}
