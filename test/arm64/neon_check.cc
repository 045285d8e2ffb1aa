// arm64 check of the NEON kernels (scripts/arm64-check.sh): cross-compiled for aarch64 and run
// under qemu-user, once with ATTNKIT_ISA=neon and once with ATTNKIT_ISA=scalar. Each kernel family
// that has a NEON file (sdpa, sdpaBackward, hstuAttention, hstuAttentionBackward, softmax, layerNorm, gelu, silu, the GEMM behind linear, topK, and the
// backward ops: softmaxBackward, layerNormBackward, geluBackward, siluBackward, linearBackward, embeddingBackward, adamStep) runs on
// adversarial sizes (odd, not multiples of 4 lanes, L != S, one key, grouped-query, causal, empty
// rows) and is compared with a float64 loop written here, at the tolerance the native backend
// documents for the op (read from the built package by the script and passed in as arguments, so
// the two cannot drift apart). Non-finite results never pass.
// Usage: neon_check <expected isa> <op> <rtol> <atol> ...   (one triple for each op whose descriptor
// says it has its own ISA kernel; exit 0 = every check passed and ran at that ISA)
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "attnkit/adamStep.h"
#include "attnkit/convert.h"
#include "attnkit/embeddingBackward.h"
#include "attnkit/gelu.h"
#include "attnkit/geluBackward.h"
#include "attnkit/hstuAttention.h"
#include "attnkit/hstuAttentionBackward.h"
#include "attnkit/layerNormBackward.h"
#include "attnkit/linearBackward.h"
#include "attnkit/siluBackward.h"
#include "attnkit/softmaxBackward.h"
#include "attnkit/layerNorm.h"
#include "attnkit/softmax.h"
#include "attnkit/isa.h"
#include "attnkit/linear.h"
#include "attnkit/parallel.h"
#include "attnkit/sdpa.h"
#include "attnkit/sdpaBackward.h"
#include "attnkit/silu.h"
#include "attnkit/topK.h"

using namespace attnkit;

namespace {

int failures = 0, checks = 0;
std::string want_isa;
struct Tol {
  double rtol, atol;
};
std::map<std::string, Tol> tols;  // the native backend's verify tolerance per op
std::mt19937 rng(12345);

std::vector<float> randn(size_t n, float sd = 1.0f) {
  std::normal_distribution<float> d(0.0f, sd);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// |got - want| <= atol + rtol·|want| everywhere (the tolerance of `op`), and got finite.
void expect_close(const char* op, const char* what, const float* got, const std::vector<double>& want) {
  const double rtol = tols.at(op).rtol, atol = tols.at(op).atol;
  double worst = 0;
  size_t bad = 0;
  for (size_t i = 0; i < want.size(); ++i) {
    const double g = got[i], w = want[i], e = std::fabs(g - w);
    if (!std::isfinite(g) || !(e <= atol + rtol * std::fabs(w))) ++bad;
    if (e > worst || !std::isfinite(g)) worst = std::isfinite(g) ? e : INFINITY;
  }
  ++checks;
  if (bad) ++failures;
  std::printf("%s %-58s max abs err %.2e (%zu of %zu outside rtol %.0e atol %.0e)\n", bad ? "FAIL" : "ok  ", what, worst, bad, want.size(), rtol, atol);
}

void expect_isa(const char* what, const char* used) {
  ++checks;
  if (want_isa != used) {
    ++failures;
    std::printf("FAIL %s ran at %s, expected %s\n", what, used, want_isa.c_str());
  }
}

// ---- half precision (#16): an independent round-to-nearest-even encoder and exact decoder ----
uint16_t half_bits(float x, DType t) {
  uint32_t b;
  std::memcpy(&b, &x, 4);
  if (t == DType::bf16) {
    if ((b & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((b >> 16) | 0x40u);
    return static_cast<uint16_t>((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
  }
  const uint16_t sign = static_cast<uint16_t>((b >> 16) & 0x8000u);
  if (std::isnan(x)) return sign | 0x7e00u;
  if (std::isinf(x)) return sign | 0x7c00u;
  const double a = std::fabs(static_cast<double>(x));
  if (a < std::ldexp(1.0, -14)) return sign | static_cast<uint16_t>(std::nearbyint(a * std::ldexp(1.0, 24)));
  int e;
  std::frexp(a, &e);
  int ex = e - 1;
  double n = std::nearbyint((a / std::ldexp(1.0, ex) - 1) * 1024);
  if (n == 1024) {
    n = 0;
    ++ex;
  }
  if (ex + 15 >= 31) return sign | 0x7c00u;
  return sign | static_cast<uint16_t>((ex + 15) << 10) | static_cast<uint16_t>(n);
}
double half_value(uint16_t h, DType t) {
  if (t == DType::bf16) {
    const uint32_t b = static_cast<uint32_t>(h) << 16;
    float f;
    std::memcpy(&f, &b, 4);
    return f;
  }
  const double s = (h & 0x8000u) ? -1 : 1;
  const int e = (h >> 10) & 0x1f, m = h & 0x3ff;
  if (e == 31) return m ? NAN : s * INFINITY;
  if (e == 0) return s * std::ldexp(m, -24);
  return s * std::ldexp(1024 + m, e - 25);
}
/// Rounds x to type t in place (x then holds the decoded values); the patterns into bits.
void quantize(std::vector<float>& x, DType t, std::vector<uint16_t>& bits) {
  if (t == DType::f32) return;
  bits.resize(x.size());
  for (size_t i = 0; i < x.size(); ++i) {
    bits[i] = half_bits(x[i], t);
    x[i] = static_cast<float>(half_value(bits[i], t));
  }
}
const char* short_name(DType t) { return t == DType::f16 ? "f16" : t == DType::bf16 ? "bf16" : "f32"; }

/// Bitwise equality of a half-input result with the float32 result on the decoded inputs.
template <class T>
void expect_same(const char* what, const std::vector<T>& got, const std::vector<T>& want) {
  ++checks;
  const bool same = got.size() == want.size() && std::memcmp(got.data(), want.data(), got.size() * sizeof(T)) == 0;
  if (!same) ++failures;
  std::printf("%s %s\n", same ? "ok  " : "FAIL", what);
}

/// The convert kernels over all 65,536 patterns of each type against the exact decoder (a float16
/// NaN keeps its payload and is made quiet).
void check_convert() {
  std::vector<uint16_t> all(65536);
  for (int h = 0; h < 65536; ++h) all[h] = static_cast<uint16_t>(h);
  std::vector<float> out(65536);
  for (DType t : {DType::f16, DType::bf16}) {
    expect_isa("convert", isa_name(half_to_float(all.data(), out.data(), 65536, t)));
    size_t bad = 0;
    for (int h = 0; h < 65536; ++h) {
      uint32_t got, want;
      std::memcpy(&got, &out[h], 4);
      const float w = static_cast<float>(half_value(static_cast<uint16_t>(h), t));
      std::memcpy(&want, &w, 4);
      if (t == DType::f16 && ((h >> 10) & 0x1f) == 31 && (h & 0x3ff)) want = (static_cast<uint32_t>(h & 0x8000) << 16) | 0x7fc00000u | (static_cast<uint32_t>(h & 0x3ff) << 13);
      if (t == DType::bf16) want = static_cast<uint32_t>(h) << 16;
      if (got != want) ++bad;
    }
    // Every length and offset (vector bodies, tails).
    for (int off = 0; off < 5; ++off)
      for (int n = 0; n < 40; ++n) {
        std::vector<float> o(n + 1, -7.0f);
        half_to_float(all.data() + 15000 + off, o.data(), n, t);
        for (int i = 0; i < n; ++i) bad += std::memcmp(&o[i], &out[15000 + off + i], 4) != 0;
        bad += o[n] != -7.0f;
      }
    ++checks;
    if (bad) ++failures;
    std::printf("%s convert %s: all 65536 patterns exact, every length 0..39 (%zu wrong)\n", bad ? "FAIL" : "ok  ", short_name(t), bad);
  }
}

struct SdpaCase {
  int64_t B, Hq, Hkv, L, S, D, Dv;
  bool causal, mask, lengths;
  bool offsets = false;  // per-batch alignment: batch b's row i sits at key i + (b % 2 ? S - L + 3 : -2)
  int64_t window_left = -1, window_right = -1;
  float softcap = 0.0f;
};

/// With half types: q, k, v are rounded to them first (the float64 loop and a float32 call see the
/// decoded values) and the half call must give the float32 call's bits.
void check_sdpa(const SdpaCase& c, DType qt = DType::f32, DType kt = DType::f32, DType vt = DType::f32) {
  std::vector<float> q = randn(c.B * c.Hq * c.L * c.D), k = randn(c.B * c.Hkv * c.S * c.D), v = randn(c.B * c.Hkv * c.S * c.Dv);
  std::vector<uint16_t> q16, k16, v16;
  quantize(q, qt, q16);
  quantize(k, kt, k16);
  quantize(v, vt, v16);
  std::vector<float> out(c.B * c.Hq * c.L * c.Dv, -7.0f);
  std::vector<uint8_t> mask;  // [L, S], broadcast over B and H; row 0 fully masked
  std::vector<int32_t> lens;  // [B]: the first batch sees no key at all
  SdpaParams p;
  p.q = q.data();
  p.k = k.data();
  p.v = v.data();
  p.out = out.data();
  p.B = c.B, p.Hq = c.Hq, p.Hkv = c.Hkv, p.L = c.L, p.S = c.S, p.D = c.D, p.Dv = c.Dv;
  p.scale = 1.0f / std::sqrt(static_cast<float>(c.D));
  p.causal = c.causal;
  std::vector<int32_t> offs;
  for (int64_t b = 0; b < c.B; ++b) offs.push_back(static_cast<int32_t>(b % 2 ? c.S - c.L + 3 : -2));
  if (c.offsets) p.offsets = offs.data();
  p.window_left = c.window_left;
  p.window_right = c.window_right;
  p.softcap = c.softcap;
  sdpa_contiguous_strides(p);
  if (c.mask) {
    mask.resize(c.L * c.S);
    for (int64_t i = 0; i < c.L; ++i)
      for (int64_t j = 0; j < c.S; ++j) mask[i * c.S + j] = i == 0 ? 0 : ((i * 7 + j * 3) % 5 != 0);
    p.mask = mask.data();
    p.mask_s[2] = c.S;
    p.mask_s[3] = 1;
  }
  if (c.lengths) {
    for (int64_t b = 0; b < c.B; ++b) lens.push_back(b == 0 ? 0 : static_cast<int32_t>((c.S * (b + 1)) / (c.B + 1)));
    p.key_lengths = lens.data();
  }
  expect_isa("sdpa", isa_name(sdpa_forward(p)));
  const bool half = qt != DType::f32 || kt != DType::f32 || vt != DType::f32;
  if (half) {
    SdpaParams h = p;
    std::vector<float> out16(out.size(), -7.0f);
    h.out = out16.data();
    h.q_type = qt, h.k_type = kt, h.v_type = vt;
    if (qt != DType::f32) h.q = nullptr, h.q16 = q16.data();
    if (kt != DType::f32) h.k = nullptr, h.k16 = k16.data();
    if (vt != DType::f32) h.v = nullptr, h.v16 = v16.data();
    expect_isa("sdpa", isa_name(sdpa_forward(h)));
    char what[160];
    std::snprintf(what, sizeof what, "sdpa q %s k %s v %s B%lld Hq%lld L%lld S%lld D%lld: bits of float32 on the decoded inputs", short_name(qt), short_name(kt), short_name(vt),
                  (long long)c.B, (long long)c.Hq, (long long)c.L, (long long)c.S, (long long)c.D);
    expect_same(what, out16, out);
  }
  std::vector<double> want(out.size(), 0.0), s(c.S);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h) {
      const int64_t hk = h / (c.Hq / c.Hkv);
      for (int64_t i = 0; i < c.L; ++i) {
        double m = -INFINITY;
        const int64_t pos = i + (c.offsets ? offs[b] : c.S - c.L);
        for (int64_t j = 0; j < c.S; ++j) {
          bool ok = !(c.causal && j > pos) && !(c.window_left >= 0 && j < pos - c.window_left) && !(c.window_right >= 0 && j > pos + c.window_right) &&
                    !(c.mask && !mask[i * c.S + j]) && !(c.lengths && j >= lens[b]);
          double dot = 0;
          for (int64_t d = 0; d < c.D; ++d) dot += double(q[((b * c.Hq + h) * c.L + i) * c.D + d]) * k[((b * c.Hkv + hk) * c.S + j) * c.D + d];
          double x = dot * p.scale;
          if (c.softcap > 0) x = c.softcap * std::tanh(x / c.softcap);
          s[j] = ok ? x : -INFINITY;
          if (s[j] > m) m = s[j];
        }
        double* o = &want[((b * c.Hq + h) * c.L + i) * c.Dv];
        if (m == -INFINITY) continue;  // nothing to attend to: zeros
        double l = 0;
        for (int64_t j = 0; j < c.S; ++j) l += (s[j] = std::exp(s[j] - m));
        for (int64_t j = 0; j < c.S; ++j)
          for (int64_t e = 0; e < c.Dv; ++e) o[e] += s[j] / l * v[((b * c.Hkv + hk) * c.S + j) * c.Dv + e];
      }
    }
  char name[224];
  std::snprintf(name, sizeof name, "sdpa B%lld Hq%lld Hkv%lld L%lld S%lld D%lld Dv%lld%s%s%s%s window %lld/%lld softcap %g", (long long)c.B, (long long)c.Hq, (long long)c.Hkv, (long long)c.L,
                (long long)c.S, (long long)c.D, (long long)c.Dv, c.causal ? " causal" : "", c.mask ? " mask" : "", c.lengths ? " keyLengths" : "", c.offsets ? " offsets" : "",
                (long long)c.window_left, (long long)c.window_right, static_cast<double>(c.softcap));
  expect_close("sdpa", name, out.data(), want);
}

/// Uniform in [-scale, scale): the inputs of the op descriptors' cases, the ones sdpaBackward's
/// tolerance was measured on (a gradient grows with the cube of its inputs' scale, and so does its
/// absolute error: an atol measured at one scale does not hold at another).
std::vector<float> randu(size_t n, float scale = 1.0f) {
  std::uniform_real_distribution<float> d(-scale, scale);
  std::vector<float> v(n);
  for (auto& x : v) x = d(rng);
  return v;
}

/// sdpaBackward on the case's inputs (plus a [L, S] bias broadcast over B and H when `bias`):
/// O and lse from a float64 forward rounded to float32 (what the forward hands the backward), then
/// dq, dk, dv (and dBias) against float64 loops of the definitions (docs/TRAINING.md).
void check_sdpa_backward(const SdpaCase& c, bool bias) {
  const int64_t nq = c.B * c.Hq * c.L * c.D, nk = c.B * c.Hkv * c.S * c.D, nv = c.B * c.Hkv * c.S * c.Dv, no = c.B * c.Hq * c.L * c.Dv;
  std::vector<float> q = randu(nq), k = randu(nk), v = randu(nv), dout = randu(no), bias_v = randu(c.L * c.S, 2.0f);
  std::vector<uint8_t> mask;
  std::vector<int32_t> lens, offs;
  for (int64_t b = 0; b < c.B; ++b) offs.push_back(static_cast<int32_t>(b % 2 ? c.S - c.L + 3 : -2));
  if (c.mask) {
    mask.resize(c.L * c.S);
    for (int64_t i = 0; i < c.L; ++i)
      for (int64_t j = 0; j < c.S; ++j) mask[i * c.S + j] = i == 0 ? 0 : ((i * 7 + j * 3) % 5 != 0);
  }
  if (c.lengths)
    for (int64_t b = 0; b < c.B; ++b) lens.push_back(b == 0 ? 0 : static_cast<int32_t>((c.S * (b + 1)) / (c.B + 1)));
  const double scale = 1.0 / std::sqrt(static_cast<double>(c.D));
  // Logit z (and c = the capped scaled dot product) of (b, h, i, j), or allowed = false.
  auto logit = [&](int64_t b, int64_t h, int64_t i, int64_t j, double& cap_c, bool& allowed) {
    const int64_t hk = h / (c.Hq / c.Hkv), pos = i + (c.offsets ? offs[b] : c.S - c.L);
    allowed = !(c.causal && j > pos) && !(c.window_left >= 0 && j < pos - c.window_left) && !(c.window_right >= 0 && j > pos + c.window_right) &&
              !(c.mask && !mask[i * c.S + j]) && !(c.lengths && j >= lens[b]);
    double dot = 0;
    for (int64_t d = 0; d < c.D; ++d) dot += double(q[((b * c.Hq + h) * c.L + i) * c.D + d]) * k[((b * c.Hkv + hk) * c.S + j) * c.D + d];
    double x = dot * static_cast<float>(scale);
    if (c.softcap > 0) x = c.softcap * std::tanh(x / c.softcap);
    cap_c = x;
    return bias ? x + bias_v[i * c.S + j] : x;
  };
  std::vector<float> out(no, 0.0f), lse(c.B * c.Hq * c.L);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < c.L; ++i) {
        const int64_t hk = h / (c.Hq / c.Hkv), row = (b * c.Hq + h) * c.L + i;
        double m = -INFINITY, l = 0, cc;
        bool ok;
        std::vector<double> z(c.S);
        for (int64_t j = 0; j < c.S; ++j) {
          z[j] = logit(b, h, i, j, cc, ok);
          if (!ok) z[j] = -INFINITY;
          m = std::max(m, z[j]);
        }
        if (m == -INFINITY) {
          lse[row] = -INFINITY;
          continue;
        }
        for (int64_t j = 0; j < c.S; ++j) l += std::exp(z[j] - m);
        lse[row] = static_cast<float>(m + std::log(l));
        for (int64_t e = 0; e < c.Dv; ++e) {
          double o = 0;
          for (int64_t j = 0; j < c.S; ++j) o += std::exp(z[j] - m) / l * v[((b * c.Hkv + hk) * c.S + j) * c.Dv + e];
          out[row * c.Dv + e] = static_cast<float>(o);
        }
      }
  std::vector<float> dq(nq, -7.0f), dk(nk, -7.0f), dv(nv, -7.0f), dbias(bias ? c.L * c.S : 0, 0.0f);
  SdpaBackwardParams bp;
  SdpaParams& p = bp.fwd;
  p.q = q.data(), p.k = k.data(), p.v = v.data();
  p.B = c.B, p.Hq = c.Hq, p.Hkv = c.Hkv, p.L = c.L, p.S = c.S, p.D = c.D, p.Dv = c.Dv;
  p.scale = static_cast<float>(scale);
  p.causal = c.causal;
  if (c.offsets) p.offsets = offs.data();
  p.window_left = c.window_left, p.window_right = c.window_right, p.softcap = c.softcap;
  if (c.mask) p.mask = mask.data(), p.mask_s[2] = c.S, p.mask_s[3] = 1;
  if (c.lengths) p.key_lengths = lens.data();
  if (bias) p.bias = bias_v.data(), p.bias_s[2] = c.S, p.bias_s[3] = 1, bp.dbias = dbias.data(), bp.dbias_len = c.L * c.S;
  sdpa_contiguous_strides(p);
  bp.out = out.data(), bp.dout = dout.data(), bp.lse = lse.data(), bp.dq = dq.data(), bp.dk = dk.data(), bp.dv = dv.data();
  expect_isa("sdpaBackward", isa_name(sdpa_backward(bp)));
  std::vector<double> wq(nq, 0.0), wk(nk, 0.0), wv(nv, 0.0), wb(dbias.size(), 0.0);
  for (int64_t b = 0; b < c.B; ++b)
    for (int64_t h = 0; h < c.Hq; ++h)
      for (int64_t i = 0; i < c.L; ++i) {
        const int64_t hk = h / (c.Hq / c.Hkv), row = (b * c.Hq + h) * c.L + i;
        if (lse[row] == -INFINITY) continue;
        double delta = 0;
        for (int64_t e = 0; e < c.Dv; ++e) delta += double(dout[row * c.Dv + e]) * out[row * c.Dv + e];
        for (int64_t j = 0; j < c.S; ++j) {
          double cc;
          bool ok;
          const double z = logit(b, h, i, j, cc, ok);
          if (!ok || z == -INFINITY) continue;
          const double pr = std::exp(z - lse[row]);
          const int64_t kr = (b * c.Hkv + hk) * c.S + j;
          double dp = 0;
          for (int64_t e = 0; e < c.Dv; ++e) dp += double(dout[row * c.Dv + e]) * v[kr * c.Dv + e];
          const double dz = pr * (dp - delta);
          if (bias) wb[i * c.S + j] += dz;
          const double ds = (c.softcap > 0 ? dz * (1 - (cc / c.softcap) * (cc / c.softcap)) : dz) * static_cast<float>(scale);
          for (int64_t d = 0; d < c.D; ++d) {
            wq[row * c.D + d] += ds * k[kr * c.D + d];
            wk[kr * c.D + d] += ds * q[row * c.D + d];
          }
          for (int64_t e = 0; e < c.Dv; ++e) wv[kr * c.Dv + e] += pr * dout[row * c.Dv + e];
        }
      }
  char name[224];
  std::snprintf(name, sizeof name, "B%lld Hq%lld Hkv%lld L%lld S%lld D%lld Dv%lld%s%s%s%s%s w %lld/%lld cap %g", (long long)c.B, (long long)c.Hq, (long long)c.Hkv, (long long)c.L,
                (long long)c.S, (long long)c.D, (long long)c.Dv, c.causal ? " causal" : "", c.mask ? " mask" : "", c.lengths ? " lengths" : "", c.offsets ? " offsets" : "",
                bias ? " bias" : "", (long long)c.window_left, (long long)c.window_right, static_cast<double>(c.softcap));
  const std::string base = std::string("sdpaBackward ") + name;
  expect_close("sdpaBackward", (base + " dq").c_str(), dq.data(), wq);
  expect_close("sdpaBackward", (base + " dk").c_str(), dk.data(), wk);
  expect_close("sdpaBackward", (base + " dv").c_str(), dv.data(), wv);
  if (bias) expect_close("sdpaBackward", (base + " dBias").c_str(), dbias.data(), wb);
}

void check_softmax(int64_t rows, int64_t cols) {
  std::vector<float> x = randn(rows * cols, 4.0f), out(rows * cols);
  SoftmaxParams p;
  p.x = x.data();
  p.out = out.data();
  p.rows = rows, p.cols = cols, p.rank = 2;
  p.shape[0] = rows, p.shape[1] = cols;
  Isa used = Isa::scalar;
  softmax_table().get(&used)(p);
  expect_isa("softmax", isa_name(used));
  std::vector<double> want(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    double m = -INFINITY, l = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, x[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c) l += std::exp(x[r * cols + c] - m);
    for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = std::exp(x[r * cols + c] - m) / l;
  }
  char name[80];
  std::snprintf(name, sizeof name, "softmax %lldx%lld", (long long)rows, (long long)cols);
  expect_close("softmax", name, out.data(), want);
}

void check_layerNorm(int64_t rows, int64_t cols) {
  std::vector<float> x = randn(rows * cols, 3.0f), g = randn(cols), bta = randn(cols), out(rows * cols);
  std::vector<float> mean_got(rows), inv_got(rows);
  for (auto& t : x) t += 5.0f;  // a mean far from 0
  LayerNormParams p;
  p.x = x.data();
  p.out = out.data();
  p.mean = mean_got.data();  // returnStats: the row's mean and 1/sqrt(var + eps)
  p.invStd = inv_got.data();
  p.rows = rows, p.cols = cols;
  p.gamma = g.data();
  p.beta = bta.data();
  Isa used = Isa::scalar;
  layerNorm_table().get(&used)(p);
  expect_isa("layerNorm", isa_name(used));
  std::vector<double> want(rows * cols), mean_want(rows), inv_want(rows);
  for (int64_t r = 0; r < rows; ++r) {
    double mean = 0, var = 0;
    for (int64_t c = 0; c < cols; ++c) mean += x[r * cols + c];
    mean /= cols;
    for (int64_t c = 0; c < cols; ++c) var += (x[r * cols + c] - mean) * (x[r * cols + c] - mean);
    var /= cols;
    mean_want[r] = mean;
    inv_want[r] = 1 / std::sqrt(var + double(p.eps));
    for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = (x[r * cols + c] - mean) / std::sqrt(var + double(p.eps)) * g[c] + bta[c];
  }
  char name[80];
  std::snprintf(name, sizeof name, "layerNorm %lldx%lld", (long long)rows, (long long)cols);
  expect_close("layerNorm", name, out.data(), want);
  std::snprintf(name, sizeof name, "layerNorm %lldx%lld mean", (long long)rows, (long long)cols);
  expect_close("layerNorm", name, mean_got.data(), mean_want);
  std::snprintf(name, sizeof name, "layerNorm %lldx%lld invStd", (long long)rows, (long long)cols);
  expect_close("layerNorm", name, inv_got.data(), inv_want);
}

void check_gelu(int64_t n, bool tanh_approx) {
  std::vector<float> x = randn(n, 3.0f), out(n);
  GeluParams p;
  p.x = x.data();
  p.out = out.data();
  p.n = n;
  p.tanh_approx = tanh_approx;
  Isa used = Isa::scalar;
  gelu_table().get(&used)(p);
  expect_isa("gelu", isa_name(used));
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) {
    const double t = x[i];
    want[i] = tanh_approx ? 0.5 * t * (1 + std::tanh(std::sqrt(2 / 3.14159265358979323846) * (t + 0.044715 * t * t * t))) : 0.5 * t * (1 + std::erf(t / std::sqrt(2.0)));
  }
  expect_close("gelu", tanh_approx ? "gelu (tanh) n=1001" : "gelu (erf) n=1001", out.data(), want);
}

void check_silu(int64_t n) {
  std::vector<float> x = randn(n, 8.0f), out(n);
  x[0] = INFINITY, x[1] = -INFINITY, x[2] = -100.0f, x[3] = 100.0f;  // exact limits, no overflow
  SiluParams p;
  p.x = x.data();
  p.out = out.data();
  p.n = n;
  Isa used = Isa::scalar;
  silu_table().get(&used)(p);
  expect_isa("silu", isa_name(used));
  if (!(out[0] == INFINITY && out[1] == 0.0f)) {
    ++failures;
    std::printf("FAIL silu(+Inf) = %g (want +Inf), silu(-Inf) = %g (want 0)\n", out[0], out[1]);
  }
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) want[i] = i < 2 ? 0.0 : x[i] / (1.0 + std::exp(-double(x[i])));
  out[0] = 0.0f;  // checked above; expect_close never passes a non-finite value
  expect_close("silu", "silu n=1001", out.data(), want);
}

/// embeddingBackward: n positions of width e into num_items rows (item 1 at `hot` of them, so its
/// sum spans several 64-position blocks), against the float64 scatter-add in position order.
void check_embeddingBackward(int64_t n, int64_t e, int64_t num_items, int64_t hot, int64_t padding) {
  std::vector<float> d = randn(n * e), out(num_items * e, NAN);
  std::vector<int32_t> idx(n);
  std::uniform_int_distribution<int32_t> pick(0, static_cast<int32_t>(num_items - 1));
  for (int64_t i = 0; i < n; ++i) idx[i] = i < hot ? 1 : pick(rng);
  EmbeddingBackwardParams p;
  p.d_out = d.data();
  p.indices = idx.data();
  p.out = out.data();
  p.n = n, p.e = e, p.num_items = num_items, p.padding_index = padding;
  expect_isa("embeddingBackward", isa_name(embeddingBackward_forward(p)));
  std::vector<double> want(num_items * e, 0.0);
  for (int64_t i = 0; i < n; ++i)
    if (idx[i] != padding)
      for (int64_t c = 0; c < e; ++c) want[idx[i] * e + c] += d[i * e + c];
  char what[96];
  std::snprintf(what, sizeof what, "embeddingBackward n=%lld e=%lld items=%lld hot=%lld pad=%lld", (long long)n, (long long)e, (long long)num_items, (long long)hot, (long long)padding);
  expect_close("embeddingBackward", what, out.data(), want);
}

/// adamStep: one AdamW step from a random state (step `step0` taken), in place, against the float64
/// update of attnkit's contract (moments rounded to float32 as stored, then read by the update).
void check_adamStep(int64_t n, int64_t step0, bool maximize) {
  std::vector<float> param = randn(n), grad = randn(n, 0.1f), m = randn(n, 0.01f), v = randn(n, 0.01f);
  for (auto& x : v) x = x * x;
  const std::vector<float> p0 = param, m0 = m, v0 = v;
  AdamStepParams p;
  p.param = p.param_out = param.data();
  p.m = p.m_out = m.data();
  p.v = p.v_out = v.data();
  p.grad = grad.data();
  p.n = n, p.step = step0 + 1, p.lr = 0.01, p.weight_decay = 0.1, p.maximize = maximize;
  expect_isa("adamStep", isa_name(adamStep_forward(p)));
  std::vector<double> want(n), want_m(n), want_v(n);
  const double b1 = 0.9, b2 = 0.999, t = double(step0 + 1);
  for (int64_t i = 0; i < n; ++i) {
    const double g = maximize ? -double(grad[i]) : double(grad[i]);
    const float mf = static_cast<float>(b1 * m0[i] + (1 - b1) * g), vf = static_cast<float>(b2 * v0[i] + (1 - b2) * g * g);
    want_m[i] = mf, want_v[i] = vf;
    want[i] = p0[i] * (1 - 0.01 * 0.1) - 0.01 * (mf / (1 - std::pow(b1, t))) / (std::sqrt(vf / (1 - std::pow(b2, t))) + 1e-8);
  }
  char what[96];
  std::snprintf(what, sizeof what, "adamStep n=%lld step %lld%s", (long long)n, (long long)(step0 + 1), maximize ? " maximize" : "");
  expect_close("adamStep", what, param.data(), want);
  expect_close("adamStep", "adamStep m", m.data(), want_m);
  expect_close("adamStep", "adamStep v", v.data(), want_v);
}

/// With half types: x, w and b are rounded to them first (the float64 loop and a float32 call see
/// the decoded values); the GEMM widens x's rows and w's panels as it packs them, and the half
/// call must give the float32 call's bits.
void check_linear(int64_t rows, int64_t in, int64_t outd, DType xt = DType::f32, DType wt = DType::f32, DType bt = DType::f32) {
  std::vector<float> x = randn(rows * in), w = randn(in * outd, 0.2f), b = randn(outd), y(rows * outd);
  std::vector<uint16_t> xh, wh, bh;
  quantize(x, xt, xh);
  quantize(w, wt, wh);
  quantize(b, bt, bh);
  const auto operand = [](const std::vector<float>& f, const std::vector<uint16_t>& h, DType t) {
    return t == DType::f32 ? Floats{f.data(), t} : Floats{h.data(), t};
  };
  LinearParams p{operand(x, xh, xt), operand(w, wh, wt), operand(b, bh, bt), rows, in, outd, y.data()};
  expect_isa("linear", isa_name(linear_forward(p)));
  char name[96];
  std::snprintf(name, sizeof name, "linear %lldx%lld -> %lld x %s w %s b %s", (long long)rows, (long long)in, (long long)outd, short_name(xt), short_name(wt),
                short_name(bt));
  if (xt != DType::f32 || wt != DType::f32 || bt != DType::f32) {
    std::vector<float> y32(rows * outd);
    LinearParams p32{{x.data(), DType::f32}, {w.data(), DType::f32}, {b.data(), DType::f32}, rows, in, outd, y32.data()};
    linear_forward(p32);
    expect_same((std::string(name) + ": the float32 call's bits").c_str(), y, y32);
  }
  std::vector<double> want(rows * outd);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < outd; ++o) {
      double acc = b[o];
      for (int64_t i = 0; i < in; ++i) acc += double(x[r * in + i]) * w[i * outd + o];
      want[r * outd + o] = acc;
    }
  expect_close("linear", name, y.data(), want);
}

// ---- Backward ops (docs/TRAINING.md): float64 loops from the derivatives. ----

void check_softmaxBackward(int64_t rows, int64_t cols) {
  std::vector<float> x = randn(rows * cols, 3.0f), dy = randn(rows * cols), y(rows * cols), dx(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {  // y = softmax(x) in double, every third entry masked (y = 0)
    double m = -INFINITY, l = 0;
    for (int64_t c = 0; c < cols; ++c) m = std::fmax(m, x[r * cols + c]);
    for (int64_t c = 0; c < cols; ++c) l += (r + c) % 3 ? std::exp(x[r * cols + c] - m) : 0.0;
    for (int64_t c = 0; c < cols; ++c) y[r * cols + c] = (r + c) % 3 ? float(std::exp(x[r * cols + c] - m) / l) : 0.0f;
  }
  SoftmaxBackwardParams p;
  p.dy = dy.data(), p.y = y.data(), p.dx = dx.data(), p.rows = rows, p.cols = cols;
  Isa used = Isa::scalar;
  softmaxBackward_table().get(&used)(p);
  expect_isa("softmaxBackward", isa_name(used));
  std::vector<double> want(rows * cols);
  for (int64_t r = 0; r < rows; ++r) {
    double s = 0;
    for (int64_t c = 0; c < cols; ++c) s += double(dy[r * cols + c]) * y[r * cols + c];
    for (int64_t c = 0; c < cols; ++c) want[r * cols + c] = y[r * cols + c] * (dy[r * cols + c] - s);
  }
  char name[80];
  std::snprintf(name, sizeof name, "softmaxBackward %lldx%lld", (long long)rows, (long long)cols);
  expect_close("softmaxBackward", name, dx.data(), want);
}

void check_layerNormBackward(int64_t rows, int64_t cols, bool gamma) {
  std::vector<float> x = randn(rows * cols, 2.0f), dy = randn(rows * cols), g = randn(cols), mean(rows), inv(rows);
  std::vector<float> dx(rows * cols), dg(cols), db(cols);
  for (int64_t r = 0; r < rows; ++r) {  // the forward's statistics, in double, rounded
    double m = 0, v = 0;
    for (int64_t c = 0; c < cols; ++c) m += x[r * cols + c];
    m /= cols;
    for (int64_t c = 0; c < cols; ++c) v += (x[r * cols + c] - m) * (x[r * cols + c] - m);
    mean[r] = float(m), inv[r] = float(1 / std::sqrt(v / cols + 1e-5));
  }
  LayerNormBackwardParams p;
  p.dy = dy.data(), p.x = x.data(), p.gamma = gamma ? g.data() : nullptr, p.mean = mean.data(), p.invStd = inv.data();
  p.dx = dx.data(), p.dGamma = dg.data(), p.dBeta = db.data(), p.rows = rows, p.cols = cols;
  Isa used = Isa::scalar;
  layerNormBackward_table().get(&used)(p);
  expect_isa("layerNormBackward", isa_name(used));
  std::vector<double> want(rows * cols), wg(cols, 0.0), wb(cols, 0.0);
  for (int64_t r = 0; r < rows; ++r) {
    double sg = 0, sgx = 0;
    for (int64_t c = 0; c < cols; ++c) {
      const double xh = (double(x[r * cols + c]) - mean[r]) * inv[r], gg = double(dy[r * cols + c]) * (gamma ? g[c] : 1.0f);
      sg += gg, sgx += gg * xh;
      wg[c] += dy[r * cols + c] * xh, wb[c] += dy[r * cols + c];
    }
    for (int64_t c = 0; c < cols; ++c) {
      const double xh = (double(x[r * cols + c]) - mean[r]) * inv[r], gg = double(dy[r * cols + c]) * (gamma ? g[c] : 1.0f);
      want[r * cols + c] = inv[r] * (gg - sg / cols - xh * sgx / cols);
    }
  }
  char name[80];
  std::snprintf(name, sizeof name, "layerNormBackward %lldx%lld%s dx", (long long)rows, (long long)cols, gamma ? " gamma" : "");
  expect_close("layerNormBackward", name, dx.data(), want);
  std::snprintf(name, sizeof name, "layerNormBackward %lldx%lld%s dGamma", (long long)rows, (long long)cols, gamma ? " gamma" : "");
  expect_close("layerNormBackward", name, dg.data(), wg);
  std::snprintf(name, sizeof name, "layerNormBackward %lldx%lld%s dBeta", (long long)rows, (long long)cols, gamma ? " gamma" : "");
  expect_close("layerNormBackward", name, db.data(), wb);
}

/// geluBackward (erf / tanh) and siluBackward with dy: the derivatives from their formulas.
void check_activation_backward(const char* op, int64_t n, int form) {
  std::vector<float> x = randn(n, 4.0f), dy = randn(n), dx(n);
  Isa used = Isa::scalar;
  if (form == 2) {
    SiluBackwardParams p;
    p.dy = dy.data(), p.x = x.data(), p.out = dx.data(), p.n = n;
    siluBackward_table().get(&used)(p);
  } else {
    GeluBackwardParams p;
    p.dy = dy.data(), p.x = x.data(), p.out = dx.data(), p.n = n, p.tanh_approx = form == 1;
    geluBackward_table().get(&used)(p);
  }
  expect_isa(op, isa_name(used));
  const double c = std::sqrt(2 / 3.14159265358979323846);
  std::vector<double> want(n);
  for (int64_t i = 0; i < n; ++i) {
    const double t = x[i];
    double d;
    if (form == 2) {
      const double s = 1 / (1 + std::exp(-t));
      d = s * (1 + t * (1 - s));
    } else if (form == 1) {
      const double u = c * (t + 0.044715 * t * t * t), th = std::tanh(u);
      d = 0.5 * (1 + th) + 0.5 * t * (1 - th * th) * c * (1 + 3 * 0.044715 * t * t);
    } else {
      d = 0.5 * std::erfc(-t / std::sqrt(2.0)) + t * std::exp(-0.5 * t * t) / std::sqrt(2 * 3.14159265358979323846);
    }
    want[i] = dy[i] * d;
  }
  expect_close(op, form == 2 ? "siluBackward n=1001" : form == 1 ? "geluBackward (tanh) n=1001" : "geluBackward (erf) n=1001", dx.data(), want);
}

void check_linearBackward(int64_t rows, int64_t in, int64_t outd) {
  std::vector<float> dy = randn(rows * outd), x = randn(rows * in), w = randn(in * outd, 0.2f);
  std::vector<float> dx(rows * in), dW(in * outd), db(outd);
  LinearBackwardParams p{dy.data(), x.data(), w.data(), rows, in, outd, dx.data(), dW.data(), db.data()};
  expect_isa("linearBackward", isa_name(linear_backward(p)));
  std::vector<double> wx(rows * in, 0.0), ww(in * outd, 0.0), wb(outd, 0.0);
  for (int64_t r = 0; r < rows; ++r)
    for (int64_t o = 0; o < outd; ++o) {
      wb[o] += dy[r * outd + o];
      for (int64_t i = 0; i < in; ++i) {
        wx[r * in + i] += double(dy[r * outd + o]) * w[i * outd + o];
        ww[i * outd + o] += double(x[r * in + i]) * dy[r * outd + o];
      }
    }
  char name[96];
  std::snprintf(name, sizeof name, "linearBackward %lldx%lld -> %lld dx", (long long)rows, (long long)in, (long long)outd);
  expect_close("linearBackward", name, dx.data(), wx);
  std::snprintf(name, sizeof name, "linearBackward %lldx%lld -> %lld dW", (long long)rows, (long long)in, (long long)outd);
  expect_close("linearBackward", name, dW.data(), ww);
  std::snprintf(name, sizeof name, "linearBackward %lldx%lld -> %lld db", (long long)rows, (long long)in, (long long)outd);
  expect_close("linearBackward", name, db.data(), wb);
}

void check_topk(int64_t B, int64_t N, int64_t D, int64_t k, bool largest = true, DType ut = DType::f32, DType itt = DType::f32) {
  std::vector<float> u = randn(B * D), it = randn(N * D), sc(B * k);
  std::vector<uint16_t> u16, it16;
  quantize(u, ut, u16);
  quantize(it, itt, it16);
  std::vector<int32_t> idx(B * k, -1);
  TopKParams p{u.data(), it.data(), B, N, D, k, nullptr, nullptr, idx.data(), sc.data()};
  p.largest = largest;
  expect_isa("topK", isa_name(topK_forward(p)));
  if (ut != DType::f32 || itt != DType::f32) {
    std::vector<float> sc16(B * k);
    std::vector<int32_t> idx16(B * k, -1);
    TopKParams h = p;
    h.indices = idx16.data();
    h.scores = sc16.data();
    h.users_type = ut, h.items_type = itt;
    if (ut != DType::f32) h.users = nullptr, h.users16 = u16.data();
    if (itt != DType::f32) h.items = nullptr, h.items16 = it16.data();
    expect_isa("topK", isa_name(topK_forward(h)));
    char what[120];
    std::snprintf(what, sizeof what, "topK users %s items %s B%lld N%lld: scores, bits of float32 on the decoded inputs", short_name(ut), short_name(itt), (long long)B, (long long)N);
    expect_same(what, sc16, sc);
    std::snprintf(what, sizeof what, "topK users %s items %s B%lld N%lld: indices, as float32 on the decoded inputs", short_name(ut), short_name(itt), (long long)B, (long long)N);
    expect_same(what, idx16, idx);
  }
  // Each returned score is its item's score; the returned scores are the k best, best first
  // (largest: the k largest, descending; else the k smallest, ascending).
  std::vector<double> at(B * k), best(B * k);
  for (int64_t b = 0; b < B; ++b) {
    std::vector<double> all(N);
    for (int64_t n = 0; n < N; ++n) {
      double s = 0;
      for (int64_t d = 0; d < D; ++d) s += double(u[b * D + d]) * it[n * D + d];
      all[n] = s;
    }
    for (int64_t j = 0; j < k; ++j) at[b * k + j] = (idx[b * k + j] >= 0 && idx[b * k + j] < N) ? all[idx[b * k + j]] : NAN;
    std::vector<double> sorted = all;
    std::partial_sort(sorted.begin(), sorted.begin() + k, sorted.end(), [largest](double a, double c) { return largest ? a > c : a < c; });
    for (int64_t j = 0; j < k; ++j) best[b * k + j] = sorted[j];
  }
  expect_close("topK", largest ? "topK scores are the returned items' scores" : "topK largest=false: scores are the returned items' scores", sc.data(), at);
  expect_close("topK", largest ? "topK scores are the k best, best first" : "topK largest=false: scores are the k smallest, smallest first", sc.data(), best);
}

// One entry per op with a NEON kernel: the op list comes from the op descriptors
// (`native.isaKernel`, passed in by scripts/arm64-check.sh), and an op without an entry here fails.
void sdpa_checks() {
  const SdpaCase cases[] = {
      {1, 2, 2, 7, 129, 17, 17, false, false, false},   // block of one partial row vector; odd D
      {2, 4, 2, 129, 7, 63, 65, true, false, false},    // grouped-query, L > S causal, Dv != D
      {1, 3, 1, 1, 1000, 64, 64, false, false, true},   // decode: split keys; keyLengths with an empty batch
      {3, 2, 2, 1, 1000, 65, 65, false, false, true},   // decode, odd D, keyLengths 0 / 500 / 750
      {1, 2, 1, 100, 100, 3, 3, true, true, false},     // causal + mask, a fully masked row
      {1, 1, 1, 64, 1, 129, 129, false, false, false},  // one key
      {2, 2, 2, 1000, 129, 1, 1, false, true, true},    // D = 1, long L, mask + keyLengths
      // The attention limits: per-batch offsets, windows (band tiles with cut edges), softcap.
      {2, 2, 1, 300, 300, 33, 33, true, false, false, true, 40, -1, 0.0f},    // offsets, causal, left window
      {1, 2, 2, 257, 500, 64, 64, false, false, true, false, 5, 9, 0.0f},     // window without causal, keyLengths
      {2, 2, 2, 130, 130, 17, 17, true, false, false, false, 0, -1, 0.0f},    // only the diagonal
      {1, 4, 2, 65, 65, 64, 64, true, true, false, false, -1, -1, 3.0f},      // softcap + mask
      {2, 2, 1, 1, 1500, 64, 64, true, false, true, true, 100, -1, 30.0f},    // decode: offsets, window, softcap
  };
  for (const auto& c : cases) check_sdpa(c);
  // Half q / k / v (#16): the block, row (decode) paths with every type on some operand.
  check_convert();
  const DType F = DType::f32, H = DType::f16, BF = DType::bf16;
  check_sdpa(cases[1], BF, BF, BF);   // block, grouped-query, causal
  check_sdpa(cases[1], H, F, BF);
  check_sdpa(cases[3], F, H, H);      // decode, odd D, keyLengths
  check_sdpa(cases[3], BF, BF, F);
  check_sdpa(cases[4], H, H, H);      // causal + mask, a fully masked row
  check_sdpa(cases[10], F, BF, H);    // softcap + mask
}
void sdpa_backward_checks() {
  const SdpaCase cases[] = {
      {1, 2, 2, 7, 129, 17, 17, false, false, false},   // one partial row block; odd D
      {2, 4, 2, 129, 7, 63, 65, true, false, false},    // grouped-query, L > S causal, Dv != D
      {3, 2, 2, 40, 300, 65, 33, false, false, true},   // keyLengths 0 / 150 / 225: key blocks with nothing
      {1, 2, 1, 100, 100, 3, 3, true, true, false},     // causal + mask, a fully masked row
      {2, 2, 1, 300, 300, 33, 33, true, false, false, true, 40, -1, 0.0f},  // offsets, causal, left window
      {2, 2, 2, 257, 500, 16, 16, false, false, true, false, 5, 9, 0.0f},   // window without causal; batch 0 sees nothing
      {1, 4, 2, 65, 65, 64, 64, true, true, false, false, -1, -1, 3.0f},    // softcap + mask
  };
  for (const auto& c : cases) check_sdpa_backward(c, false);
  // B·Hkv >= 32: the one-pass kernel (tasks (b, kv head)).
  check_sdpa_backward({4, 16, 8, 37, 41, 9, 7, true, true, false}, false);
  check_sdpa_backward({32, 2, 1, 20, 70, 5, 8, false, false, true, true, 6, 2, 1.5f}, false);
  check_sdpa_backward(cases[1], true);  // dBias of a [L, S] bias summed over B and H
  check_sdpa_backward(cases[6], true);
}
/// One HSTU case: a jagged batch of `lengths`, the options as in HstuAttentionArgs.
struct HstuCase {
  std::vector<int> lengths;
  int64_t H, D, Dv;
  bool causal;
  int64_t max_attn_len, contextual;
  std::vector<int> targets;  // empty: none
  bool pos, pos_per_head, time, time_per_head, by_length;
};

/// generative-recommenders' _get_valid_attn_mask for positions i, j of a sequence of length n,
/// written from its definition (ids, maxId, dist), independently of the kernel's intervals.
bool hstu_visible(const HstuCase& c, int n, int nt, int i, int j) {
  auto id = [&](int p) {
    int x = c.contextual > 0 ? std::max(p - int(c.contextual) + 1, 0) : p;
    return c.targets.empty() ? x : std::min(x, n - (c.contextual > 0 ? int(c.contextual) - 1 : 0) - nt);
  };
  const int max_id = n - (c.contextual > 0 ? int(c.contextual) - 1 : 0) - nt;
  int dist = id(i) - id(j);
  if (!c.causal) dist = std::abs(dist);
  bool ok = i == j || dist > 0;
  if (c.max_attn_len > 0) ok = ok && dist <= c.max_attn_len;
  if (c.contextual > 0) ok = ok || (id(i) == 0 && id(j) < max_id);
  return ok;
}

/// The forward (or, `backward`, its gradients) against float64 loops over every (b, h, i, j).
void check_hstu(const HstuCase& c, bool backward) {
  const int64_t B = c.lengths.size(), H = c.H, D = c.D, Dv = c.Dv;
  std::vector<int32_t> off(B + 1, 0);
  int N = 1;
  for (int64_t b = 0; b < B; ++b) off[b + 1] = off[b] + c.lengths[b], N = std::max(N, c.lengths[b]);
  const int64_t T = off[B], nb = 10;
  std::vector<float> q = randn(T * H * D, 0.6f), k = randn(T * H * D, 0.6f), v = randn(T * H * Dv), dout = randn(T * H * Dv);
  std::vector<float> pos = randn((2 * N - 1) * (c.pos_per_head ? H : 1), 0.5f), tb = randn((nb + 1) * (c.time_per_head ? H : 1), 0.5f);
  std::vector<double> ts(T), th(nb);
  for (int64_t t = 0; t < T; ++t) ts[t] = double((t * 7919) % 1000) * 3.0 - double(t % 4) * 100.0;  // repeats and goes backwards
  for (int64_t u = 0; u < nb; ++u) th[u] = std::exp(0.301 * double(u + 1));
  std::vector<int32_t> tg(c.targets.begin(), c.targets.end());
  HstuAttentionParams p;
  p.q = q.data(), p.k = k.data(), p.v = v.data(), p.offsets = off.data();
  p.B = B, p.H = H, p.D = D, p.Dv = Dv, p.max_length = N, p.alpha = float(1.0 / std::sqrt(double(D)));
  p.norm_by_length = c.by_length, p.causal = c.causal, p.num_targets = tg.empty() ? nullptr : tg.data();
  p.max_attn_len = c.max_attn_len, p.contextual_length = c.contextual;
  p.pos_bias = c.pos ? pos.data() : nullptr, p.pos_per_head = c.pos_per_head;
  if (c.time) p.timestamps = ts.data(), p.time_bias = tb.data(), p.time_per_head = c.time_per_head, p.num_buckets = nb, p.thresholds = th.data();
  std::vector<float> out(T * H * Dv), dq(T * H * D), dk(T * H * D), dv(T * H * Dv), dpos(pos.size()), dtime(tb.size());
  p.out = out.data();
  if (!backward) expect_isa("hstuAttention", isa_name(hstu_attention(p)));
  HstuAttentionBackwardParams bp;
  bp.fwd = p, bp.dout = dout.data(), bp.dq = dq.data(), bp.dk = dk.data(), bp.dv = dv.data();
  bp.dpos_bias = c.pos ? dpos.data() : nullptr, bp.dtime_bias = c.time ? dtime.data() : nullptr;
  if (backward) expect_isa("hstuAttentionBackward", isa_name(hstu_attention_backward(bp)));
  std::vector<double> wo(T * H * Dv, 0.0), wq(T * H * D, 0.0), wk(T * H * D, 0.0), wv(T * H * Dv, 0.0), wp(pos.size(), 0.0), wt(tb.size(), 0.0);
  for (int64_t b = 0; b < B; ++b) {
    const int n = c.lengths[b], o = off[b], nt = tg.empty() ? 0 : tg[b];
    const double norm = c.by_length ? n : N;
    for (int64_t h = 0; h < H; ++h)
      for (int i = 0; i < n; ++i)
        for (int j = 0; j < n; ++j) {
          if (!hstu_visible(c, n, nt, i, j)) continue;
          const int64_t qi = ((o + i) * H + h), kj = ((o + j) * H + h);
          double z = 0;
          for (int64_t d = 0; d < D; ++d) z += double(q[qi * D + d]) * k[kj * D + d];
          z *= p.alpha;
          const int64_t pi = (c.pos_per_head ? h * (2 * N - 1) : 0) + N - 1 + j - i;
          if (c.pos) z += pos[pi];
          int64_t ti = 0;
          if (c.time) {
            const double delta = std::fabs(ts[o + std::min(i + 1, n - 1)] - ts[o + j]);
            int64_t u = 0;
            while (u < nb && th[u] <= delta) ++u;
            ti = (c.time_per_head ? h * (nb + 1) : 0) + u;
            z += tb[ti];
          }
          const double s = 1.0 / (1.0 + std::exp(-z)), a = z * s / norm;
          double dA = 0;
          for (int64_t e = 0; e < Dv; ++e) {
            wo[qi * Dv + e] += a * v[kj * Dv + e];
            dA += double(dout[qi * Dv + e]) * v[kj * Dv + e];
            wv[kj * Dv + e] += a * dout[qi * Dv + e];
          }
          const double dz = dA / norm * s * (1 + z * (1 - s));
          for (int64_t d = 0; d < D; ++d) {
            wq[qi * D + d] += p.alpha * dz * k[kj * D + d];
            wk[kj * D + d] += p.alpha * dz * q[qi * D + d];
          }
          if (c.pos) wp[pi] += dz;
          if (c.time) wt[ti] += dz;
        }
  }
  char name[160];
  std::snprintf(name, sizeof name, "hstu B=%lld H=%lld D=%lld Dv=%lld%s%s%s", (long long)B, (long long)H, (long long)D, (long long)Dv, c.causal ? " causal" : "", c.targets.empty() ? "" : " targets", c.contextual ? " ctx" : "");
  if (!backward) {
    expect_close("hstuAttention", (std::string(name) + " out").c_str(), out.data(), wo);
    return;
  }
  expect_close("hstuAttentionBackward", (std::string(name) + " dq").c_str(), dq.data(), wq);
  expect_close("hstuAttentionBackward", (std::string(name) + " dk").c_str(), dk.data(), wk);
  expect_close("hstuAttentionBackward", (std::string(name) + " dv").c_str(), dv.data(), wv);
  if (c.pos) expect_close("hstuAttentionBackward", (std::string(name) + " dPositionBias").c_str(), dpos.data(), wp);
  if (c.time) expect_close("hstuAttentionBackward", (std::string(name) + " dTimeBias").c_str(), dtime.data(), wt);
}

void hstu_checks(bool backward) {
  check_hstu({{0, 1, 130, 5, 17, 0, 65}, 2, 13, 7, true, 0, 0, {}, false, false, false, false, false}, backward);
  check_hstu({{40, 3, 70, 1}, 2, 8, 8, true, 9, 2, {4, 3, 10, 0}, true, true, true, false, false}, backward);
  check_hstu({{33, 50, 2}, 3, 5, 6, false, 7, 1, {2, 5, 1}, true, false, true, true, true}, backward);
  check_hstu({{200, 9}, 1, 16, 16, false, 0, 0, {}, true, false, false, false, true}, backward);
}

const std::map<std::string, void (*)()> kChecks = {
    {"sdpa", sdpa_checks},
    {"sdpaBackward", sdpa_backward_checks},
    {"hstuAttention", [] { hstu_checks(false); }},
    {"hstuAttentionBackward", [] { hstu_checks(true); }},
    {"softmax", [] { check_softmax(37, 1000); check_softmax(5, 17); }},
    {"layerNorm", [] { check_layerNorm(33, 65); check_layerNorm(4, 1); }},
    {"gelu", [] { check_gelu(1001, false); check_gelu(1001, true); }},
    {"silu", [] { check_silu(1001); }},
    {"linear", [] {
       check_linear(37, 65, 129);
       check_linear(1, 3, 1);
       // Half x / w / b: B packed (M > mc) and read in place (M <= mc), K over one block, edge tiles.
       check_linear(150, 300, 37, DType::bf16, DType::f16, DType::bf16);
       check_linear(5, 257, 70, DType::f16, DType::bf16);
       check_linear(97, 33, 9, DType::f32, DType::bf16);
       check_linear(13, 600, 17, DType::f16, DType::f32, DType::f16);
     }},
    {"softmaxBackward", [] { check_softmaxBackward(37, 1000); check_softmaxBackward(5, 17); }},
    {"layerNormBackward", [] { check_layerNormBackward(600, 65, true); check_layerNormBackward(4, 1, false); }},
    {"geluBackward", [] { check_activation_backward("geluBackward", 1001, 0); check_activation_backward("geluBackward", 1001, 1); }},
    {"siluBackward", [] { check_activation_backward("siluBackward", 1001, 2); }},
    // Row blocks of dW / db (rows > 256), one block with the GEMM's tiles (edge tiles, odd sizes).
    {"linearBackward", [] { check_linearBackward(700, 13, 9); check_linearBackward(37, 65, 129); check_linearBackward(1, 3, 1); }},
    {"embeddingBackward", [] {
       check_embeddingBackward(301, 67, 13, 0, -1);
       check_embeddingBackward(1000, 5, 3, 700, 2);
       check_embeddingBackward(40, 16, 100, 0, 0);
     }},
    {"adamStep", [] {
       check_adamStep(40001, 0, false);
       check_adamStep(7, 99, true);
     }},
    {"topK", [] {
       check_topk(5, 1000, 17, 10);
       check_topk(3, 300, 64, 300, false);
       check_topk(5, 1000, 17, 10, true, DType::f32, DType::bf16);
       check_topk(40, 700, 64, 7, false, DType::f16, DType::f16);
     }},
};

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> ops;
  for (int a = 2; a + 2 < argc; a += 3) {
    tols[argv[a]] = Tol{std::atof(argv[a + 1]), std::atof(argv[a + 2])};
    ops.push_back(argv[a]);
  }
  bool usable = argc >= 3 && (argc - 2) % 3 == 0;
  for (const auto& op : ops) usable = usable && tols[op].rtol > 0 && tols[op].atol > 0;
  if (!usable) {
    std::fprintf(stderr, "usage: neon_check <expected isa: neon|scalar> <op> <rtol> <atol> ... (every op with a NEON kernel)\n");
    return 2;
  }
  for (const auto& op : ops) {
    if (!kChecks.count(op)) {
      std::printf("FAIL %s has a NEON kernel (its descriptor says so) but no check in test/arm64/neon_check.cc\n", op.c_str());
      return 1;
    }
  }
  want_isa = argv[1];
  if (isa_error() && *isa_error()) {
    std::printf("FAIL ATTNKIT_ISA: %s\n", isa_error());
    return 1;
  }
  std::printf("active ISA %s (detected %s), %d threads\n", isa_name(active_isa()), isa_name(detected_isa()), num_threads());
  for (int threads : {1, 3}) {
    set_threads(threads);
    for (const auto& op : ops) kChecks.at(op)();
  }
  std::printf("%d checks, %d failed (%s)\n", checks, failures, want_isa.c_str());
  return failures ? 1 : 0;
}
