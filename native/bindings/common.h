// attnkit bindings: the shared Node-API layer. Every op file (native/bindings/<op>.cc) parses its
// one argument object with `Args` (which CHECKS everything: types, lengths against the expected
// sizes, overflow-safe size products, integer ranges, mask/bias strides) into a `Job`, and defines
// its entry with ATTNKIT_OP_ENTRY; the op table in addon.cc lists it, and the addon exports
// `<op>(args)` (sync) and `<op>Async(args)` (Promise) for every row of that table.
//
// Errors: TypeError for a wrong JS type, RangeError for a wrong size/value; messages start with
// "attnkit native <op>: <field>: ". No input from JavaScript can crash the process: kernels only
// see pointers whose extents were checked here.
#pragma once

#include <napi.h>

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "attnkit/isa.h"

namespace attnkit {
namespace bind {

/// Largest element count any size product may reach (exact in a double, fits every index type).
constexpr uint64_t kMaxElements = (uint64_t(1) << 53) - 1;

/// One op call: checked inputs, preallocated outputs, the kernel to run, the result to build.
/// `run()` may run on a libuv thread and must touch only raw pointers (no Napi calls).
struct Job {
  virtual ~Job() = default;
  /// Run the kernel (any thread). Set `variant` to the ISA level that ran.
  virtual void run() = 0;
  /// Build the JS result (main thread, after run()).
  virtual Napi::Value result(Napi::Env env) = 0;
  /// Every JS buffer the job reads or writes, held until the job is destroyed (on the main thread).
  std::vector<Napi::Reference<Napi::Value>> keep;
  /// Which kernel variant ran (e.g. "avx512"); reported through lastKernel().
  const char* variant = nullptr;
  /// Op name (for messages and reports).
  const char* op = "";
  /// Byte ranges [begin, end) of every input buffer read, with its field name: a caller-supplied
  /// output (Args::into_f32) must not overlap any of them.
  struct Span {
    std::string name;
    uintptr_t begin, end;
  };
  std::vector<Span> inputs;
};

/// A job that runs the active ISA's entry of one kernel table on `Params` and returns the output
/// array (the row-wise primitives). `Table` is the table's accessor from ATTNKIT_DECLARE_TABLE.
template <class Params, KernelTable<void (*)(const Params&)>& (*Table)()>
struct TableJob final : Job {
  Params p;
  size_t out = 0;  // index into keep (napi_values do not outlive their scope)
  void run() override {
    Isa used = Isa::scalar;
    Table().get(&used)(p);
    variant = isa_name(used);
  }
  Napi::Value result(Napi::Env) override { return keep[out].Value(); }
};

/// Parse and check one call's arguments into a Job (main thread). Throws Napi::Error on bad input.
using Parser = std::unique_ptr<Job> (*)(const Napi::CallbackInfo& info);

/// An op the addon exports as `<name>` and `<name>Async`: its name and its parser.
struct OpEntry {
  const char* name;
  Parser parse;
};

/// Define an op's entry (in its bindings/<op>.cc, in namespace attnkit::bind): `ATTNKIT_OP_ENTRY(sdpa, parse_sdpa);`
/// defines `sdpa_op`, which the op table in addon.cc lists. Nothing registers itself.
#define ATTNKIT_OP_ENTRY(name, parser) extern const ::attnkit::bind::OpEntry name##_op{#name, parser}

/// A strided broadcast operand checked against its canonical index space.
template <class T>
struct StridedView {
  const T* data = nullptr;            ///< nullptr when absent
  std::vector<int64_t> strides;       ///< one per canonical axis, >= 0
};

/// Overflow-checked product of non-negative sizes; throws RangeError past kMaxElements.
uint64_t checked_product(Napi::Env env, const std::string& what, std::initializer_list<uint64_t> dims);

/// Reads fields of the single argument object of an op call, checking each one.
class Args {
 public:
  /// `info[0]` must be an object; `job` receives references to every buffer read or allocated.
  Args(const Napi::CallbackInfo& info, Job& job, const char* op);

  Napi::Env env() const { return env_; }

  /// Integer field in [lo, hi] (a JS number with no fraction).
  int64_t integer(const char* name, int64_t lo, int64_t hi);
  /// Number field; `finite` rejects NaN/±Inf.
  double number(const char* name, bool finite);
  /// Boolean field (true/false only).
  bool boolean(const char* name);
  /// String field, one of `allowed`; returns its index in `allowed`.
  int choice(const char* name, std::initializer_list<const char*> allowed);
  /// True when the field is null or undefined.
  bool absent(const char* name);

  /// Float32Array field of exactly `expected` elements.
  const float* f32(const char* name, uint64_t expected);
  /// Same, or nullptr when the field is null/undefined.
  const float* f32_opt(const char* name, uint64_t expected);
  /// Int32Array field of exactly `expected` elements, every value in [lo, hi]; nullptr when absent
  /// and `optional`.
  const int32_t* i32(const char* name, uint64_t expected, int64_t lo, int64_t hi, bool optional);
  /// Optional `{ data: Uint8Array, strides: number[] }` over the index space `dims`.
  StridedView<uint8_t> strided_u8(const char* name, const std::vector<int64_t>& dims);
  /// Optional `{ data: Float32Array, strides: number[] }` over the index space `dims`.
  StridedView<float> strided_f32(const char* name, const std::vector<int64_t>& dims);

  /// A new Float32Array of n elements (zero-filled), kept alive by the job; `out` receives it.
  /// `out` is a handle valid only during this call: to return the array from result() (which
  /// runs later for async calls), remember `job.keep.size() - 1` and use `keep[i].Value()`.
  float* out_f32(uint64_t n, Napi::Float32Array* out);
  /// The output of n elements: the caller's Float32Array in field `name` (options.out) when given,
  /// refused when it shares memory with any input read before this call; else a new array (as
  /// out_f32). Kept alive by the job either way, at index `job.keep.size() - 1`.
  float* into_f32(const char* name, uint64_t n);
  /// A new Int32Array of n elements, kept alive by the job.
  int32_t* out_i32(uint64_t n, Napi::Int32Array* out);

  /// Field `name` of the argument object (for ops with nested structures).
  Napi::Value get(const char* name);
  /// A sub-reader over the object in field `name` (shares the job and the op name).
  Args sub(const char* name);
  /// A sub-reader over an arbitrary object value (e.g. an array element); `path` names it.
  Args sub_value(Napi::Value v, const std::string& path);

  /// Throw a TypeError "attnkit native <op>: <path.name>: msg".
  [[noreturn]] void type_error(const char* name, const std::string& msg);
  /// Throw a RangeError "attnkit native <op>: <path.name>: msg".
  [[noreturn]] void range_error(const char* name, const std::string& msg);

 private:
  Args(Napi::Env env, Napi::Object obj, Job& job, const char* op, std::string prefix);
  std::string field(const char* name) const;
  template <class T, napi_typedarray_type Kind>
  const T* typed(const char* name, uint64_t expected, bool optional, const char* tname);
  template <class T, napi_typedarray_type Kind>
  StridedView<T> strided(const char* name, const std::vector<int64_t>& dims, const char* tname);

  Napi::Env env_;
  Napi::Object obj_;
  Job& job_;
  const char* op_;
  std::string prefix_;
};

class OpWorker;

/// Per-environment state (main thread and each worker_thread get their own).
struct AddonData {
  /// Async jobs waiting for a slot (not yet handed to libuv).
  std::deque<OpWorker*> pending;
  int running = 0;        ///< async jobs handed to libuv and not yet finished
  int limit = 2;          ///< max running at once (kernels also serialise on the pool)
  uint64_t completed = 0; ///< async jobs finished (resolved or rejected)
  std::string last_kernel;
};
AddonData& addon_data(Napi::Env env);

/// Export `<name>` and `<name>Async` on `exports` for each of the `n` ops of `ops`.
void export_ops(Napi::Env env, Napi::Object exports, const OpEntry* const* ops, size_t n);

}  // namespace bind
}  // namespace attnkit
