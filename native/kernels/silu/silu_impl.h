// Generic silu over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h, which holds the silu itself: vsilu).
using attnkit::SiluParams;

inline void silu_run(const SiluParams& p) { elementwise_run(p.x, p.out, p.n, Silu{}); }
