// measureBandwidth({ threads?, ms?, bytes?, trials? }): the binding of the bandwidth
// microbenchmark (plain C++ in native/kernels/peak/bandwidth.cc, see attnkit/bandwidth.h).
// Registered by addon.cc beside measurePeak. Returns { gbps, trials: number[], threads,
// bytesPerThread, ms, isa }.
#include <napi.h>

#include <cmath>
#include <new>

#include "attnkit/bandwidth.h"
#include "attnkit/parallel.h"

namespace attnkit {
namespace bind {

namespace {

/// An optional number field of `o` in [lo, hi] (integer when `integer`), else `def`.
double field(Napi::Env env, Napi::Object o, const char* name, double lo, double hi, bool integer, double def, const char* range) {
  Napi::Value v = o.Get(name);
  if (v.IsUndefined()) return def;
  if (!v.IsNumber()) throw Napi::TypeError::New(env, std::string("attnkit native measureBandwidth: ") + name + " must be a number " + range);
  const double d = v.As<Napi::Number>().DoubleValue();
  if (!(d >= lo && d <= hi) || (integer && d != std::floor(d)))
    throw Napi::RangeError::New(env, std::string("attnkit native measureBandwidth: ") + name + " must be " + range);
  return d;
}

}  // namespace

Napi::Value MeasureBandwidth(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  int threads = num_threads();
  double ms = 200, bytes = 256.0 * 1024 * 1024;
  int trials = 1;
  if (info.Length() >= 1 && !info[0].IsUndefined() && !info[0].IsNull()) {
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "attnkit native measureBandwidth: expected { threads?, ms?, bytes?, trials? }");
    Napi::Object o = info[0].As<Napi::Object>();
    threads = static_cast<int>(field(env, o, "threads", 1, 256, true, threads, "an integer in [1, 256]"));
    ms = field(env, o, "ms", 1, 60000, false, ms, "in [1, 60000]");
    // 3 arrays of at least 64 floats; at most 16 GiB per thread.
    bytes = field(env, o, "bytes", 768, 17179869184.0, true, bytes, "an integer in [768, 2^34] (bytes per thread)");
    trials = static_cast<int>(field(env, o, "trials", 1, 100, true, trials, "an integer in [1, 100]"));
  }
  BandwidthResult r;
  try {
    r = measure_bandwidth(threads, ms, static_cast<int64_t>(bytes), trials);
  } catch (const std::bad_alloc&) {
    throw Napi::RangeError::New(env, "attnkit native measureBandwidth: could not allocate " + std::to_string(threads) + " x " +
                                         std::to_string(static_cast<int64_t>(bytes)) + " bytes");
  }
  Napi::Object o = Napi::Object::New(env);
  o.Set("gbps", r.gbps);
  Napi::Array all = Napi::Array::New(env, r.trial_gbps.size());
  for (size_t i = 0; i < r.trial_gbps.size(); ++i) all.Set(static_cast<uint32_t>(i), r.trial_gbps[i]);
  o.Set("trials", all);
  o.Set("threads", threads);
  o.Set("bytesPerThread", static_cast<double>(r.bytes_per_thread));
  o.Set("ms", r.ms);
  o.Set("isa", isa_name(r.isa));
  return o;
}

}  // namespace bind
}  // namespace attnkit
