// hstuAttention / hstuAttentionBackward on the gpu backend, beyond the shared specs: against the
// independent float64 oracle (test/specs/hstuOracle.mjs) on every option, one long sequence
// among short ones, time buckets at their float64 boundaries (timestamps float32 cannot hold),
// NaN in hidden positions, the gpu limits refused with GpuLimitError, and only GL kernels run.
// Every call also verifies against reference (which bench/tolerances.mjs measures). Runs under
// Xvfb (test/jobs.js: display: true); in CI an unavailable gpu backend FAILS.
import { createRequire } from 'module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { ORACLES } from './specs/oracle.mjs';
import { rnd, toleranceOf } from './specs/util.mjs';

const require = createRequire(import.meta.url);
const info = ak.backends().find((b) => b.name === 'gpu');
const test = suite('gpu · hstuAttention');

/** Jagged `[T, H, X]` values over `lengths`, seeded. */
function jaggedOf(lengths, H, X, seed, scale = 1) {
  const offsets = new Int32Array(lengths.length + 1);
  lengths.forEach((n, b) => (offsets[b + 1] = offsets[b] + n));
  return { values: rnd([offsets[lengths.length], H, X], seed, scale), offsets };
}

/** Elementwise |got - want| <= atol + rtol·|want|; a non-finite value only equals the same non-finite value. */
function assertNear(got, want, tol, what) {
  assert.is(got.length, want.length, `${what}: length`);
  let worst = 0;
  for (let i = 0; i < want.length; i++) {
    const g = got[i];
    const w = want[i];
    if (!Number.isFinite(w) || !Number.isFinite(g)) {
      assert.ok(Number.isNaN(w) ? Number.isNaN(g) : g === w, `${what}[${i}]: got ${g}, want ${w}`);
      continue;
    }
    const excess = Math.abs(g - w) - (tol.atol + tol.rtol * Math.abs(w));
    assert.ok(excess <= 0, `${what}[${i}]: got ${g}, want ${w} (tolerance rtol ${tol.rtol}, atol ${tol.atol})`);
    worst = Math.max(worst, Math.abs(g - w));
  }
  return worst;
}

if (!info || !info.available) {
  const why = info ? `${info.reason} (fix: ${info.fix})` : 'not registered';
  if (process.env.CI === 'true') test('gpu is available in CI', () => assert.unreachable(`gpu unavailable in CI: ${why}`));
  else {
    console.log(`SKIP: gpu backend unavailable: ${why}`);
    test.skip(`gpu hstu tests (unavailable: ${why})`, () => {});
  }
  test.run();
} else {
  const tolF = toleranceOf('gpu', 'hstuAttention');
  const tolB = toleranceOf('gpu', 'hstuAttentionBackward');
  /** Run forward and backward on gpu (verified against reference) and compare both with the float64 oracle. */
  function checkBoth(q, k, v, options, label) {
    const reports = [];
    const G = { backend: 'gpu', verify: true, onReport: (r) => reports.push(r) };
    const y = ak.hstuAttention(q, k, v, options, G);
    assert.ok(reports[0].verify.passed, `${label}: forward verify vs reference`);
    assertNear(y.values.data, ORACLES.hstuAttention([q, k, v, options]).values, tolF, `${label}: output vs oracle`);
    const dOut = { values: rnd(v.values.shape, 99), offsets: q.offsets };
    const g = ak.hstuAttentionBackward(dOut, q, k, v, options, G);
    assert.ok(reports[1].verify.passed, `${label}: backward verify vs reference`);
    const want = ORACLES.hstuAttentionBackward([dOut, q, k, v, options]);
    for (const name of Object.keys(want)) {
      assert.ok(g[name], `${label}: ${name} returned`);
      assertNear(g[name].data, want[name], tolB, `${label}: ${name} vs oracle`);
    }
    return { y, g, want };
  }

  test('every option against the float64 oracle (forward and backward); only GL kernels run', () => {
    const before = ak.gpuStats().calls;
    const lengths = [5, 0, 9, 1, 2];
    const [H, D, Dv] = [2, 8, 3];
    const q = jaggedOf(lengths, H, D, 1);
    const k = jaggedOf(lengths, H, D, 2);
    const v = jaggedOf(lengths, H, Dv, 3);
    const T = q.offsets[lengths.length];
    const times = Float64Array.from({ length: T }, (_, t) => 1.7e9 + 37 * t * t - (t % 4) * 500);
    const cases = [
      ['defaults', {}],
      ['per-head position bias, shared time bias, targets, N = 12, length normalization', { maxLength: 12, normalization: 'length', numTargets: Int32Array.from([2, 0, 3, 1, 0]), positionBias: rnd([H, 23], 4, 0.5), timestamps: times, timeBias: rnd([9], 5, 0.5) }],
      ['contextual prefix 3, maxAttnLen 2, not causal, shared position bias, alpha 0.7', { contextualLength: 3, maxAttnLen: 2, causal: false, alpha: 0.7, positionBias: rnd([17], 6, 0.5) }],
      ['per-head time bias with 128 buckets, timestamps going backwards and repeating', { timestamps: times.map((x, t) => (t % 3 === 0 ? 1.7e9 : x)), timeBias: rnd([H, 129], 7, 0.5), numTargets: Int32Array.from([1, 0, 0, 1, 2]), contextualLength: 1 }],
    ];
    for (const [label, options] of cases) checkBoth(q, k, v, options, label);
    const s = ak.gpuStats();
    assert.ok(s.calls - before >= cases.length * 8, `GL kernel calls made: ${s.calls - before}`);
    assert.ok(s.kernelClasses.length > 0);
    for (const c of s.kernelClasses) assert.is(c, 'HeadlessGLKernel');
    assert.is(s.texturesLive, 0, 'every texture released');
  });

  test('one long sequence (300) among short ones: forward and backward against the oracle', () => {
    const lengths = [3, 300, 1, 7, 0, 20];
    const [H, D, Dv] = [1, 4, 3];
    const q = jaggedOf(lengths, H, D, 11);
    const k = jaggedOf(lengths, H, D, 12);
    const v = jaggedOf(lengths, H, Dv, 13);
    const T = q.offsets[lengths.length];
    const options = { numTargets: Int32Array.from([0, 10, 1, 2, 0, 5]), positionBias: rnd([599], 14, 0.3), timestamps: Float64Array.from({ length: T }, (_, t) => 1e6 + 13.5 * t), timeBias: rnd([41], 15, 0.3) };
    checkBoth(q, k, v, options, 'long sequence');
  });

  test('time buckets exact at their float64 boundaries, where float32 timestamps could not tell them apart', () => {
    // Deltas of floor and ceil of every threshold exp(0.301·u), on epoch-sized (1.7e9 s; float32
    // spacing 128) and fractional 1e12-sized timestamps: a bucket off by one moves the logit by 1.
    const K = 40;
    const deltas = [0];
    for (let u = 1; u <= 20; u++) deltas.push(Math.floor(Math.exp(0.301 * u)), Math.ceil(Math.exp(0.301 * u)));
    const n = deltas.length;
    for (const base of [1.7e9, 1e12 + 0.25]) {
      // Sequence: events at base + delta (descending deltas, so the next event's time is the query time), then base.
      const ts = Float64Array.from([...deltas.map((d) => base + d).reverse(), base]);
      const lengths = [n + 1];
      const q = jaggedOf(lengths, 1, 2, 21, 0);
      const k = jaggedOf(lengths, 1, 2, 22, 0);
      const v = jaggedOf(lengths, 1, 1, 23);
      const timeBias = { data: Float32Array.from({ length: K + 1 }, (_, u) => u / 4), shape: [K + 1] };
      checkBoth(q, k, v, { timestamps: ts, timeBias, contextualLength: n + 1, causal: false }, `buckets at base ${base}`);
    }
  });

  test('NaN in a hidden position does not leak (forward and backward)', () => {
    const lengths = [4, 6];
    const [H, D, Dv] = [2, 3, 2];
    const q = jaggedOf(lengths, H, D, 31);
    const k = jaggedOf(lengths, H, D, 32);
    const v = jaggedOf(lengths, H, Dv, 33);
    // The last event of sequence 1 (row 9): causal, so only row 9 sees it.
    for (let x = 0; x < H * D; x++) k.values.data[9 * H * D + x] = NaN;
    for (let x = 0; x < H * Dv; x++) v.values.data[9 * H * Dv + x] = NaN;
    const { y, g } = checkBoth(q, k, v, { positionBias: rnd([11], 34) }, 'NaN key');
    for (let t = 0; t < 10; t++) {
      for (let x = 0; x < H * Dv; x++) assert.is(Number.isNaN(y.values.data[t * H * Dv + x]), t === 9, `output row ${t}`);
      for (let x = 0; x < H * D; x++) {
        assert.is(Number.isNaN(g.dq.data[t * H * D + x]), t === 9, `dq row ${t}`);
        assert.is(Number.isNaN(g.dk.data[t * H * D + x]), t === 9, `dk row ${t}`);
      }
      for (let x = 0; x < H * Dv; x++) assert.is(Number.isNaN(g.dv.data[t * H * Dv + x]), t === 9, `dv row ${t}`);
    }
    // A target hidden from the other target (causal: the history does not see it either): NaN in
    // target row 3 of sequence 0 reaches row 3 only.
    const q2 = jaggedOf(lengths, H, D, 35);
    for (let x = 0; x < H * D; x++) q2.values.data[3 * H * D + x] = NaN;
    const k2 = jaggedOf(lengths, H, D, 36);
    for (let x = 0; x < H * D; x++) k2.values.data[3 * H * D + x] = NaN;
    const r = checkBoth(q2, k2, v, { numTargets: Int32Array.from([2, 0]) }, 'NaN target');
    for (let t = 0; t < 4; t++) for (let x = 0; x < H * Dv; x++) assert.is(Number.isNaN(r.y.values.data[t * H * Dv + x]), t === 3, `target output row ${t}`);
  });

  test('limits refused with GpuLimitError: longest sequence, pair count, row count', () => {
    const G = { backend: 'gpu' };
    // A sequence longer than MAX_ROW_LENGTH (32767).
    const long = jaggedOf([32768], 1, 1, 41);
    let err;
    try {
      ak.hstuAttention(long, long, long, {}, G);
    } catch (e) {
      err = e;
    }
    assert.instance(err, ak.GpuLimitError);
    assert.is(err.limit, 'MAX_ROW_LENGTH');
    assert.match(err.message, /32768/);
    // The backward's pair values: 5800² > 2^25.
    const big = jaggedOf([5800, 3], 1, 1, 42);
    err = undefined;
    try {
      ak.hstuAttentionBackward(big, big, big, big, {}, G);
    } catch (e) {
      err = e;
    }
    assert.instance(err, ak.GpuLimitError);
    assert.is(err.limit, 'MAX_OUTPUT_VALUES');
    // 2^24 rows (float32 indices): the plan refuses before any array is read.
    const { hstuPlan } = require('../dist/cjs/backends/gpu/hstuAttention.js');
    err = undefined;
    try {
      hstuPlan({ B: 1, H: 1, D: 1, Dv: 1, offsets: Int32Array.from([0, 2 ** 24]) }, 'hstuAttention');
    } catch (e) {
      err = e;
    }
    assert.instance(err, ak.GpuLimitError);
    assert.is(err.limit, 'MAX_EXACT_INDEX');
    assert.is(ak.gpuStats().texturesLive, 0);
  });

  test('async twins give the sync results', async () => {
    const lengths = [3, 5];
    const q = jaggedOf(lengths, 2, 4, 51);
    const k = jaggedOf(lengths, 2, 4, 52);
    const v = jaggedOf(lengths, 2, 4, 53);
    const o = { positionBias: rnd([2, 9], 54), timestamps: Float64Array.from([1, 2, 4, 8, 16, 32, 64, 128]), timeBias: rnd([2, 6], 55) };
    const G = { backend: 'gpu' };
    const y = ak.hstuAttention(q, k, v, o, G);
    const ya = await ak.hstuAttentionAsync(q, k, v, o, G);
    assert.equal(Array.from(ya.values.data), Array.from(y.values.data));
    const g = ak.hstuAttentionBackward(v, q, k, v, o, G);
    const ga = await ak.hstuAttentionBackwardAsync(v, q, k, v, o, G);
    for (const name of ['dq', 'dk', 'dv', 'dPositionBias', 'dTimeBias']) assert.equal(Array.from(ga[name].data), Array.from(g[name].data), name);
  });

  test.run();
}
