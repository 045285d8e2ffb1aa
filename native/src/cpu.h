// attnkit: CPU feature detection (CPUID + XGETBV) and the ISA choice made once at load.
#pragma once

#include <string>

#include "attnkit/isa.h"

namespace attnkit {

/// What the CPU and OS offer, for reporting.
struct CpuFeatures {
  bool avx2 = false, fma = false, avx512f = false, avx512bw = false, avx512dq = false, avx512vl = false;
  bool f16c = false;         ///< vcvtph2ps (float16 -> float32); required by the avx2 level
  bool avx512_bf16 = false;  ///< vdpbf16ps (bfloat16 dot products), CPUID.(7,1):EAX[5]
  bool os_avx = false;     ///< XCR0 has SSE+AVX state enabled
  bool os_avx512 = false;  ///< XCR0 has opmask + ZMM state enabled
  bool neon = false;
  std::string vendor, brand;
};

/// Detected once (thread-safe static init).
const CpuFeatures& cpu_features();

}  // namespace attnkit
