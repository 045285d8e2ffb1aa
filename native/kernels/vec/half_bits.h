// Scalar decoders of the 16-bit float formats (attnkit/dtype.h), exact: every float16 and every
// bfloat16 value is a float32 value. Included inside an ISA region's anonymous namespace before
// the vector traits (vec_scalar.h's half loads use them; the other ISAs convert in hardware).
// A float16 NaN keeps its payload (shifted into the top of the float32 mantissa) and is made
// quiet, as F16C's vcvtph2ps and NEON's fcvtl do, so every ISA gives the same bits.

/// float32 value of the float16 pattern h.
inline float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t e = (h >> 10) & 0x1fu, m = h & 0x3ffu;
  uint32_t bits;
  if (e == 0x1fu) {
    bits = sign | 0x7f800000u | (m << 13) | (m ? 0x00400000u : 0u);  // Inf, or NaN made quiet
  } else if (e != 0) {
    bits = sign | ((e + 112u) << 23) | (m << 13);
  } else if (m == 0) {
    bits = sign;  // ±0
  } else {
    // Subnormal m·2^-24: m is exact in float32 and so is the product (a normal float32).
    const float f = static_cast<float>(m) * 5.9604644775390625e-8f;
    __builtin_memcpy(&bits, &f, 4);
    bits |= sign;
  }
  float r;
  __builtin_memcpy(&r, &bits, 4);
  return r;
}

/// float32 value of the bfloat16 pattern h: its top half.
inline float bf16_to_f32(uint16_t h) {
  const uint32_t bits = static_cast<uint32_t>(h) << 16;
  float r;
  __builtin_memcpy(&r, &bits, 4);
  return r;
}
