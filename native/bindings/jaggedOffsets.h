// Jagged offsets (#17) for the bindings: an optional [B+1] Int32Array field, copied into storage
// the job owns (so no getter or proxy that runs while later fields are read can change what the
// kernel indexes with) and checked on the copy: offsets[0] = 0, non-decreasing. The caller checks
// offsets[B] against the row count of the jagged operands it reads after this.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "common.h"

namespace attnkit::bind {

/// The checked copy of field `name` in `store` (nullptr when the field is null/undefined); sets
/// `longest` to the longest sequence (0 when absent or every sequence is empty).
inline const int32_t* jagged_offsets(Args& a, const char* name, int64_t B, std::vector<int32_t>& store, int64_t& longest) {
  longest = 0;
  const int32_t* raw = a.i32(name, (uint64_t)B + 1, 0, INT32_MAX, true);
  if (!raw) return nullptr;
  store.assign(raw, raw + B + 1);
  if (store[0] != 0) a.range_error(name, "offsets[0] must be 0, received " + std::to_string(store[0]));
  for (int64_t b = 0; b < B; b++) {
    const int64_t len = (int64_t)store[(size_t)(b + 1)] - store[(size_t)b];
    if (len < 0) {
      a.range_error(name, "offsets must not decrease: offsets[" + std::to_string(b + 1) + "] = " + std::to_string(store[(size_t)(b + 1)]) +
                              " < offsets[" + std::to_string(b) + "] = " + std::to_string(store[(size_t)b]));
    }
    if (len > longest) longest = len;
  }
  return store.data();
}

}  // namespace attnkit::bind
