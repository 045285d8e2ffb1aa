// The additive (Bahdanau) score over V (included inside an ISA region + anonymous namespace after
// V and vmath_generic.h): logits[j] = Σ_u v[u]·tanh(q[u] + kT[u·ldk + j]), W keys per vector, the
// sum over u down the transposed projected keys (contiguous loads), one FMA chain per key in u
// order (no horizontal reduction, so every key sees the same formula, tail included).
inline void additiveAttention_score_run(const float* q, const float* kT, int64_t ldk, const float* v, int64_t A,
                                        int64_t S, float* logits) {
  for (int64_t j = 0; j < S; j += V::W) {
    const int n = S - j < V::W ? static_cast<int>(S - j) : V::W;
    V::F s = V::zero();
    for (int64_t u = 0; u < A; u++) {
      const V::F x = V::add(V::set1(q ? q[u] : 0.0f), V::loadp(kT + u * ldk + j, n));
      s = V::fmadd(V::set1(v[u]), vtanh(x), s);
    }
    V::storep(logits + j, s, n);
  }
}
