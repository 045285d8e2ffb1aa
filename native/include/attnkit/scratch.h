// Reusable scratch memory for the op drivers' intermediate buffers (projections, attention
// outputs, residual rows), kept between calls.
//
// Why: a fresh multi-megabyte std::vector per call pays for zeroing it and, since glibc serves a
// block that large with mmap and unmaps it on free, a page fault per 4 KiB page on every call.
// transformerEncoderLayer at SASRec size (25,600 rows of 64) took ~8,900 minor page faults and
// ~18 ms of system time per call that way. A ScratchFloats borrows a block kept from an earlier
// call of the same thread (uninitialised: the driver writes before it reads) and gives it back
// when it goes out of scope.
//
// Bounds: blocks are kept per calling thread (the main thread, libuv's workers), at most
// scratch_keep_bytes() over all threads together (default 256 MiB; ATTNKIT_SCRATCH_MB sets it, 0
// keeps nothing); a block that would pass the bound is freed instead. Kept memory is never more
// than the largest working set an op has needed, and it is released when its thread exits.
#pragma once

#include <cstddef>

namespace attnkit {

/** `n` floats of uninitialised, 64-byte aligned scratch, reused across calls of this thread. */
class ScratchFloats {
 public:
  explicit ScratchFloats(size_t n);
  ~ScratchFloats();
  ScratchFloats(const ScratchFloats&) = delete;
  ScratchFloats& operator=(const ScratchFloats&) = delete;
  float* data() const { return p_; }

 private:
  float* p_ = nullptr;
  size_t cap_ = 0;  // floats
};

/**
 * Consecutive 64-byte aligned float runs carved out of one block, in order (a task's tile
 * scratch): each run starts on its own cache line, so the block needs 16 floats of slack per run
 * plus 64 bytes for the first alignment.
 */
class AlignedCarver {
 public:
  explicit AlignedCarver(void* mem) : f_(align(static_cast<float*>(mem))) {}
  /** The next `n` floats, 64-byte aligned. */
  float* take(long long n) {
    float* r = f_;
    f_ = align(f_ + n);
    return r;
  }

 private:
  static float* align(float* p) {
    return reinterpret_cast<float*>((reinterpret_cast<unsigned long long>(p) + 63) & ~0x3Full);
  }
  float* f_;
};

/** The bound on scratch kept between calls, over all threads (bytes). */
size_t scratch_keep_bytes();
/** Scratch kept between calls right now, over all threads (bytes; for tests and `info`). */
size_t scratch_kept_bytes();

}  // namespace attnkit
