// The kernel families written once over the vector traits `V` (native/kernels/vec/), instantiated
// for the ISA of the file that includes this header. Include it INSIDE that ISA's region and an
// anonymous namespace, after `V` (vec_<isa>.h), vmath_generic.h, `SdpaTiles` (the sdpa tiling of that
// ISA) and `PeakChains` (independent FMA chains the peak microbenchmark needs there) are defined. Each family gets a namespace of its own, so their helpers cannot collide.
// Families with hand-written per-ISA code (the GEMM microkernels, the topK scan) keep one file per
// ISA in their own folders.
//
// Adding a generic family: one namespace block here, and its entry point and registration (two
// lines) in ATTNKIT_GENERIC_ENTRY_POINTS below.

// The elementwise families' driver: y[i] = f(x[i]) over n values in fixed tasks of 16384 elements
// (the split does not depend on the thread count), whole vectors then one partial vector.
template <class F>
inline void elementwise_run(const float* x, float* out, int64_t n, F f) {
  constexpr int64_t BLOCK = 16384;
  constexpr int W = V::W;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t * BLOCK, e = (b + BLOCK < n) ? b + BLOCK : n;
      int64_t j = b;
      for (; j + W <= e; j += W) V::store(out + j, f(V::load(x + j)));
      if (j < e) V::storep(out + j, f(V::loadp(x + j, static_cast<int>(e - j))), static_cast<int>(e - j));
    }
  };
  attnkit::parallel_for_each((n + BLOCK - 1) / BLOCK, body, 1);
}

// The elementwise backward families' driver: out[i] = dy[i]·f(x[i]) (f the derivative) over n
// values, in the same fixed tasks as elementwise_run.
template <class F>
inline void elementwise_grad_run(const float* dy, const float* x, float* out, int64_t n, F f) {
  constexpr int64_t BLOCK = 16384;
  constexpr int W = V::W;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      const int64_t b = t * BLOCK, e = (b + BLOCK < n) ? b + BLOCK : n;
      int64_t j = b;
      for (; j + W <= e; j += W) V::store(out + j, V::mul(V::load(dy + j), f(V::load(x + j))));
      if (j < e) {
        const int k = static_cast<int>(e - j);
        V::storep(out + j, V::mul(V::loadp(dy + j, k), f(V::loadp(x + j, k))), k);
      }
    }
  };
  attnkit::parallel_for_each((n + BLOCK - 1) / BLOCK, body, 1);
}

// f over a rows x cols tile in place (row stride ld), whole vectors then one partial vector per
// row: the epilogues and activation passes that run inside another op's task.
template <class F>
inline void map_tile(float* x, int64_t ld, int64_t rows, int64_t cols, F f) {
  for (int64_t r = 0; r < rows; r++) {
    float* v = x + r * ld;
    int64_t c = 0;
    for (; c + V::W <= cols; c += V::W) V::store(v + c, f(V::load(v + c)));
    if (c < cols) V::storep(v + c, f(V::loadp(v + c, static_cast<int>(cols - c))), static_cast<int>(cols - c));
  }
}

namespace gemm_act_k {
#include "../gemm/gemm_act_impl.h"
}  // namespace gemm_act_k

namespace targetAttention_act_k {
#include "../targetAttention/targetAttention_act_impl.h"
}  // namespace targetAttention_act_k

namespace additiveAttention_score_k {
#include "../additiveAttention/additiveAttention_score_impl.h"
}  // namespace additiveAttention_score_k

namespace additiveScoresBackward_row_k {
#include "../additiveScoresBackward/additiveScoresBackward_row_impl.h"
}  // namespace additiveScoresBackward_row_k

namespace gelu_k {
#include "../gelu/gelu_impl.h"
}  // namespace gelu_k

namespace silu_k {
#include "../silu/silu_impl.h"
}  // namespace silu_k

namespace geluBackward_k {
#include "../geluBackward/geluBackward_impl.h"
}  // namespace geluBackward_k

namespace siluBackward_k {
#include "../siluBackward/siluBackward_impl.h"
}  // namespace siluBackward_k

namespace softmaxBackward_k {
constexpr int W = V::W;
#include "../softmaxBackward/softmaxBackward_impl.h"
}  // namespace softmaxBackward_k

namespace layerNormBackward_k {
constexpr int W = V::W;
#include "../layerNormBackward/layerNormBackward_impl.h"
}  // namespace layerNormBackward_k
namespace adamStep_k {
#include "../adamStep/adamStep_impl.h"
}  // namespace adamStep_k

namespace embeddingBackward_k {
#include "../embeddingBackward/embeddingBackward_impl.h"
}  // namespace embeddingBackward_k

namespace softmax_k {
constexpr int W = V::W;
#include "../softmax/softmax_impl.h"
}  // namespace softmax_k

namespace layerNorm_k {
constexpr int W = V::W;
#include "../layerNorm/layerNorm_impl.h"
}  // namespace layerNorm_k

namespace peak_k {
#include "../peak/peak_impl.h"
}  // namespace peak_k

namespace bandwidth_k {
#include "../peak/bandwidth_impl.h"
}  // namespace bandwidth_k

namespace convert_k {
#include "../convert/convert_impl.h"
}  // namespace convert_k

namespace sdpa_k {
using Cfg = SdpaTiles;
#include "../sdpa/sdpa_impl.h"
// The backward reuses the forward's geometry, Q·Kᵀ tile and constants (nested: its own names).
namespace backward {
#include "../sdpaBackward/sdpaBackward_impl.h"
}  // namespace backward
// HSTU attention: the same Q·Kᵀ tile, transpose and accumulating products (nested: its own names).
namespace hstu {
#include "../hstuAttention/hstuAttention_impl.h"
#include "../hstuAttentionBackward/hstuAttentionBackward_impl.h"
}  // namespace hstu
}  // namespace sdpa_k

// The entry points the kernel tables hold, for ISA `isa` (outside the region: plain calls into it).
#define ATTNKIT_GENERIC_ENTRY_POINTS(isa)                                              \
  namespace attnkit {                                                                  \
  namespace {                                                                          \
  void gelu_##isa(const GeluParams& p) { gelu_k::gelu_run(p); }                        \
  void gemm_act_##isa(float* c, int64_t ld, int64_t r, int64_t n, int act) {           \
    gemm_act_k::gemm_act_run(c, ld, r, n, act);                                        \
  }                                                                                    \
  void targetAttention_act_##isa(float* x, int64_t r, int64_t n, int64_t ld, int k,    \
                                 const float* alpha) {                                 \
    targetAttention_act_k::targetAttention_act_run(x, r, n, ld, k, alpha);             \
  }                                                                                    \
  void additiveAttention_score_##isa(const float* q, const float* kT, int64_t ldk,     \
                                     const float* v, int64_t A, int64_t S, float* l) { \
    additiveAttention_score_k::additiveAttention_score_run(q, kT, ldk, v, A, S, l);    \
  }                                                                                    \
  void additiveScoresBackward_row_##isa(const float* q, const float* k, const float* v, \
                                        const float* e, int64_t A, int64_t S, float* dq, \
                                        float* dk, float* dvrow) {                         \
    additiveScoresBackward_row_k::additiveScoresBackward_row_run(q, k, v, e, A, S, dq, dk, dvrow); \
  }                                                                                    \
  void silu_##isa(const SiluParams& p) { silu_k::silu_run(p); }                        \
  void adamStep_##isa(const AdamStepParams& p, const AdamScalars& s) {                 \
    adamStep_k::adamStep_run(p, s);                                                    \
  }                                                                                    \
  void embeddingBackward_##isa(const EmbeddingBackwardParams& p,                       \
                               const EmbeddingBackwardPlan& plan) {                    \
    embeddingBackward_k::embeddingBackward_run(p, plan);                               \
  }                                                                                    \
  void softmax_##isa(const SoftmaxParams& p) { softmax_k::softmax_run(p); }            \
  void geluBackward_##isa(const GeluBackwardParams& p) { geluBackward_k::geluBackward_run(p); } \
  void siluBackward_##isa(const SiluBackwardParams& p) { siluBackward_k::siluBackward_run(p); } \
  void softmaxBackward_##isa(const SoftmaxBackwardParams& p) {                         \
    softmaxBackward_k::softmaxBackward_run(p);                                         \
  }                                                                                    \
  void layerNormBackward_##isa(const LayerNormBackwardParams& p) {                     \
    if (!layerNormBackward_k::layerNormBackward_run(p)) throw std::bad_alloc();        \
  }                                                                                    \
  void layerNorm_##isa(const LayerNormParams& p) { layerNorm_k::layerNorm_run(p); }    \
  double peak_##isa(int64_t iters, float* sink) { return peak_k::peak_run(iters, sink); } \
  double bandwidth_##isa(float* a, const float* b, const float* c, int64_t n, float s) { \
    return bandwidth_k::bandwidth_run(a, b, c, n, s);                                  \
  }                                                                                    \
  void convert_##isa(const uint16_t* s, float* d, int64_t n, DType t) {               \
    convert_k::convert_run(s, d, n, t);                                                \
  }                                                                                    \
  void sdpa_##isa(const SdpaParams& p) {                                               \
    if (!sdpa_k::sdpa_run(p)) throw std::bad_alloc();                                  \
  }                                                                                    \
  bool sdpaBackward_##isa(const SdpaBackwardParams& p) {                               \
    return sdpa_k::backward::sdpa_backward_run(p);                                     \
  }                                                                                    \
  bool hstuAttention_##isa(const HstuAttentionParams& p) {                             \
    return sdpa_k::hstu::hstu_forward_run(p);                                          \
  }                                                                                    \
  bool hstuAttentionBackward_##isa(const HstuAttentionBackwardParams& p) {             \
    return sdpa_k::hstu::hstu_backward_run(p);                                         \
  }                                                                                    \
  }                                                                                    \
  ATTNKIT_REGISTER(gelu_table, isa, &gelu_##isa);                                      \
  ATTNKIT_REGISTER(gemm_act_table, isa, &gemm_act_##isa);                              \
  ATTNKIT_REGISTER(targetAttention_act_table, isa, &targetAttention_act_##isa);        \
  ATTNKIT_REGISTER(additiveAttention_score_table, isa, &additiveAttention_score_##isa); \
  ATTNKIT_REGISTER(additiveScoresBackward_row_table, isa, &additiveScoresBackward_row_##isa); \
  ATTNKIT_REGISTER(silu_table, isa, &silu_##isa);                                      \
  ATTNKIT_REGISTER(adamStep_table, isa, &adamStep_##isa);                              \
  ATTNKIT_REGISTER(embeddingBackward_table, isa, &embeddingBackward_##isa);            \
  ATTNKIT_REGISTER(softmax_table, isa, &softmax_##isa);                                \
  ATTNKIT_REGISTER(geluBackward_table, isa, &geluBackward_##isa);                      \
  ATTNKIT_REGISTER(siluBackward_table, isa, &siluBackward_##isa);                      \
  ATTNKIT_REGISTER(softmaxBackward_table, isa, &softmaxBackward_##isa);                \
  ATTNKIT_REGISTER(layerNormBackward_table, isa, &layerNormBackward_##isa);            \
  ATTNKIT_REGISTER(layerNorm_table, isa, &layerNorm_##isa);                            \
  ATTNKIT_REGISTER(peak_table, isa, &peak_##isa);                                      \
  ATTNKIT_REGISTER(bandwidth_table, isa, &bandwidth_##isa);                            \
  ATTNKIT_REGISTER(convert_table, isa, &convert_##isa);                                \
  ATTNKIT_REGISTER(sdpa_table, isa, &sdpa_##isa);                                      \
  ATTNKIT_REGISTER(sdpaBackward_table, isa, &sdpaBackward_##isa);                      \
  ATTNKIT_REGISTER(hstuAttention_table, isa, &hstuAttention_##isa);                    \
  ATTNKIT_REGISTER(hstuAttentionBackward_table, isa, &hstuAttentionBackward_##isa);    \
  }
