// Generic gelu over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h, which holds the gelu itself: vgelu, vgelu_tanh).
using attnkit::GeluParams;

inline void gelu_run(const GeluParams& p) {
  if (p.tanh_approx) elementwise_run(p.x, p.out, p.n, GeluTanh{});
  else elementwise_run(p.x, p.out, p.n, Gelu{});
}
