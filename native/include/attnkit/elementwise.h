// attnkit: the parameters every elementwise op (gelu, silu) shares, plain C++ (no Node-API).
#pragma once

#include <cstdint>

namespace attnkit {

/// out[i] = f(x[i]) for i < n; out may not overlap x.
struct ElementwiseParams {
  const float* x = nullptr;
  float* out = nullptr;
  int64_t n = 0;
};

}  // namespace attnkit

namespace attnkit {

/// out[i] = dy[i] · f'(x[i]) for i < n: the elementwise backward ops (geluBackward,
/// siluBackward); out may not overlap dy or x.
struct ElementwiseGradParams {
  const float* dy = nullptr;
  const float* x = nullptr;
  float* out = nullptr;
  int64_t n = 0;
};

}  // namespace attnkit
