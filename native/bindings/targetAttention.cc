// targetAttention(args: TargetArgs) -> { output: Float32Array [B,D], weights?: [B,S] }.
// layers: [{ w, b, inDim, outDim, alpha }...]; layers[0].inDim = 4D, chained widths, last
// outDim = 1; alpha [outDim] required on hidden layers when activation is 'prelu'.
#include <memory>
#include <string>
#include <vector>

#include "attnkit/targetAttention.h"
#include "common.h"

namespace attnkit {
namespace bind {
namespace {

struct TargetAttentionJob final : Job {
  TargetAttentionParams p{};
  std::vector<DinLayer> layers;
  size_t outIdx = 0, wIdx = 0;
  bool weights = false;
  void run() override { variant = isa_name(targetAttention_forward(p)); }
  Napi::Value result(Napi::Env env) override {
    Napi::Object o = Napi::Object::New(env);
    o.Set("output", keep[outIdx].Value());
    if (weights) o.Set("weights", keep[wIdx].Value());
    return o;
  }
};

std::unique_ptr<Job> parse_targetAttention(const Napi::CallbackInfo& info) {
  auto job = std::make_unique<TargetAttentionJob>();
  Args a(info, *job, "targetAttention");
  Napi::Env env = a.env();
  const int64_t max = (int64_t)kMaxElements;
  TargetAttentionParams& p = job->p;
  p.B = a.integer("B", 0, max);
  p.S = a.integer("S", 0, max);
  p.D = a.integer("D", 0, max);
  const uint64_t B = p.B, S = p.S, D = p.D;
  p.target = a.f32("target", checked_product(env, "target", {B, D}));
  p.history = a.f32("history", checked_product(env, "history", {B, S, D}));
  const int act = a.choice("activation", {"relu", "sigmoid", "prelu"});
  p.activation = (DinAct)act;
  p.softmax = a.choice("normalize", {"none", "softmax"}) == 1;
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  Napi::Value lv = a.get("layers");
  if (!lv.IsArray()) a.type_error("layers", "expected an array of { w, b, inDim, outDim, alpha } layers");
  Napi::Array arr = lv.As<Napi::Array>();
  const uint32_t nl = arr.Length();
  if (nl < 1 || nl > 64) a.range_error("layers", "expected 1 to 64 layers, received " + std::to_string(nl));
  const uint64_t in0 = checked_product(env, "layers[0].inDim", {4, D});
  int64_t prevOut = 0;
  for (uint32_t l = 0; l < nl; l++) {
    Args la = a.sub_value(arr.Get(l), "layers[" + std::to_string(l) + "]");
    DinLayer ly{};
    ly.inDim = la.integer("inDim", 0, max);
    ly.outDim = la.integer("outDim", 1, max);
    if (l == 0 && (uint64_t)ly.inDim != in0) la.range_error("inDim", "the first layer must take 4*D = " + std::to_string(in0) + " inputs");
    if (l > 0 && ly.inDim != prevOut) la.range_error("inDim", "must equal the previous layer's outDim " + std::to_string(prevOut));
    if (l + 1 == nl && ly.outDim != 1) la.range_error("outDim", "the last layer must have width 1");
    // Per-item working buffers hold up to 64 rows of this width; keep it sane.
    if (ly.outDim > (1 << 24)) la.range_error("outDim", "too wide");
    ly.w = la.f32("w", checked_product(env, "w", {(uint64_t)ly.inDim, (uint64_t)ly.outDim}));
    ly.b = la.f32("b", (uint64_t)ly.outDim);
    ly.alpha = la.f32_opt("alpha", (uint64_t)ly.outDim);
    if (act == (int)DinAct::Prelu && l + 1 < nl && !ly.alpha) la.type_error("alpha", "expected a Float32Array [outDim] for activation 'prelu'");
    prevOut = ly.outDim;
    job->layers.push_back(ly);
  }
  p.layers = job->layers.data();
  p.nLayers = nl;
  job->weights = a.boolean("returnWeights");
  Napi::Float32Array out, w;
  p.output = a.out_f32(checked_product(env, "output", {B, D}), &out);
  job->outIdx = job->keep.size() - 1;
  if (job->weights) {
    p.weights = a.out_f32(checked_product(env, "weights", {B, S}), &w);
    job->wIdx = job->keep.size() - 1;
  }
  return job;
}

}  // namespace
ATTNKIT_OP_ENTRY(targetAttention, parse_targetAttention);
}  // namespace bind
}  // namespace attnkit
