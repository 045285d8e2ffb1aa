// Polynomial math over a vector traits type V (include after the V header, inside the region).
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

