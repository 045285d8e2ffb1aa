// Training the pooling ops (issue #15): additiveAttention / targetAttention with `returnSaved` and
// additiveAttentionBackward / targetAttentionBackward, on EVERY backend (reference, native, gpu
// under Xvfb). Each step of a composite is a dispatched op, cross-checked against reference with
// verify here; the final gradients must match the reference composite's within COMPOSITE_TOL (the
// reference composite itself is held to float64 finite differences by test/grad.test.mjs, on the
// same cases). Also: the returnSaved forward against the fused op, the async twins bit for bit,
// additiveScoresBackward bit-identical at 1, 2 and 3 native threads, the typed errors. In CI an
// unavailable backend fails; elsewhere it is a visible skip.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { assertClose } from './specs/index.mjs';
import { backendWanted, rnd, toleranceOf } from './specs/util.mjs';
import { gradCases as additiveCases } from './specs/grad/additiveAttentionBackward.mjs';
import { gradCases as targetCases } from './specs/grad/targetAttentionBackward.mjs';
import { to32 } from './specs/grad/fd.mjs';

/**
 * A backend's composite gradients against reference's. Each step is within its op's tolerance;
 * the chain (projections, the tanh pairs, the projections' backward; DIN: up to 3 layers forward
 * and back) compounds them, and a float32 step's rounding can land either side in a sum that
 * cancels. Measured over every case below (printed as MEASURED): native max rel 1.08e-5 (avx512
 * and avx2; scalar 7.2e-6) / max abs 7.2e-7 (scalar; avx512 and avx2 4.8e-7), gpu on llvmpipe max
 * rel 1.55e-5 / max abs 6.0e-7; the bound is 4x that.
 */
const COMPOSITE_TOL = { native: { rtol: 4.3e-5, atol: 2.9e-6 }, gpu: { rtol: 6.2e-5, atol: 2.4e-6 } };

/** Every tensor (or plain number array) of a gradient result, by dotted path. */
const flat = (g, prefix = '') => {
  const out = {};
  for (const [k, v] of Object.entries(g)) {
    if (v && ArrayBuffer.isView(v.data)) out[prefix + k] = v.data;
    else if (ArrayBuffer.isView(v)) out[prefix + k] = v;
    else if (typeof v === 'number') out[prefix + k] = [v];
    else if (Array.isArray(v) && v.every((x) => typeof x === 'number')) out[prefix + k] = v;
    else if (v && typeof v === 'object') Object.assign(out, flat(v, `${prefix}${k}.`));
  }
  return out;
};

const bitsEqual = (a, b) => a.length === b.length && Array.prototype.every.call(a, (x, i) => Object.is(x, b[i]));

/** A grad case's call with `dispatch` options, on its float32 inputs. */
function runCase(c, dispatch) {
  const inputs32 = Object.fromEntries(Object.entries(c.inputs).map(([k, t]) => [k, to32(t)]));
  return c.callWith(inputs32, Float32Array.from(c.dOut), dispatch);
}

const measured = {};

/** A DIN parameter set: hidden widths, activation, slopes as given. */
function dinParams(D, hidden, seed, alpha) {
  const layers = [];
  let inDim = 4 * D;
  [...hidden, 1].forEach((out, l) => {
    const layer = { w: rnd([inDim, out], seed + 2 * l, 0.3), b: rnd([out], seed + 2 * l + 1, 0.1) };
    if (alpha !== undefined && l < hidden.length) layer.alpha = alpha;
    layers.push(layer);
    inDim = out;
  });
  return { layers };
}

function backendSuite(backend) {
  const info = ak.backends().find((b) => b.name === backend);
  const test = suite(`${backend} · pool training`);
  if (!info || !info.available) {
    const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
    if (process.env.CI === 'true') test(`${backend} is available in CI`, () => assert.unreachable(`${backend} unavailable in CI: ${why}`));
    else {
      console.log(`SKIP: ${backend} backend unavailable: ${why}`);
      test.skip(`${backend} pool training tests (unavailable: ${why})`, () => {});
    }
    test.run();
    return;
  }
  const m = (measured[backend] = { maxRel: 0, maxAbs: 0 });
  const cases = [...additiveCases().map((c) => ['additiveAttention', c]), ...targetCases().map((c) => ['targetAttention', c])];

  if (backend !== 'reference') {
    for (const [op, c] of cases) {
      test(`${op} ${c.label}: every step verified against reference; gradients within the composite tolerance`, () => {
        const reports = [];
        const got = flat(runCase(c, { backend, verify: true, onReport: (r) => reports.push(r) }));
        const want = flat(runCase(c, { backend: 'reference' }));
        // At least one forward op and one backward op (DIN with one layer: linear, then linearBackward).
        assert.ok(reports.length >= 2, `${op}: the composite dispatched its steps (${reports.length})`);
        for (const r of reports) {
          assert.is(r.backend, backend, `${r.op} ran on ${backend}`);
          assert.ok(r.verify && r.verify.passed && r.verify.elementsChecked > 0, `${r.op} verified against reference`);
        }
        assert.equal(Object.keys(got).sort(), Object.keys(want).sort(), 'the same gradients');
        const tol = COMPOSITE_TOL[backend];
        for (const [name, w] of Object.entries(want)) {
          const g = got[name];
          Array.prototype.forEach.call(w, (x, i) => {
            const e = Math.abs(g[i] - x);
            m.maxAbs = Math.max(m.maxAbs, e);
            if (Math.abs(x) > 1e-3) m.maxRel = Math.max(m.maxRel, e / Math.abs(x));
          });
          assertClose(g, w, tol, `${op} ${c.label}: ${name}`);
        }
      });
    }
  }

  test('the returnSaved forwards against the fused ops; the async twins equal the sync calls bit for bit', async () => {
    const d = { backend };
    // additiveAttention: the returnSaved output IS the fused op's (one dispatched call).
    const q = rnd([3, 4, 5], 1), k = rnd([3, 7, 6], 2), v = rnd([3, 7, 2], 3);
    const p = { wq: rnd([5, 8], 4, 0.5), wk: rnd([6, 8], 5, 0.5), b: rnd([8], 6, 0.2), v: rnd([8], 7) };
    const o = { keyLengths: new Int32Array([7, 0, 3]), mask: { data: Uint8Array.from({ length: 28 }, (_x, f) => (f % 5 === 3 ? 0 : 1)), shape: [1, 4, 7] } };
    const fused = ak.additiveAttention(q, k, v, p, { ...o, returnWeights: true }, d);
    const a = ak.additiveAttention(q, k, v, p, { ...o, returnSaved: true }, d);
    assert.ok(bitsEqual(a.output.data, fused.output.data), 'additive: returnSaved output = the fused output');
    assert.ok(bitsEqual(a.saved.weights, fused.weights.data), 'additive: saved weights = the fused weights');
    const dOut = rnd([3, 4, 2], 8);
    const g = flat(ak.additiveAttentionBackward(dOut, a.saved, d));
    const aa = await ak.additiveAttentionAsync(q, k, v, p, { ...o, returnSaved: true }, d);
    const ga = flat(await ak.additiveAttentionBackwardAsync(dOut, aa.saved, d));
    assert.equal(Object.keys(g).sort(), ['dKeys', 'dParams.b', 'dParams.v', 'dParams.wk', 'dParams.wq', 'dQuery', 'dValues'], 'additive: a gradient per input and parameter');
    for (const [key, val] of Object.entries(g)) assert.ok(bitsEqual(val, ga[key]), `additive ${key}: async equals sync bit for bit`);
    for (let f = 0; f < 4 * 5; f++) assert.is(g.dQuery[4 * 5 + f], 0, 'additive: the empty batch row (keyLengths 0) has dQuery 0');
    // targetAttention: the composite forward against the fused op within the op's tolerance.
    for (const activation of ['sigmoid', 'relu', 'prelu']) {
      for (const normalize of ['none', 'softmax']) {
        const t = rnd([3, 6], 9), h = rnd([3, 9, 6], 10);
        const dp = dinParams(6, [10, 5], 11, activation === 'prelu' ? rnd([10], 12, 0.4) : undefined);
        if (activation === 'prelu') dp.layers[1].alpha = 0.1;
        const to = { activation, normalize, keyLengths: new Int32Array([9, 1, 0]) };
        const tf = ak.targetAttention(t, h, dp, to, d);
        const ts = ak.targetAttention(t, h, dp, { ...to, returnSaved: true }, d);
        const tol = backend === 'reference' ? { rtol: 2 ** -18, atol: 1e-7 } : toleranceOf(backend, 'targetAttention');
        assertClose(ts.output.data, tf.data, tol, `target ${activation} ${normalize}: composite forward vs fused`);
        const tg = flat(ak.targetAttentionBackward(rnd([3, 6], 13), ts.saved, d));
        const tsa = await ak.targetAttentionAsync(t, h, dp, { ...to, returnSaved: true }, d);
        const tga = flat(await ak.targetAttentionBackwardAsync(rnd([3, 6], 13), tsa.saved, d));
        const keys = ['dHistory', 'dTarget', 'dParams.layers.0.b', 'dParams.layers.0.w', 'dParams.layers.1.b', 'dParams.layers.1.w', 'dParams.layers.2.b', 'dParams.layers.2.w'];
        if (activation === 'prelu') keys.push('dParams.layers.0.alpha', 'dParams.layers.1.alpha');
        assert.equal(Object.keys(tg).sort(), keys.sort(), `target ${activation}: a gradient per input and parameter`);
        if (activation === 'prelu') {
          assert.is(tg['dParams.layers.0.alpha'].length, 10, 'a tensor slope has a tensor gradient');
          assert.is(typeof ak.targetAttentionBackward(rnd([3, 6], 13), ts.saved, d).dParams.layers[1].alpha, 'number', 'a number slope has a number gradient');
        }
        for (const [key, val] of Object.entries(tg)) assert.ok(bitsEqual(val, tga[key]), `target ${activation} ${key}: async equals sync bit for bit`);
        for (let f = 1 * 6; f < 9 * 6; f++) assert.is(tg.dHistory[9 * 6 + f], 0, 'padded items get 0');
        assert.ok(tg.dHistory.slice(2 * 9 * 6).every((x) => x === 0) && tg.dTarget.slice(12).every((x) => x === 0), 'an empty batch row gets zeros');
        assert.ok(Object.values(tg).every((arr) => Array.prototype.every.call(arr, Number.isFinite)), 'finite everywhere');
      }
    }
  });

  if (backend === 'native') {
    test('additiveScoresBackward and the composites: bit-identical at 1, 2 and 3 threads', () => {
      const before = ak.getThreads();
      const L = 70; // three row blocks per batch: the partial sums' reduction runs
      const args = [rnd([3, L, 16], 1), rnd([3, 40, 16], 2), ak.softmax(rnd([3, L, 40], 3, 3)), rnd([3, L, 24], 4), rnd([3, 40, 24], 5), rnd([24], 6)];
      const [c] = additiveCases();
      const [tc] = targetCases();
      const run = () => ({ ...flat(ak.additiveScoresBackward(...args, { backend })), ...flat(runCase(c, { backend }), 'add.'), ...flat(runCase(tc, { backend }), 'din.') });
      try {
        ak.setThreads(1);
        const one = run();
        for (const n of [2, 3]) {
          ak.setThreads(n);
          const other = run();
          for (const [key, val] of Object.entries(one)) assert.ok(bitsEqual(val, other[key]), `${key} at ${n} threads`);
        }
      } finally {
        ak.setThreads(before);
      }
    });
  }

  if (backend === 'reference') {
    test('typed errors: a foreign saved object, dOut of the wrong shape or type, options the training path does not take', () => {
      const k = rnd([2, 4, 3], 1);
      const p = { wk: rnd([3, 5], 2), b: rnd([5], 3), v: rnd([5], 4) };
      const { saved } = ak.additiveAttention(null, k, k, p, { returnSaved: true });
      const t = rnd([2, 3], 5), h = rnd([2, 4, 3], 6);
      const tp = dinParams(3, [4], 7);
      const ts = ak.targetAttention(t, h, tp, { returnSaved: true }).saved;
      const isErr = (cls, argument) => (e) => e instanceof cls && e.argument === argument;
      assert.throws(() => ak.additiveAttentionBackward(rnd([2, 1, 3], 8), ts), isErr(ak.ValueError, 'saved'));
      assert.throws(() => ak.additiveAttentionBackward(rnd([2, 1, 3], 8), { kind: 'additiveAttention' }), isErr(ak.ShapeError, 'dOut'));
      assert.throws(() => ak.additiveAttentionBackward(rnd([2, 1, 3], 8), null), isErr(ak.ValueError, 'saved'));
      assert.throws(() => ak.additiveAttentionBackward(rnd([2, 2, 3], 8), saved), isErr(ak.ShapeError, 'dOut'));
      assert.throws(() => ak.additiveAttentionBackward(ak.toFloat16(rnd([2, 1, 3], 8)), saved), isErr(ak.DTypeError, 'dOut'));
      assert.throws(() => ak.targetAttentionBackward(rnd([2, 3], 9), saved), isErr(ak.ValueError, 'saved'));
      assert.throws(() => ak.targetAttentionBackward(rnd([2, 4], 9), ts), isErr(ak.ShapeError, 'dOut'));
      assert.throws(() => ak.targetAttentionBackward('dOut', ts), (e) => e instanceof ak.AttnkitError && e.argument === 'dOut');
      assert.throws(() => ak.additiveAttention(null, k, k, p, { returnSaved: true, returnWeights: true }), isErr(ak.ValueError, 'options.returnWeights'));
      assert.throws(() => ak.additiveAttention(null, k, k, p, { returnSaved: true, outputDtype: 'float16' }), isErr(ak.ValueError, 'options.outputDtype'));
      assert.throws(() => ak.targetAttention(t, h, tp, { returnSaved: true, returnWeights: true }), isErr(ak.ValueError, 'options.returnWeights'));
      assert.throws(() => ak.targetAttention(t, h, tp, { returnSaved: 'yes' }), isErr(ak.DTypeError, 'options.returnSaved'));
      // The ordinary checks still run first on the training path.
      assert.throws(() => ak.additiveAttention(null, k, rnd([2, 5, 3], 1), p, { returnSaved: true }), isErr(ak.ShapeError, 'values'));
      assert.throws(() => ak.additiveScoresBackward(rnd([2, 1, 3], 1), k, rnd([2, 1, 4], 2), null, rnd([2, 4, 5], 3), rnd([6], 4)), isErr(ak.ShapeError, 'v'));
    });
    test('half inputs are widened on the training path (exactly): the same saved values as their float32 decodings', async () => {
      const k = ak.toBFloat16(rnd([2, 4, 3], 1));
      const k32 = ak.toFloat32(k);
      const p = { wk: rnd([3, 5], 2), b: rnd([5], 3), v: rnd([5], 4) };
      const a = ak.additiveAttention(null, k, k, p, { returnSaved: true });
      const b = ak.additiveAttention(null, k32, k32, p, { returnSaved: true });
      assert.ok(bitsEqual(a.output.data, b.output.data) && bitsEqual(a.saved.keys, k32.data));
      const ga = flat(ak.additiveAttentionBackward(rnd([2, 1, 3], 5), a.saved));
      const gb = flat(ak.additiveAttentionBackward(rnd([2, 1, 3], 5), b.saved));
      for (const [key, val] of Object.entries(ga)) assert.ok(bitsEqual(val, gb[key]), key);
    });
  }

  if (backend === 'gpu') {
    test('gpu ran GL kernels only (no gpu.js CPU fallback)', () => {
      const s = ak.gpuStats();
      assert.ok(s.kernelClasses.length > 0, 'kernels compiled');
      for (const c of s.kernelClasses) assert.is(c, 'HeadlessGLKernel');
    });
  }
  test.after(() => {
    if (backend !== 'reference') console.log(`  MEASURED ${backend}: composite gradients vs reference: max rel ${m.maxRel.toExponential(2)}, max abs ${m.maxAbs.toExponential(2)} (bound ${JSON.stringify(COMPOSITE_TOL[backend])})`);
  });
  test.run();
}

for (const backend of ['reference', 'native', 'gpu']) if (backendWanted(backend)) backendSuite(backend);
