// Generic embeddingBackward task runner over V (included inside an ISA region + anonymous
// namespace after V): each task writes whole rows of the table, an item's row being the sum of its
// dOut rows (positions from the driver's plan, increasing) in blocks of 64 positions: each block
// summed from zero, then added to the running total, element by element in that fixed order.
using attnkit::EmbeddingBackwardParams;
using attnkit::EmbeddingBackwardPlan;

constexpr int64_t kPositionsPerBlock = 64;
constexpr int kVectorsPerPass = 4;  // row vectors kept in registers while the positions stream by

// Row `row` (e floats) = the blocked sum of the `count` rows of d at positions pos[0..count).
inline void sum_rows(const float* d, const int32_t* pos, int64_t count, int64_t e, float* row) {
  constexpr int W = V::W, NV = kVectorsPerPass;
  int64_t c = 0;
  for (; c + NV * W <= e; c += NV * W) {
    V::F total[NV];
    for (int u = 0; u < NV; ++u) total[u] = V::zero();
    for (int64_t b = 0; b < count; b += kPositionsPerBlock) {
      const int64_t be = b + kPositionsPerBlock < count ? b + kPositionsPerBlock : count;
      V::F part[NV];
      for (int u = 0; u < NV; ++u) part[u] = V::zero();
      for (int64_t k = b; k < be; ++k) {
        const float* src = d + static_cast<int64_t>(pos[k]) * e + c;
        for (int u = 0; u < NV; ++u) part[u] = V::add(part[u], V::load(src + u * W));
      }
      for (int u = 0; u < NV; ++u) total[u] = V::add(total[u], part[u]);
    }
    for (int u = 0; u < NV; ++u) V::store(row + c + u * W, total[u]);
  }
  for (; c < e; c += W) {
    const int nl = e - c < W ? static_cast<int>(e - c) : W;
    V::F total = V::zero();
    for (int64_t b = 0; b < count; b += kPositionsPerBlock) {
      const int64_t be = b + kPositionsPerBlock < count ? b + kPositionsPerBlock : count;
      V::F part = V::zero();
      for (int64_t k = b; k < be; ++k) part = V::add(part, V::loadp(d + static_cast<int64_t>(pos[k]) * e + c, nl));
      total = V::add(total, part);
    }
    V::storep(row + c, total, nl);
  }
}

inline void embeddingBackward_run(const EmbeddingBackwardParams& p, const EmbeddingBackwardPlan& plan) {
  const int64_t e = p.e;
  auto body = [&](int64_t t0, int64_t t1) {
    for (int64_t t = t0; t < t1; ++t) {
      for (int64_t i = plan.task_items[t]; i < plan.task_items[t + 1]; ++i) {
        // count 0 (never looked up, or the padding item): the loops write a zero row.
        sum_rows(p.d_out, plan.order + plan.start[i], plan.start[i + 1] - plan.start[i], e, p.out + i * e);
      }
    }
  };
  attnkit::parallel_for_each(plan.tasks, body, 1);
}
