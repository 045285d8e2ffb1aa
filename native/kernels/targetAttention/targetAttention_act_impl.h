// The DIN activation pass over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h): relu (NaN kept), sigmoid, or prelu x >= 0 ? x : alpha[col]·x (NaN: alpha·NaN),
// in place on rows x cols with row stride ld.
using attnkit::DinAct;

inline void targetAttention_act_run(float* x, int64_t rows, int64_t cols, int64_t ld, int kind, const float* alpha) {
  if (kind == static_cast<int>(DinAct::Relu)) return map_tile(x, ld, rows, cols, Relu{});
  if (kind == static_cast<int>(DinAct::Sigmoid)) return map_tile(x, ld, rows, cols, Sigmoid{});
  for (int64_t r = 0; r < rows; r++) {
    float* v = x + r * ld;
    for (int64_t c = 0; c < cols; c += V::W) {
      const int n = cols - c < V::W ? static_cast<int>(cols - c) : V::W;
      const V::F z = V::loadp(v + c, n);
      const V::F neg = V::mul(z, V::loadp(alpha + c, n));
      V::storep(v + c, V::blend(V::lt(z, V::zero()), z, neg), n);  // NaN: not < 0, kept
    }
  }
}
