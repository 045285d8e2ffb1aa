// Generic silu over V (included inside an ISA region + anonymous namespace after V, vexp).
using attnkit::SiluParams;

// x·sigmoid(x) with e = exp(-|x|) in (0, 1], so exp never overflows: sigmoid(x) = 1/(1+e) for
// x >= 0 and e/(1+e) for x < 0 (no 1 - tiny cancellation in the negative tail). At x = -Inf,
// e = 0 and x·0 would be NaN: the limit -0 is blended in. NaN inputs stay NaN through the
// final multiply.
inline V::F silu(V::F x) {
  const V::F e = vexp(V::sub(V::zero(), V::abs(x)));
  const V::F s = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  const V::F sig = V::blend(V::lt(x, V::zero()), s, V::mul(e, s));
  const V::F y = V::mul(x, sig);
  return V::blend(V::eq(x, V::set1(-__builtin_inff())), y, V::set1(-0.0f));
}

inline void silu_run(const SiluParams& p) { elementwise_run(p.x, p.out, p.n, [](V::F x) { return silu(x); }); }
