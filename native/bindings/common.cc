// attnkit bindings: argument checking, the op registry, sync calls and the async queue.
#include "common.h"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <exception>
#include <limits>
#include <new>
#include <stdexcept>

namespace attnkit {
namespace bind {


uint64_t checked_product(Napi::Env env, const std::string& what, std::initializer_list<uint64_t> dims) {
  uint64_t p = 1;
  for (uint64_t d : dims) {
    if (d != 0 && p > kMaxElements / d) {
      throw Napi::RangeError::New(env, "attnkit native: " + what + ": size product overflows (over 2^53 elements)");
    }
    p *= d;
  }
  return p;
}

static std::string type_of(Napi::Value v) {
  if (v.IsUndefined()) return "undefined";
  if (v.IsNull()) return "null";
  if (v.IsBoolean()) return "boolean";
  if (v.IsNumber()) return "number";
  if (v.IsString()) return "string";
  if (v.IsTypedArray()) {
    switch (v.As<Napi::TypedArray>().TypedArrayType()) {
      case napi_int8_array: return "Int8Array";
      case napi_uint8_array: return "Uint8Array";
      case napi_uint8_clamped_array: return "Uint8ClampedArray";
      case napi_int16_array: return "Int16Array";
      case napi_uint16_array: return "Uint16Array";
      case napi_int32_array: return "Int32Array";
      case napi_uint32_array: return "Uint32Array";
      case napi_float32_array: return "Float32Array";
      case napi_float64_array: return "Float64Array";
      case napi_bigint64_array: return "BigInt64Array";
      case napi_biguint64_array: return "BigUint64Array";
      default: return "TypedArray";
    }
  }
  if (v.IsArray()) return "Array";
  if (v.IsFunction()) return "function";
  if (v.IsObject()) return "object";
  return "value";
}

Args::Args(const Napi::CallbackInfo& info, Job& job, const char* op)
    : env_(info.Env()), obj_(), job_(job), op_(op), prefix_() {
  if (info.Length() < 1 || !info[0].IsObject() || info[0].IsArray()) {
    throw Napi::TypeError::New(env_, std::string("attnkit native ") + op + ": expected one argument object, received " +
                                         (info.Length() < 1 ? std::string("nothing") : type_of(info[0])));
  }
  obj_ = info[0].As<Napi::Object>();
}

Args::Args(Napi::Env env, Napi::Object obj, Job& job, const char* op, std::string prefix)
    : env_(env), obj_(obj), job_(job), op_(op), prefix_(std::move(prefix)) {}

std::string Args::field(const char* name) const { return prefix_ + name; }

void Args::type_error(const char* name, const std::string& msg) {
  throw Napi::TypeError::New(env_, std::string("attnkit native ") + op_ + ": " + field(name) + ": " + msg);
}
void Args::range_error(const char* name, const std::string& msg) {
  throw Napi::RangeError::New(env_, std::string("attnkit native ") + op_ + ": " + field(name) + ": " + msg);
}

Napi::Value Args::get(const char* name) { return obj_.Get(name); }

bool Args::absent(const char* name) {
  Napi::Value v = get(name);
  return v.IsUndefined() || v.IsNull();
}

int64_t Args::integer(const char* name, int64_t lo, int64_t hi) {
  Napi::Value v = get(name);
  if (!v.IsNumber()) type_error(name, "expected an integer, received " + type_of(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (!std::isfinite(d) || d != std::floor(d)) range_error(name, "expected an integer, received " + std::to_string(d));
  if (d < static_cast<double>(lo) || d > static_cast<double>(hi)) {
    range_error(name, "expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], received " + std::to_string(d));
  }
  return static_cast<int64_t>(d);
}

double Args::number(const char* name, bool finite) {
  Napi::Value v = get(name);
  if (!v.IsNumber()) type_error(name, "expected a number, received " + type_of(v));
  double d = v.As<Napi::Number>().DoubleValue();
  if (finite && !std::isfinite(d)) range_error(name, "expected a finite number, received " + std::to_string(d));
  return d;
}

void Args::attention_limits(int64_t B, bool& causal, const int32_t*& offsets, int64_t& window_left, int64_t& window_right, float& softcap) {
  causal = boolean("causal");
  offsets = i32("offsets", static_cast<uint64_t>(B), INT32_MIN, INT32_MAX, true);
  window_left = integer("windowLeft", -1, INT32_MAX);
  window_right = integer("windowRight", -1, INT32_MAX);
  // 0 = none; else within [1e-10, 1e10] (as the TS layer checks): c, 1/c and c·tanh(x/c) stay
  // normal float32 numbers (a cap past FLT_MAX would become Inf and every logit NaN).
  const double cap = number("softcap", true);
  if (cap != 0 && !(cap >= 1e-10 && cap <= 1e10)) range_error("softcap", "expected 0 (none) or a cap within [1e-10, 1e10], received " + std::to_string(cap));
  softcap = static_cast<float>(cap);
}

bool Args::boolean(const char* name) {
  Napi::Value v = get(name);
  if (!v.IsBoolean()) type_error(name, "expected a boolean, received " + type_of(v));
  return v.As<Napi::Boolean>().Value();
}

int Args::choice(const char* name, std::initializer_list<const char*> allowed) {
  Napi::Value v = get(name);
  std::string list;
  for (const char* a : allowed) list += (list.empty() ? "'" : ", '") + std::string(a) + "'";
  if (!v.IsString()) type_error(name, "expected one of " + list + ", received " + type_of(v));
  std::string s = v.As<Napi::String>().Utf8Value();
  int i = 0;
  for (const char* a : allowed) {
    if (s == a) return i;
    ++i;
  }
  range_error(name, "expected one of " + list + ", received '" + s + "'");
}

Napi::Value Args::checked_typed(const char* name, uint64_t expected, int kind, const char* tname, bool optional) {
  Napi::Value v = get(name);
  if (optional && (v.IsUndefined() || v.IsNull())) return v;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != static_cast<napi_typedarray_type>(kind)) {
    type_error(name, std::string("expected a ") + tname + (optional ? " or null" : "") + ", received " + type_of(v));
  }
  const uint64_t len = v.As<Napi::TypedArray>().ElementLength();
  if (len != expected) {
    range_error(name, std::string("expected ") + std::to_string(expected) + " elements, received " + tname + "(" + std::to_string(len) + ")" +
                          (len == 0 && expected != 0 ? " (a detached buffer?)" : ""));
  }
  return v;
}

template <class T, napi_typedarray_type Kind>
const T* Args::typed(const char* name, uint64_t expected, bool optional, const char* tname) {
  Napi::Value v = checked_typed(name, expected, Kind, tname, optional);
  if (v.IsUndefined() || v.IsNull()) return nullptr;
  return take<T>(v, field(name), expected, job_.async);
}

template <class T>
const T* Args::take(Napi::Value v, const std::string& where, uint64_t expected, bool copy) {
  job_.keep.emplace_back(Napi::Persistent(v));
  if (expected == 0) return reinterpret_cast<const T*>(this);  // never dereferenced; non-null marks "present"
  // The element pointer straight from napi_get_typedarray_info (already offset): unlike
  // ta.ArrayBuffer().Data() it also works for SharedArrayBuffer-backed arrays (napi_get_arraybuffer_info
  // rejects a SharedArrayBuffer with napi_invalid_arg).
  void* data = nullptr;
  if (napi_get_typedarray_info(env_, v, nullptr, nullptr, &data, nullptr, nullptr) != napi_ok || !data) {
    throw Napi::RangeError::New(env_, std::string("attnkit native ") + op_ + ": " + where + ": buffer has no data (detached?)");
  }
  const uintptr_t b = reinterpret_cast<uintptr_t>(data);
  const size_t bytes = static_cast<size_t>(expected * sizeof(T));
  job_.inputs.push_back(Job::Span{where, b, b + static_cast<uintptr_t>(bytes)});
  if (copy) {
    std::vector<uint64_t>& c = job_.copies.emplace_back((bytes + 7) / 8);
    std::memcpy(c.data(), data, bytes);
    return reinterpret_cast<const T*>(c.data());
  }
  job_.views.push_back(Job::View{job_.keep.size() - 1, where, data, static_cast<size_t>(expected)});
  return static_cast<const T*>(data);
}

const int32_t* Args::i32_value(Napi::Value v, const std::string& path, int64_t lo, int64_t hi, size_t* len) {
  const std::string where = prefix_ + path;
  if (!v.IsTypedArray() || v.As<Napi::TypedArray>().TypedArrayType() != napi_int32_array) {
    throw Napi::TypeError::New(env_, std::string("attnkit native ") + op_ + ": " + where + ": expected an Int32Array or null, received " + type_of(v));
  }
  *len = v.As<Napi::TypedArray>().ElementLength();
  const int32_t* p = take<int32_t>(v, where, *len, job_.async);
  if (*len == 0) return nullptr;
  for (size_t i = 0; i < *len; ++i) {
    if (p[i] < lo || p[i] > hi) {
      throw Napi::RangeError::New(env_, std::string("attnkit native ") + op_ + ": " + where + ": element " + std::to_string(i) + " = " +
                                            std::to_string(p[i]) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
    }
  }
  return p;
}

void Args::check_views() {
  for (const Job::View& w : job_.views) {
    void* data = nullptr;
    size_t length = 0;
    napi_value v = job_.keep[w.keep].Value();
    if (napi_get_typedarray_info(env_, v, nullptr, &length, &data, nullptr, nullptr) != napi_ok || data != w.data || length < w.elements) {
      throw Napi::RangeError::New(env_, std::string("attnkit native ") + op_ + ": " + w.name +
                                            ": its buffer was resized, transferred or detached while the arguments were read (by a getter "
                                            "or a proxy); pass plain data");
    }
  }
}

const float* Args::f32(const char* name, uint64_t expected) {
  return typed<float, napi_float32_array>(name, expected, false, "Float32Array");
}
const float* Args::f32_opt(const char* name, uint64_t expected) {
  return typed<float, napi_float32_array>(name, expected, true, "Float32Array");
}
const double* Args::f64_opt(const char* name, uint64_t expected) {
  return typed<double, napi_float64_array>(name, expected, true, "Float64Array");
}
DType Args::dtype_of(const char* name) {
  Napi::Value d = obj_.Get("dtypes");
  if (d.IsUndefined() || d.IsNull()) return DType::f32;
  if (!d.IsObject() || d.IsArray() || d.IsTypedArray()) type_error("dtypes", "expected an object of field dtypes or null, received " + type_of(d));
  Napi::Value v = d.As<Napi::Object>().Get(name);
  if (v.IsUndefined() || v.IsNull()) return DType::f32;
  if (!v.IsString()) type_error((std::string("dtypes.") + name).c_str(), "expected 'float16' or 'bfloat16', received " + type_of(v));
  const std::string s = v.As<Napi::String>().Utf8Value();
  if (s == "float16") return DType::f16;
  if (s == "bfloat16") return DType::bf16;
  if (s == "float32") return DType::f32;
  range_error((std::string("dtypes.") + name).c_str(), "expected 'float16', 'bfloat16' or 'float32', received '" + s + "'");
}

Floats Args::floats_impl(const char* name, uint64_t expected, bool optional) {
  Floats f;
  f.type = dtype_of(name);
  if (f.type == DType::f32) {
    f.data = typed<float, napi_float32_array>(name, expected, optional, "Float32Array");
  } else {
    const std::string what = std::string("Uint16Array (") + dtype_name(f.type) + " bits)" + (optional ? " or null" : "");
    f.data = typed<uint16_t, napi_uint16_array>(name, expected, optional, what.c_str());
  }
  return f;
}
Floats Args::floats(const char* name, uint64_t expected) { return floats_impl(name, expected, false); }
Floats Args::floats_opt(const char* name, uint64_t expected) { return floats_impl(name, expected, true); }
StridedView<uint16_t> Args::strided_u16(const char* name, const std::vector<int64_t>& dims) {
  return strided<uint16_t, napi_uint16_array>(name, dims, dtype_of(name) == DType::bf16 ? "Uint16Array (bfloat16 bits)" : "Uint16Array (float16 bits)");
}
void Args::dtypes_only(std::initializer_list<const char*> fields) {
  Napi::Value d = obj_.Get("dtypes");
  if (d.IsUndefined() || d.IsNull()) return;
  if (!d.IsObject() || d.IsArray() || d.IsTypedArray()) type_error("dtypes", "expected an object of field dtypes or null, received " + type_of(d));
  Napi::Array keys = d.As<Napi::Object>().GetPropertyNames();
  for (uint32_t i = 0; i < keys.Length(); ++i) {
    const std::string key = keys.Get(i).ToString().Utf8Value();
    bool known = false;
    std::string list;
    for (const char* f : fields) {
      known |= key == f;
      list += (list.empty() ? "" : ", ") + std::string(f);
    }
    if (!known) range_error(("dtypes." + key).c_str(), std::string("not a float operand of ") + op_ + " (those are: " + list + ")");
    dtype_of(key.c_str());  // checks the value
  }
}

const int32_t* Args::i32(const char* name, uint64_t expected, int64_t lo, int64_t hi, bool optional) {
  const int32_t* p = typed<int32_t, napi_int32_array>(name, expected, optional, "Int32Array");
  if (!p) return nullptr;
  for (uint64_t i = 0; i < expected; ++i) {
    if (p[i] < lo || p[i] > hi) {
      range_error(name, "element " + std::to_string(i) + " = " + std::to_string(p[i]) + " is outside [" + std::to_string(lo) + ", " +
                            std::to_string(hi) + "]");
    }
  }
  return p;
}

template <class T, napi_typedarray_type Kind>
StridedView<T> Args::strided(const char* name, const std::vector<int64_t>& dims, const char* tname) {
  StridedView<T> out;
  Napi::Value v = get(name);
  if (v.IsUndefined() || v.IsNull()) return out;
  if (!v.IsObject() || v.IsArray() || v.IsTypedArray()) type_error(name, "expected { data, strides } or null, received " + type_of(v));
  Args s = sub(name);
  Napi::Value sv = s.get("strides");
  if (!sv.IsArray()) s.type_error("strides", "expected an array of " + std::to_string(dims.size()) + " integers, received " + type_of(sv));
  auto arr = sv.As<Napi::Array>();
  if (arr.Length() != dims.size()) {
    s.range_error("strides", "expected " + std::to_string(dims.size()) + " strides, received " + std::to_string(arr.Length()));
  }
  Napi::Value dv = s.get("data");
  if (!dv.IsTypedArray() || dv.As<Napi::TypedArray>().TypedArrayType() != Kind) {
    s.type_error("data", std::string("expected a ") + tname + ", received " + type_of(dv));
  }
  const uint64_t len = dv.As<Napi::TypedArray>().ElementLength();
  // The largest offset reachable is sum(stride * (dim - 1)); it must be inside the buffer.
  uint64_t maxOff = 0;
  for (uint32_t a = 0; a < arr.Length(); ++a) {
    Napi::Value e = arr.Get(a);
    if (!e.IsNumber()) s.type_error("strides", "element " + std::to_string(a) + " is " + type_of(e) + ", expected an integer");
    double d = e.As<Napi::Number>().DoubleValue();
    if (!std::isfinite(d) || d != std::floor(d) || d < 0 || d > static_cast<double>(kMaxElements)) {
      s.range_error("strides", "element " + std::to_string(a) + " = " + std::to_string(d) + " is not an integer in [0, 2^53)");
    }
    const uint64_t st = static_cast<uint64_t>(d);
    const uint64_t dm = dims[a] > 0 ? static_cast<uint64_t>(dims[a] - 1) : 0;
    if (dm != 0 && st > (kMaxElements - maxOff) / dm) s.range_error("strides", "offsets overflow");
    maxOff += st * dm;
    out.strides.push_back(static_cast<int64_t>(st));
  }
  if (maxOff >= len) {
    s.range_error("data", "strides reach element " + std::to_string(maxOff) + " but data has " + std::to_string(len) + " elements");
  }
  out.data = s.typed<T, Kind>("data", len, false, tname);
  out.length = len;
  return out;
}

StridedView<uint8_t> Args::strided_u8(const char* name, const std::vector<int64_t>& dims) {
  return strided<uint8_t, napi_uint8_array>(name, dims, "Uint8Array");
}
StridedView<float> Args::strided_f32(const char* name, const std::vector<int64_t>& dims) {
  return strided<float, napi_float32_array>(name, dims, "Float32Array");
}

Args Args::sub(const char* name) {
  Napi::Value v = get(name);
  if (!v.IsObject()) type_error(name, "expected an object, received " + type_of(v));
  return Args(env_, v.As<Napi::Object>(), job_, op_, field(name) + ".");
}

Args Args::sub_value(Napi::Value v, const std::string& path) {
  if (!v.IsObject()) {
    throw Napi::TypeError::New(env_, std::string("attnkit native ") + op_ + ": " + prefix_ + path + ": expected an object, received " + type_of(v));
  }
  return Args(env_, v.As<Napi::Object>(), job_, op_, prefix_ + path + ".");
}

template <class Array>
auto Args::new_output(const char* name, uint64_t n) {
  if (n > static_cast<uint64_t>(std::numeric_limits<int32_t>::max()) * 2) {
    throw Napi::RangeError::New(env_, std::string("attnkit native ") + op_ + ": output of " + std::to_string(n) + " elements is too large");
  }
  Array arr = Array::New(env_, static_cast<size_t>(n));
  job_.keep.emplace_back(Napi::Persistent(static_cast<Napi::Value>(arr)));
  job_.outputs.emplace_back(name, job_.keep.size() - 1);
  return arr.Data();
}

float* Args::output_f32(const char* name, uint64_t n) { return new_output<Napi::Float32Array>(name, n); }

int32_t* Args::output_i32(const char* name, uint64_t n) { return new_output<Napi::Int32Array>(name, n); }

float* Args::into_output_f32(const char* field, const char* name, uint64_t n) {
  if (absent(field)) return output_f32(name, n);
  const size_t before = job_.inputs.size();
  // The caller's array itself (never a copy), recorded as a view: check_views() re-checks it.
  float* data = const_cast<float*>(take<float>(checked_typed(field, n, napi_float32_array, "Float32Array", false), this->field(field), n, false));
  job_.outputs.emplace_back(name, job_.keep.size() - 1);
  if (job_.inputs.size() == before) return data;  // n == 0: no memory to share
  const Job::Span mine = job_.inputs.back();
  job_.inputs.resize(before);  // an output is not an input
  for (const Job::Span& in : job_.inputs) {
    if (mine.begin < in.end && in.begin < mine.end) {
      range_error(field, "shares memory with input " + in.name + " (the output would overwrite what the kernel is still reading)");
    }
  }
  if (!job_.async) return data;
  // Async: the kernel writes a copy; result() copies it into the caller's array, checked again then.
  job_.views.pop_back();
  std::vector<uint64_t>& c = job_.copies.emplace_back((n * sizeof(float) + 7) / 8);
  job_.out_copies.push_back(Job::View{job_.keep.size() - 1, this->field(field), c.data(),
                                         static_cast<size_t>(n)});
  return reinterpret_cast<float*>(c.data());
}

float* Args::in_out_f32(const char* field, const char* name, uint64_t n) {
  // Read as an input (its span recorded for the overlap checks; sync: a view, async: a copy).
  const float* p = typed<float, napi_float32_array>(field, n, false, "Float32Array");
  const size_t keep = job_.keep.size() - 1;
  job_.outputs.emplace_back(name, keep);
  if (job_.async && n > 0) job_.out_copies.push_back(Job::View{keep, this->field(field), p, static_cast<size_t>(n)});
  return const_cast<float*>(p);
}

void Args::sizes(int64_t lo, int64_t hi, std::initializer_list<std::pair<const char*, int64_t*>> fields) {
  for (const auto& f : fields) *f.second = integer(f.first, lo, hi);
}

uint64_t Args::rows_cols(int64_t* rows, int64_t* cols) {
  const int64_t r = integer("rows", 1, 0x7fffffff), c = integer("cols", 1, 0x7fffffff);
  if (rows) *rows = r;
  if (cols) *cols = c;
  return checked_product(env_, std::string(op_) + " x", {static_cast<uint64_t>(r), static_cast<uint64_t>(c)});
}

Napi::Value Job::result(Napi::Env env) {
  // Every caller array checked before any is written: all of them are written, or none.
  std::vector<void*> targets;
  for (const View& o : out_copies) {
    void* data = nullptr;
    size_t length = 0;
    if (napi_get_typedarray_info(env, keep[o.keep].Value(), nullptr, &length, &data, nullptr, nullptr) != napi_ok || !data ||
        length != o.elements) {
      throw Napi::RangeError::New(env, std::string("attnkit native ") + op + ": " + o.name +
                                           ": the output array was resized, transferred or detached while the call ran; nothing was written");
    }
    targets.push_back(data);
  }
  for (size_t i = 0; i < out_copies.size(); ++i) std::memcpy(targets[i], out_copies[i].data, out_copies[i].elements * sizeof(float));
  if (outputs.size() == 1 && outputs[0].first == nullptr) return keep[outputs[0].second].Value();
  Napi::Object o = Napi::Object::New(env);
  for (const auto& out : outputs) o.Set(out.first, keep[out.second].Value());
  return o;
}

AddonData& addon_data(Napi::Env env) {
  AddonData* d = env.GetInstanceData<AddonData>();
  if (!d) {
    d = new AddonData();
    env.SetInstanceData<AddonData>(d);
  }
  return *d;
}

// ---- sync and async calls -------------------------------------------------------------------

static std::string what_of(std::exception_ptr p) {
  try {
    std::rethrow_exception(p);
  } catch (const std::bad_alloc&) {
    return "out of memory";
  } catch (const std::exception& e) {
    return e.what();
  } catch (...) {
    return "unknown C++ exception";
  }
}

static Napi::Value call_sync(const Napi::CallbackInfo& info) {
  auto* entry = static_cast<OpEntry*>(info.Data());
  std::unique_ptr<Job> job = entry->parse(info, false);
  job->op = entry->name;
  try {
    job->run();
  } catch (const Napi::Error&) {
    throw;
  } catch (...) {
    throw Napi::Error::New(info.Env(), std::string("attnkit native ") + entry->name + ": " + what_of(std::current_exception()));
  }
  if (job->variant) addon_data(info.Env()).last_kernel = std::string(entry->name) + ":" + job->variant;
  return job->result(info.Env());
}

/// Runs one Job on a libuv thread (the kernel itself on the pool); settles a Promise.
class OpWorker : public Napi::AsyncWorker {
 public:
  OpWorker(Napi::Env env, std::unique_ptr<Job> job)
      : Napi::AsyncWorker(env, "attnkit"), deferred_(Napi::Promise::Deferred::New(env)), job_(std::move(job)) {}
  Napi::Promise promise() { return deferred_.Promise(); }

  void Execute() override {
    try {
      job_->run();
    } catch (...) {
      SetError(std::string("attnkit native ") + job_->op + ": " + what_of(std::current_exception()));
    }
  }
  void OnOK() override {
    Napi::Env env = Env();
    AddonData& d = addon_data(env);
    if (job_->variant) d.last_kernel = std::string(job_->op) + ":" + job_->variant;
    try {
      deferred_.Resolve(job_->result(env));
    } catch (const Napi::Error& e) {
      deferred_.Reject(e.Value());
    }
    finish(env);
  }
  void OnError(const Napi::Error& e) override {
    deferred_.Reject(e.Value());
    finish(Env());
  }

 private:
  void finish(Napi::Env env) {
    job_.reset();  // drop the buffer references now, on the main thread
    AddonData& d = addon_data(env);
    d.running--;
    d.completed++;
    pump(env);
  }

 public:
  /// Hand waiting jobs to libuv while fewer than `limit` run.
  static void pump(Napi::Env env) {
    AddonData& d = addon_data(env);
    while (d.running < d.limit && !d.pending.empty()) {
      OpWorker* w = d.pending.front();
      d.pending.pop_front();
      d.running++;
      w->Queue();
    }
  }

 private:
  Napi::Promise::Deferred deferred_;
  std::unique_ptr<Job> job_;
};

static Napi::Value call_async(const Napi::CallbackInfo& info) {
  auto* entry = static_cast<OpEntry*>(info.Data());
  Napi::Env env = info.Env();
  std::unique_ptr<Job> job;
  try {
    job = entry->parse(info, true);
  } catch (const Napi::Error& e) {
    // Bad arguments reject the Promise (an async function never throws synchronously).
    auto def = Napi::Promise::Deferred::New(env);
    def.Reject(e.Value());
    return def.Promise();
  }
  job->op = entry->name;
  auto* w = new OpWorker(env, std::move(job));  // deletes itself after OnOK/OnError
  Napi::Promise p = w->promise();
  addon_data(env).pending.push_back(w);
  OpWorker::pump(env);
  return p;
}

void export_ops(Napi::Env env, Napi::Object exports, const OpEntry* const* ops, size_t n) {
  for (size_t i = 0; i < n; ++i) {
    // info.Data() carries the entry; the functions only read it.
    OpEntry* e = const_cast<OpEntry*>(ops[i]);
    exports.Set(e->name, Napi::Function::New(env, call_sync, e->name, e));
    std::string an = std::string(e->name) + "Async";
    exports.Set(an, Napi::Function::New(env, call_async, an, e));
  }
}

}  // namespace bind
}  // namespace attnkit
