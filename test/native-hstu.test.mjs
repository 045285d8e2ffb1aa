// The native hstuAttention / hstuAttentionBackward kernels (#17): the addon called directly against
// the independent float64 oracle (test/specs/hstuOracle.mjs, written from generative-recommenders'
// semantics, never from src/) on random and adversarial jagged batches (lengths 0 and 1, one long
// sequence among short ones, D != Dv, targets, contextual prefix, maxAttnLen, not causal, both
// normalizations, shared and per-head biases, repeating / backward timestamps, |z| ~ 80, NaN / Inf
// in hidden positions), bit-identical results for 1, 2 and 3 threads, async == sync, the addon's
// own argument checks, and the public API against reference with verify. Run once per ISA level
// via ATTNKIT_ISA (see test/jobs.js).
import { createRequire } from 'module';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { oracleHstuAttention, oracleHstuAttentionBackward } from './specs/hstuOracle.mjs';

const require = createRequire(import.meta.url);
const info = ak.nativeInfo();


// ---------------------------------------------------------------------------------------------
// inputs

let seed = 20261207;
function rand() {
  // xorshift32: deterministic inputs, independent of the library's generator.
  seed ^= seed << 13;
  seed ^= seed >>> 17;
  seed ^= seed << 5;
  return (seed >>> 0) / 4294967296;
}
const randF32 = (n, s = 1) => Float32Array.from({ length: n }, () => (rand() * 2 - 1) * s);

/**
 * An addon argument object (HstuAttentionArgs, src/kernels.ts) for sequences of `lengths`, with
 * o: { H, D, Dv, maxLength, alpha, scale (of q and k), normalization, causal, numTargets,
 * maxAttnLen, contextualLength, pos ('shared' | 'head'), time ('shared' | 'head'), numBuckets,
 * times (b, i) => t }.
 */
function makeArgs(lengths, o = {}) {
  const H = o.H ?? 2, D = o.D ?? 8, Dv = o.Dv ?? D;
  const B = lengths.length;
  const offsets = new Int32Array(B + 1);
  lengths.forEach((n, b) => (offsets[b + 1] = offsets[b] + n));
  const T = offsets[B];
  const N = o.maxLength ?? Math.max(1, ...lengths);
  const nb = o.numBuckets ?? 12;
  const args = {
    q: randF32(T * H * D, o.scale ?? 1), k: randF32(T * H * D, o.scale ?? 1), v: randF32(T * H * Dv), offsets, B, H, D, Dv, maxLength: N,
    alpha: o.alpha ?? 1 / Math.sqrt(D), normalization: o.normalization ?? 'maxLength', causal: o.causal ?? true, numTargets: o.numTargets ?? null,
    maxAttnLen: o.maxAttnLen ?? 0, contextualLength: o.contextualLength ?? 0,
    positionBias: o.pos ? randF32((2 * N - 1) * (o.pos === 'head' ? H : 1), 0.5) : null, positionBiasPerHead: o.pos === 'head',
    timestamps: null, timeBias: null, timeBiasPerHead: o.time === 'head', numBuckets: o.time ? nb : 0, timeBucketThresholds: null,
  };
  if (o.time) {
    const times = o.times ?? ((b, i) => 1000 * b + i * i * 41);
    args.timestamps = new Float64Array(T);
    for (let b = 0; b < B; b++) for (let i = 0; i < lengths[b]; i++) args.timestamps[offsets[b] + i] = times(b, i);
    args.timeBias = randF32((nb + 1) * (o.time === 'head' ? H : 1), 0.5);
    args.timeBucketThresholds = Float64Array.from({ length: nb }, (_, u) => Math.exp(0.301 * (u + 1)));
  }
  return args;
}

/** The oracle's options from an argument object. */
const oracleOpts = (a) => ({ ...a, numTargets: a.numTargets, positionBias: a.positionBias, timestamps: a.timestamps, timeBias: a.timeBias });

function hstuTests(addon) {
  const tolF = ak.OPS.hstuAttention.tolerances.native;
  const tolB = ak.OPS.hstuAttentionBackward.tolerances.native;

  /** Every element within tol of the float64 value; non-finite exactly where the oracle's is (same value). */
  function expectClose(got, want, tol, what) {
    assert.ok(got instanceof Float32Array, `${what}: a Float32Array`);
    assert.is(got.length, want.length, `${what}: length`);
    for (let i = 0; i < want.length; i++) {
      const g = got[i], w = want[i];
      if (!Number.isFinite(w)) {
        if (!Object.is(g, Math.fround(w)) && !(Number.isNaN(w) && Number.isNaN(g))) assert.unreachable(`${what}[${i}] = ${g}, want non-finite ${w}`);
        continue;
      }
      const e = Math.abs(g - w);
      if (!(e <= tol.atol + tol.rtol * Math.abs(w))) assert.unreachable(`${what}[${i}] = ${g}, want ${w} (|error| ${e.toExponential(2)} > atol ${tol.atol} + rtol ${tol.rtol}·|want|)`);
    }
  }

  function sameBits(a, b, what) {
    for (const key of Object.keys(b)) {
      const x = a instanceof Float32Array ? a : a[key], y = b instanceof Float32Array ? b : b[key];
      if (!(y instanceof Float32Array)) continue;
      assert.ok(x instanceof Float32Array && x.length === y.length, `${what}: ${key} length`);
      const xu = new Uint32Array(x.buffer, x.byteOffset, x.length), yu = new Uint32Array(y.buffer, y.byteOffset, y.length);
      for (let i = 0; i < xu.length; i++) if (xu[i] !== yu[i]) assert.unreachable(`${what}: ${key}[${i}] ${x[i]} vs ${y[i]} (not bit-identical)`);
      if (b instanceof Float32Array) break;
    }
  }

  /**
   * The tolerance of a case: the op's native one, widened as the shared specs widen an
   * ill-conditioned case (test/specs/descriptors.mjs: 8·M·2^-24 for logits of size M, since z
   * itself carries M·2^-24 of float32 rounding): the large-logit case only.
   */
  function tolOf(tol, a) {
    let M = 0;
    for (let b = 0; b < a.B; b++)
      for (let i = a.offsets[b]; i < a.offsets[b + 1]; i++)
        for (let j = a.offsets[b]; j < a.offsets[b + 1]; j++)
          for (let h = 0; h < a.H; h++) {
            let dot = 0;
            for (let d = 0; d < a.D; d++) dot += a.q[(i * a.H + h) * a.D + d] * a.k[(j * a.H + h) * a.D + d];
            if (Number.isFinite(dot)) M = Math.max(M, Math.abs(a.alpha * dot));
          }
    const cond = M > 20 ? 8 * M * 2 ** -24 : 0;
    return { rtol: Math.max(tol.rtol, cond), atol: Math.max(tol.atol, cond) };
  }

  /** The public API's call of an argument object: jagged q, k, v (+ dOut) and the options. */
  function apiCall(a) {
    const T = a.offsets[a.B];
    const jt = (x, X) => ({ values: { data: x, shape: [T, a.H, X] }, offsets: a.offsets });
    const o = { maxLength: a.maxLength, alpha: a.alpha, normalization: a.normalization, causal: a.causal, maxAttnLen: a.maxAttnLen, contextualLength: a.contextualLength };
    if (a.numTargets) o.numTargets = a.numTargets;
    if (a.positionBias) o.positionBias = { data: a.positionBias, shape: a.positionBiasPerHead ? [a.H, 2 * a.maxLength - 1] : [2 * a.maxLength - 1] };
    if (a.timestamps) {
      o.timestamps = a.timestamps;
      o.timeBias = { data: a.timeBias, shape: a.timeBiasPerHead ? [a.H, a.numBuckets + 1] : [a.numBuckets + 1] };
    }
    return { q: jt(a.q, a.D), k: jt(a.k, a.D), v: jt(a.v, a.Dv), dOut: (x) => jt(x, a.Dv), o };
  }

  /**
   * The same call through the public API, native checked against reference by verify at tol (what
   * bench/tolerances.mjs measures when it runs this file: its probe sees these comparisons).
   */
  function viaVerify(a, dOut, tolFwd, tolBwd, what) {
    const c = apiCall(a);
    let report = null;
    ak.hstuAttention(c.q, c.k, c.v, c.o, { backend: 'native', verify: tolFwd, onReport: (r) => (report = r.verify) });
    assert.ok(report && report.passed, `${what}: forward verify against reference: ${JSON.stringify(report)}`);
    report = null;
    ak.hstuAttentionBackward(c.dOut(dOut), c.q, c.k, c.v, c.o, { backend: 'native', verify: tolBwd, onReport: (r) => (report = r.verify) });
    assert.ok(report && report.passed, `${what}: backward verify against reference: ${JSON.stringify(report)}`);
  }

  function checkForward(a, what) {
    const got = addon.hstuAttention(a);
    expectClose(got, oracleHstuAttention(a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, oracleOpts(a)), tolOf(tolF, a), `${what}: out`);
    return got;
  }
  function checkBackward(a, what) {
    const dOut = randF32(a.offsets[a.B] * a.H * a.Dv);
    const got = addon.hstuAttentionBackward({ ...a, dOut });
    const want = oracleHstuAttentionBackward(dOut, a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, oracleOpts(a));
    const tol = tolOf(tolB, a);
    for (const key of ['dq', 'dk', 'dv']) expectClose(got[key], want[key], tol, `${what}: ${key}`);
    if (a.positionBias) expectClose(got.dPositionBias, want.dPositionBias, tol, `${what}: dPositionBias`);
    else assert.is(got.dPositionBias, undefined, `${what}: no dPositionBias without positionBias`);
    if (a.timeBias) expectClose(got.dTimeBias, want.dTimeBias, tol, `${what}: dTimeBias`);
    else assert.is(got.dTimeBias, undefined, `${what}: no dTimeBias without timeBias`);
    return { got, dOut };
  }

  // ------------------------------------------------------------------------------------------
  const mixed = [0, 1, 300, 5, 17, 0, 64, 65, 2];
  const cases = [
    ['defaults: lengths 0 and 1, one of 300 among short ones, D != Dv', mixed, { D: 16, Dv: 24 }],
    ['targets, contextual prefix, maxAttnLen, per-head position bias, shared time bias', mixed, {
      numTargets: Int32Array.from(mixed, (n, b) => Math.min(n, b % 4)), contextualLength: 3, maxAttnLen: 20, pos: 'head', time: 'shared',
    }],
    ['not causal, length normalization, shared position bias, per-head time bias', [40, 1, 130, 0, 7], {
      causal: false, normalization: 'length', pos: 'shared', time: 'head', H: 3, D: 5, Dv: 3,
    }],
    ['not causal, maxAttnLen 9, targets, contextual 2', [120, 33, 4], { causal: false, maxAttnLen: 9, numTargets: new Int32Array([10, 33, 1]), contextualLength: 2 }],
    ['timestamps repeating and going backwards, maxLength 150 > longest', [70, 9, 100], {
      maxLength: 150, pos: 'shared', time: 'head', numBuckets: 20, times: (b, i) => [50, 50, 10, 4000, 4000, 3, 2e6][i % 7] + b - i,
    }],
    ['large logits (|z| ~ 80)', [90, 33], { alpha: 8, scale: 1.9, D: 4, Dv: 4 }],
    ['D = Dv = 1, H = 1', [1, 70, 2], { D: 1, Dv: 1, H: 1, pos: 'shared' }],
    ['D = 100, Dv = 3 (not multiples of any width)', [65, 129], { D: 100, Dv: 3, time: 'shared' }],
    ['200 short sequences (grouped backward tasks), time and position bias', Array.from({ length: 200 }, (_, b) => (b * 7) % 13), { pos: 'head', time: 'shared', H: 2 }],
    ['contextual prefix longer than some sequences, every event a target in one', [2, 3, 40, 6], { contextualLength: 5, numTargets: new Int32Array([0, 3, 4, 6]) }],
    ['maxAttnLen 1, causal', [97], { maxAttnLen: 1, pos: 'shared' }],
  ];

  const fwd = suite('native hstuAttention · float64 oracle');
  for (const [label, lengths, o] of cases) fwd(label, () => checkForward(makeArgs(lengths, o), label));
  fwd('the output written into a caller buffer (out) equals the new array', () => {
    const a = makeArgs([30, 5], { pos: 'shared' });
    const want = addon.hstuAttention(a);
    const out = new Float32Array(want.length).fill(NaN);
    const got = addon.hstuAttention({ ...a, out });
    assert.is(got, out, 'returns the caller buffer');
    sameBits(out, want, 'out');
  });
  fwd.run();

  const bwd = suite('native hstuAttentionBackward · float64 oracle');
  for (const [label, lengths, o] of cases) bwd(label, () => checkBackward(makeArgs(lengths, o), label));
  bwd.run();

  const ver = suite('native hstu · the same cases through the public API: native vs reference (verify)');
  for (const [label, lengths, o] of cases) {
    ver(label, () => {
      const a = makeArgs(lengths, o);
      viaVerify(a, randF32(a.offsets[a.B] * a.H * a.Dv), tolOf(tolF, a), tolOf(tolB, a), label);
    });
  }
  ver.run();

  // ------------------------------------------------------------------------------------------
  const nan = suite('native hstu · NaN / Inf in hidden positions never leak');
  // Sequence 0: the last 2 events are targets (each seen only by itself); sequence 1: causal, its
  // last event is seen only by itself. Poison q, k, v there: only their own rows may be non-finite.
  function poisoned() {
    const lengths = [70, 45];
    const a = makeArgs(lengths, { numTargets: new Int32Array([2, 0]), pos: 'shared', time: 'shared', H: 2, D: 8, Dv: 6 });
    const poison = (x, row, X, value) => {
      for (let h = 0; h < a.H; h++) x[(row * a.H + h) * X + 1] = value;
    };
    poison(a.q, 68, a.D, NaN);
    poison(a.k, 69, a.D, Infinity);
    poison(a.v, 68, a.Dv, NaN);
    poison(a.v, 69, a.Dv, -Infinity);
    poison(a.k, 114, a.D, NaN);
    poison(a.v, 114, a.Dv, Infinity);
    return a;
  }
  nan('forward: only the poisoned rows are non-finite, the rest match the oracle', () => {
    const a = poisoned();
    const got = checkForward(a, 'poisoned');
    for (let t = 0; t < a.offsets[a.B]; t++) {
      const bad = t === 68 || t === 69 || t === 114;
      for (let x = 0; x < a.H * a.Dv; x++) if (!bad && !Number.isFinite(got[t * a.H * a.Dv + x])) assert.unreachable(`row ${t} is non-finite`);
    }
  });
  nan('backward: the oracle (non-finite exactly where it is)', () => {
    checkBackward(poisoned(), 'poisoned');
  });
  nan('forward and backward through the API: the same non-finite values as reference (verify)', () => {
    const a = poisoned();
    viaVerify(a, randF32(a.offsets[a.B] * a.H * a.Dv), tolF, tolB, 'poisoned');
  });
  nan('a NaN timestamp poisons only the pairs it takes part in', () => {
    const a = makeArgs([12, 9], { time: 'shared' });
    a.timestamps[15] = NaN;
    checkForward(a, 'NaN timestamp');
    checkBackward(a, 'NaN timestamp');
  });
  nan.run();

  // ------------------------------------------------------------------------------------------
  const det = suite('native hstu · bit-identical for 1, 2 and 3 threads; async == sync');
  const detCases = [
    ['mixed lengths, every option', makeArgs(mixed, { numTargets: Int32Array.from(mixed, (n) => Math.min(n, 2)), contextualLength: 2, maxAttnLen: 50, pos: 'head', time: 'head', D: 12, Dv: 20 })],
    ['200 short sequences, shared biases', makeArgs(Array.from({ length: 200 }, (_, b) => (b * 5) % 11), { pos: 'shared', time: 'shared' })],
    ['one long sequence, not causal', makeArgs([257], { causal: false, H: 3, pos: 'shared' })],
  ];
  for (const [label, a] of detCases) {
    det(label, async () => {
      const dOut = randF32(a.offsets[a.B] * a.H * a.Dv);
      const n0 = ak.getThreads();
      const f = [], b = [];
      let fa, ba;
      try {
        for (const n of [1, 2, 3]) {
          ak.setThreads(n);
          f.push(addon.hstuAttention(a));
          b.push(addon.hstuAttentionBackward({ ...a, dOut }));
        }
        ak.setThreads(2);
        fa = await addon.hstuAttentionAsync(a);
        ba = await addon.hstuAttentionBackwardAsync({ ...a, dOut });
      } finally {
        ak.setThreads(n0);
      }
      for (const n of [1, 2]) {
        sameBits(f[n], f[0], `${label}: forward, ${n + 1} vs 1 threads`);
        sameBits(b[n], b[0], `${label}: backward, ${n + 1} vs 1 threads`);
      }
      sameBits(fa, f[0], `${label}: forward async`);
      sameBits(ba, b[0], `${label}: backward async`);
      expectClose(f[0], oracleHstuAttention(a.q, a.k, a.v, a.offsets, a.H, a.D, a.Dv, oracleOpts(a)), tolF, label);
    });
  }
  det('async: inputs changed after the call do not reach the kernel', async () => {
    const a = makeArgs([40, 9], { pos: 'shared' });
    const want = addon.hstuAttention(a);
    const p = addon.hstuAttentionAsync(a);
    a.q.fill(NaN);
    a.positionBias.fill(NaN);
    sameBits(await p, want, 'async with inputs overwritten after the call');
  });
  det.run();

  // ------------------------------------------------------------------------------------------
  const bad = suite('native hstu · the addon checks every argument itself');
  const base = () => makeArgs([3, 0, 4], { H: 2, D: 4, Dv: 2, pos: 'shared', time: 'shared', numBuckets: 3 });
  const call = (over) => addon.hstuAttention({ ...base(), ...over });
  const callB = (over) => {
    const a = base();
    return addon.hstuAttentionBackward({ ...a, dOut: new Float32Array(7 * 2 * 2), ...over });
  };
  const errors = {
    'no argument': [() => addon.hstuAttention(), /./],
    'a number': [() => addon.hstuAttention(3), /./],
    'offsets not starting at 0': [() => call({ offsets: new Int32Array([1, 1, 4]), B: 2 }), /offsets/],
    'offsets decreasing': [() => call({ offsets: new Int32Array([0, 3, 2, 7]) }), /offsets/],
    'offsets of the wrong length': [() => call({ offsets: new Int32Array([0, 3, 7]) }), /offsets/],
    'offsets negative': [() => call({ offsets: new Int32Array([0, -3, 0, 7]) }), /offsets/],
    'offsets as Float64Array': [() => call({ offsets: new Float64Array([0, 3, 3, 7]) }), /offsets/],
    'last offset past q rows': [() => call({ offsets: new Int32Array([0, 3, 3, 8]) }), /q/],
    'maxLength below the longest sequence': [() => call({ maxLength: 3 }), /maxLength/],
    'maxLength 0': [() => call({ maxLength: 0 }), /maxLength/],
    'zero heads': [() => call({ H: 0 }), /H/],
    'negative B': [() => call({ B: -1 }), /B/],
    'fractional D': [() => call({ D: 2.5 }), /D/],
    'sizes that overflow': [() => call({ H: 2 ** 31 - 1, D: 2 ** 31 - 1, Dv: 2 ** 31 - 1 }), /./],
    'k too short': [() => call({ k: new Float32Array(5) }), /k/],
    'v as plain array': [() => call({ v: Array(28).fill(0) }), /v/],
    'alpha NaN': [() => call({ alpha: NaN }), /alpha/],
    'unknown normalization': [() => call({ normalization: 'sum' }), /normalization/],
    'causal as number': [() => call({ causal: 1 }), /causal/],
    'numTargets above a length': [() => call({ numTargets: new Int32Array([4, 0, 0]) }), /numTargets/],
    'numTargets negative': [() => call({ numTargets: new Int32Array([-1, 0, 0]) }), /numTargets/],
    'numTargets of the wrong length': [() => call({ numTargets: new Int32Array(2) }), /numTargets/],
    'negative maxAttnLen': [() => call({ maxAttnLen: -1 }), /maxAttnLen/],
    'negative contextualLength': [() => call({ contextualLength: -2 }), /contextualLength/],
    'positionBias of the wrong length': [() => call({ positionBias: new Float32Array(6) }), /positionBias/],
    'per-head positionBias of the shared length': [() => call({ positionBiasPerHead: true }), /positionBias/],
    'timestamps without timeBias': [() => call({ timeBias: null }), /time/],
    'timeBias without timestamps': [() => call({ timestamps: null }), /time/],
    'timestamps as Float32Array': [() => call({ timestamps: new Float32Array(7) }), /timestamps/],
    'timestamps too short': [() => call({ timestamps: new Float64Array(6) }), /timestamps/],
    'thresholds missing': [() => call({ timeBucketThresholds: null }), /timeBucketThresholds/],
    'thresholds descending': [() => call({ timeBucketThresholds: new Float64Array([3, 2, 1]) }), /timeBucketThresholds/],
    'thresholds with NaN': [() => call({ timeBucketThresholds: new Float64Array([1, NaN, 3]) }), /timeBucketThresholds/],
    'timeBias of the wrong length': [() => call({ timeBias: new Float32Array(3) }), /timeBias/],
    'numBuckets negative': [() => call({ numBuckets: -1 }), /numBuckets/],
    'out of the wrong length': [() => call({ out: new Float32Array(3) }), /out/],
    'out sharing memory with q': [() => { const a = base(); return addon.hstuAttention({ ...a, out: a.q.subarray(0, 28) }); }, /out|q/],
    'a getter that throws': [() => addon.hstuAttention({ ...base(), get v() { throw new Error('boom'); } }), /boom/],
    'backward: dOut too short': [() => callB({ dOut: new Float32Array(5) }), /dOut/],
    'backward: dOut missing': [() => callB({ dOut: undefined }), /dOut/],
    'backward: offsets decreasing': [() => callB({ offsets: new Int32Array([0, 3, 2, 7]) }), /offsets/],
  };
  for (const [name, [fn, re]] of Object.entries(errors)) {
    bad(name, () => {
      let err = null;
      try {
        fn();
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof Error, 'threw a JS error');
      assert.ok(err instanceof TypeError || err instanceof RangeError || /boom/.test(err.message), `TypeError or RangeError: ${err && err.constructor.name}: ${err && err.message}`);
      assert.match(err.message, re);
    });
  }
  bad('the async twins reject the same way (a Promise, never a throw from the call)', async () => {
    for (const [fn, re] of [[() => addon.hstuAttentionAsync({ ...base(), offsets: new Int32Array([0, 3, 2, 7]) }), /offsets/], [() => addon.hstuAttentionBackwardAsync({ ...base(), dOut: new Float32Array(1) }), /dOut/]]) {
      let err = null;
      const p = fn();
      assert.ok(p instanceof Promise, 'a Promise');
      try {
        await p;
      } catch (e) {
        err = e;
      }
      assert.ok(err instanceof RangeError, `RangeError: ${err}`);
      assert.match(err.message, re);
    }
  });
  bad("a buffer detached by a later field's getter is refused", () => {
    const a = base();
    const q = a.q;
    const args = { ...a, get normalization() { structuredClone(q.buffer, { transfer: [q.buffer] }); return 'maxLength'; } };
    assert.throws(() => addon.hstuAttention(args), /q|elements|detached/);
  });
  bad('still alive and correct after all of that', () => {
    checkForward(makeArgs([10, 3], { pos: 'shared' }), 'after the bad calls');
  });
  bad.run();

  // ------------------------------------------------------------------------------------------
  const api = suite('native hstu · the public API against reference (verify)');
  api('hstuAttention and hstuAttentionBackward, every option, verify passes', async () => {
    const lengths = [0, 9, 130, 1, 20];
    const offsets = new Int32Array(lengths.length + 1);
    lengths.forEach((n, b) => (offsets[b + 1] = offsets[b] + n));
    const T = offsets[lengths.length], H = 2, D = 8, Dv = 6;
    const jt = (X, s) => ({ values: { data: randF32(T * H * X, s), shape: [T, H, X] }, offsets });
    const q = jt(D), k = jt(D), v = jt(Dv);
    const times = Float64Array.from({ length: T }, (_, t) => 100 * t - (t % 5) * 300);
    const options = { numTargets: new Int32Array([0, 2, 3, 1, 0]), contextualLength: 2, maxAttnLen: 40, positionBias: { data: randF32(2 * 259, 0.5), shape: [2, 259] }, timestamps: times, timeBias: { data: randF32(13, 0.5), shape: [13] } };
    let report = null;
    const y = ak.hstuAttention(q, k, v, options, { backend: 'native', verify: true, onReport: (r) => (report = r.verify) });
    assert.ok(report && report.passed, `forward verify: ${JSON.stringify(report)}`);
    assert.is(y.values.data.length, T * H * Dv);
    const dOut = { values: { data: randF32(T * H * Dv), shape: [T, H, Dv] }, offsets };
    report = null;
    await ak.hstuAttentionBackwardAsync(dOut, q, k, v, options, { backend: 'native', verify: true, onReport: (r) => (report = r.verify) });
    assert.ok(report && report.passed, `backward verify: ${JSON.stringify(report)}`);
  });
  api.run();
}

if (!info.available) {
  const s = suite('native hstu · availability');
  if (process.env.CI === 'true') s('native is available in CI', () => assert.unreachable(info.reason));
  else s.skip(`native hstu tests (unavailable: ${info.reason})`, () => {});
  s.run();
} else {
  hstuTests(require(info.path));
}
