// The native backend's composite ops, those beyond sdpa and the elementwise primitives: linear,
// topK, and the layers built on them (multiHeadAttention, transformerEncoderLayer,
// additiveAttention, targetAttention). Adversarial sizes against reference, NaN/Inf containment,
// bit-identical results at 1, 2 and 3 threads, async twins, and the addon's own argument checks
// (called directly, bypassing the TypeScript validation). Run once per ISA level (test/jobs.js
// sets ATTNKIT_ISA); the shared specs (runSpecs('native')) cover the ops' semantics too.
import { createRequire } from 'node:module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { assertClose } from './specs/index.mjs';
import { toleranceOf } from './specs/util.mjs';

const info = ak.backends().find((b) => b.name === 'native');
const NATIVE = { backend: 'native' };
const REF = { backend: 'reference' };
const VERIFY = { backend: 'native', verify: true };

const R = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};
const data = (r) => r.data ?? r.output?.data ?? r;
const tol = (op) => toleranceOf('native', op);

/** Bitwise equality of two Float32Array/Int32Array results (NaN payloads included). */
function same(a, b, what) {
  const x = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
  const y = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  assert.is(x.length, y.length, `${what}: length`);
  for (let i = 0; i < x.length; i++) if (x[i] !== y[i]) assert.unreachable(`${what}: differs at byte ${i}`);
}

/** Every array of an op result, flattened to [name, typed array] pairs. */
function arrays(r) {
  if (r instanceof Float32Array || r instanceof Int32Array) return [['out', r]];
  if (r.data) return [['out', r.data]];
  return Object.entries(r).filter(([, v]) => v && (v.data || ArrayBuffer.isView(v))).map(([k, v]) => [k, v.data ?? v]);
}

if (!info || !info.available) {
  const s = suite('native composites · availability');
  const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
  // (test/jobs.js does not schedule an ISA level this CPU lacks: unavailable here is a real failure in CI.)
  if (process.env.CI === 'true') s('native is available in CI', () => assert.unreachable(why));
  else s.skip(`native unavailable: ${why}`, () => {});
  s.run();
} else {
  run();
}

function run() {
  const isa = info.isa;
  const SIZES = [1, 3, 17, 63, 65, 129];

  // ---- linear -----------------------------------------------------------------------------
  const lin = suite(`native composites [${isa}] · linear`);
  lin('every M, K, N in {1, 3, 17, 63, 65, 129} matches reference (with and without bias)', () => {
    for (const M of SIZES)
      for (const K of SIZES)
        for (const N of SIZES) {
          const x = R([M, K], M * 1000 + K);
          const w = R([K, N], K * 1000 + N, 1 / Math.sqrt(K));
          ak.linear(x, w, (M + K + N) % 2 ? R([N], N) : null, VERIFY);
        }
  });
  lin('larger than one K block and one task tile (K = 600, M = 300, N = 300)', () => {
    ak.linear(R([300, 600], 1), R([600, 300], 2, 0.05), R([300], 3), VERIFY);
  });
  lin('a row gives the same bits alone, in a small batch (B read in place) and in a large one (B packed)', () => {
    for (const [K, N] of [[64, 192], [300, 65], [1024, 33]]) {
      const x = R([300, K], K);
      const w = R([K, N], N, 0.1);
      const b = R([N], 1);
      const all = ak.linear(x, w, b, NATIVE).data;
      for (const M of [1, 5, 17]) {
        const part = ak.linear({ data: x.data.slice(0, M * K), shape: [M, K] }, w, b, NATIVE).data;
        same(part, all.slice(0, M * N), `K${K} N${N}: first ${M} rows`);
      }
    }
  });
  lin('NaN / Inf stay in the rows and columns they touch', () => {
    const [M, K, N] = [19, 33, 37];
    const x = R([M, K], 5);
    const w = R([K, N], 6, 0.2);
    x.data[4 * K + 7] = NaN; // row 4 -> all NaN
    x.data[9 * K + 2] = Infinity; // row 9 -> ±Inf / NaN per column sign
    w.data[3 * N + 30] = -Infinity; // column 30 -> ∓Inf in every row
    const got = ak.linear(x, w, R([N], 7), NATIVE);
    const want = ak.linear(x, w, R([N], 7), REF);
    assertClose(got, want, tol('linear'), 'linear');
    for (let i = 0; i < M; i++)
      for (let j = 0; j < N; j++) {
        const v = got.data[i * N + j];
        if (i !== 4 && i !== 9 && j !== 30) assert.ok(Number.isFinite(v), `finite at (${i},${j})`);
        if (i === 4) assert.ok(Number.isNaN(v), `NaN row at (${i},${j})`);
      }
  });

  // ---- topK -------------------------------------------------------------------------------
  const tk = suite(`native composites [${isa}] · topK`);
  // Small integers: every dot product is exact in float32 and float64, so indices must match exactly.
  const ints = (shape, seed, span = 3) => {
    const t = R(shape, seed);
    for (let i = 0; i < t.data.length; i++) t.data[i] = Math.round(t.data[i] * span);
    return t;
  };
  tk('exact ties, NaN, ±Inf items, exclusions (repeated), k beyond what is left: indices equal reference', () => {
    for (const [B, N, D, k] of [[1, 1, 1, 1], [3, 17, 3, 5], [17, 129, 17, 10], [2, 65, 63, 65], [65, 63, 1, 63], [1, 5000, 8, 17]]) {
      const users = ints([B, D], B + N);
      const items = ints([N, D], N + D);
      if (N > 10) {
        items.data[3 * D] = NaN;
        items.data[7 * D] = NaN;
        items.data[5 * D] = Infinity;
        items.data[9 * D] = -Infinity;
      }
      const exclude = Array.from({ length: B }, (_, b) => (b % 3 === 1 ? null : [b % N, (b * 7) % N, b % N, N - 1]));
      for (const opts of [{}, { exclude }]) {
        const got = ak.topK(users, items, k, opts, NATIVE);
        const want = ak.topK(users, items, k, opts, REF);
        same(got.indices.data, want.indices.data, `indices B${B} N${N} D${D} k${k}`);
        assertClose(got.scores, want.scores, { atol: 0, rtol: 0 }, 'scores');
      }
    }
  });
  tk('random scores: verified against reference; one user over many items (item-split path)', () => {
    ak.topK(R([3, 64], 1), R([100003, 64], 2), 10, {}, VERIFY);
    ak.topK(R([129, 17], 3), R([4099, 17], 4), 33, { exclude: Array.from({ length: 129 }, (_, b) => [b, b + 1]) }, VERIFY);
  });
  tk('everything excluded: tail is -1 / -Infinity', () => {
    const r = ak.topK(R([2, 3], 1), R([4, 3], 2), 3, { exclude: [[0, 1, 2, 3], [2, 0, 1, 0]] }, NATIVE);
    assert.equal(Array.from(r.indices.data), [-1, -1, -1, 3, -1, -1]);
    assert.equal(Array.from(r.scores.data.slice(0, 3)), [-Infinity, -Infinity, -Infinity]);
    assert.equal(Array.from(r.scores.data.slice(4)), [-Infinity, -Infinity]);
  });

  // ---- multiHeadAttention -------------------------------------------------------------------
  const mh = suite(`native composites [${isa}] · multiHeadAttention`);
  const mhaParams = (E, Ek, Ev, Hq, Hkv, D, Dv, Eo, seed, bias = true) => ({
    wq: R([E, Hq * D], seed, 0.3), bq: bias ? R([Hq * D], seed + 1, 0.1) : null,
    wk: R([Ek, Hkv * D], seed + 2, 0.3), bk: bias ? R([Hkv * D], seed + 3, 0.1) : null,
    wv: R([Ev, Hkv * Dv], seed + 4, 0.3), bv: bias ? R([Hkv * Dv], seed + 5, 0.1) : null,
    wo: R([Hq * Dv, Eo], seed + 6, 0.3), bo: bias ? R([Eo], seed + 7, 0.1) : null,
  });
  mh('L != S, GQA, masks, bias, keyLengths with zeros, weights and lse: verified', () => {
    for (const [B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo] of [[2, 1, 17, 17, 3, 65, 4, 2, 3, 5, 7], [3, 17, 3, 64, 64, 64, 8, 1, 8, 8, 63], [2, 65, 129, 24, 17, 24, 6, 3, 4, 17, 1]]) {
      const p = mhaParams(E, Ek, Ev, Hq, Hkv, D, Dv, Eo, L + S);
      const q = R([B, L, E], 1);
      const k = R([B, S, Ek], 2);
      const v = R([B, S, Ev], 3);
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
      const maskData = new Uint8Array(L * S).map((_, f) => ((f * 7) % 5 !== 0 ? 1 : 0));
      const bias = { data: R([Hq, L, S], 4).data, shape: [Hq, L, S] };
      for (const opts of [
        { numHeads: Hq, numKvHeads: Hkv },
        { numHeads: Hq, numKvHeads: Hkv, causal: true, keyLengths, returnWeights: true, returnLse: true },
        { numHeads: Hq, numKvHeads: Hkv, mask: { data: maskData, shape: [L, S] }, bias, returnWeights: true },
      ]) ak.multiHeadAttention(q, k, v, p, opts, VERIFY);
    }
  });
  mh('NaN in masked / padded keys and values never leaks', () => {
    const [B, L, S, E, H] = [2, 5, 9, 8, 2];
    const p = mhaParams(E, E, E, H, H, 4, 4, E, 9);
    const q = R([B, L, E], 1);
    const k = R([B, S, E], 2);
    const v = R([B, S, E], 3);
    for (const t of [k, v]) for (let e = 0; e < E; e++) t.data[(0 * S + 8) * E + e] = t.data[(1 * S + 6) * E + e] = NaN;
    const keyLengths = new Int32Array([8, 6]); // exactly the NaN rows are padding
    const r = ak.multiHeadAttention(q, k, v, p, { numHeads: H, keyLengths, returnWeights: true }, VERIFY);
    assert.ok(r.output.data.every(Number.isFinite), 'output finite');
  });
  mh('self-attention (fused QKV GEMM) is bit-identical to the same data passed as three arrays', () => {
    const [B, L, E, H] = [2, 33, 24, 3];
    const p = mhaParams(E, E, E, H, H, 8, 8, E, 5);
    const x = R([B, L, E], 6);
    const fused = ak.multiHeadAttention(x, x, x, p, { numHeads: H, causal: true }, NATIVE);
    const copy = (t) => ({ data: t.data.slice(), shape: t.shape });
    const apart = ak.multiHeadAttention(x, copy(x), copy(x), p, { numHeads: H, causal: true }, NATIVE);
    same(fused.data, apart.data, 'fused vs separate projections');
  });

  // ---- transformerEncoderLayer ----------------------------------------------------------------
  const en = suite(`native composites [${isa}] · transformerEncoderLayer`);
  const encParams = (E, F, seed, withNorm = true) => ({
    attention: { wq: R([E, E], seed, 0.2), bq: R([E], seed + 1, 0.1), wk: R([E, E], seed + 2, 0.2), bk: R([E], seed + 3, 0.1), wv: R([E, E], seed + 4, 0.2), bv: null, wo: R([E, E], seed + 6, 0.2), bo: R([E], seed + 7, 0.1) },
    norm1: withNorm ? { gamma: R([E], seed + 8, 0.5), beta: R([E], seed + 9, 0.1) } : null,
    ffn: { w1: R([E, F], seed + 10, 0.2), b1: R([F], seed + 11, 0.1), w2: R([F, E], seed + 12, 0.2), b2: null },
    norm2: withNorm ? { gamma: R([E], seed + 13, 0.5), beta: null } : null,
  });
  en('pre/post norm x relu/gelu x causal, keyLengths with zeros, odd sizes: verified', () => {
    for (const [B, L, E, H, F] of [[1, 1, 3, 1, 1], [3, 17, 24, 3, 65], [2, 65, 63, 7, 17], [2, 129, 16, 2, 129]]) {
      const p = encParams(E, F, L + E, L % 2 === 1);
      const x = R([B, L, E], 3);
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : L - b));
      for (const norm of ['post', 'pre'])
        for (const activation of ['relu', 'gelu'])
          ak.transformerEncoderLayer(x, p, { numHeads: H, norm, activation, causal: (L + E) % 2 === 0, keyLengths, eps: 1e-5 }, VERIFY);
    }
  });

  // ---- additiveAttention ----------------------------------------------------------------------
  const ad = suite(`native composites [${isa}] · additiveAttention`);
  const addParams = (Dq, Dk, A, seed) => ({ wq: Dq ? R([Dq, A], seed, 0.4) : null, wk: R([Dk, A], seed + 1, 0.4), b: R([A], seed + 2, 0.1), v: R([A], seed + 3, 0.5) });
  ad('L != S, pooling, masks, keyLengths with zeros, A not a multiple of the width: verified', () => {
    for (const [B, L, S, Dq, Dk, Dv, A] of [[1, 1, 1, 1, 1, 1, 1], [2, 3, 17, 5, 7, 9, 63], [3, 17, 65, 17, 3, 1, 129], [2, 65, 3, 8, 8, 8, 17]]) {
      const p = addParams(Dq, Dk, A, B + S);
      const q = R([B, L, Dq], 1);
      const keys = R([B, S, Dk], 2);
      const values = R([B, S, Dv], 3);
      const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
      const mask = { data: new Uint8Array(B * L * S).map((_, f) => (f % 4 !== 1 ? 1 : 0)), shape: [B, L, S] };
      ak.additiveAttention(q, keys, values, p, {}, VERIFY);
      ak.additiveAttention(q, keys, values, p, { keyLengths, mask, returnWeights: true }, VERIFY);
      ak.additiveAttention(null, keys, values, { ...p, wq: null }, { keyLengths, returnWeights: true }, VERIFY);
    }
  });
  ad('NaN in a padded key/value does not leak; NaN in an allowed key makes only its row NaN', () => {
    const [B, L, S, D, A] = [2, 4, 6, 5, 17];
    const p = addParams(D, D, A, 3);
    const q = R([B, L, D], 1);
    const keys = R([B, S, D], 2);
    const values = R([B, S, D], 3);
    keys.data[(0 * S + 5) * D] = NaN;
    values.data[(0 * S + 5) * D + 1] = NaN;
    let r = ak.additiveAttention(q, keys, values, p, { keyLengths: new Int32Array([5, 6]) }, VERIFY);
    assert.ok(r.data.every(Number.isFinite), 'padded NaN does not leak');
    r = ak.additiveAttention(q, keys, values, p, {}, NATIVE);
    for (let i = 0; i < B * L * D; i++) assert.is(Number.isNaN(r.data[i]), i < L * D, `row NaN only in batch 0 (element ${i})`);
  });

  // ---- targetAttention ------------------------------------------------------------------------
  const ta = suite(`native composites [${isa}] · targetAttention`);
  const mlp = (D, hidden, seed, act) => {
    const layers = [];
    let inDim = 4 * D;
    [...hidden, 1].forEach((o, l) => {
      layers.push({ w: R([inDim, o], seed + l, 1 / Math.sqrt(inDim)), b: R([o], seed + 10 + l, 0.1), alpha: act === 'prelu' && l < hidden.length ? R([o], seed + 20 + l, 0.3) : undefined });
      inDim = o;
    });
    return { layers };
  };
  ta('every activation x normalize, 1 to 3 layers, keyLengths with zeros, odd sizes: verified', () => {
    for (const [B, S, D, hidden] of [[1, 1, 1, []], [3, 17, 3, [63]], [2, 129, 17, [65, 3]], [65, 3, 8, [17, 9, 5]]]) {
      for (const activation of ['relu', 'sigmoid', 'prelu'])
        for (const normalize of ['none', 'softmax']) {
          const keyLengths = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - (b % S)));
          ak.targetAttention(R([B, D], 1), R([B, S, D], 2), mlp(D, hidden, S + D, activation), { activation, normalize, keyLengths, returnWeights: true }, VERIFY);
        }
    }
  });
  ta('NaN in padded history never leaks; NaN in a valid item poisons only its batch row', () => {
    const [B, S, D] = [3, 7, 4];
    const h = R([B, S, D], 3);
    h.data[(1 * S + 6) * D + 2] = NaN;
    const params = mlp(D, [5], 4, 'relu');
    for (const normalize of ['none', 'softmax']) {
      const r = ak.targetAttention(R([B, D], 1), h, params, { activation: 'relu', normalize, keyLengths: new Int32Array([7, 6, 7]), returnWeights: true }, VERIFY);
      assert.ok(r.output.data.every(Number.isFinite), `padded NaN does not leak (${normalize})`);
      const all = ak.targetAttention(R([B, D], 1), h, params, { activation: 'relu', normalize }, NATIVE);
      for (let i = 0; i < B * D; i++) assert.is(Number.isNaN(all.data[i]), i >= D && i < 2 * D, `NaN only in row 1 (element ${i}, ${normalize})`);
    }
  });

  // ---- determinism across thread counts, async twins ----------------------------------------------
  const workloads = () => {
    const mp = mhaParams(64, 64, 64, 8, 2, 8, 8, 64, 3);
    const x = R([4, 129, 64], 4);
    const ep = encParams(64, 256, 5);
    const keys = R([8, 300, 32], 6);
    return [
      ['linear', (o) => ak.linear(R([700, 300], 1), R([300, 500], 2, 0.05), R([500], 3), o), (o) => ak.linearAsync(R([700, 300], 1), R([300, 500], 2, 0.05), R([500], 3), o)],
      ['topK', (o) => ak.topK(R([300, 64], 7), R([20011, 64], 8), 10, {}, o), (o) => ak.topKAsync(R([300, 64], 7), R([20011, 64], 8), 10, {}, o)],
      ['multiHeadAttention', (o) => ak.multiHeadAttention(x, x, x, mp, { numHeads: 8, numKvHeads: 2, causal: true, returnWeights: true }, o), (o) => ak.multiHeadAttentionAsync(x, x, x, mp, { numHeads: 8, numKvHeads: 2, causal: true, returnWeights: true }, o)],
      ['transformerEncoderLayer', (o) => ak.transformerEncoderLayer(x, ep, { numHeads: 4, activation: 'gelu' }, o), (o) => ak.transformerEncoderLayerAsync(x, ep, { numHeads: 4, activation: 'gelu' }, o)],
      ['additiveAttention', (o) => ak.additiveAttention(R([8, 37, 16], 9), keys, keys, addParams(16, 32, 48, 10), { returnWeights: true }, o), (o) => ak.additiveAttentionAsync(R([8, 37, 16], 9), keys, keys, addParams(16, 32, 48, 10), { returnWeights: true }, o)],
      ['targetAttention', (o) => ak.targetAttention(R([16, 32], 11), R([16, 200, 32], 12), mlp(32, [80, 40], 13, 'sigmoid'), { returnWeights: true }, o), (o) => ak.targetAttentionAsync(R([16, 32], 11), R([16, 200, 32], 12), mlp(32, [80, 40], 13, 'sigmoid'), { returnWeights: true }, o)],
    ];
  };
  const det = suite(`native composites [${isa}] · threads and async`);
  det('bit-identical results at 1, 2 and 3 threads', () => {
    const before = ak.getThreads();
    try {
      for (const [op, sync] of workloads()) {
        ak.setThreads(1);
        // 1 thread: checked against reference (identical wrong results would pass the comparison below).
        const one = arrays(sync(VERIFY));
        for (const n of [2, 3]) {
          ak.setThreads(n);
          assert.is(ak.getThreads(), n);
          const s0 = ak.nativeAsyncStats();
          const other = arrays(sync(NATIVE));
          const s1 = ak.nativeAsyncStats();
          assert.ok(s1.regions - s1.inlineRegions > s0.regions - s0.inlineRegions, `${op} at ${n} threads: a parallel region ran on the pool`);
          for (let i = 0; i < one.length; i++) same(other[i][1], one[i][1], `${op}.${one[i][0]} at ${n} threads`);
        }
      }
    } finally {
      ak.setThreads(before);
    }
  });
  det('async twins resolve to exactly the sync results, 24 concurrent calls', async () => {
    const w = workloads();
    const want = w.map(([, sync]) => arrays(sync(NATIVE)));
    const calls = [];
    for (let r = 0; r < 4; r++) w.forEach(([op, , asy], i) => calls.push(asy(NATIVE).then((res) => [op, i, res])));
    for (const [op, i, res] of await Promise.all(calls)) {
      const got = arrays(res);
      for (let j = 0; j < got.length; j++) same(got[j][1], want[i][j][1], `${op}.${got[j][0]} async`);
    }
  });
  det('the addon reports the ISA level that ran', () => {
    assert.ok(process.env.ATTNKIT_ISA, 'test/jobs.js runs this file with ATTNKIT_ISA set (one job per ISA level)');
    assert.is(isa, process.env.ATTNKIT_ISA, 'ATTNKIT_ISA selects the path');
    const kernels = ak.nativeInfo().kernels;
    assert.is(kernels.gemm.selected, isa);
    assert.is(kernels.additiveAttention_score.selected, isa);
    const addon = createRequire(import.meta.url)(ak.nativeInfo().path);
    ak.linear(R([3, 3], 1), R([3, 3], 2), null, NATIVE);
    assert.is(addon.lastKernel(), `linear:${isa}`);
    ak.additiveAttention(null, R([1, 3, 2], 1), R([1, 3, 2], 2), { wk: R([2, 4], 3), b: R([4], 4), v: R([4], 5) }, {}, NATIVE);
    assert.is(addon.lastKernel(), `additiveAttention:${isa}`);
  });

  // ---- the addon's own checks (no TypeScript validation in front) ------------------------------
  const bad = suite(`native composites [${isa}] · addon argument checks`);
  const addon = createRequire(import.meta.url)(ak.nativeInfo().path);
  const f = (n) => new Float32Array(n);
  const throwsKind = (fn, Kind, re, what) => {
    try {
      fn();
    } catch (e) {
      assert.instance(e, Kind, `${what}: ${e}`);
      if (re) assert.match(e.message, re, what);
      return;
    }
    assert.unreachable(`${what}: did not throw`);
  };
  const linearArgs = () => ({ x: f(6), rows: 2, inDim: 3, outDim: 4, w: f(12), b: null });
  bad('linear: types, lengths, overflow', async () => {
    throwsKind(() => addon.linear(), TypeError, /argument object/, 'no argument');
    throwsKind(() => addon.linear({ ...linearArgs(), x: new Float64Array(6) }), TypeError, /x: expected a Float32Array/, 'Float64Array');
    throwsKind(() => addon.linear({ ...linearArgs(), w: f(11) }), RangeError, /w: expected 12 elements/, 'short w');
    throwsKind(() => addon.linear({ ...linearArgs(), b: f(3) }), RangeError, /b: expected 4/, 'short b');
    throwsKind(() => addon.linear({ ...linearArgs(), rows: 2 ** 40, inDim: 2 ** 20 }), RangeError, /overflow|expected/, 'overflowing sizes');
    throwsKind(() => addon.linear({ ...linearArgs(), rows: 1.5 }), RangeError, /integer/, 'fractional');
    throwsKind(() => addon.linear({ ...linearArgs(), rows: -1 }), RangeError, /integer/, 'negative');
    await addon.linearAsync({ ...linearArgs(), w: f(1) }).then(() => assert.unreachable('async resolved'), (e) => assert.instance(e, RangeError));
    assert.equal(Array.from(addon.linear(linearArgs())), new Array(8).fill(0));
  });
  const topkArgs = () => ({ users: f(4), items: f(10), B: 2, N: 5, D: 2, k: 3, exclude: null, largest: true });
  bad('topK: exclusion lists and sizes', () => {
    throwsKind(() => addon.topK({ ...topkArgs(), exclude: [new Int32Array([5]), null] }), RangeError, /exclude\[0\]: element 0 = 5 is outside \[0, 4\]/, 'index out of range');
    throwsKind(() => addon.topK({ ...topkArgs(), exclude: [null] }), RangeError, /expected 2 entries/, 'short exclude');
    throwsKind(() => addon.topK({ ...topkArgs(), exclude: [[1], null] }), TypeError, /Int32Array/, 'plain array entry');
    throwsKind(() => addon.topK({ ...topkArgs(), N: 2 ** 31, items: f(10) }), RangeError, /N/, 'N beyond int32');
    // k beyond N: before the check, k = 2^31-1 allocated two [B,k] outputs of 16 GiB each (raw fuzzer, case 95075).
    throwsKind(() => addon.topK({ ...topkArgs(), k: 6 }), RangeError, /k: expected an integer in \[0, 5\]/, 'k > N');
    throwsKind(() => addon.topK({ ...topkArgs(), k: 2 ** 31 - 1 }), RangeError, /k: /, 'k = 2^31-1');
    const r = addon.topK({ ...topkArgs(), exclude: [new Int32Array([0, 0, 4]), new Int32Array(0)] });
    assert.is(r.indices.length, 6);
  });
  const layer = (i, o, extra = {}) => ({ w: f(i * o), b: f(o), inDim: i, outDim: o, alpha: null, ...extra });
  const targetArgs = () => ({ target: f(4), history: f(12), B: 2, S: 3, D: 2, layers: [layer(8, 3), layer(3, 1)], activation: 'relu', normalize: 'none', keyLengths: null, returnWeights: false });
  bad('targetAttention: layer chain, widths, prelu slopes, lengths', () => {
    throwsKind(() => addon.targetAttention({ ...targetArgs(), layers: [] }), RangeError, /1 to 64 layers/, 'no layers');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), layers: [layer(7, 3), layer(3, 1)] }), RangeError, /4\*D/, 'first inDim');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), layers: [layer(8, 3), layer(4, 1)] }), RangeError, /previous layer/, 'chain');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), layers: [layer(8, 3), layer(3, 2)] }), RangeError, /width 1/, 'last width');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), activation: 'prelu' }), TypeError, /alpha/, 'prelu without alpha');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), activation: 'tanh' }), RangeError, /activation/, 'unknown activation');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), keyLengths: new Int32Array([1, 4]) }), RangeError, /keyLengths/, 'length > S');
    throwsKind(() => addon.targetAttention({ ...targetArgs(), layers: [null, layer(3, 1)] }), TypeError, /layers\[0\]/, 'null layer');
  });
  const mhaArgs = () => ({
    query: f(12), key: f(12), value: f(12), selfAttention: false, B: 1, L: 3, S: 3, E: 4, Ek: 4, Ev: 4, Hq: 2, Hkv: 2, D: 2, Dv: 2, Eo: 4,
    wq: f(16), bq: null, wk: f(16), bk: null, wv: f(16), bv: null, wo: f(16), bo: null, scale: 0.5, causal: false, mask: null, bias: null, keyLengths: null, returnWeights: false, returnLse: false,
    offsets: null, windowLeft: -1, windowRight: -1, softcap: 0,
  });
  bad('multiHeadAttention and transformerEncoderLayer: heads, strides, shapes', () => {
    throwsKind(() => addon.multiHeadAttention({ ...mhaArgs(), Hkv: 3 }), RangeError, /multiple of Hkv/, 'Hq % Hkv');
    throwsKind(() => addon.multiHeadAttention({ ...mhaArgs(), mask: { data: new Uint8Array(9), strides: [0, 0, 3, 2] } }), RangeError, /strides reach/, 'mask strides past the end');
    throwsKind(() => addon.multiHeadAttention({ ...mhaArgs(), wo: f(15) }), RangeError, /wo/, 'short wo');
    throwsKind(() => addon.multiHeadAttention({ ...mhaArgs(), scale: NaN }), RangeError, /scale/, 'NaN scale');
    const enc = { x: f(12), B: 1, L: 3, E: 4, H: 2, D: 2, F: 5, wq: f(16), bq: null, wk: f(16), bk: null, wv: f(16), bv: null, wo: f(16), bo: null, gamma1: null, beta1: null, w1: f(20), b1: null, w2: f(20), b2: null, gamma2: null, beta2: null, norm: 'post', activation: 'relu', causal: false, offsets: null, windowLeft: -1, windowRight: -1, softcap: 0, keyLengths: null, eps: 1e-5 };
    throwsKind(() => addon.transformerEncoderLayer({ ...enc, D: 3 }), RangeError, /must equal E/, 'H*D != E');
    throwsKind(() => addon.transformerEncoderLayer({ ...enc, norm: 'mid' }), RangeError, /norm/, 'bad norm');
    throwsKind(() => addon.transformerEncoderLayer({ ...enc, w2: f(19) }), RangeError, /w2/, 'short w2');
    assert.is(addon.transformerEncoderLayer(enc).length, 12);
  });
  bad('additiveAttention: pooling rules and shapes', () => {
    const args = { query: null, keys: f(6), values: f(6), B: 1, L: 1, S: 3, Dq: 0, Dk: 2, Dv: 2, A: 4, wq: null, wk: f(8), b: f(4), v: f(4), mask: null, keyLengths: null, returnWeights: true };
    assert.is(addon.additiveAttention(args).weights.length, 3);
    throwsKind(() => addon.additiveAttention({ ...args, wq: f(0) }), TypeError, /wq: must be null/, 'wq without query');
    throwsKind(() => addon.additiveAttention({ ...args, v: f(3) }), RangeError, /v: expected 4/, 'short v');
    throwsKind(() => addon.additiveAttention({ ...args, mask: { data: new Uint8Array(2), strides: [0, 0, 1] } }), RangeError, /strides reach/, 'short mask');
  });

  for (const s of [lin, tk, mh, en, ad, ta, det, bad]) s.run();
}
