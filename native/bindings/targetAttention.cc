// targetAttention(args: TargetArgs) -> { output: Float32Array [B,D], weights?: [B,S] }.
// layers: [{ w, b, inDim, outDim, alpha }...]; layers[0].inDim = 4D, chained widths, last
// outDim = 1; alpha [outDim] required on hidden layers when activation is 'prelu'. target and
// history (the args' `dtypes`) and each layer's w, b and alpha (that layer's own `dtypes`) may be
// half: a Uint16Array of bit patterns, else a Float32Array. historyOffsets (optional, #17): [B+1]
// Int32Array, a jagged history [T, D] (T = historyOffsets[B], S = the longest history), weights [T];
// not with keyLengths.
#include <memory>
#include <string>
#include <vector>

#include "attnkit/targetAttention.h"
#include "common.h"
#include "jaggedOffsets.h"

namespace attnkit::bind {
namespace {

/// What the params point into: the layers, and the job's copy of the jagged offsets.
struct TargetAttentionOwned {
  std::vector<DinLayer> layers;
  std::vector<int32_t> offsets;
};
using TargetAttentionJob = ForwardJob<TargetAttentionParams, targetAttention_forward, TargetAttentionOwned>;

void fill_targetAttention(Args& a, TargetAttentionJob& job) {
  TargetAttentionParams& p = job.p;
  a.dtypes_only({"target", "history"});
  a.sizes(0, {{"B", &p.B}, {"S", &p.S}, {"D", &p.D}});
  const uint64_t B = p.B, S = p.S, D = p.D;
  p.target = a.floats("target", a.product("target", {B, D}));
  int64_t longest = 0;
  p.historyOffsets = jagged_offsets(a, "historyOffsets", p.B, job.extra.offsets, longest);
  // Jagged: history rows T = offsets[B] (no padding); S sizes the kernel's per-row scratch.
  const uint64_t rows = p.historyOffsets ? (uint64_t)p.historyOffsets[p.B] : a.product("history rows", {B, S});
  if (p.historyOffsets && longest != p.S) a.range_error("S", "must be the longest jagged history (" + std::to_string(longest) + "), received " + std::to_string(p.S));
  p.history = a.floats("history", a.product("history", {rows, D}));
  const int act = a.choice("activation", {"relu", "sigmoid", "prelu"});
  p.activation = (DinAct)act;
  p.softmax = a.choice("normalize", {"none", "softmax"}) == 1;
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  if (p.keyLengths && p.historyOffsets) a.type_error("keyLengths", "must be null with historyOffsets (the offsets give the lengths)");
  Napi::Value lv = a.get("layers");
  if (!lv.IsArray()) a.type_error("layers", "expected an array of { w, b, inDim, outDim, alpha } layers");
  Napi::Array arr = lv.As<Napi::Array>();
  const uint32_t nl = arr.Length();
  if (nl < 1 || nl > 64) a.range_error("layers", "expected 1 to 64 layers, received " + std::to_string(nl));
  const uint64_t in0 = a.product("layers[0].inDim", {4, D});
  int64_t prevOut = 0;
  for (uint32_t l = 0; l < nl; l++) {
    Args la = a.sub_value(arr.Get(l), "layers[" + std::to_string(l) + "]");
    DinLayer ly{};
    la.dtypes_only({"w", "b", "alpha"});
    ly.inDim = la.integer("inDim", 0, (int64_t)kMaxElements);
    ly.outDim = la.integer("outDim", 1, (int64_t)kMaxElements);
    if (l == 0 && (uint64_t)ly.inDim != in0) la.range_error("inDim", "the first layer must take 4*D = " + std::to_string(in0) + " inputs");
    if (l > 0 && ly.inDim != prevOut) la.range_error("inDim", "must equal the previous layer's outDim " + std::to_string(prevOut));
    if (l + 1 == nl && ly.outDim != 1) la.range_error("outDim", "the last layer must have width 1");
    // Per-item working buffers hold up to 64 rows of this width; keep it sane.
    if (ly.outDim > (1 << 24)) la.range_error("outDim", "too wide");
    ly.w = la.floats("w", a.product("w", {(uint64_t)ly.inDim, (uint64_t)ly.outDim}));
    ly.b = la.floats("b", (uint64_t)ly.outDim);
    ly.alpha = la.floats_opt("alpha", (uint64_t)ly.outDim);
    if (act == (int)DinAct::Prelu && l + 1 < nl && !ly.alpha) la.type_error("alpha", "expected a Float32Array (or half Uint16Array) [outDim] for activation 'prelu'");
    prevOut = ly.outDim;
    job.extra.layers.push_back(ly);
  }
  p.layers = job.extra.layers.data();
  p.nLayers = nl;
  const bool weights = a.boolean("returnWeights");
  p.output = a.output_f32("output", a.product("output", {B, D}));
  if (weights) p.weights = a.output_f32("weights", rows);
}

}  // namespace
ATTNKIT_OP(targetAttention, fill_targetAttention);
}  // namespace attnkit::bind
