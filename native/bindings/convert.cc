// halfToFloat(bits: Uint16Array, dtype: 'float16' | 'bfloat16') -> Float32Array: the convert
// family (attnkit/convert.h) on the active ISA, for tests (exhaustive over all 65,536 patterns
// per ISA) and tools. Registered by addon.cc beside the other system functions; lastKernel()
// reports `convert:<isa>`.
#include <napi.h>

#include <string>

#include "attnkit/convert.h"
#include "common.h"

namespace attnkit {
namespace bind {

Napi::Value HalfToFloat(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  const std::string what = "attnkit native halfToFloat: ";
  if (info.Length() < 2) throw Napi::TypeError::New(env, what + "expected (bits: Uint16Array, dtype: 'float16' | 'bfloat16')");
  if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint16_array)
    throw Napi::TypeError::New(env, what + "bits: expected a Uint16Array");
  if (!info[1].IsString()) throw Napi::TypeError::New(env, what + "dtype: expected 'float16' or 'bfloat16'");
  const std::string d = info[1].As<Napi::String>().Utf8Value();
  if (d != "float16" && d != "bfloat16") throw Napi::RangeError::New(env, what + "dtype: expected 'float16' or 'bfloat16', received '" + d + "'");
  Napi::Uint16Array bits = info[0].As<Napi::Uint16Array>();
  const size_t n = bits.ElementLength();
  Napi::Float32Array out = Napi::Float32Array::New(env, n);
  Isa used = Isa::scalar;
  if (n > 0) {
    void* data = nullptr;
    if (napi_get_typedarray_info(env, bits, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok || !data)
      throw Napi::RangeError::New(env, what + "bits: buffer has no data (detached?)");
    used = half_to_float(static_cast<const uint16_t*>(data), out.Data(), static_cast<int64_t>(n), d == "float16" ? DType::f16 : DType::bf16);
  } else {
    convert_table().get(&used);
  }
  addon_data(env).last_kernel = std::string("convert:") + isa_name(used);
  return out;
}

}  // namespace bind
}  // namespace attnkit
