// attnkit: embeddingBackward, plain C++ API (no Node-API): the gradient of an embedding lookup,
// a scatter-add of dOut's rows into the rows of the table their indices name.
//
// Deterministic for any thread count, without atomics: the driver sorts the positions by item
// (a stable counting sort), cuts the items into tasks of about the same work (a partition that
// depends on the data, never on the thread count), and each task writes whole rows of the table:
// an item's row is the float32 sum of its dOut rows in position order, in blocks of 64 positions
// (each block summed, then added to the running total). Rows of items never looked up (and the
// padding item's) are written 0, so a caller's `out` needs no clearing.
#pragma once

#include <cstdint>

#include "attnkit/isa.h"

namespace attnkit {

/// dTable[i, e] = Σ_{n : indices[n] = i, i != padding_index} d_out[n, e]; out is num_items x e.
struct EmbeddingBackwardParams {
  const float* d_out = nullptr;      ///< n x e
  const int32_t* indices = nullptr;  ///< n, each in [0, num_items) (checked by the binding)
  float* out = nullptr;              ///< num_items x e, every element written
  int64_t n = 0, e = 0, num_items = 0;
  int64_t padding_index = -1;        ///< -1: none
};

/// The driver's plan: positions sorted by item and the item ranges of the tasks.
struct EmbeddingBackwardPlan {
  const int64_t* start = nullptr;      ///< num_items + 1: item i's positions are order[start[i] .. start[i+1])
  const int32_t* order = nullptr;      ///< positions by item, increasing within an item
  const int64_t* task_items = nullptr; ///< tasks + 1: task t writes items [task_items[t], task_items[t+1])
  int64_t tasks = 0;
};

/// The per-ISA part: runs the plan's tasks on the pool.
using EmbeddingBackwardFn = void (*)(const EmbeddingBackwardParams&, const EmbeddingBackwardPlan&);
ATTNKIT_DECLARE_TABLE(EmbeddingBackwardFn, embeddingBackward_table)

/// Sort, plan and run; returns the ISA level that ran. Throws std::bad_alloc when out of memory.
Isa embeddingBackward_forward(const EmbeddingBackwardParams& p);

}  // namespace attnkit
