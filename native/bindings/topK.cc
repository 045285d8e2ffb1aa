// topK(args: TopKArgs) -> { indices: Int32Array [B,k], scores: Float32Array [B,k] }.
// `exclude` is null or an array of B entries, each null or an Int32Array of item indices in [0, N).
// `largest` (boolean): the k largest scores (true) or the k smallest (false).
#include <memory>
#include <string>
#include <vector>

#include "attnkit/topK.h"
#include "common.h"

namespace attnkit::bind {
namespace {

struct TopKExclusions {
  std::vector<const int32_t*> ex;
  std::vector<int64_t> exLen;
};
using TopKJob = ForwardJob<TopKParams, topK_forward, TopKExclusions>;

void fill_topK(Args& a, TopKJob& job) {
  const int64_t B = a.integer("B", 0, (int64_t)kMaxElements);
  // Item indices are returned as Int32: N must fit.
  const int64_t N = a.integer("N", 0, 2147483647);
  const int64_t D = a.integer("D", 0, (int64_t)kMaxElements);
  // k <= N (the public contract): the [B,k] outputs are then bounded by the inputs' sizes; a lying
  // k of 2^31-1 used to allocate two 16 GiB outputs from 120 bytes of input.
  const int64_t k = a.integer("k", 0, N);
  TopKParams& p = job.p;
  p.B = B;
  p.N = N;
  p.D = D;
  p.k = k;
  // users, items: a Float32Array, or a Uint16Array of float16 / bfloat16 patterns when `dtypes`
  // says so (widened a block / chunk at a time by the kernel: attnkit/topK.h).
  a.dtypes_only({"users", "items"});
  const Floats users = a.floats("users", a.product("users", {(uint64_t)B, (uint64_t)D}));
  const Floats items = a.floats("items", a.product("items", {(uint64_t)N, (uint64_t)D}));
  p.users_type = users.type;
  p.items_type = items.type;
  if (users.type == DType::f32) p.users = users.f32(); else p.users16 = users.u16();
  if (items.type == DType::f32) p.items = items.f32(); else p.items16 = items.u16();
  p.largest = a.boolean("largest");
  Napi::Value exv = a.get("exclude");
  if (!exv.IsUndefined() && !exv.IsNull()) {
    if (!exv.IsArray()) a.type_error("exclude", "expected an array of B (Int32Array | null) entries, or null");
    Napi::Array arr = exv.As<Napi::Array>();
    if ((int64_t)arr.Length() != B) {
      a.range_error("exclude", "expected " + std::to_string(B) + " entries, received " + std::to_string(arr.Length()));
    }
    job.extra.ex.assign((size_t)B, nullptr);
    job.extra.exLen.assign((size_t)B, 0);
    for (int64_t b = 0; b < B; b++) {
      Napi::Value e = arr.Get((uint32_t)b);
      if (e.IsUndefined() || e.IsNull()) continue;
      size_t len = 0;
      const int32_t* d = a.i32_value(e, "exclude[" + std::to_string(b) + "]", 0, N - 1, &len);
      if (len == 0) continue;
      job.extra.ex[(size_t)b] = d;
      job.extra.exLen[(size_t)b] = (int64_t)len;
    }
    p.exclude = job.extra.ex.data();
    p.excludeLen = job.extra.exLen.data();
  }
  const uint64_t n = a.product("output", {(uint64_t)B, (uint64_t)k});
  p.indices = a.output_i32("indices", n);
  p.scores = a.output_f32("scores", n);
}

}  // namespace
ATTNKIT_OP(topK, fill_topK);
}  // namespace attnkit::bind
