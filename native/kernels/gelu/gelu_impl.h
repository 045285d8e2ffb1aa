// Generic gelu over V (included inside an ISA region + anonymous namespace after V, vexp, verf).
using attnkit::GeluParams;

// Exact gelu x·Φ(x) without the 1 + erf cancellation in the negative tail: Φ(x) = E/2 for
// x < 0 and 1 - E/2 for x >= 0, with E = erfc(|x|/√2) from the Numerical Recipes erfcc
// Chebyshev fit (relative error < 1.2e-7 for every argument) and z² = x²/2 formed exactly with
// an FMA (hi + lo) so exp(-z²) keeps its relative accuracy far into the tail.
inline V::F gelu_exact(V::F x) {
  const V::F ax = V::abs(x);
  const V::F z = V::mul(ax, V::set1(0.70710678118654752f));
  const V::F t = V::div(V::set1(1.0f), V::fmadd(V::set1(0.5f), z, V::set1(1.0f)));
  V::F p = V::set1(0.17087277f);
  p = V::fmadd(p, t, V::set1(-0.82215223f));
  p = V::fmadd(p, t, V::set1(1.48851587f));
  p = V::fmadd(p, t, V::set1(-1.13520398f));
  p = V::fmadd(p, t, V::set1(0.27886807f));
  p = V::fmadd(p, t, V::set1(-0.18628806f));
  p = V::fmadd(p, t, V::set1(0.09678418f));
  p = V::fmadd(p, t, V::set1(0.37409196f));
  p = V::fmadd(p, t, V::set1(1.00002368f));
  p = V::fmadd(p, t, V::set1(-1.26551223f));
  const V::F x2 = V::mul(x, x);
  V::F x2lo = V::fma_exact(x, x, V::sub(V::zero(), x2));  // x² = x2 + x2lo exactly
  x2lo = V::blend(V::nonfinite(x2lo), x2lo, V::zero());        // ±Inf inputs: no correction
  const V::F z2 = V::mul(x2, V::set1(0.5f)), z2lo = V::mul(x2lo, V::set1(0.5f));
  // exp(-z² + p) = exp(p - z2) · exp(-z2lo) ≈ exp(p - z2) · (1 - z2lo)
  const V::F e = V::mul(vexp(V::sub(p, z2)), V::sub(V::set1(1.0f), z2lo));
  const V::F halfE = V::mul(V::mul(t, e), V::set1(0.5f));
  const V::F phi = V::blend(V::lt(x, V::zero()), V::sub(V::set1(1.0f), halfE), halfE);
  return V::mul(x, phi);
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
  if (p.tanh_approx) elementwise_run(p.x, p.out, p.n, [](V::F x) { return gelu_tanh(x); });
  else elementwise_run(p.x, p.out, p.n, [](V::F x) { return gelu_exact(x); });
}
