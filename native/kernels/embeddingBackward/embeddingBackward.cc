// embeddingBackward driver: the stable counting sort of positions by item and the task partition
// (both from the data alone, never from the thread count), then the active ISA's task runner.
#include "attnkit/embeddingBackward.h"

#include <vector>

namespace attnkit {

namespace {
/// Floats a task aims to read and write (rows summed + rows written): enough to amortise a task,
/// small enough for ~100 tasks on the bench's 100,000 x 64 table.
constexpr int64_t kTaskWork = int64_t(1) << 16;
}  // namespace

Isa embeddingBackward_forward(const EmbeddingBackwardParams& p) {
  std::vector<int64_t> start(static_cast<size_t>(p.num_items) + 1, 0);
  for (int64_t n = 0; n < p.n; ++n) {
    const int64_t i = p.indices[n];
    if (i != p.padding_index) ++start[static_cast<size_t>(i) + 1];
  }
  for (int64_t i = 0; i < p.num_items; ++i) start[i + 1] += start[i];
  std::vector<int32_t> order(static_cast<size_t>(start[p.num_items]) + 1);
  std::vector<int64_t> fill(start.begin(), start.end() - 1);
  for (int64_t n = 0; n < p.n; ++n) {
    const int64_t i = p.indices[n];
    if (i != p.padding_index) order[fill[i]++] = static_cast<int32_t>(n);
  }
  std::vector<int64_t> task_items{0};
  int64_t work = 0;
  for (int64_t i = 0; i < p.num_items; ++i) {
    work += (start[i + 1] - start[i] + 1) * (p.e > 0 ? p.e : 1);
    if (work >= kTaskWork) {
      task_items.push_back(i + 1);
      work = 0;
    }
  }
  if (task_items.back() != p.num_items) task_items.push_back(p.num_items);
  EmbeddingBackwardPlan plan;
  plan.start = start.data();
  plan.order = order.data();
  plan.task_items = task_items.data();
  plan.tasks = static_cast<int64_t>(task_items.size()) - 1;
  Isa used = Isa::scalar;
  embeddingBackward_table().get(&used)(p, plan);
  return used;
}

}  // namespace attnkit
