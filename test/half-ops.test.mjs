// Half-precision inputs through the public API (issue #16), besides the shared half spec
// (test/specs/half.mjs, run by each backend's spec file): the typed errors of the TypeScript layer
// (backend independent), then on EVERY backend (reference, native, gpu under Xvfb; an unavailable
// backend fails in CI, is a visible skip elsewhere): `outputDtype` (the float32 result rounded to
// nearest even, bit for bit), half KV caches (append rounds to the cache's dtype; sdpa,
// multiHeadAttention and transformerEncoderLayer over a half cache equal the same calls over the
// widened cache), onnxruntime float16 tensors taken as they are, and the async twins.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { assertClose } from './specs/index.mjs';
import { backendWanted, rnd, toleranceOf } from './specs/util.mjs';

const { KvCache, DTypeError, ValueError } = ak;
const same = (a, b) => a.length === b.length && a.every((x, i) => Object.is(x, b[i]));
const throwsType = (fn, type, re, what) => {
  let err;
  try {
    fn();
  } catch (e) {
    err = e;
  }
  assert.instance(err, type, what);
  if (re) assert.match(err.message, re, what);
};

const errors = suite('half inputs · typed errors (TypeScript layer)');
const q = rnd([1, 2, 3, 8], 1);
const k = rnd([1, 2, 5, 8], 2);
const v = rnd([1, 2, 5, 8], 3);
errors('a Uint16Array without a dtype, an unknown dtype, a half tensor to a float32-only op', () => {
  throwsType(() => ak.sdpa(q, { data: new Uint16Array(80), shape: [1, 2, 5, 8] }, v), DTypeError, /k\.data.*Uint16Array without a dtype/, 'no dtype');
  throwsType(() => ak.sdpa(q, { ...ak.toBFloat16(k), dtype: 'float8' }, v), DTypeError, /k\.dtype/, 'unknown dtype');
  throwsType(() => ak.sdpa(q, { data: new Float32Array(80), shape: [1, 2, 5, 8], dtype: 'bfloat16' }, v), DTypeError, /k\.data/, 'bfloat16 declared over a Float32Array');
  throwsType(() => ak.layerNorm(ak.toFloat16(k)), DTypeError, /float32 only/, 'layerNorm takes float32 only');
  throwsType(() => ak.linear(rnd([2, 8], 4), ak.toBFloat16(rnd([8, 3], 5)), { data: new Uint16Array(3), shape: [3] }), DTypeError, /b\.data/, 'bias without a dtype');
});
errors('outputDtype: an unknown value, or a half output into options.out', () => {
  throwsType(() => ak.sdpa(q, k, v, { outputDtype: 'float64' }), ValueError, /options\.outputDtype/);
  throwsType(() => ak.sdpa(q, k, v, { outputDtype: 'bfloat16', out: new Float32Array(48) }), ValueError, /options\.out/);
  throwsType(() => ak.topK(rnd([2, 8], 1), rnd([9, 8], 2), 3, { outputDtype: 'half' }), ValueError, /options\.outputDtype/);
});
errors('KvCache: an unknown dtype; half caches hold Uint16Array bits', () => {
  throwsType(() => new KvCache({ batch: 1, kvHeads: 1, capacity: 4, headDim: 2, dtype: 'int8' }), ValueError, /options\.dtype/);
  const c = new KvCache({ batch: 1, kvHeads: 2, capacity: 6, headDim: 8, dtype: 'bfloat16' });
  assert.is(c.dtype, 'bfloat16');
  assert.instance(c.k.data, Uint16Array);
  assert.is(c.k.dtype, 'bfloat16');
  assert.is(c.k.data.length, 2 * 6 * 8);
  const f = new KvCache({ batch: 1, kvHeads: 1, capacity: 2, headDim: 2 });
  assert.is(f.dtype, 'float32');
  assert.instance(f.k.data, Float32Array);
});
errors('KvCache.append rounds float32 tokens to the cache dtype (nearest even), copies its own dtype, re-rounds the other', () => {
  for (const dt of ['float16', 'bfloat16']) {
    const enc = dt === 'float16' ? ak.toFloat16 : ak.toBFloat16;
    const other = dt === 'float16' ? ak.toBFloat16 : ak.toFloat16;
    const c = new KvCache({ batch: 1, kvHeads: 2, capacity: 15, headDim: 8, dtype: dt });
    c.append(k, v);
    c.append(enc(k), enc(v));
    c.append(other(k), other(v));
    const want = (t, j) => enc(j === 2 ? ak.toFloat32(other(t)) : t).data;
    for (const [name, t] of [['k', k], ['v', v]]) {
      const cache = c[name].data;
      for (let j = 0; j < 3; j++) {
        const w = want(t, j);
        for (let h = 0; h < 2; h++) {
          const got = cache.subarray((h * 15 + j * 5) * 8, (h * 15 + j * 5 + 5) * 8);
          assert.ok(same(got, w.subarray(h * 40, h * 40 + 40)), `${dt} ${name} append ${j} head ${h}`);
        }
      }
    }
    assert.equal(Array.from(c.lengths), [15]);
  }
});
errors.run();

function backendSuite(backend) {
  const info = ak.backends().find((b) => b.name === backend);
  const test = suite(`${backend} · half inputs through the API`);
  if (!info || !info.available) {
    const why = info ? `${info.reason}${info.fix ? ` (fix: ${info.fix})` : ''}` : 'not registered';
    if (process.env.CI === 'true') test(`${backend} is available in CI`, () => assert.unreachable(`${backend} unavailable in CI: ${why}`));
    else {
      console.log(`SKIP: ${backend} backend unavailable: ${why}`);
      test.skip(`${backend} half tests (unavailable: ${why})`, () => {});
    }
    test.run();
    return;
  }
  const d = { backend };
  const dv = backend === 'reference' ? d : { backend, verify: true };

  test('outputDtype rounds the float32 result to nearest even, bit for bit (sdpa, multiHeadAttention, encoder, additive, target, topK)', () => {
    for (const dt of ['float16', 'bfloat16']) {
      const enc = dt === 'float16' ? ak.toFloat16 : ak.toBFloat16;
      const kh = ak.toBFloat16(k);
      const full = ak.sdpa(q, kh, v, { causal: true }, d);
      const half = ak.sdpa(q, kh, v, { causal: true, outputDtype: dt }, dv);
      assert.is(half.dtype, dt);
      assert.equal(half.shape, full.shape);
      assert.ok(same(half.data, enc(full).data), `sdpa ${dt}`);
      const withW = ak.sdpa(q, k, v, { returnWeights: true, outputDtype: dt }, d);
      assert.is(withW.output.dtype, dt);
      assert.instance(withW.weights.data, Float32Array, 'weights stay float32');
      const x = rnd([2, 5, 8], 6);
      const mp = { wq: rnd([8, 8], 7, 0.3), wk: rnd([8, 8], 8, 0.3), wv: rnd([8, 8], 9, 0.3), wo: rnd([8, 8], 10, 0.3) };
      const m32 = ak.multiHeadAttention(x, x, x, mp, { numHeads: 2, causal: true }, d);
      const m16 = ak.multiHeadAttention(x, x, x, mp, { numHeads: 2, causal: true, outputDtype: dt }, dv);
      assert.ok(same(m16.data, enc(m32).data), `multiHeadAttention ${dt}`);
      const users = rnd([3, 8], 11);
      const items = ak.toBFloat16(rnd([20, 8], 12));
      const t32 = ak.topK(users, items, 4, {}, d);
      const t16 = ak.topK(users, items, 4, { outputDtype: dt }, d);
      assert.equal(Array.from(t16.indices.data), Array.from(t32.indices.data));
      assert.ok(same(t16.scores.data, enc(t32.scores).data), `topK scores ${dt}`);
    }
  });

  test('onnxruntime float16 tensors are taken as they are (type: float16, dims)', () => {
    const h = ak.toFloat16(k);
    const ortLike = { type: 'float16', data: h.data, dims: h.shape };
    const a = ak.sdpa(q, ortLike, v, {}, dv);
    const b = ak.sdpa(q, h, v, {}, d);
    assert.ok(same(a.data, b.data));
  });

  for (const dt of ['float16', 'bfloat16']) {
    test(`sdpa, multiHeadAttention and transformerEncoderLayer over a ${dt} KvCache equal the same calls over the widened cache`, () => {
      const [B, H, C, D] = [2, 2, 9, 4];
      const c = new KvCache({ batch: B, kvHeads: H, capacity: C, headDim: D, dtype: dt });
      c.append(rnd([B, H, 6, D], 21), rnd([B, H, 6, D], 22));
      c.append(rnd([B, H, 2, D], 23), rnd([B, H, 2, D], 24), { counts: new Int32Array([2, 1]) });
      const qq = rnd([B, H, 2, D], 25);
      const got = ak.sdpa(qq, c, { causal: true }, dv);
      const want = ak.sdpa(qq, ak.toFloat32(c.k), ak.toFloat32(c.v), { keyLengths: c.lengths, causal: { offset: c.causalOffsets() } }, d);
      assert.ok(same(got.data, want.data), 'sdpa over the half cache = over its widened contents');
      // Layers: a half cache against a float32 cache fed the same tokens. The half cache holds
      // every K and V rounded (unit roundoff u = 2^-11 float16, 2^-8 bfloat16), so the outputs
      // differ by the attention's response to relative K/V errors of u: checked within 4u of the
      // output's largest magnitude (measured here: 4.3e-5 float16, 5.2e-4 bfloat16, outputs up to 1.37).
      const E = 8;
      const lp = { attention: { wq: rnd([E, E], 31, 0.3), wk: rnd([E, E], 32, 0.3), wv: rnd([E, E], 33, 0.3), wo: rnd([E, E], 34, 0.3) }, ffn: { w1: rnd([E, 16], 35, 0.3), w2: rnd([16, E], 36, 0.3) } };
      const hist = rnd([B, 5, E], 37);
      const next = rnd([B, 1, E], 38);
      const opts = { numHeads: 2, causal: true, norm: 'pre' };
      const step = (dtype, dd) => {
        const cache = new KvCache({ batch: B, kvHeads: 2, capacity: 6, headDim: E / 2, ...(dtype ? { dtype } : {}) });
        ak.transformerEncoderLayer(hist, lp, { ...opts, cache }, dd);
        return ak.transformerEncoderLayer(next, lp, { ...opts, cache }, dd);
      };
      const y = step(dt, dv);
      const y32 = step(null, d);
      const u = dt === 'float16' ? 2 ** -11 : 2 ** -8;
      const big = Math.max(...Array.from(y32.data, Math.abs));
      assertClose(y, y32, { rtol: 0, atol: 4 * u * big }, `encoder over a ${dt} cache vs a float32 cache`);
      const mp = { wq: rnd([E, E], 41, 0.3), wk: rnd([E, E], 42, 0.3), wv: rnd([E, E], 43, 0.3), wo: rnd([E, E], 44, 0.3) };
      const mc = new KvCache({ batch: B, kvHeads: 2, capacity: 6, headDim: E / 2, dtype: dt });
      ak.multiHeadAttention(hist, hist, hist, mp, { numHeads: 2, cache: mc }, dv);
      const m = ak.multiHeadAttention(next, next, next, mp, { numHeads: 2, causal: true, cache: mc, outputDtype: dt }, dv);
      assert.is(m.dtype, dt, 'outputDtype over a cache');
    });
  }

  test('async twins take half inputs and give the sync results', async () => {
    const kh = ak.toFloat16(k);
    const a = await ak.sdpaAsync(q, kh, ak.toBFloat16(v), { causal: true }, dv);
    const b = ak.sdpa(q, kh, ak.toBFloat16(v), { causal: true }, d);
    assert.ok(same(a.data, b.data));
    const t = await ak.topKAsync(rnd([2, 8], 1), ak.toBFloat16(rnd([30, 8], 2)), 5, { outputDtype: 'float16' }, d);
    assert.is(t.scores.dtype, 'float16');
  });

  if (backend === 'gpu') {
    test('gpu ran GL kernels only (no gpu.js CPU fallback)', () => {
      const s = ak.gpuStats();
      assert.ok(s.kernelClasses.length > 0, 'kernels compiled');
      for (const c of s.kernelClasses) assert.is(c, 'HeadlessGLKernel');
    });
  }
  test.run();
}

for (const backend of ['reference', 'native', 'gpu']) if (backendWanted(backend)) backendSuite(backend);
