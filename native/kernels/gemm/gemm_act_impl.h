// The GEMM epilogue over V (included inside an ISA region + anonymous namespace after V and
// vmath_generic.h): relu / gelu / tanh-gelu in place on a finished rows x cols tile.
using attnkit::GemmAct;

inline void gemm_act_run(float* C, int64_t ldc, int64_t rows, int64_t cols, int act) {
  if (act == static_cast<int>(GemmAct::Relu)) map_tile(C, ldc, rows, cols, Relu{});
  else if (act == static_cast<int>(GemmAct::Gelu)) map_tile(C, ldc, rows, cols, Gelu{});
  else if (act == static_cast<int>(GemmAct::GeluTanh)) map_tile(C, ldc, rows, cols, GeluTanh{});
}
