'use strict';
// Scenarios of the bench: pairs of calls timed in the same run whose ratio has a target, which no
// single op descriptor's bench case covers (issue #14's three performance rows). Each scenario:
// { op, label, shape, target: { kind: 'speedup' (base / variant >= value) | 'slowdown'
// (variant / base <= value), value }, baseLabel, variantLabel, baseFlops, variantFlops,
// backends? (only these; default every backend), make(backend) -> { base(d), variant(d), check() } }.
//
// Incremental decode:
//
//   128 users with 200-event histories through two SASRec-sized encoder layers (the
//   transformerEncoderLayer bench case's shapes: E=64, H=2, F=64, pre-norm, gelu, causal); one new
//   event each, via one KvCache per layer, against recomputing the two layers over all 201 events.
//   Target: the cached step at least 20x faster, its outputs equal to the recomputed last rows
//   within transformerEncoderLayer's tolerance on that backend.
//
// The caches are filled once (the 200-event prefix through the layers' cache path); each timed
// incremental call rewinds them to 200 tokens (lengths is writable state, README "KV cache") and
// appends the new event, so every call does the same work.
const ak = require('../dist/cjs/index.js');

/** Deterministic [shape] tensor scaled by s. */
function rnd(shape, seed, s = 1) {
  const t = ak.random(shape, { seed });
  for (let i = 0; i < t.data.length; i++) t.data[i] *= s;
  return t;
}

/** SASRec-like layer parameters (as the descriptors' bench cases build them). */
function layerParams(E, F, seed) {
  return {
    attention: { wq: rnd([E, E], seed, 0.2), bq: rnd([E], seed + 1, 0.1), wk: rnd([E, E], seed + 2, 0.2), bk: rnd([E], seed + 3, 0.1), wv: rnd([E, E], seed + 4, 0.2), bv: rnd([E], seed + 5, 0.1), wo: rnd([E, E], seed + 6, 0.2), bo: rnd([E], seed + 7, 0.1) },
    norm1: { gamma: rnd([E], seed + 8, 0.5), beta: rnd([E], seed + 9, 0.1) },
    ffn: { w1: rnd([E, F], seed + 10, 0.2), b1: rnd([F], seed + 11, 0.1), w2: rnd([F, E], seed + 12, 0.2), b2: rnd([E], seed + 13, 0.1) },
    norm2: { gamma: rnd([E], seed + 14, 0.5), beta: rnd([E], seed + 15, 0.1) },
  };
}

/** Rows [a, b) of every batch entry of a [B,L,X] tensor. */
function rows(t, a, b) {
  const [B, L, X] = t.shape;
  const data = new Float32Array(B * (b - a) * X);
  for (let i = 0; i < B; i++) data.set(t.data.subarray((i * L + a) * X, (i * L + b) * X), i * (b - a) * X);
  return { data, shape: [B, b - a, X] };
}

/**
 * The incremental-decode scenario (quick: 8 users with 50-event histories). make(backend) builds
 * the inputs, fills the caches and returns { recompute(d), incremental(d), check(d) }.
 */
function incrementalDecode(quick) {
  const s = quick ? { B: 8, N: 50, E: 64, H: 2, F: 64 } : { B: 128, N: 200, E: 64, H: 2, F: 64 };
  const opts = { numHeads: s.H, causal: true, norm: 'pre', activation: 'gelu' };
  const cost = ak.OPS.transformerEncoderLayer.cost({ B: s.B, L: s.N + 1, E: s.E, H: s.H, F: s.F, causal: true });
  return {
    op: 'transformerEncoderLayer',
    label: `SASRec incremental decode: ${s.B} users, ${s.N}-event histories, +1 event, 2 layers E=${s.E} H=${s.H} F=${s.F} pre gelu causal`,
    shape: s,
    target: { kind: 'speedup', value: 20 },
    baseLabel: `recompute both layers over ${s.N + 1} events`,
    variantLabel: 'the new event via KV caches',
    baseFlops: 2 * cost.flops,
    variantFlops: null,
    make(backend) {
      const layers = [layerParams(s.E, s.F, 7), layerParams(s.E, s.F, 27)];
      const x = rnd([s.B, s.N + 1, s.E], 6); // the history plus the new event
      const last = rows(x, s.N, s.N + 1);
      const caches = layers.map(() => new ak.KvCache({ batch: s.B, kvHeads: s.H, capacity: s.N + 1, headDim: s.E / s.H }));
      const d = { backend };
      // Prefill: the 200-event histories through the layers' cache path.
      const prefix = rows(x, 0, s.N);
      ak.transformerEncoderLayer(ak.transformerEncoderLayer(prefix, layers[0], { ...opts, cache: caches[0] }, d), layers[1], { ...opts, cache: caches[1] }, d);
      const recompute = (dd) => ak.transformerEncoderLayer(ak.transformerEncoderLayer(x, layers[0], opts, dd), layers[1], opts, dd);
      const incremental = (dd) => {
        for (const c of caches) c.lengths.fill(s.N); // rewind to the 200-event prefix
        return ak.transformerEncoderLayer(ak.transformerEncoderLayer(last, layers[0], { ...opts, cache: caches[0] }, dd), layers[1], { ...opts, cache: caches[1] }, dd);
      };
      /** Max abs error of the cached step against the recomputed last rows, and whether it is within tolerance. */
      const check = () => {
        const full = recompute(d);
        const got = incremental(d);
        const want = rows(full, s.N, s.N + 1).data;
        const def = ak.getBackend(backend);
        const tol = def.tolerances.transformerEncoderLayer ?? def.tolerances.default ?? { rtol: 0, atol: 0 };
        let maxAbs = 0;
        let within = true;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(got.data[i] - want[i]);
          if (!(e <= maxAbs)) maxAbs = Number.isNaN(e) ? NaN : Math.max(maxAbs, e);
          if (!(e <= tol.atol + tol.rtol * Math.abs(want[i]))) within = false;
        }
        return { maxAbs, within, tol };
      };
      return { base: recompute, variant: incremental, check: () => ({ ...check(), what: "transformerEncoderLayer's tolerance of the recomputed last rows" }) };
    },
  };
}

/**
 * sdpa variants against the plain call on the same inputs: `variant` options vs `base` options.
 * check(): the variant verified against reference on 64 sampled rows (verify: { rows }).
 */
function sdpaPair({ label, shape, base, variant, target, baseLabel, variantLabel }) {
  const { B, H, L, D } = shape;
  const cost = (o) => ak.OPS.sdpa.cost({ B, H, L, S: L, D, causal: !!o.causal, window: o.window ?? null });
  return {
    op: 'sdpa',
    label,
    shape,
    target,
    baseLabel,
    variantLabel,
    baseFlops: cost(base).flops,
    variantFlops: cost(variant).flops,
    backends: ['native'],
    make(backend) {
      const q = rnd([B, H, L, D], 1), k = rnd([B, H, L, D], 2), v = rnd([B, H, L, D], 3);
      // Both calls write into one reused output (options.out), so the ratio is the kernels' own:
      // a fresh 8 MiB output per call costs ~2.5 ms of page faults in both (README, Performance).
      const out = new Float32Array(B * H * L * D);
      const check = () => {
        let report = null;
        ak.sdpa(q, k, v, variant, { backend, verify: { rows: 64 }, onReport: (r) => (report = r) });
        return { maxAbs: report.verify.maxAbsError, within: report.verify.passed, what: 'verify against reference on 64 sampled rows' };
      };
      return { base: (d) => ak.sdpa(q, k, v, { ...base, out }, d), variant: (d) => ak.sdpa(q, k, v, { ...variant, out }, d), check };
    },
  };
}

/** The scenarios for a bench run. */
function scenarios({ quick = false } = {}) {
  const L = quick ? 1024 : 4096;
  return [
    incrementalDecode(quick),
    sdpaPair({
      label: `sdpa (1,8,${L},${L},64) causal, 256-key window vs full causal, into out`,
      shape: { B: 1, H: 8, L, D: 64 },
      base: { causal: true },
      variant: { causal: true, window: { left: 256 } },
      target: { kind: 'speedup', value: 6 },
      baseLabel: 'full causal',
      variantLabel: 'causal, window { left: 256 }',
    }),
    sdpaPair({
      label: 'sdpa (1,8,512,512,64) softcap 30 vs none, into out',
      shape: { B: 1, H: 8, L: 512, D: 64 },
      base: {},
      variant: { softcap: 30 },
      target: { kind: 'slowdown', value: 1.3 },
      baseLabel: 'no softcap',
      variantLabel: 'softcap 30',
    }),
  ];
}

module.exports = { scenarios, layerParams, rnd };
