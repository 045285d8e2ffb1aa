// Generic gelu over V (included inside an ISA region + anonymous namespace after V, vexp, verf).
using attnkit::GeluParams;

inline V::F gelu_exact(V::F x) {
  const V::F e = verf(V::mul(x, V::set1(0.70710678118654752f)));
  return V::mul(V::mul(V::set1(0.5f), x), V::add(V::set1(1.0f), e));
}

inline V::F gelu_tanh(V::F x) {
  // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u) = x / (1 + exp(-2u)), u = √(2/π)(x + 0.044715x³).
  const V::F x3 = V::mul(V::mul(x, x), x);
  const V::F u2 = V::mul(V::set1(-1.5957691216057308f), V::fmadd(V::set1(0.044715f), x3, x));  // -2u
  const V::F y = V::div(x, V::add(V::set1(1.0f), vexp(u2)));
  // x = -Inf: the reference's 0.5·x·(1 + tanh(u)) is -Inf·0 = NaN.
  return V::blend(V::eq(x, V::set1(-__builtin_inff())), y, V::set1(__builtin_nanf("")));
}

inline void gelu_run(const GeluParams& p) {
  constexpr int64_t BLOCK = 16384;  // elements per task, fixed
  const int64_t ntask = (p.n + BLOCK - 1) / BLOCK;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t * BLOCK, e = (b + BLOCK < p.n) ? b + BLOCK : p.n;
      int64_t j = b;
      if (p.tanh_approx) {
        for (; j + W <= e; j += W) V::store(p.out + j, gelu_tanh(V::load(p.x + j)));
        if (j < e) V::storep(p.out + j, gelu_tanh(V::loadp(p.x + j, static_cast<int>(e - j))), static_cast<int>(e - j));
      } else {
        for (; j + W <= e; j += W) V::store(p.out + j, gelu_exact(V::load(p.x + j)));
        if (j < e) V::storep(p.out + j, gelu_exact(V::loadp(p.x + j, static_cast<int>(e - j))), static_cast<int>(e - j));
      }
    }
  };
  attnkit::parallel_for_each(ntask, body, 1);
}
