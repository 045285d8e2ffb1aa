// CPUID + XGETBV detection, ATTNKIT_ISA handling, and the kernel-table list.
#include "cpu.h"

#include <cstdlib>
#include <cstring>
#include <string>

#if defined(__x86_64__) || defined(_M_X64)
#if defined(_MSC_VER)
#include <intrin.h>
#else
#include <cpuid.h>
#endif
#endif

namespace attnkit {

KernelTableBase*& KernelTableBase::head() {
  static KernelTableBase* h = nullptr;
  return h;
}

const char* isa_name(Isa isa) {
  switch (isa) {
    case Isa::scalar: return "scalar";
    case Isa::neon: return "neon";
    case Isa::avx2: return "avx2";
    case Isa::avx512: return "avx512";
  }
  return "unknown";
}

namespace {

#if defined(__x86_64__) || defined(_M_X64)
void cpuid(unsigned leaf, unsigned sub, unsigned r[4]) {
#if defined(_MSC_VER)
  int x[4];
  __cpuidex(x, static_cast<int>(leaf), static_cast<int>(sub));
  for (int i = 0; i < 4; ++i) r[i] = static_cast<unsigned>(x[i]);
#else
  __cpuid_count(leaf, sub, r[0], r[1], r[2], r[3]);
#endif
}

unsigned long long xgetbv0() {
#if defined(_MSC_VER)
  return _xgetbv(0);
#else
  unsigned lo, hi;
  __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
  return (static_cast<unsigned long long>(hi) << 32) | lo;
#endif
}
#endif

CpuFeatures detect() {
  CpuFeatures f;
#if defined(__x86_64__) || defined(_M_X64)
  unsigned r[4];
  cpuid(0, 0, r);
  unsigned max_leaf = r[0];
  char vendor[13];
  std::memcpy(vendor, &r[1], 4);
  std::memcpy(vendor + 4, &r[3], 4);
  std::memcpy(vendor + 8, &r[2], 4);
  vendor[12] = 0;
  f.vendor = vendor;
  cpuid(1, 0, r);
  const bool osxsave = (r[2] >> 27) & 1;
  const bool avx = (r[2] >> 28) & 1;
  f.fma = (r[2] >> 12) & 1;
  f.f16c = (r[2] >> 29) & 1;
  if (osxsave && avx) {
    const unsigned long long xcr0 = xgetbv0();
    f.os_avx = (xcr0 & 0x6) == 0x6;             // XMM + YMM state
    f.os_avx512 = f.os_avx && (xcr0 & 0xE0) == 0xE0;  // opmask + ZMM_Hi256 + Hi16_ZMM
  }
  if (max_leaf >= 7) {
    cpuid(7, 0, r);
    f.avx2 = (r[1] >> 5) & 1;
    f.avx512f = (r[1] >> 16) & 1;
    f.avx512dq = (r[1] >> 17) & 1;
    f.avx512bw = (r[1] >> 30) & 1;
    f.avx512vl = (r[1] >> 31) & 1;
    const unsigned sub_leaves = r[0];
    if (sub_leaves >= 1) {
      cpuid(7, 1, r);
      f.avx512_bf16 = (r[0] >> 5) & 1;
    }
  }
  cpuid(0x80000000u, 0, r);
  if (r[0] >= 0x80000004u) {
    char brand[49];
    for (unsigned i = 0; i < 3; ++i) {
      cpuid(0x80000002u + i, 0, r);
      std::memcpy(brand + 16 * i, r, 16);
    }
    brand[48] = 0;
    f.brand = brand;
    while (!f.brand.empty() && f.brand.back() == ' ') f.brand.pop_back();
  }
#elif defined(__aarch64__) || defined(_M_ARM64)
  f.neon = true;  // Advanced SIMD is mandatory on AArch64
#endif
  return f;
}

Isa detect_level(const CpuFeatures& f) {
  // F16C: both levels' code is compiled with it (isa_region.h) and the half loads use it.
  if (f.os_avx512 && f.avx512f && f.avx512bw && f.avx512dq && f.avx512vl && f.avx2 && f.fma && f.f16c) return Isa::avx512;
  if (f.os_avx && f.avx2 && f.fma && f.f16c) return Isa::avx2;
  if (f.neon) return Isa::neon;
  return Isa::scalar;
}

struct Selection {
  Isa detected;
  Isa active;
  std::string error;
};

const Selection& selection() {
  static const Selection s = [] {
    Selection out;
    out.detected = detect_level(cpu_features());
    out.active = out.detected;
    const char* env = std::getenv("ATTNKIT_ISA");
    if (env && *env) {
      std::string want(env);
      Isa req;
      bool known = true;
      if (want == "scalar") req = Isa::scalar;
      else if (want == "avx2") req = Isa::avx2;
      else if (want == "avx512") req = Isa::avx512;
      else if (want == "neon") req = Isa::neon;
      else known = false;
      if (!known) {
        out.error = "ATTNKIT_ISA='" + want + "' is not one of scalar, avx2, avx512, neon";
      } else {
        const bool x86req = req == Isa::avx2 || req == Isa::avx512;
        const bool x86cpu = out.detected == Isa::avx2 || out.detected == Isa::avx512 ||
                            (out.detected == Isa::scalar && !cpu_features().neon);
        bool ok;
        if (req == Isa::scalar) ok = true;
        else if (req == Isa::neon) ok = out.detected == Isa::neon;
        else ok = x86req && x86cpu && static_cast<int>(req) <= static_cast<int>(out.detected);
        if (ok) out.active = req;
        else
          out.error = "ATTNKIT_ISA=" + want + " asks for more than this CPU/OS supports (best available: " +
                      isa_name(out.detected) + ")";
      }
    }
    return out;
  }();
  return s;
}

}  // namespace

const CpuFeatures& cpu_features() {
  static const CpuFeatures f = detect();
  return f;
}

Isa detected_isa() { return selection().detected; }
Isa active_isa() { return selection().active; }
const char* isa_error() { return selection().error.c_str(); }
bool cpu_has_avx512_bf16() { return active_isa() == Isa::avx512 && cpu_features().avx512_bf16; }

}  // namespace attnkit
