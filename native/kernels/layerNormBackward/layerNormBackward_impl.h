// Generic layerNormBackward over V (included inside an ISA region + anonymous namespace after V).
using attnkit::LayerNormBackwardParams;

inline int64_t lnb_min(int64_t a, int64_t b) { return a < b ? a : b; }
inline int64_t lnb_max(int64_t a, int64_t b) { return a > b ? a : b; }

// One row. Pass 1: x̂ = (x - mean)·inv, g = dy·gamma; the row sums Σg and Σg·x̂ (blocks of up to
// 64 vectors in float lanes, the blocks added in double, the tail in order); the block's partial
// dGamma += dy·x̂ and dBeta += dy (pg, pb: [C], this task's own). Pass 2: dx = inv·(g - a - x̂·b)
// with a = Σg/C, b = Σg·x̂/C.
inline void layerNormBackward_row(const float* dy, const float* x, float* dx, int64_t C, const float* gamma, float m,
                                  float inv, float* pg, float* pb) {
  const V::F mv = V::set1(m), iv = V::set1(inv);
  double sg = 0.0, sgx = 0.0;
  int64_t j = 0;
  while (j < C) {
    V::F ag = V::zero(), agx = V::zero();
    for (int n = 0; n < 64 && j < C; ++n, j += W) {
      const int k = static_cast<int>(lnb_min(W, C - j));
      const bool full = k == W;
      const V::F d = full ? V::load(dy + j) : V::loadp(dy + j, k);
      V::F xh = V::mul(V::sub(full ? V::load(x + j) : V::loadp(x + j, k), mv), iv);
      // loadp zero-fills the lanes past k (dy and g are 0 there); x̂ is zeroed there too, so those
      // lanes add exactly 0 to every sum even when mean·inv is not finite.
      if (!full) xh = V::blend(V::from_bits((1u << k) - 1u), V::zero(), xh);
      const V::F g = gamma ? V::mul(d, full ? V::load(gamma + j) : V::loadp(gamma + j, k)) : d;
      ag = V::add(ag, g);
      agx = V::fmadd(g, xh, agx);
      const V::F ng = V::fmadd(d, xh, full ? V::load(pg + j) : V::loadp(pg + j, k));
      const V::F nb = V::add(d, full ? V::load(pb + j) : V::loadp(pb + j, k));
      if (full) {
        V::store(pg + j, ng);
        V::store(pb + j, nb);
      } else {
        V::storep(pg + j, ng, k);
        V::storep(pb + j, nb, k);
      }
    }
    sg += V::hsum(ag);
    sgx += V::hsum(agx);
  }
  const V::F a = V::set1(static_cast<float>(sg / static_cast<double>(C)));
  const V::F b = V::set1(static_cast<float>(sgx / static_cast<double>(C)));
  for (j = 0; j < C; j += W) {
    const int k = static_cast<int>(lnb_min(W, C - j));
    const bool full = k == W;
    const V::F d = full ? V::load(dy + j) : V::loadp(dy + j, k);
    const V::F xh = V::mul(V::sub(full ? V::load(x + j) : V::loadp(x + j, k), mv), iv);
    const V::F g = gamma ? V::mul(d, full ? V::load(gamma + j) : V::loadp(gamma + j, k)) : d;
    const V::F r = V::mul(iv, V::sub(V::sub(g, a), V::mul(xh, b)));
    if (full) V::store(dx + j, r);
    else V::storep(dx + j, r, k);
  }
}

// Rows in blocks fixed by the shape alone (at least 8192 elements a block, at most 256 blocks);
// each task writes its block's partial dGamma / dBeta ([2, C]: floats, malloc'd outside any
// std container), then the partials are added in block order in double. Returns false when the
// partials cannot be allocated.
inline bool layerNormBackward_run(const LayerNormBackwardParams& p) {
  const int64_t C = p.cols, R = p.rows;
  if (C <= 0) return true;
  for (int64_t j = 0; j < C; ++j) p.dGamma[j] = p.dBeta[j] = 0.0f;
  if (R <= 0) return true;
  const int64_t rb = lnb_max(C >= 8192 ? 1 : 8192 / C, (R + 255) / 256);
  const int64_t nblk = (R + rb - 1) / rb;
  float* part = static_cast<float*>(std::calloc(static_cast<size_t>(nblk * 2 * C), sizeof(float)));
  if (!part) return false;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      float* pg = part + t * 2 * C;
      float* pb = pg + C;
      for (int64_t r = t * rb; r < lnb_min(R, (t + 1) * rb); ++r)
        layerNormBackward_row(p.dy + r * C, p.x + r * C, p.dx + r * C, C, p.gamma, p.mean[r], p.invStd[r], pg, pb);
    }
  };
  attnkit::parallel_for_each(nblk, body, 1);
  for (int64_t j = 0; j < C; ++j) {
    double g = 0.0, b = 0.0;
    for (int64_t t = 0; t < nblk; ++t) {
      g += part[t * 2 * C + j];
      b += part[t * 2 * C + C + j];
    }
    p.dGamma[j] = static_cast<float>(g);
    p.dBeta[j] = static_cast<float>(b);
  }
  std::free(part);
  return true;
}
