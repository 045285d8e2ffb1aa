// Generic siluBackward over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h, which holds the derivative itself: vsilu_grad).
using attnkit::SiluBackwardParams;

inline void siluBackward_run(const SiluBackwardParams& p) { elementwise_grad_run(p.dy, p.x, p.out, p.n, SiluGrad{}); }
