// float16 / bfloat16 patterns to float32 over the vector traits V (generic family; included by
// native/kernels/isa/generic_kernels.h inside an ISA region). Whole vectors, then one partial.

template <bool BF16>
inline V::F convert_load(const uint16_t* p) {
  if constexpr (BF16) return V::load_bf16(p);
  else return V::load_f16(p);
}
template <bool BF16>
inline V::F convert_loadp(const uint16_t* p, int n) {
  if constexpr (BF16) return V::loadp_bf16(p, n);
  else return V::loadp_f16(p, n);
}

template <bool BF16>
inline void convert_loop(const uint16_t* src, float* dst, int64_t n) {
  constexpr int W = V::W;
  int64_t i = 0;
  for (; i + 4 * W <= n; i += 4 * W) {
    const V::F a = convert_load<BF16>(src + i), b = convert_load<BF16>(src + i + W);
    const V::F c = convert_load<BF16>(src + i + 2 * W), d = convert_load<BF16>(src + i + 3 * W);
    V::store(dst + i, a);
    V::store(dst + i + W, b);
    V::store(dst + i + 2 * W, c);
    V::store(dst + i + 3 * W, d);
  }
  for (; i + W <= n; i += W) V::store(dst + i, convert_load<BF16>(src + i));
  if (i < n) {
    const int rem = static_cast<int>(n - i);
    V::storep(dst + i, convert_loadp<BF16>(src + i, rem), rem);
  }
}

inline void convert_run(const uint16_t* src, float* dst, int64_t n, attnkit::DType type) {
  if (type == attnkit::DType::bf16) convert_loop<true>(src, dst, n);
  else convert_loop<false>(src, dst, n);
}
