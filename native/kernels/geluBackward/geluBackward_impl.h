// Generic geluBackward over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h, which holds the derivatives themselves: vgelu_grad, vgelu_tanh_grad).
using attnkit::GeluBackwardParams;

inline void geluBackward_run(const GeluBackwardParams& p) {
  if (p.tanh_approx) elementwise_grad_run(p.dy, p.x, p.out, p.n, GeluTanhGrad{});
  else elementwise_grad_run(p.dy, p.x, p.out, p.n, GeluGrad{});
}
