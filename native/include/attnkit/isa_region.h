// attnkit: per-file ISA regions over a portable baseline.
//
// A per-ISA kernel file includes every header it needs FIRST, then opens a region:
//
//   #include "attnkit/isa_region.h"
//   #if ATTNKIT_X86_64
//   #include <immintrin.h>
//   ... other includes ...
//   ATTNKIT_TARGET_AVX512_BEGIN
//   namespace { ... kernels, all with internal linkage ... }
//   ATTNKIT_TARGET_END
//   ATTNKIT_REGISTER(...);   // outside the region
//   #endif
//
// Rules (why): code in a region may use the ISA's instructions, so nothing with external or
// inline/comdat linkage may be defined there (the linker could pick that copy for a scalar
// caller and crash an older CPU). Keep region code in an anonymous namespace, include no
// headers inside it, and avoid instantiating std templates there (use the small helpers below).
#pragma once

#if defined(__x86_64__) || defined(_M_X64)
#define ATTNKIT_X86_64 1
#else
#define ATTNKIT_X86_64 0
#endif

#if defined(__aarch64__) || defined(_M_ARM64)
#define ATTNKIT_ARM64 1
#else
#define ATTNKIT_ARM64 0
#endif

// AVX-512 level = F + BW + DQ + VL (Skylake-SP and later, Zen 4); AVX2 level = AVX2 + FMA (+ F16C).
// AVX512BF16: the AVX-512 level plus vdpbf16ps, for code that checks cpu_has_avx512_bf16() first.
#if defined(__clang__)
#define ATTNKIT_TARGET_AVX512_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2\"))), apply_to = function)")
#define ATTNKIT_TARGET_AVX2_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx2,fma,f16c,bmi,bmi2\"))), apply_to = function)")
#define ATTNKIT_TARGET_AVX512BF16_BEGIN \
  _Pragma("clang attribute push(__attribute__((target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2,avx512bf16\"))), apply_to = function)")
#define ATTNKIT_TARGET_END _Pragma("clang attribute pop")
#elif defined(__GNUC__)
#define ATTNKIT_TARGET_AVX512_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2\")")
#define ATTNKIT_TARGET_AVX2_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx2,fma,f16c,bmi,bmi2\")")
#define ATTNKIT_TARGET_AVX512BF16_BEGIN \
  _Pragma("GCC push_options") _Pragma("GCC target(\"avx512f,avx512bw,avx512dq,avx512vl,avx2,fma,f16c,bmi,bmi2,avx512bf16\")")
#define ATTNKIT_TARGET_END _Pragma("GCC pop_options")
#else
// MSVC: intrinsics need no target switch.
#define ATTNKIT_TARGET_AVX512_BEGIN
#define ATTNKIT_TARGET_AVX2_BEGIN
#define ATTNKIT_TARGET_AVX512BF16_BEGIN
#define ATTNKIT_TARGET_END
#endif

// The same levels for one function at a time (files that enable an ISA per function, like the
// GEMM microkernels).
#if defined(__GNUC__) || defined(__clang__)
#define ATTNKIT_AVX512 __attribute__((target("avx512f,avx512bw,avx512dq,avx512vl,avx2,fma")))
#define ATTNKIT_AVX2 __attribute__((target("avx2,fma")))
#else
#define ATTNKIT_AVX512
#define ATTNKIT_AVX2
#endif

// NEON is baseline on arm64: no region needed.
#define ATTNKIT_TARGET_NEON_BEGIN
