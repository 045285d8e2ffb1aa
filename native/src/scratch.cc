// Reusable per-thread scratch blocks (attnkit/scratch.h): a short free list per thread, a
// process-wide bound on what is kept between calls.
#include "attnkit/scratch.h"

#include <atomic>
#include <cstdlib>
#include <new>
#include <vector>

namespace attnkit {

namespace {
constexpr size_t kAlign = 64;
constexpr size_t kMaxBlocksPerThread = 8;

std::atomic<size_t> g_kept{0};

size_t keep_bound() {
  static const size_t bound = [] {
    const char* s = std::getenv("ATTNKIT_SCRATCH_MB");
    if (!s || !*s) return (size_t)256 << 20;
    char* end = nullptr;
    const long long mb = std::strtoll(s, &end, 10);
    if (end == s || mb < 0) return (size_t)256 << 20;
    return (size_t)mb << 20;
  }();
  return bound;
}

struct Block {
  float* p;
  size_t cap;  // floats
};

void free_block(const Block& b) { std::free(b.p); }

// The calling thread's kept blocks; freed (and uncounted) when the thread exits.
struct ThreadBlocks {
  std::vector<Block> free;
  ~ThreadBlocks() {
    for (const Block& b : free) {
      g_kept.fetch_sub(b.cap * sizeof(float), std::memory_order_relaxed);
      free_block(b);
    }
  }
};

ThreadBlocks& blocks() {
  thread_local ThreadBlocks tb;
  return tb;
}
}  // namespace

ScratchFloats::ScratchFloats(size_t n) {
  if (n == 0) return;
  std::vector<Block>& fl = blocks().free;
  // The smallest kept block that is large enough (the free list is short).
  size_t best = fl.size();
  for (size_t i = 0; i < fl.size(); i++)
    if (fl[i].cap >= n && (best == fl.size() || fl[i].cap < fl[best].cap)) best = i;
  if (best < fl.size()) {
    p_ = fl[best].p;
    cap_ = fl[best].cap;
    g_kept.fetch_sub(cap_ * sizeof(float), std::memory_order_relaxed);
    fl.erase(fl.begin() + (std::ptrdiff_t)best);
    return;
  }
  const size_t bytes = (n * sizeof(float) + kAlign - 1) / kAlign * kAlign;
  p_ = static_cast<float*>(std::aligned_alloc(kAlign, bytes));
  if (!p_) throw std::bad_alloc();
  cap_ = bytes / sizeof(float);
}

ScratchFloats::~ScratchFloats() {
  if (!p_) return;
  const size_t bytes = cap_ * sizeof(float);
  std::vector<Block>& fl = blocks().free;
  // Keep the block unless that passes the process-wide bound; with a full free list, the
  // smallest kept block makes room (the large ones are the ones worth keeping).
  if (fl.size() >= kMaxBlocksPerThread) {
    size_t small = 0;
    for (size_t i = 1; i < fl.size(); i++)
      if (fl[i].cap < fl[small].cap) small = i;
    if (fl[small].cap >= cap_) {
      std::free(p_);
      return;
    }
    g_kept.fetch_sub(fl[small].cap * sizeof(float), std::memory_order_relaxed);
    free_block(fl[small]);
    fl.erase(fl.begin() + (std::ptrdiff_t)small);
  }
  if (g_kept.fetch_add(bytes, std::memory_order_relaxed) + bytes > keep_bound()) {
    g_kept.fetch_sub(bytes, std::memory_order_relaxed);
    std::free(p_);
    return;
  }
  try {
    fl.push_back(Block{p_, cap_});
  } catch (...) {
    g_kept.fetch_sub(bytes, std::memory_order_relaxed);
    std::free(p_);
  }
}

size_t scratch_keep_bytes() { return keep_bound(); }
size_t scratch_kept_bytes() { return g_kept.load(std::memory_order_relaxed); }

}  // namespace attnkit
