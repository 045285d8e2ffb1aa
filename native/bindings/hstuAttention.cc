// hstuAttention binding: checks HstuAttentionArgs (src/kernels.ts) and runs attnkit::hstu_attention.
// The shared checks (hstu_args) are also the backward's (bindings/hstuAttentionBackward.cc).
#include <napi.h>

#include <string>

#include "attnkit/hstuAttention.h"
#include "common.h"
#include "hstuArgs.h"

namespace attnkit::bind {

uint64_t hstu_args(Args& a, HstuAttentionParams& p, const char* op, uint64_t* vN) {
  constexpr int64_t kMaxDim = 0x7fffffff;
  a.sizes(0, kMaxDim, {{"B", &p.B}});
  a.sizes(1, kMaxDim, {{"H", &p.H}, {"D", &p.D}, {"Dv", &p.Dv}, {"maxLength", &p.max_length}});
  const uint64_t B = p.B, H = p.H, D = p.D, Dv = p.Dv;
  p.offsets = a.i32("offsets", a.product(std::string(op) + " offsets", {B + 1}), 0, INT32_MAX, false);
  // Jagged offsets: start at 0, non-decreasing, every length <= maxLength.
  if (p.offsets[0] != 0) a.range_error("offsets", "expected offsets[0] = 0, received " + std::to_string(p.offsets[0]));
  for (int64_t b = 0; b < p.B; ++b) {
    const int64_t n = static_cast<int64_t>(p.offsets[b + 1]) - p.offsets[b];
    if (n < 0) a.range_error("offsets", "expected non-decreasing offsets, received offsets[" + std::to_string(b + 1) + "] = " + std::to_string(p.offsets[b + 1]) + " < offsets[" + std::to_string(b) + "] = " + std::to_string(p.offsets[b]));
    if (n > p.max_length) a.range_error("maxLength", "expected >= every sequence length, sequence " + std::to_string(b) + " has " + std::to_string(n) + " > " + std::to_string(p.max_length));
  }
  const uint64_t T = static_cast<uint64_t>(p.offsets[p.B]);
  const uint64_t qN = a.product(std::string(op) + " q", {T, H, D});
  *vN = a.product(std::string(op) + " v", {T, H, Dv});
  p.q = a.f32("q", qN);
  p.k = a.f32("k", qN);
  p.v = a.f32("v", *vN);
  p.alpha = static_cast<float>(a.number("alpha", true));
  p.norm_by_length = a.choice("normalization", {"maxLength", "length"}) == 1;
  p.causal = a.boolean("causal");
  p.num_targets = a.i32("numTargets", B, 0, INT32_MAX, true);
  if (p.num_targets)
    for (int64_t b = 0; b < p.B; ++b) {
      const int64_t n = static_cast<int64_t>(p.offsets[b + 1]) - p.offsets[b];
      if (p.num_targets[b] > n) a.range_error("numTargets", "expected 0 <= numTargets[b] <= the sequence's length, numTargets[" + std::to_string(b) + "] = " + std::to_string(p.num_targets[b]) + " > " + std::to_string(n));
    }
  p.max_attn_len = a.integer("maxAttnLen", 0, kMaxDim);
  p.contextual_length = a.integer("contextualLength", 0, kMaxDim);
  p.pos_per_head = a.boolean("positionBiasPerHead");
  const uint64_t posN = a.product(std::string(op) + " positionBias", {2 * static_cast<uint64_t>(p.max_length) - 1, p.pos_per_head ? H : 1});
  p.pos_bias = a.f32_opt("positionBias", posN);
  p.num_buckets = a.integer("numBuckets", 0, 1 << 20);
  p.time_per_head = a.boolean("timeBiasPerHead");
  const uint64_t nb1 = static_cast<uint64_t>(p.num_buckets) + 1;
  p.timestamps = a.f64_opt("timestamps", T);
  p.time_bias = a.f32_opt("timeBias", a.product(std::string(op) + " timeBias", {nb1, p.time_per_head ? H : 1}));
  if ((p.timestamps == nullptr) != (p.time_bias == nullptr)) a.type_error(p.timestamps ? "timeBias" : "timestamps", "timestamps and timeBias are given together or not at all");
  if (p.timestamps) {
    p.thresholds = a.f64_opt("timeBucketThresholds", static_cast<uint64_t>(p.num_buckets));
    if (!p.thresholds) a.type_error("timeBucketThresholds", "expected a Float64Array of numBuckets (" + std::to_string(p.num_buckets) + ") ascending thresholds with timestamps");
    for (int64_t u = 1; u < p.num_buckets; ++u)
      if (!(p.thresholds[u - 1] <= p.thresholds[u])) a.range_error("timeBucketThresholds", "expected ascending thresholds, element " + std::to_string(u) + " is not");
  }
  return qN;
}

namespace {

void fill_hstuAttention(Args& a, ForwardJob<HstuAttentionParams, hstu_attention>& job) {
  uint64_t vN = 0;
  hstu_args(a, job.p, "hstuAttention", &vN);
  job.p.out = a.into_output_f32("out", nullptr, vN);  // the caller's buffer, or a new one
}

}  // namespace
ATTNKIT_OP(hstuAttention, fill_hstuAttention);
}  // namespace attnkit::bind
