// The bench's onnxruntime peers of sdpaBackward, hstuAttention and hstuAttentionBackward
// (bench/peers/onnx-graphs-hstu.js) compute the ops' functions: each graph run by onnxruntime-node
// on small cases with every option the graphs take (grouped-query heads, both layouts, causal
// with L < S; HSTU targets, contextual prefix, maxAttnLen, non-causal, both normalizations,
// position and time bias tables shared and per head, maxLength above the longest sequence, an
// empty sequence), every output compared with the float64 HSTU oracle (test/specs/hstuOracle.mjs,
// independent of src/) and the bench's own error figure (against attnkit's reference) held under
// a stated bound, so a wrong graph fails here. The bench checker itself must see a perturbed
// output (a check that cannot fail is no check).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'node:module';
import * as ak from 'attnkit';
import { oracleHstuAttention, oracleHstuAttentionBackward } from './specs/hstuOracle.mjs';
import { rnd } from './specs/util.mjs';

const require = createRequire(import.meta.url);
const { ortOpPeers, flatArgs } = require('../bench/peers/op-peers.js');
const { onnxGraphs } = require('../bench/peers/onnx-graphs.js');
const { CHECKERS } = require('../bench/peers/onnx-graphs-hstu.js');
const { loadOrt } = require('../bench/peers/onnx.js');

// float32 graphs against float64 on values of order 1 and sums over at most ~10 terms: measured
// max abs errors 1e-8 .. 4e-7 on these cases; the bound leaves room, a wrong term does not fit.
const BOUND = 1e-5;

const { ort, error: ortMissing } = loadOrt();
if (!ort) throw new Error(ortMissing); // a devDependency: its absence fails this job loudly

/** Runs the op's (only) graph on the flat args of `args`: { flat, graph, result (collected) }. */
async function runGraph(op, args) {
  const flat = flatArgs(op, args);
  const [graph] = onnxGraphs(op, flat);
  const sess = await ort.InferenceSession.create(graph.model, { intraOpNumThreads: 1, graphOptimizationLevel: 'all' });
  const feeds = Object.fromEntries(Object.entries(graph.feeds).map(([n, f]) => [n, new ort.Tensor(f.type ?? 'float32', f.data, f.dims)]));
  const out = await sess.run(feeds);
  await sess.release();
  return { flat, graph, result: graph.collect(out) };
}

function maxAbsDiff(got, want, what) {
  assert.is(got.length, want.length, `${what}: length`);
  let m = 0;
  for (let i = 0; i < want.length; i++) {
    const e = Math.abs(got[i] - want[i]);
    if (!(e <= m)) m = e; // NaN propagates into m and fails the bound
  }
  return m;
}

/** The bench's own figure for this op and args (every output against reference). */
async function benchError(op, args) {
  const res = await ortOpPeers(op, { args }, 1);
  assert.is(res.errors.length, 0, `${op}: ${res.errors.join('; ')}`);
  assert.is(res.peers.length, 1);
  res.peers[0].release();
  return res.peers[0].err;
}

const jt = (offsets, H, X, seed) => ({ values: rnd([offsets[offsets.length - 1], H, X], seed), offsets: Int32Array.from(offsets) });
const timesOf = (offsets) => {
  const t = new Float64Array(offsets[offsets.length - 1]);
  for (let b = 0; b + 1 < offsets.length; b++) for (let i = offsets[b]; i < offsets[b + 1]; i++) t[i] = 1.7e9 + 37 * (i - offsets[b]) ** 2; // epoch seconds: float32 would round them
  return t;
};

const OFFSETS = [0, 5, 5, 14, 16]; // lengths 5, 0, 9, 2
const HSTU_CASES = [
  ['defaults (causal, maxLength normalization)', () => ({})],
  ['targets, per-head position bias, shared time bias, maxAttnLen 3, length normalization', () => ({ numTargets: new Int32Array([1, 0, 2, 0]), positionBias: rnd([2, 17], 11, 0.5), timestamps: timesOf(OFFSETS), timeBias: rnd([12], 12, 0.5), maxAttnLen: 3, normalization: 'length' })],
  ['contextual prefix 2, not causal, shared position bias, per-head time bias, maxLength 11', () => ({ contextualLength: 2, causal: false, maxLength: 11, positionBias: rnd([21], 13, 0.5), timestamps: timesOf(OFFSETS), timeBias: rnd([2, 9], 14, 0.5) })],
];

const oracleOpts = (f) => ({
  maxLength: f.maxLength, alpha: f.alpha, normalization: f.normalization, causal: f.causal, numTargets: f.numTargets, maxAttnLen: f.maxAttnLen, contextualLength: f.contextualLength,
  positionBias: f.positionBias, positionBiasPerHead: f.positionBiasPerHead, timestamps: f.timestamps, timeBias: f.timeBias, timeBiasPerHead: f.timeBiasPerHead, numBuckets: f.numBuckets,
});

for (const [label, options] of HSTU_CASES) {
  test(`hstuAttention peer graph (padded dense) = the float64 oracle on the valid rows: ${label}`, async () => {
    const args = [jt(OFFSETS, 2, 8, 1), jt(OFFSETS, 2, 8, 2), jt(OFFSETS, 2, 5, 3), options()];
    const { flat, result } = await runGraph('hstuAttention', args);
    const want = oracleHstuAttention(flat.q, flat.k, flat.v, flat.offsets, flat.H, flat.D, flat.Dv, oracleOpts(flat));
    const e = maxAbsDiff(result, want, 'out');
    assert.ok(e <= BOUND, `out: max abs ${e} > ${BOUND}`);
    const bench = await benchError('hstuAttention', args);
    assert.ok(bench.maxAbs <= BOUND, `bench error ${bench.maxAbs}`);
  });

  test(`hstuAttentionBackward peer graph = the float64 oracle, every output: ${label}`, async () => {
    const args = [jt(OFFSETS, 2, 5, 4), jt(OFFSETS, 2, 8, 1), jt(OFFSETS, 2, 8, 2), jt(OFFSETS, 2, 5, 3), options()];
    const { flat, result } = await runGraph('hstuAttentionBackward', args);
    const want = oracleHstuAttentionBackward(flat.dOut, flat.q, flat.k, flat.v, flat.offsets, flat.H, flat.D, flat.Dv, oracleOpts(flat));
    const names = ['dq', 'dk', 'dv', ...(flat.positionBias ? ['dPositionBias'] : []), ...(flat.timeBias ? ['dTimeBias'] : [])];
    for (const n of names) {
      assert.ok(result[n], `${n} missing`);
      const e = maxAbsDiff(result[n], want[n], n);
      assert.ok(e <= BOUND, `${n}: max abs ${e} > ${BOUND}`);
    }
    const bench = await benchError('hstuAttentionBackward', args);
    assert.ok(bench.maxAbs <= BOUND, `bench error ${bench.maxAbs} (${bench.note})`);
    for (const n of names) assert.ok(bench.note.includes(n), `the bench's note names ${n}: ${bench.note}`);
  });
}

const SDPA_CASES = [
  ['GQA 4:2, causal bottom-right, L < S, bhld', 'bhld', true, [2, 4, 2, 5, 7, 8, 6]],
  ['GQA 3:1, not causal, L > S, blhd', 'blhd', false, [2, 3, 1, 6, 4, 5, 3]],
  ['MHA, causal, L = S, bhld', 'bhld', true, [1, 2, 2, 9, 9, 16, 16]],
];

for (const [label, layout, causal, [B, Hq, Hkv, L, S, D, Dv]] of SDPA_CASES) {
  test(`sdpaBackward peer graph (math-path backward from lse) = reference, every output: ${label}`, async () => {
    const sh = (H, T, X) => (layout === 'blhd' ? [B, T, H, X] : [B, H, T, X]);
    const q = rnd(sh(Hq, L, D), 1), k = rnd(sh(Hkv, S, D), 2), v = rnd(sh(Hkv, S, Dv), 3);
    const fwd = ak.sdpa(q, k, v, { causal, layout, returnLse: true }, { backend: 'reference' });
    const dOut = rnd(fwd.output.shape, 4);
    const args = [dOut, q, k, v, fwd.output, fwd.lse, { causal, layout }];
    const { flat, result } = await runGraph('sdpaBackward', args);
    const want = ak.referenceKernels.sdpaBackward(flat, null);
    for (const n of ['dq', 'dk', 'dv']) {
      const e = maxAbsDiff(result[n], want[n], n);
      assert.ok(e <= BOUND, `${n}: max abs ${e} > ${BOUND}`);
    }
    const bench = await benchError('sdpaBackward', args);
    assert.ok(bench.maxAbs <= BOUND, `bench error ${bench.maxAbs} (${bench.note})`);
  });
}

test('the bench checkers see a wrong output: one element of dk off by 1e-3, one output row off', async () => {
  const q = rnd([1, 2, 4, 4], 1), k = rnd([1, 2, 6, 4], 2), v = rnd([1, 2, 6, 4], 3);
  const fwd = ak.sdpa(q, k, v, { returnLse: true }, { backend: 'reference' });
  const flat = flatArgs('sdpaBackward', [rnd([1, 2, 4, 4], 4), q, k, v, fwd.output, fwd.lse, {}]);
  const right = ak.referenceKernels.sdpaBackward(flat, null);
  const check = CHECKERS.sdpaBackward('sdpaBackward', flat);
  assert.is(check(right).maxAbs, 0);
  const dk = Float32Array.from(right.dk);
  dk[dk.length - 1] += 1e-3;
  assert.ok(check({ ...right, dk }).maxAbs >= 1e-3 * 0.99);
  assert.ok(Number.isNaN(check({ ...right, dv: undefined }).maxAbs), 'a missing output is NaN, not 0');

  const args = [jt(OFFSETS, 2, 8, 1), jt(OFFSETS, 2, 8, 2), jt(OFFSETS, 2, 5, 3), {}];
  const hflat = flatArgs('hstuAttention', args);
  const hcheck = CHECKERS.hstuAttention('hstuAttention', hflat);
  const out = ak.referenceKernels.hstuAttention(hflat, null);
  assert.is(hcheck(out).maxAbs, 0);
  const bad = out.map((x) => x + 1e-3); // every row: whichever rows the sample holds
  assert.ok(hcheck(bad).maxAbs >= 1e-3 * 0.99);
});

test.run();
