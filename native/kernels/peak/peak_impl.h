// The fp32 FMA peak microbenchmark over a vector traits type V (native/kernels/vec/): `PeakChains`
// independent FMA chains of V::W lanes, enough to cover the FMA latency on every FMA port of the
// ISA (set where each ISA file defines it). Included by native/kernels/isa/generic_kernels.h.

inline double peak_run(int64_t iters, float* sink) {
  V::F a[PeakChains];
  for (int k = 0; k < PeakChains; ++k) a[k] = V::set1(1.0f + 0.01f * k);
  const V::F m = V::set1(0.99999f), c = V::set1(1e-7f);
  for (int64_t i = 0; i < iters; ++i) {
#pragma GCC unroll 16
    for (int k = 0; k < PeakChains; ++k) a[k] = V::fmadd(a[k], m, c);
  }
  V::F s = a[0];
  for (int k = 1; k < PeakChains; ++k) s = V::add(s, a[k]);
  *sink = V::hsum(s);
  return 2.0 * V::W * PeakChains * static_cast<double>(iters);
}
