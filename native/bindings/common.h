// attnkit bindings: the shared Node-API layer. Every op file (native/bindings/<op>.cc) fills a
// `Job` (TableJob or ForwardJob) from its one argument object with `Args` (which CHECKS everything:
// types, lengths against the expected sizes, overflow-safe size products, integer ranges, mask/bias
// strides, outputs by name) and defines its entry with ATTNKIT_OP; the op table in addon.cc lists
// it, and the addon exports `<op>(args)` (sync) and `<op>Async(args)` (Promise) for every row.
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
#include <utility>
#include <vector>

#include "attnkit/dtype.h"
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
  /// Build the JS result (main thread, after run()): the one unnamed output as is, or an object
  /// with every named output.
  Napi::Value result(Napi::Env env);
  /// Every JS buffer the job reads or writes, held until the job is destroyed (on the main thread).
  std::vector<Napi::Reference<Napi::Value>> keep;
  /// The outputs result() returns: a name (nullptr for a sole unnamed output) and an index into
  /// `keep` (a napi_value does not outlive its scope; async results are built later).
  std::vector<std::pair<const char*, size_t>> outputs;
  /// Which kernel variant ran (e.g. "avx512"); reported through lastKernel().
  const char* variant = nullptr;
  /// Op name (for messages and reports).
  const char* op = "";
  /// Byte ranges [begin, end) of every input buffer read, with its field name: a caller-supplied
  /// output (Args::into_output_f32) must not overlap any of them.
  struct Span {
    std::string name;
    uintptr_t begin, end;
  };
  std::vector<Span> inputs;

  /// An async call: JavaScript runs while the kernel does, so the kernel must not read or write
  /// any JavaScript buffer. Inputs are copied into `copies` when read; a caller-supplied output is
  /// written into a copy and copied into the caller's array by result(), checked again then.
  bool async = false;
  /// A typed array whose memory the kernel uses in place (sync calls): its keep index, its field,
  /// its data pointer and element count when taken. Args::check_views() re-reads them after the
  /// last field was read, so a getter that resized, transferred or detached an earlier buffer is
  /// a typed error, never a dangling pointer.
  struct View {
    size_t keep;
    std::string name;
    const void* data;
    size_t elements;
  };
  std::vector<View> views;
  /// Job-owned memory (8-byte aligned): the async copies of the inputs and outputs.
  std::deque<std::vector<uint64_t>> copies;
  /// Async: a caller's output array (its keep index and field) with the copy the kernel writes
  /// (`data`, `elements` floats), copied into the array by result().
  std::vector<View> out_copies;
};

/// A job that runs the active ISA's entry of one kernel table on `Params` (the row-wise
/// primitives). `Table` is the table's accessor from ATTNKIT_DECLARE_TABLE.
template <class Params, KernelTable<void (*)(const Params&)>& (*Table)()>
struct TableJob final : Job {
  Params p{};
  void run() override {
    Isa used = Isa::scalar;
    Table().get(&used)(p);
    variant = isa_name(used);
  }
};

/// A job that runs an op's driver (`<op>_forward`, which returns the ISA level that ran) on
/// `Params`. `Extra` holds what the params point into (e.g. per-layer structs), kept with the job.
template <class Params, Isa (*Forward)(const Params&), class Extra = char>
struct ForwardJob final : Job {
  Params p{};
  Extra extra{};
  void run() override { variant = isa_name(Forward(p)); }
};

/// Parse and check one call's arguments into a Job (main thread). Throws Napi::Error on bad input.
using Parser = std::unique_ptr<Job> (*)(const Napi::CallbackInfo& info, bool async);

/// An op the addon exports as `<name>` and `<name>Async`: its name and its parser.
struct OpEntry {
  const char* name;
  Parser parse;
};

/// Define an op's entry (in its bindings/<op>.cc, in namespace attnkit::bind):
/// `ATTNKIT_OP(sdpa, fill_sdpa);` with `void fill_sdpa(Args&, SdpaJob&)` reading and checking the
/// argument object into the job. It defines `sdpa_op`, which the op table in addon.cc lists.
/// Nothing registers itself.
#define ATTNKIT_OP(name, fill)                                                                    \
  std::unique_ptr<::attnkit::bind::Job> parse_##name(const Napi::CallbackInfo& info, bool async) { \
    return ::attnkit::bind::parse_with(info, #name, fill, async);                                 \
  }                                                                                               \
  extern const ::attnkit::bind::OpEntry name##_op{#name, parse_##name}

/// A strided broadcast operand checked against its canonical index space.
template <class T>
struct StridedView {
  const T* data = nullptr;            ///< nullptr when absent
  std::vector<int64_t> strides;       ///< one per canonical axis, >= 0
  uint64_t length = 0;                ///< elements of data
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
  /// The element type of float field `name`: this object's `dtypes[name]` ('float16' or
  /// 'bfloat16'; src/kernels.ts DTypes), float32 when `dtypes` or the entry is absent.
  DType dtype_of(const char* name);
  /// A float field of exactly `expected` elements in the type dtype_of(name) says: a Float32Array
  /// for float32, a Uint16Array of bit patterns for the half types; anything else a TypeError.
  Floats floats(const char* name, uint64_t expected);
  /// Same, or an empty Floats (data == nullptr) when the field is null/undefined.
  Floats floats_opt(const char* name, uint64_t expected);
  /// Optional `{ data: Uint16Array, strides }` over `dims`: the half patterns of a strided operand
  /// whose dtype_of(name) is float16 or bfloat16 (read a float32 one with strided_f32).
  StridedView<uint16_t> strided_u16(const char* name, const std::vector<int64_t>& dims);
  /// The `dtypes` object (if any) names only fields of `fields` (the op's operands that may be
  /// half), each 'float16', 'bfloat16' or 'float32'; else a TypeError / RangeError naming it.
  void dtypes_only(std::initializer_list<const char*> fields);
  /// Same, or nullptr when the field is null/undefined.
  const float* f32_opt(const char* name, uint64_t expected);
  /// Float64Array field of exactly `expected` elements, or nullptr when the field is null/undefined.
  const double* f64_opt(const char* name, uint64_t expected);
  /// Int32Array field of exactly `expected` elements, every value in [lo, hi]; nullptr when absent
  /// and `optional`.
  const int32_t* i32(const char* name, uint64_t expected, int64_t lo, int64_t hi, bool optional);
  /// An Int32Array value (an array element, not a field) of any length, every value in [lo, hi];
  /// `path` names it. Sets `len`; nullptr when empty.
  const int32_t* i32_value(Napi::Value v, const std::string& path, int64_t lo, int64_t hi, size_t* len);
  /// After the last field was read: every buffer used in place still has the memory it had when
  /// it was taken (same data pointer, at least as many elements), else a RangeError naming it.
  void check_views();
  /// Optional `{ data: Uint8Array, strides: number[] }` over the index space `dims`.
  StridedView<uint8_t> strided_u8(const char* name, const std::vector<int64_t>& dims);
  /// Optional `{ data: Float32Array, strides: number[] }` over the index space `dims`.
  StridedView<float> strided_f32(const char* name, const std::vector<int64_t>& dims);

  /// Integer fields, each in [lo, hi] (default: any size up to kMaxElements), read in order into
  /// the given places.
  void sizes(int64_t lo, int64_t hi, std::initializer_list<std::pair<const char*, int64_t*>> fields);
  void sizes(int64_t lo, std::initializer_list<std::pair<const char*, int64_t*>> fields) { sizes(lo, static_cast<int64_t>(kMaxElements), fields); }
  /// checked_product for this op's messages.
  uint64_t product(const std::string& what, std::initializer_list<uint64_t> dims) { return checked_product(env_, what, dims); }
  /// The row-wise ops' `rows` and `cols` fields (each in [1, 2^31-1]) and their checked product
  /// (the element count of `x`).
  /// The attention limits (src/kernels.ts AttentionLimits) shared by sdpa, multiHeadAttention and
  /// transformerEncoderLayer: causal, offsets ([B] int32 or absent), windowLeft / windowRight
  /// (integers >= -1), softcap (finite, >= 0).
  void attention_limits(int64_t B, bool& causal, const int32_t*& offsets, int64_t& window_left, int64_t& window_right, float& softcap);
  uint64_t rows_cols(int64_t* rows = nullptr, int64_t* cols = nullptr);

  /// An output the job returns under `name` (nullptr: the job's only output, returned as is): a
  /// new zero-filled Float32Array (Int32Array) of n elements, kept alive by the job.
  float* output_f32(const char* name, uint64_t n);
  int32_t* output_i32(const char* name, uint64_t n);
  /// The same, written into the caller's Float32Array in field `field` (options.out) when given,
  /// refused when it shares memory with any input read before this call.
  float* into_output_f32(const char* field, const char* name, uint64_t n);
  /// An array the kernel reads and then overwrites element by element (in place, adamStep's
  /// param / m / v): the caller's Float32Array in `field` (exactly n elements), an input and also
  /// the output returned under `name`. Sync: the kernel works on the caller's memory. Async: on a
  /// private copy, which result() copies into the caller's array when the kernel is done (after
  /// checking every such array is still attached and unresized; else nothing is written).
  float* in_out_f32(const char* field, const char* name, uint64_t n);

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
  /// Field `name`: a typed array of kind `kind` with exactly `expected` elements (or, `optional`,
  /// null / undefined, returned as is).
  Napi::Value checked_typed(const char* name, uint64_t expected, int kind, const char* tname, bool optional);
  template <class T, napi_typedarray_type Kind>
  const T* typed(const char* name, uint64_t expected, bool optional, const char* tname);
  /// The checked typed array value `v` (field path `where`) of exactly `expected` elements: held,
  /// and either recorded as a view (sync) or copied (async).
  template <class T>
  const T* take(Napi::Value v, const std::string& where, uint64_t expected, bool copy);
  template <class Array>
  auto new_output(const char* name, uint64_t n);
  /// floats / floats_opt.
  Floats floats_impl(const char* name, uint64_t expected, bool optional);
  template <class T, napi_typedarray_type Kind>
  StridedView<T> strided(const char* name, const std::vector<int64_t>& dims, const char* tname);

  Napi::Env env_;
  Napi::Object obj_;
  Job& job_;
  const char* op_;
  std::string prefix_;
};

/// The parser ATTNKIT_OP defines: a new job of the type `fill` takes, `fill` reading `info[0]`.
template <class J>
std::unique_ptr<Job> parse_with(const Napi::CallbackInfo& info, const char* op, void (*fill)(Args&, J&), bool async) {
  auto job = std::make_unique<J>();
  job->async = async;
  Args a(info, *job, op);
  fill(a, *job);
  a.check_views();
  return job;
}

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
