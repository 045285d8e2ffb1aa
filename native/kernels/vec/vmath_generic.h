// THE vector math of attnkit, written once over a vector traits type V (include after the V
// header, inside the region): exp, tanh, sigmoid and the activations (relu, gelu, silu) that
// every kernel family uses, on every ISA. NaN propagates through everything but vexp.
//
// vexp: Cody-Waite range reduction (ln2 split in two) + Cephes degree-6 polynomial on
// |r| <= ln2/2, scaled by 2^n. With scalef (AVX-512) inputs are clamped at -127 so -Inf gives
// exactly 0 and tiny results round to 0/denormals correctly; elsewhere inputs below -87.33
// (including -Inf) give exactly 0. Inputs are clamped at 88 (callers pass x <= 0). NaN inputs
// are NOT propagated (callers handle NaN before). Measured max relative error against double
// exp on [-87, 0]: see native/README.md (a few ulp).
static inline V::F vexp(V::F x) {
  if constexpr (V::kScalef) {
    x = V::max(x, V::set1(-127.0f));
    x = V::min(x, V::set1(88.0f));
  }
  V::M tiny{};
  if constexpr (!V::kScalef) {
    tiny = V::lt(x, V::set1(-87.33654f));
    x = V::min(x, V::set1(88.0f));  // keeps n <= 127
    x = V::max(x, V::set1(-87.33654f));
  }
  const V::F n = V::round(V::mul(x, V::set1(1.44269504088896341f)));
  V::F r = V::fnmadd(n, V::set1(0.693359375f), x);
  r = V::fnmadd(n, V::set1(-2.12194440e-4f), r);
  V::F p = V::set1(1.9875691500e-4f);
  p = V::fmadd(p, r, V::set1(1.3981999507e-3f));
  p = V::fmadd(p, r, V::set1(8.3334519073e-3f));
  p = V::fmadd(p, r, V::set1(4.1665795894e-2f));
  p = V::fmadd(p, r, V::set1(1.6666665459e-1f));
  p = V::fmadd(p, r, V::set1(5.0000001201e-1f));
  p = V::fmadd(p, V::mul(r, r), V::add(r, V::set1(1.0f)));
  if constexpr (V::kScalef) return V::ldexp(p, n);
  else return V::blend(tiny, V::ldexp(p, n), V::zero());
}

// tanh: an odd 13/6 rational (Eigen's float fit) on [-9, 9]; beyond |x| = 9 tanh rounds to ±1 in
// float. |x| < 4e-4 returns x itself (keeps -0 and denormals). Measured max abs error 2.7e-7 on
// [-20, 20] (bench/native-gemm.mjs vmath). min/max take x second so NaN wins.
static inline V::F vtanh(V::F a) {
  const V::F x = V::max(V::set1(-9.0f), V::min(V::set1(9.0f), a));
  const V::F x2 = V::mul(x, x);
  V::F p = V::set1(-2.76076847742355e-16f);
  p = V::fmadd(x2, p, V::set1(2.00018790482477e-13f));
  p = V::fmadd(x2, p, V::set1(-8.60467152213735e-11f));
  p = V::fmadd(x2, p, V::set1(5.12229709037114e-08f));
  p = V::fmadd(x2, p, V::set1(1.48572235717979e-05f));
  p = V::fmadd(x2, p, V::set1(6.37261928875436e-04f));
  p = V::fmadd(x2, p, V::set1(4.89352455891786e-03f));
  p = V::mul(x, p);
  V::F q = V::set1(1.19825839466702e-06f);
  q = V::fmadd(x2, q, V::set1(1.18534705686654e-04f));
  q = V::fmadd(x2, q, V::set1(2.26843463243900e-03f));
  q = V::fmadd(x2, q, V::set1(4.89352518554385e-03f));
  // Clamp the rational's tiny overshoot so |tanh| <= 1 exactly.
  const V::F t = V::max(V::set1(-1.0f), V::min(V::set1(1.0f), V::div(p, q)));
  return V::blend(V::lt(V::abs(a), V::set1(4e-4f)), t, a);
}

// sigmoid 1/(1 + e^-x) with e = exp(-|x|) in (0, 1] (never overflows): 1/(1+e) for x >= 0,
// e/(1+e) below (no 1 - tiny cancellation in the negative tail). NaN stays NaN.
static inline V::F vsigmoid(V::F x) {
  const V::F e = vexp(V::sub(V::zero(), V::abs(x)));
  const V::F s = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  return V::blend(V::isnan(x), V::blend(V::lt(x, V::zero()), s, V::mul(e, s)), x);
}

// relu that keeps NaN: max(0, x) with x second returns x on NaN.
static inline V::F vrelu(V::F x) { return V::max(V::zero(), x); }

// exp(-x²/2) with x² formed exactly by an FMA (x² = x2 + x2lo): exp(-x2/2)·(1 - x2lo/2), so the
// result keeps its relative accuracy far into the tail (rounding x² alone would cost |x|²/2 ulp).
// `p` is added to the exponent first (the erfc fit's polynomial; 0 for the plain density).
static inline V::F vexp_half_square(V::F x, V::F p) {
  const V::F x2 = V::mul(x, x);
  V::F x2lo = V::fma_exact(x, x, V::sub(V::zero(), x2));  // x² = x2 + x2lo exactly
  x2lo = V::blend(V::nonfinite(x2lo), x2lo, V::zero());        // ±Inf inputs: no correction
  const V::F z2 = V::mul(x2, V::set1(0.5f)), z2lo = V::mul(x2lo, V::set1(0.5f));
  // exp(-z² + p) = exp(p - z2) · exp(-z2lo) ≈ exp(p - z2) · (1 - z2lo)
  return V::mul(vexp(V::sub(p, z2)), V::sub(V::set1(1.0f), z2lo));
}

// Φ(x), the standard normal CDF, without the 1 + erf cancellation in the negative tail: Φ(x) =
// E/2 for x < 0 and 1 - E/2 for x >= 0, with E = erfc(|x|/√2) from the Numerical Recipes erfcc
// Chebyshev fit (relative error < 1.2e-7 for every argument) and z² = x²/2 formed exactly
// (vexp_half_square). Φ(+Inf) = 1, Φ(-Inf) = 0, NaN stays NaN.
static inline V::F vnormcdf(V::F x) {
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
  const V::F e = vexp_half_square(x, p);
  const V::F halfE = V::mul(V::mul(t, e), V::set1(0.5f));
  return V::blend(V::lt(x, V::zero()), V::sub(V::set1(1.0f), halfE), halfE);
}

// Exact gelu x·Φ(x) (vnormcdf: no cancellation in the negative tail).
static inline V::F vgelu(V::F x) { return V::mul(x, vnormcdf(x)); }

// gelu'(x) = Φ(x) + x·φ(x), φ(x) = exp(-x²/2)/√(2π) (vexp_half_square). At ±Inf, x·φ = ±Inf·0:
// the limit Φ(±Inf) (1 or 0) is taken instead; NaN stays NaN (Φ(NaN) is NaN).
static inline V::F vgelu_grad(V::F x) {
  const V::F cdf = vnormcdf(x);
  const V::F pdf = V::mul(vexp_half_square(x, V::zero()), V::set1(0.3989422804014327f));
  return V::blend(V::nonfinite(x), V::fmadd(x, pdf, cdf), cdf);
}

static inline V::F vgelu_tanh(V::F x) {
  // 0.5·x·(1 + tanh(u)) = x·sigmoid(2u) = x / (1 + exp(-2u)), u = √(2/π)(x + 0.044715x³).
  const V::F x3 = V::mul(V::mul(x, x), x);
  const V::F u2 = V::mul(V::set1(-1.5957691216057308f), V::fmadd(V::set1(0.044715f), x3, x));  // -2u
  const V::F y = V::div(x, V::add(V::set1(1.0f), vexp(u2)));
  // x = -Inf: the reference's 0.5·x·(1 + tanh(u)) is -Inf·0 = NaN.
  return V::blend(V::eq(x, V::set1(-__builtin_inff())), y, V::set1(__builtin_nanf("")));
}

// The tanh form's derivative: with u = √(2/π)(x + 0.044715x³), 0.5(1 + tanh u) = σ(2u) and
// 0.5(1 - tanh²u)·u' = 2σ(2u)σ(-2u)·u', both from e = exp(-|2u|) (no 1 + tanh cancellation for
// negative x): σ(2u) + 2x·e/(1 + e)²·u'. Where e is 0 (|2u| past exp's range, x = ±Inf, or x³
// overflowing) the second term is 0 (not x·0·u' = NaN); NaN stays NaN.
static inline V::F vgelu_tanh_grad(V::F x) {
  const V::F x2 = V::mul(x, x);
  const V::F u2 = V::mul(V::set1(1.5957691216057308f), V::fmadd(V::set1(0.044715f), V::mul(x2, x), x));  // 2u
  const V::F du = V::fmadd(V::set1(0.10703222440890038f), x2, V::set1(0.7978845608028654f));    // u'
  const V::F e = vexp(V::sub(V::zero(), V::abs(u2)));
  const V::F d = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  const V::F s = V::blend(V::lt(u2, V::zero()), d, V::mul(e, d));
  const V::F term = V::mul(V::mul(V::mul(V::set1(2.0f), x), V::mul(e, V::mul(d, d))), du);
  const V::F g = V::blend(V::eq(e, V::zero()), V::add(s, term), s);
  return V::blend(V::isnan(x), g, x);
}

// silu'(x) = σ(x) + x·σ(x)(1 - σ(x)), from e = exp(-|x|): σ = 1/(1+e) or e/(1+e), σ(1-σ) =
// e/(1+e)². Where e is 0 (|x| past exp's range, ±Inf) the second term is 0 (the limits 1 and 0;
// not ±Inf·0 = NaN); NaN stays NaN.
static inline V::F vsilu_grad(V::F x) {
  const V::F e = vexp(V::sub(V::zero(), V::abs(x)));
  const V::F d = V::div(V::set1(1.0f), V::add(V::set1(1.0f), e));
  const V::F s = V::blend(V::lt(x, V::zero()), d, V::mul(e, d));
  const V::F g = V::blend(V::eq(e, V::zero()), V::fmadd(x, V::mul(e, V::mul(d, d)), s), s);
  return V::blend(V::isnan(x), g, x);
}

// silu x·sigmoid(x). At x = -Inf, x·0 would be NaN: the limit -0 is blended in. NaN stays NaN.
static inline V::F vsilu(V::F x) {
  return V::blend(V::eq(x, V::set1(-__builtin_inff())), V::mul(x, vsigmoid(x)), V::set1(-0.0f));
}

// The activations as function objects, for the drivers that map them over memory (elementwise_run,
// map_tile). Not lambdas: GCC compiles a captureless lambda's conversion to a function pointer
// outside the ISA region it is written in (-Wpsabi: a vector return without the ISA enabled).
struct Relu {
  V::F operator()(V::F x) const { return vrelu(x); }
};
struct Sigmoid {
  V::F operator()(V::F x) const { return vsigmoid(x); }
};
struct Gelu {
  V::F operator()(V::F x) const { return vgelu(x); }
};
struct GeluTanh {
  V::F operator()(V::F x) const { return vgelu_tanh(x); }
};
struct Silu {
  V::F operator()(V::F x) const { return vsilu(x); }
};
struct GeluGrad {
  V::F operator()(V::F x) const { return vgelu_grad(x); }
};
struct GeluTanhGrad {
  V::F operator()(V::F x) const { return vgelu_tanh_grad(x); }
};
struct SiluGrad {
  V::F operator()(V::F x) const { return vsilu_grad(x); }
};
