// softmax binding: checks SoftmaxArgs (src/kernels.ts) and runs the softmax kernel table.
#include <napi.h>

#include "attnkit/softmax.h"
#include "common.h"

namespace attnkit::bind {
namespace {

void fill_softmax(Args& a, TableJob<SoftmaxParams, softmax_table>& job) {
  SoftmaxParams& p = job.p;
  const uint64_t n = a.rows_cols(&p.rows, &p.cols);
  Napi::Value sv = a.get("shape");
  if (!sv.IsArray()) a.type_error("shape", "expected an array of 1..8 positive integers");
  auto arr = sv.As<Napi::Array>();
  if (arr.Length() < 1 || arr.Length() > 8) a.range_error("shape", "expected 1..8 axes, received " + std::to_string(arr.Length()));
  p.rank = static_cast<int>(arr.Length());
  uint64_t prod = 1;
  for (uint32_t i = 0; i < arr.Length(); ++i) {
    Napi::Value e = arr.Get(i);
    double d = e.IsNumber() ? e.As<Napi::Number>().DoubleValue() : -1;
    if (!(d >= 1 && d <= 2147483647.0) || d != static_cast<double>(static_cast<int64_t>(d))) {
      a.range_error("shape", "axis " + std::to_string(i) + " is not a positive integer");
    }
    p.shape[i] = static_cast<int64_t>(d);
    if (i + 1 < arr.Length()) prod = a.product("softmax rows", {prod, static_cast<uint64_t>(p.shape[i])});
  }
  if (p.shape[p.rank - 1] != p.cols) a.range_error("cols", "must equal the last axis of shape");
  if (prod != static_cast<uint64_t>(p.rows)) a.range_error("rows", "must equal the product of all axes but the last");
  p.x = a.f32("x", n);
  std::vector<int64_t> dims(p.shape, p.shape + p.rank);
  auto mask = a.strided_u8("mask", dims);
  if (mask.data) {
    p.mask = mask.data;
    for (int i = 0; i < p.rank; ++i) p.mask_strides[i] = mask.strides[i];
  }
  p.out = a.into_output_f32("out", nullptr, n);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(softmax, fill_softmax);
}  // namespace attnkit::bind
