// Element types of float operands (src/kernels.ts DType): float32, IEEE binary16, bfloat16.
// A kernel receives a half operand as its raw 16-bit patterns plus this tag and widens what it
// reads (a tile, a chunk of keys) to float32 itself: never the whole operand up front.
#pragma once
#include <cstdint>

namespace attnkit {

enum class DType : uint8_t { f32 = 0, f16 = 1, bf16 = 2 };

inline const char* dtype_name(DType t) { return t == DType::f16 ? "float16" : t == DType::bf16 ? "bfloat16" : "float32"; }

/// A float operand of any DType: `data` points at float (f32) or uint16_t (f16, bf16) elements.
struct Floats {
  const void* data = nullptr;
  DType type = DType::f32;
  explicit operator bool() const { return data != nullptr; }
  const float* f32() const { return static_cast<const float*>(data); }
  const uint16_t* u16() const { return static_cast<const uint16_t*>(data); }
};

}  // namespace attnkit
