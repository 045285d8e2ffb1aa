// embeddingBackward binding: checks EmbeddingBackwardArgs (src/kernels.ts) and runs the driver.
#include <cstdint>

#include "attnkit/embeddingBackward.h"
#include "common.h"

namespace attnkit::bind {
namespace {

using EmbeddingBackwardJob = ForwardJob<EmbeddingBackwardParams, embeddingBackward_forward>;

void fill_embeddingBackward(Args& a, EmbeddingBackwardJob& job) {
  EmbeddingBackwardParams& p = job.p;
  p.n = a.integer("N", 0, INT32_MAX);  // positions are int32 in the plan
  p.e = a.integer("E", 0, INT32_MAX);
  p.num_items = a.integer("numItems", 1, INT32_MAX);
  const uint64_t in = a.product("embeddingBackward dOut", {static_cast<uint64_t>(p.n), static_cast<uint64_t>(p.e)});
  const uint64_t table = a.product("embeddingBackward dTable", {static_cast<uint64_t>(p.num_items), static_cast<uint64_t>(p.e)});
  if (table > static_cast<uint64_t>(INT32_MAX)) a.range_error("numItems", "the numItems x E gradient would have " + std::to_string(table) + " elements, over 2^31-1");
  p.padding_index = a.integer("paddingIndex", -1, p.num_items - 1);
  p.d_out = a.f32("dOut", in);
  p.indices = a.i32("indices", static_cast<uint64_t>(p.n), 0, p.num_items - 1, false);
  p.out = a.into_output_f32("out", nullptr, table);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(embeddingBackward, fill_embeddingBackward);
}  // namespace attnkit::bind
