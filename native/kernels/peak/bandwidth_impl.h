// The bandwidth microbenchmark's pass over a vector traits type V (native/kernels/vec/): a STREAM
// triad a = b + s * c, four vectors per step, in order (hardware prefetchers see three plain
// streams). Included by native/kernels/isa/generic_kernels.h; the threads and timing are in
// native/kernels/peak/bandwidth.cc.

inline double bandwidth_run(float* a, const float* b, const float* c, int64_t n, float s) {
  const V::F vs = V::set1(s);
  constexpr int W = V::W;
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V::F c0 = V::load(c + i), c1 = V::load(c + i + W), c2 = V::load(c + i + 2 * W), c3 = V::load(c + i + 3 * W);
    V::store(a + i, V::fmadd(c0, vs, V::load(b + i)));
    V::store(a + i + W, V::fmadd(c1, vs, V::load(b + i + W)));
    V::store(a + i + 2 * W, V::fmadd(c2, vs, V::load(b + i + 2 * W)));
    V::store(a + i + 3 * W, V::fmadd(c3, vs, V::load(b + i + 3 * W)));
  }
  for (; i < n; ++i) a[i] = b[i] + s * c[i];
  return 12.0 * static_cast<double>(n);
}
