// attnkit addon entry: module init (context-aware: each Node environment, including
// worker_threads, gets its own instance data), the system functions (info, threads, async
// stats, FMA peak, memory bandwidth) and the exports of every op in the op table below (see common.h).
#include <napi.h>

#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "attnkit/scratch.h"
#include "attnkit/isa.h"
#include "attnkit/parallel.h"
#include "attnkit/peak.h"
#include "common.h"
#include "cpu.h"
#include "thread_pool.h"

#if defined(_WIN32)
#include <windows.h>
#else
#include <dlfcn.h>
#endif

namespace attnkit {
namespace bind {

// The op table: one row per op, each the entry its native/bindings/<op>.cc defines with
// ATTNKIT_OP. The addon exports `<op>(args)` and `<op>Async(args)` for every row.
#define ATTNKIT_OPS(X) \
  X(sdpa)              \
  X(sdpaBackward)      \
  X(multiHeadAttention) \
  X(additiveAttention) \
  X(targetAttention)   \
  X(transformerEncoderLayer) \
  X(softmax)           \
  X(layerNorm)         \
  X(linear)            \
  X(gelu)              \
  X(silu)              \
  X(topK)              \
  X(softmaxBackward)   \
  X(layerNormBackward) \
  X(linearBackward)    \
  X(geluBackward)      \
  X(siluBackward)      \
  X(additiveScoresBackward) \
  X(embeddingBackward) \
  X(adamStep)          \
  X(hstuAttention)     \
  X(hstuAttentionBackward)
#define ATTNKIT_DECLARE_OP(name) extern const OpEntry name##_op;
ATTNKIT_OPS(ATTNKIT_DECLARE_OP)
#define ATTNKIT_OP_ROW(name) &name##_op,
const OpEntry* const kOps[] = {ATTNKIT_OPS(ATTNKIT_OP_ROW)};

// measureBandwidth(...): the memory bandwidth microbenchmark (native/bindings/bandwidth.cc).
Napi::Value MeasureBandwidth(const Napi::CallbackInfo& info);
// halfToFloat(bits, dtype): float16 / bfloat16 patterns widened by the convert family (native/bindings/convert.cc).
Napi::Value HalfToFloat(const Napi::CallbackInfo& info);

namespace {

Napi::Value Info(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  Napi::Object o = Napi::Object::New(env);
  o.Set("isa", isa_name(active_isa()));
  o.Set("detectedIsa", isa_name(detected_isa()));
  const char* err = isa_error();
  if (err && *err) o.Set("isaError", err);
  o.Set("threads", num_threads());
  o.Set("hardwareThreads", hardware_threads());
  Napi::Object kernels = Napi::Object::New(env);
  for (KernelTableBase* t = KernelTableBase::head(); t; t = t->next) {
    Napi::Object k = Napi::Object::New(env);
    const char* sel = t->selected();
    k.Set("selected", sel ? Napi::Value(Napi::String::New(env, sel)) : env.Null());
    Napi::Array avail = Napi::Array::New(env);
    uint32_t n = 0;
    for (int i = 0; i < kIsaCount; ++i)
      if (t->available_mask() & (1u << i)) avail.Set(n++, isa_name(static_cast<Isa>(i)));
    k.Set("variants", avail);
    std::string name = t->name;
    if (name.size() > 6 && name.compare(name.size() - 6, 6, "_table") == 0) name.resize(name.size() - 6);
    kernels.Set(name, k);
  }
  o.Set("kernels", kernels);
  const CpuFeatures& f = cpu_features();
  Napi::Object cpu = Napi::Object::New(env);
  cpu.Set("vendor", f.vendor);
  cpu.Set("brand", f.brand);
  cpu.Set("avx2", f.avx2);
  cpu.Set("fma", f.fma);
  cpu.Set("avx512f", f.avx512f);
  cpu.Set("avx512bw", f.avx512bw);
  cpu.Set("avx512dq", f.avx512dq);
  cpu.Set("avx512vl", f.avx512vl);
  cpu.Set("f16c", f.f16c);
  cpu.Set("avx512bf16", f.avx512_bf16);
  cpu.Set("osAvx", f.os_avx);
  cpu.Set("osAvx512", f.os_avx512);
  cpu.Set("neon", f.neon);
  o.Set("cpu", cpu);
#if defined(__clang__)
  o.Set("compiler", std::string("clang ") + __clang_version__);
#elif defined(__GNUC__)
  o.Set("compiler", std::string("gcc ") + __VERSION__);
#elif defined(_MSC_VER)
  o.Set("compiler", std::string("msvc ") + std::to_string(_MSC_VER));
#endif
  o.Set("napiVersion", NAPI_VERSION);
  Napi::Object scratch = Napi::Object::New(env);
  scratch.Set("keptBytes", (double)scratch_kept_bytes());
  scratch.Set("boundBytes", (double)scratch_keep_bytes());
  o.Set("scratch", scratch);
  return o;
}

// The integer first argument of a system function, in [lo, hi]; `what` names the function and range.
int int_arg(const Napi::CallbackInfo& info, int lo, int hi, const std::string& what) {
  if (info.Length() < 1 || !info[0].IsNumber()) throw Napi::TypeError::New(info.Env(), "attnkit native " + what + ": expected an integer");
  const double d = info[0].As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || d != static_cast<double>(static_cast<int>(d))) {
    throw Napi::RangeError::New(info.Env(), "attnkit native " + what + ": expected an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "]" + (lo == 0 ? " (0 = machine default)" : "") + ", received " + std::to_string(d));
  }
  return static_cast<int>(d);
}

Napi::Value SetThreads(const Napi::CallbackInfo& info) {
  set_threads(int_arg(info, 0, 256, "setThreads"));
  return Napi::Number::New(info.Env(), num_threads());
}

Napi::Value GetThreads(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), num_threads()); }

Napi::Value AsyncStats(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  AddonData& d = addon_data(env);
  Napi::Object o = Napi::Object::New(env);
  o.Set("queued", static_cast<double>(d.pending.size()));
  o.Set("running", d.running);
  o.Set("limit", d.limit);
  o.Set("completed", static_cast<double>(d.completed));
  PoolStats ps = pool_stats();
  o.Set("regions", static_cast<double>(ps.regions));
  o.Set("inlineRegions", static_cast<double>(ps.inline_regions));
  return o;
}

Napi::Value SetAsyncLimit(const Napi::CallbackInfo& info) {
  addon_data(info.Env()).limit = int_arg(info, 1, 64, "setAsyncLimit");
  return info.Env().Undefined();
}

Napi::Value LastKernel(const Napi::CallbackInfo& info) {
  AddonData& d = addon_data(info.Env());
  if (d.last_kernel.empty()) return info.Env().Null();
  return Napi::String::New(info.Env(), d.last_kernel);
}

// measurePeak({ threads, ms }): independent FMA chains at the widest ISA on `threads` plain
// threads (not the pool, so the count is exact); returns { gflops, threads, ms, isa }.
Napi::Value MeasurePeak(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = num_threads();
  double ms = 200;
  if (info.Length() >= 1 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "attnkit native measurePeak: expected { threads?, ms? }");
    Napi::Object o = info[0].As<Napi::Object>();
    Napi::Value t = o.Get("threads"), m = o.Get("ms");
    if (!t.IsUndefined()) {
      double d = t.IsNumber() ? t.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 1 && d <= 256) || d != static_cast<double>(static_cast<int>(d)))
        throw Napi::RangeError::New(env, "attnkit native measurePeak: threads must be an integer in [1, 256]");
      threads = static_cast<int>(d);
    }
    if (!m.IsUndefined()) {
      double d = m.IsNumber() ? m.As<Napi::Number>().DoubleValue() : -1;
      if (!(d >= 1 && d <= 60000)) throw Napi::RangeError::New(env, "attnkit native measurePeak: ms must be in [1, 60000]");
      ms = d;
    }
  }
  Isa used = Isa::scalar;
  PeakFn fn = peak_table().get(&used);
  std::atomic<bool> go{false};
  std::vector<double> flops(threads, 0.0);
  std::vector<float> sinks(threads, 0.0f);
  std::vector<std::thread> ts;
  const auto budget = std::chrono::duration<double, std::milli>(ms);
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < threads; ++i) {
    ts.emplace_back([&, i] {
      while (!go.load(std::memory_order_acquire)) {
      }
      auto start = std::chrono::steady_clock::now();
      double f = 0;
      while (std::chrono::steady_clock::now() - start < budget) f += fn(1 << 16, &sinks[i]);
      flops[i] = f;
    });
  }
  t0 = std::chrono::steady_clock::now();
  go.store(true, std::memory_order_release);
  for (auto& t : ts) t.join();
  const double secs = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  double total = 0;
  for (double f : flops) total += f;
  Napi::Object r = Napi::Object::New(env);
  r.Set("gflops", total / secs / 1e9);
  r.Set("threads", threads);
  r.Set("ms", secs * 1e3);
  r.Set("isa", isa_name(used));
  return r;
}

// Keep this library mapped for the life of the process. The thread pool's threads outlive any
// one Node environment; if only a worker_thread loaded the addon, Node unloads it when that
// worker exits, and the pool threads would then run unmapped code.
void pin_library() {
  static bool pinned = [] {
#if defined(_WIN32)
    HMODULE h = nullptr;
    return GetModuleHandleExW(GET_MODULE_HANDLE_EX_FLAG_FROM_ADDRESS | GET_MODULE_HANDLE_EX_FLAG_PIN,
                              reinterpret_cast<LPCWSTR>(&pin_library), &h) != 0;
#else
    Dl_info info;
    if (dladdr(reinterpret_cast<void*>(&pin_library), &info) && info.dli_fname) {
      return dlopen(info.dli_fname, RTLD_NOW | RTLD_NODELETE) != nullptr;
    }
    return false;
#endif
  }();
  (void)pinned;
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  pin_library();
  addon_data(env);  // create this environment's state now
  exports.Set("info", Napi::Function::New(env, Info, "info"));
  exports.Set("setThreads", Napi::Function::New(env, SetThreads, "setThreads"));
  exports.Set("getThreads", Napi::Function::New(env, GetThreads, "getThreads"));
  exports.Set("asyncStats", Napi::Function::New(env, AsyncStats, "asyncStats"));
  exports.Set("setAsyncLimit", Napi::Function::New(env, SetAsyncLimit, "setAsyncLimit"));
  exports.Set("lastKernel", Napi::Function::New(env, LastKernel, "lastKernel"));
  exports.Set("measurePeak", Napi::Function::New(env, MeasurePeak, "measurePeak"));
  exports.Set("measureBandwidth", Napi::Function::New(env, MeasureBandwidth, "measureBandwidth"));
  exports.Set("halfToFloat", Napi::Function::New(env, HalfToFloat, "halfToFloat"));
  export_ops(env, exports, kOps, sizeof(kOps) / sizeof(kOps[0]));
  return exports;
}

}  // namespace
}  // namespace bind
}  // namespace attnkit

static Napi::Object InitAttnkit(Napi::Env env, Napi::Object exports) { return attnkit::bind::Init(env, exports); }
NODE_API_MODULE(attnkit, InitAttnkit)
