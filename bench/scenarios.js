'use strict';
// Scenarios of the bench: pairs of calls timed in the same run whose ratio has a target, which no
// single op descriptor's bench case covers (issue #14's three performance rows). Each scenario:
// { op, label, shape, target: { kind: 'speedup' (base / variant >= value) | 'slowdown'
// (variant / base <= value), value } or null (the ratio is reported, not judged), baseLabel,
// variantLabel, baseFlops, variantFlops, backends? (only these; default every backend),
// timing? ({ rounds, warmupCalls, minSamples? }: fewer for calls that take a second; replaces the mode's rounds and its warm-up round), usesTfjs? (skipped
// under --no-tfjs), make(backend) -> { base(d), variant(d), check(), peers?(), release?() } or
// { skip: reason } (make may be async) }. The SASRec training step against tfjs (issue #15) is
// in bench/sasrec-step.js.
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
const { trainingScenarios } = require('./training-scenarios.js');
const { jaggedSdpaScenario } = require('./jagged-scenarios.js');
const { hstuScenarios } = require('./hstu-scenarios.js');

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

/**
 * Half-precision inputs against float32 on the same values (issue #16's rows): the variant's
 * tensors named in `half` ({ q: 'bfloat16', ... }) are the base's rounded to that dtype; the base
 * runs on the widened values, so both compute the same function of the same numbers. `peers`
 * (optional): onnxruntime sessions on the float32 inputs, timed interleaved with both, each with a
 * target for the variant's speedup over it. check(): the variant verified against reference
 * (which widens the same half inputs) on 64 sampled rows.
 */
function halfPair({ op, label, shape, half, build, target, baseLabel, variantLabel, flops, peers }) {
  return {
    op,
    label,
    shape,
    target,
    baseLabel,
    variantLabel,
    baseFlops: flops,
    variantFlops: flops,
    backends: ['native'],
    peerCount: peers ? 3 : 0,
    make(backend) {
      const { tensors, call } = build();
      const variantT = {};
      const baseT = {};
      for (const [name, t] of Object.entries(tensors)) {
        const dt = half[name];
        if (!dt) {
          variantT[name] = baseT[name] = t;
          continue;
        }
        variantT[name] = dt === 'float16' ? ak.toFloat16(t) : ak.toBFloat16(t);
        baseT[name] = ak.toFloat32(variantT[name]);
      }
      const check = () => {
        let report = null;
        call(variantT, { backend, verify: { rows: 64 }, onReport: (r) => (report = r) });
        return { maxAbs: report.verify.maxAbsError, within: report.verify.passed, what: 'verify against reference (same half inputs) on 64 sampled rows' };
      };
      return { base: (d) => call(baseT, d), variant: (d) => call(variantT, d), check, peers: peers ? () => peers(baseT) : null };
    },
  };
}

/** onnxruntime float32 peers of an sdpa shape for a half scenario (bench/peers/onnx.js), each with its target. */
function ortSdpaPeers(shapeArgs, value) {
  return async (t) => {
    const { ortPeers } = require('./peers/onnx.js');
    const res = await ortPeers(shapeArgs, { q: t.q, k: t.k, v: t.v }, ak.getThreads());
    if (res.error) return { error: res.error, peers: [] };
    // Each graph into a pre-allocated output (fetches), as the attnkit rows write into `out`.
    const keep = res.peers.filter((p) => p.name.endsWith('+out'));
    for (const p of res.peers) if (!keep.includes(p)) p.release();
    const peers = keep.map((p) => ({ ...p, target: { kind: 'speedup', value } }));
    const errors = [...(res.errors ?? [])];
    // onnxruntime's own float16 com.microsoft.MultiHeadAttention on its CPU provider, shown beside (no target).
    try {
      peers.push({ ...(await ortFloat16Mha(shapeArgs, t)), target: null });
    } catch (e) {
      errors.push(`ort-mha-float16: ${String(e.message).split('\n')[0]}`);
    }
    return { peers, errors };
  };
}

/** com.microsoft.MultiHeadAttention in float16 (inputs [B,T,H*D] rounded to float16), into a pre-allocated output. */
async function ortFloat16Mha({ B, H, L, S, D }, t) {
  const ort = require('onnxruntime-node');
  const { node, valueInfo, model, attrInt, attrFloat } = require('./peers/onnx-proto.js');
  const { toBSHD } = require('./peers/onnx.js');
  const nodes = [node('MultiHeadAttention', ['query', 'key', 'value'], ['out'], [attrInt('num_heads', H), attrFloat('scale', 1 / Math.sqrt(D))], 'com.microsoft')];
  const m = model(nodes, [valueInfo('query', [B, L, H * D], 'float16'), valueInfo('key', [B, S, H * D], 'float16'), valueInfo('value', [B, S, H * D], 'float16')], [valueInfo('out', [B, L, H * D], 'float16')], [], [['', 17], ['com.microsoft', 1]]);
  const sess = await ort.InferenceSession.create(m, { intraOpNumThreads: ak.getThreads(), interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' });
  const h = (x, T) => new ort.Tensor('float16', ak.toFloat16(toBSHD(x.data, B, H, T, D)), [B, T, H * D]);
  const feeds = { query: h(t.q, L), key: h(t.k, S), value: h(t.v, S) };
  const pre = { out: new ort.Tensor('float16', new Uint16Array(B * L * H * D), [B, L, H * D]) };
  return { name: 'ort-mha-float16+out', run: async () => (await sess.run(feeds, pre)).out.data, release: () => sess.release() };
}

/**
 * Sharded retrieval (issue #17): the item table split into 8 contiguous shards, topK on each
 * (k_s = k, every shard holds more than k items) and mergeTopK, against one topK call over the
 * whole table: 1024 users x 1M items, D=64, k=10 (quick: 64 users x 50,000 items). Both run in
 * this process one after the other, so the ratio is the cost of sharding itself (8 calls, the
 * merge); spread over workers or machines, the shards run side by side. No target: the row is
 * reported. check(): the merged result identical to the whole-table call (indices and scores).
 * Two rounds and one warm-up call each: a whole-table call takes about a second on 2 threads, and
 * the default three warm-ups in five rounds would add ~20 s to `npm run main`.
 */
function shardedTopK(quick) {
  const s = quick ? { B: 64, N: 50000, D: 64, k: 10, shards: 8 } : { B: 1024, N: 1000000, D: 64, k: 10, shards: 8 };
  const flops = ak.OPS.topK.cost(s).flops;
  return {
    op: 'topK',
    label: `topK ${s.B} users x ${s.N} items (D=${s.D}, k=${s.k}) in ${s.shards} shards + mergeTopK vs one call over the whole table`,
    shape: s,
    target: null,
    timing: { rounds: 2, warmupCalls: 1 },
    baseLabel: 'topK over the whole table',
    variantLabel: `${s.shards} shard calls + mergeTopK`,
    baseFlops: flops,
    variantFlops: flops,
    backends: ['native'],
    make(backend) {
      const users = rnd([s.B, s.D], 41);
      const items = rnd([s.N, s.D], 42);
      const bounds = Array.from({ length: s.shards + 1 }, (_, i) => Math.round((i * s.N) / s.shards));
      const shards = bounds.slice(1).map((end, i) => ({ offset: bounds[i], size: end - bounds[i], items: { data: items.data.subarray(bounds[i] * s.D, end * s.D), shape: [end - bounds[i], s.D] } }));
      const whole = (d) => ak.topK(users, items, s.k, {}, d);
      const sharded = (d) => ak.mergeTopK(shards.map((sh) => ({ ...ak.topK(users, sh.items, Math.min(s.k, sh.size), {}, d), offset: sh.offset, size: sh.size })), s.k);
      const check = () => {
        const d = { backend };
        const want = whole(d);
        const got = sharded(d);
        let maxAbs = 0;
        let same = true;
        for (let i = 0; i < want.indices.data.length; i++) {
          if (got.indices.data[i] !== want.indices.data[i] || !Object.is(got.scores.data[i], want.scores.data[i])) same = false;
          const e = Math.abs(got.scores.data[i] - want.scores.data[i]);
          if (!(e <= maxAbs)) maxAbs = Number.isNaN(e) ? NaN : Math.max(maxAbs, e);
        }
        return { maxAbs, within: same, what: 'identical to the whole-table call (indices and scores)' };
      };
      return { base: whole, variant: sharded, check };
    },
  };
}

/**
 * Jagged targetAttention (#17 item 2): 256 users (quick: 32) whose history lengths are drawn from
 * a seeded lognormal (mean ~60; the longest set to 1024, the cap), DIN's activation unit (D=32,
 * hidden 80-40, softmax), over the jagged history against the padded [B, 1024, D] + keyLengths
 * call of the same data. Only the valid items are computed either way in the native kernel; the
 * padded call still allocates and passes B x 1024 rows. No target (the 4x target is for
 * sdpa and hstuAttention): the ratio is reported with the useful-work ratio ΣL_b / (B·1024) in the
 * label. check(): the jagged output within targetAttention's tolerance of the padded one. Native.
 */
function jaggedTarget(quick) {
  const B = quick ? 32 : 256, cap = 1024, D = 32, hidden = [80, 40];
  // Seeded lognormal lengths: sigma 1.2, mu so that the mean is ~60 (exp(mu + sigma^2/2) = 60).
  let seed = 0x9e3779b9;
  const uniform = () => {
    seed = (seed + 0x6d2b79f5) >>> 0;
    let t = seed;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (((t ^ (t >>> 14)) >>> 0) + 0.5) / 4294967296;
  };
  const sigma = 1.2, mu = Math.log(60) - (sigma * sigma) / 2;
  const lens = Array.from({ length: B }, () => Math.min(cap, Math.max(0, Math.round(Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(uniform())) * Math.cos(2 * Math.PI * uniform()))))));
  lens[B >> 1] = cap; // the longest history: the padded form is [B, 1024, D]
  const offsets = new Int32Array(B + 1);
  lens.forEach((l, b) => (offsets[b + 1] = offsets[b] + l));
  const T = offsets[B];
  const useful = T / (B * cap);
  const cost = (b, s) => ak.OPS.targetAttention.cost({ B: b, S: s, D, hidden }).flops;
  return {
    op: 'targetAttention',
    label: `targetAttention ${B} users, lognormal history lengths (mean ${(T / B).toFixed(1)}, max ${cap}), D=${D} hidden ${hidden.join('-')} softmax, jagged vs padded + keyLengths (useful work ΣL/(B·${cap}) = ${useful.toFixed(3)})`,
    shape: { B, S: cap, D, hidden, T },
    target: null,
    baseLabel: `padded [${B},${cap},${D}] + keyLengths`,
    variantLabel: `jagged [${T},${D}] + offsets`,
    // Both calls compute the valid items only (the native kernel skips padded items: keyLengths),
    // so both rows' GFLOP/s are over the useful work; the padded call's extra cost is its memory.
    baseFlops: cost(1, T),
    variantFlops: cost(1, T),
    // native only (as the other kernel-ratio rows): reference is skipped at this size anyway, and
    // the padded call on a software gpu would add tens of seconds to the run for no kernel ratio.
    backends: ['native'],
    make(backend) {
      const target = rnd([B, D], 71);
      const values = rnd([T, D], 72);
      const hist = ak.jagged(values, offsets);
      const { padded, lengths } = ak.toPadded(hist, { maxLength: cap });
      const params = { layers: [{ w: rnd([4 * D, 80], 73, 0.2), b: rnd([80], 74, 0.1) }, { w: rnd([80, 40], 75, 0.2), b: rnd([40], 76, 0.1) }, { w: rnd([40, 1], 77, 0.2), b: rnd([1], 78, 0.1) }] };
      const opts = { normalize: 'softmax' };
      const base = (d) => ak.targetAttention(target, padded, params, { ...opts, keyLengths: lengths }, d);
      const variant = (d) => ak.targetAttention(target, hist, params, opts, d);
      const check = () => {
        const d = { backend };
        const want = base(d).data, got = variant(d).data;
        const def = ak.getBackend(backend);
        const tol = def.tolerances.targetAttention ?? def.tolerances.default ?? { rtol: 0, atol: 0 };
        let maxAbs = 0;
        let within = true;
        for (let i = 0; i < want.length; i++) {
          const e = Math.abs(got[i] - want[i]);
          if (!(e <= maxAbs)) maxAbs = Number.isNaN(e) ? NaN : Math.max(maxAbs, e);
          if (!(e <= tol.atol + tol.rtol * Math.abs(want[i]))) within = false;
        }
        return { maxAbs, within, what: "targetAttention's tolerance of the padded call's output" };
      };
      return { base, variant, check };
    },
  };
}

/** The scenarios for a bench run. */
function scenarios({ quick = false, tfjsCpu = true, sasrecStep = true } = {}) {
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
    ...halfScenarios(quick),
    shardedTopK(quick),
    jaggedTarget(quick),
    jaggedSdpaScenario(quick),
    ...trainingScenarios(quick),
    ...hstuScenarios(quick),
    ...(sasrecStep ? [require('./sasrec-step.js').sasrecStepScenario(quick, { tfjsCpu })] : []),
  ];
}

/** Issue #16's rows: decode with half K/V, sdpa with bfloat16 q/k/v, topK over a bfloat16 item table. */
function halfScenarios(quick) {
  const dec = quick ? { B: 1, H: 8, L: 1, S: 1024, D: 128 } : { B: 1, H: 32, L: 1, S: 4096, D: 128 };
  const decFlops = ak.OPS.sdpa.cost({ ...dec, causal: false }).flops;
  const sdpaCall = (t, d) => ak.sdpa(t.q, t.k, t.v, { out: t.out }, d);
  const decodeTensors = () => ({ tensors: { q: rnd([dec.B, dec.H, dec.L, dec.D], 1), k: rnd([dec.B, dec.H, dec.S, dec.D], 2), v: rnd([dec.B, dec.H, dec.S, dec.D], 3), out: new Float32Array(dec.B * dec.H * dec.L * dec.D) }, call: (t, d) => sdpaCall(t, d) });
  const decShape = `(${dec.B},${dec.H},${dec.L},${dec.S},${dec.D})`;
  const out = [];
  for (const dt of ['bfloat16', 'float16']) {
    out.push(halfPair({
      op: 'sdpa',
      label: `sdpa decode ${decShape} with ${dt} K/V vs float32 K/V, into out`,
      shape: dec,
      half: { k: dt, v: dt },
      build: decodeTensors,
      target: { kind: 'speedup', value: 1.8 },
      baseLabel: 'float32 K/V',
      variantLabel: `${dt} K/V`,
      flops: decFlops,
      peers: quick ? null : ortSdpaPeers({ B: dec.B, H: dec.H, L: dec.L, S: dec.S, D: dec.D, causal: false }, 2.5),
    }));
  }
  const sq = { B: 1, H: 8, L: quick ? 256 : 512, D: 64 };
  out.push(halfPair({
    op: 'sdpa',
    label: `sdpa (${sq.B},${sq.H},${sq.L},${sq.L},${sq.D}) with bfloat16 q/k/v vs float32, into out`,
    shape: sq,
    half: { q: 'bfloat16', k: 'bfloat16', v: 'bfloat16' },
    build: () => ({ tensors: { q: rnd([sq.B, sq.H, sq.L, sq.D], 1), k: rnd([sq.B, sq.H, sq.L, sq.D], 2), v: rnd([sq.B, sq.H, sq.L, sq.D], 3), out: new Float32Array(sq.B * sq.H * sq.L * sq.D) }, call: sdpaCall }),
    target: { kind: 'slowdown', value: 1 },
    baseLabel: 'float32 q/k/v',
    variantLabel: 'bfloat16 q/k/v',
    flops: ak.OPS.sdpa.cost({ ...sq, S: sq.L, causal: false }).flops,
  }));
  const tk = quick ? { B: 64, N: 20000, D: 64, k: 10 } : { B: 1024, N: 100000, D: 64, k: 10 };
  out.push(halfPair({
    op: 'topK',
    label: `topK B=${tk.B} N=${tk.N} D=${tk.D} k=${tk.k} with a bfloat16 item table vs float32`,
    shape: tk,
    half: { items: 'bfloat16' },
    build: () => ({ tensors: { users: rnd([tk.B, tk.D], 4), items: rnd([tk.N, tk.D], 5) }, call: (t, d) => ak.topK(t.users, t.items, tk.k, {}, d) }),
    target: { kind: 'speedup', value: 1.5 },
    baseLabel: 'float32 table',
    variantLabel: 'bfloat16 table',
    flops: ak.OPS.topK.cost(tk).flops,
  }));
  return out;
}

module.exports = { scenarios, layerParams, rnd };
