// The tanh pairs of one query row over V (included inside an ISA region + anonymous namespace
// after V and vmath_generic.h): attnkit/additiveScoresBackward.h AdditiveScoresRowFn. Outer loop
// over chunks of W units (q, v, the dq and dv sums held in registers), inner over the keys in
// order: every unit sees the same order of additions, the tail chunk included.
inline void additiveScoresBackward_row_run(const float* q, const float* k, const float* v, const float* e, int64_t A,
                                           int64_t S, float* dq, float* dk, float* dvrow) {
  const V::F one = V::set1(1.0f);
  for (int64_t u = 0; u < A; u += V::W) {
    const int n = A - u < V::W ? static_cast<int>(A - u) : V::W;
    const V::F qv = q ? V::loadp(q + u, n) : V::zero();
    const V::F vv = V::loadp(v + u, n);
    V::F dqs = V::zero(), dvs = V::zero();
    for (int64_t j = 0; j < S; j++) {
      const float ej = e[j];
      if (ej == 0.0f) continue;
      float* dkj = dk + j * A + u;
      const V::F t = vtanh(V::add(qv, V::loadp(k + j * A + u, n)));
      const V::F es = V::set1(ej);
      const V::F g = V::mul(V::mul(es, vv), V::fnmadd(t, t, one));  // e·v·(1 − t²)
      dqs = V::add(dqs, g);
      V::storep(dkj, V::add(V::loadp(dkj, n), g), n);
      dvs = V::fmadd(es, t, dvs);
    }
    if (dq) V::storep(dq + u, V::add(V::loadp(dq + u, n), dqs), n);
    V::storep(dvrow + u, dvs, n);
  }
}
