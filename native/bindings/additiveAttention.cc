// additiveAttention(args: AdditiveArgs) -> { output: Float32Array [B,L,Dv], weights?: [B,L,S] }.
// query, keys, values, wq, wk, b and v may be half: a Uint16Array of bit patterns when the args'
// `dtypes` names it, else a Float32Array. keyOffsets (optional, #17): [B+1] Int32Array, jagged
// keys [T, Dk] and values [T, Dv] (T = keyOffsets[B], S = the longest sequence), weights [T, L];
// not with mask or keyLengths; jaggedMask (optional, with keyOffsets only): Uint8Array [L * T],
// batch b's [L, n_b] block at L * keyOffsets[b].
#include <memory>

#include "attnkit/additiveAttention.h"
#include "common.h"
#include "jaggedOffsets.h"

namespace attnkit::bind {
namespace {

// The job owns its copy of the jagged offsets.
void fill_additiveAttention(Args& a, ForwardJob<AdditiveAttentionParams, additiveAttention_forward, std::vector<int32_t>>& job) {
  AdditiveAttentionParams& p = job.p;
  a.dtypes_only({"query", "keys", "values", "wq", "wk", "b", "v"});
  a.sizes(0, {{"B", &p.B}, {"L", &p.L}, {"S", &p.S}, {"Dq", &p.Dq}, {"Dk", &p.Dk}, {"Dv", &p.Dv}, {"A", &p.A}});
  const uint64_t B = p.B, L = p.L, S = p.S, Dq = p.Dq, Dk = p.Dk, Dv = p.Dv, A = p.A;
  p.query = a.floats_opt("query", a.product("query", {B, L, Dq}));
  if (p.query) {
    p.wq = a.floats("wq", a.product("wq", {Dq, A}));
  } else if (!a.absent("wq")) {
    a.type_error("wq", "must be null when query is null (attention pooling)");
  }
  int64_t longest = 0;
  p.keyOffsets = jagged_offsets(a, "keyOffsets", p.B, job.extra, longest);
  // Jagged: key rows T = offsets[B] (no padding); S sizes the kernel's per-row scratch.
  const uint64_t keyRows = p.keyOffsets ? (uint64_t)p.keyOffsets[p.B] : a.product("key rows", {B, S});
  if (p.keyOffsets && longest != p.S) a.range_error("S", "must be the longest jagged sequence (" + std::to_string(longest) + "), received " + std::to_string(p.S));
  p.keys = a.floats("keys", a.product("keys", {keyRows, Dk}));
  p.values = a.floats("values", a.product("values", {keyRows, Dv}));
  p.wk = a.floats("wk", a.product("wk", {Dk, A}));
  p.b = a.floats("b", A);
  p.v = a.floats("v", A);
  a.product("weights", {B, L, S});
  a.product("weights", {keyRows, L});
  a.product("projected keys", {keyRows, A});
  StridedView<uint8_t> m = a.strided_u8("mask", {p.B, p.L, p.S});
  p.mask = m.data;
  for (int i = 0; i < 3; i++) p.maskStrides[i] = m.data ? m.strides[(size_t)i] : 0;
  p.keyLengths = a.i32("keyLengths", B, 0, p.S, true);
  if (p.keyOffsets && (p.keyLengths || p.mask)) a.type_error(p.mask ? "mask" : "keyLengths", "must be null with keyOffsets (jagged keys)");
  // The per-user mask: exactly L * T bytes (batch b's [L, n_b] block at L * offsets[b]).
  p.jaggedMask = p.keyOffsets ? a.u8_opt("jaggedMask", a.product("jaggedMask", {L, keyRows})) : nullptr;
  if (!p.keyOffsets && !a.absent("jaggedMask")) a.type_error("jaggedMask", "must be null without keyOffsets (padded keys take mask)");
  const bool weights = a.boolean("returnWeights");
  p.output = a.output_f32("output", a.product("output", {B, L, Dv}));
  if (weights) p.weights = a.output_f32("weights", p.keyOffsets ? keyRows * L : a.product("weights", {B, L, S}));
}

}  // namespace
ATTNKIT_OP(additiveAttention, fill_additiveAttention);
}  // namespace attnkit::bind
