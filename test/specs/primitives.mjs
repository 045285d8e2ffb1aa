// softmax, layerNorm, linear, gelu spec.
import { maskOf, rnd, tensorOf } from './util.mjs';

export default function primitivesSpec({ oracle, suite, d, tolFor, assertClose, ak, assert }) {
  const test = suite('primitives');
  const { softmax, layerNorm, linear, gelu, fromNested } = ak;

  test('softmax known values, masks, fully masked rows, -Infinity and NaN', () => {
    const tol = tolFor('softmax');
    const o = d();
    const p = softmax(fromNested([[1, 2, 3], [0, 0, 0]]), {}, o);
    o.check();
    const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
    const s = e[0] + e[1] + e[2];
    assertClose(p, [e[0] / s, e[1] / s, e[2] / s, 1 / 3, 1 / 3, 1 / 3], tol, 'softmax');
    const o2 = d();
    const m = softmax(fromNested([[1, 2, 3], [4, 5, 6], [1, -Infinity, 1]]), { mask: maskOf([3, 3], (i, j) => i !== 1 && !(i === 0 && j === 2)) }, o2);
    o2.check();
    assertClose(m, [1 / (1 + Math.E), Math.E / (1 + Math.E), 0, 0, 0, 0, 0.5, 0, 0.5], tol, 'masked softmax');
    const o3 = d();
    const n = softmax(fromNested([[1, NaN, 0], [1, 2, 3]]), {}, o3);
    o3.check();
    assert.ok(Number.isNaN(n.data[0]) && Number.isNaN(n.data[2]), 'NaN row is NaN');
    assert.ok(n.data.slice(3).every(Number.isFinite), 'other rows finite');
    for (const [shape, mshape] of [[[1], null], [[3, 1000], [1000]], [[2, 3, 129], [2, 1, 129]], [[5, 17], [5, 1]]]) {
      const o4 = d();
      softmax(rnd(shape, shape.length, 30), mshape ? { mask: maskOf(mshape, (...i) => i.reduce((a, b) => a + b, 0) % 3 !== 0) } : {}, o4);
      o4.check();
    }
    // Long rows of normal logits (sd 2-4): many entries carry weight and a few reach 0.05-0.5, so
    // the sum's rounding error shows above atol (one float accumulator per row put native scalar
    // 2e-5 off relatively on 20000 entries, gpu likewise; uniform logits give outputs ~1/C, where
    // atol hides any of it). 32767: the gpu backend's longest row (longer ones are refused).
    for (const [shape, sd] of [[[6, 1000], 4], [[2, 20000], 3], [[1, 32767], 2]]) {
      const u = rnd(shape, 7).data, v = rnd(shape, 8).data;
      const x = tensorOf(shape, () => 0);
      for (let i = 0; i < x.data.length; i++) x.data[i] = sd * Math.sqrt(-2 * Math.log((u[i] + 1.000001) / 2.000002)) * Math.cos(Math.PI * v[i]);
      const o5 = d();
      softmax(x, {}, o5);
      o5.check();
    }
  });

  test('layerNorm of a known vector, and random rows', () => {
    const tol = tolFor('layerNorm');
    const o = d();
    const y = layerNorm(fromNested([[1, 2, 3, 4]]), null, null, { eps: 0 }, o);
    o.check();
    const sd = Math.sqrt(1.25);
    assertClose(y, [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd], tol, 'layerNorm');
    const o2 = d();
    const g = layerNorm(fromNested([[1, 2, 3, 4]]), fromNested([1, 2, 3, 4]), fromNested([0, 1, 0, -1]), 1e-5, o2);
    o2.check();
    const sde = Math.sqrt(1.25 + 1e-5);
    assertClose(g, [-1.5 / sde, 1 - 1 / sde, 1.5 / sde, 6 / sde - 1], tol, 'affine layerNorm');
    for (const shape of [[1, 1], [7, 3], [4, 129], [2, 3, 65], [1, 4096]]) {
      const E = shape[shape.length - 1];
      const o3 = d();
      const args = [rnd(shape, E, 10), rnd([E], E + 1), rnd([E], E + 2), {}];
      oracle('layerNorm', args, layerNorm(...args, o3));
      o3.check();
    }
    const o4 = d();
    const c = layerNorm(fromNested([[3, 3, 3]]), null, null, {}, o4);
    o4.check();
    assert.ok(c.data.every((v) => v === 0), 'constant row → zeros');
  });

  test('layerNorm returnStats: per-row mean and invStd, the output unchanged, out and async', async () => {
    const tol = tolFor('layerNorm');
    const x = rnd([3, 5, 37], 41, 4);
    const g = rnd([37], 42);
    const b = rnd([37], 43);
    const o = d();
    const r = layerNorm(x, g, b, { eps: 1e-3, returnStats: true }, o);
    o.check();
    assert.equal(r.output.shape, [3, 5, 37]);
    assert.equal(r.mean.shape, [3, 5]);
    assert.equal(r.invStd.shape, [3, 5]);
    assert.ok(r.mean.data instanceof Float32Array && r.invStd.data instanceof Float32Array);
    oracle('layerNorm', [x, g, b, { eps: 1e-3, returnStats: true }], r);
    // The same output as without the statistics (the same kernel), bit for bit.
    const plain = layerNorm(x, g, b, { eps: 1e-3 }, { backend: d().backend });
    assertClose(r.output, plain, { atol: 0, rtol: 0 }, 'output with returnStats = output without');
    // The statistics are those the output was normalised with: (x - mean) · invStd · g + b, at
    // the backend's tolerance plus what rounding mean and invStd to float32 (and the backend's own
    // float32 steps) can cost: a few ulps of |mean|·invStd·|g| + |y| + |b| (x - mean cancels).
    const E = 37;
    for (let i = 0; i < x.data.length; i++) {
      const row = Math.floor(i / E);
      const m = r.mean.data[row], inv = r.invStd.data[row], gj = g.data[i % E], bj = b.data[i % E];
      const redo = (x.data[i] - m) * inv * gj + bj;
      const bound = tol.atol + tol.rtol * Math.abs(redo) + 8 * 2 ** -24 * (Math.abs(m) * inv * Math.abs(gj) + Math.abs(redo) + Math.abs(bj));
      assert.ok(Math.abs(r.output.data[i] - redo) <= bound, `output[${i}] ${r.output.data[i]} from the returned statistics ${redo} (bound ${bound})`);
    }
    // out: the output's data is the caller's buffer, sync and async.
    const out = new Float32Array(x.data.length).fill(NaN);
    const o2 = d();
    const ro = layerNorm(x, g, b, { eps: 1e-3, returnStats: true, out }, o2);
    o2.check();
    assert.is(ro.output.data, out);
    assertClose(ro.output, plain, { atol: 0, rtol: 0 }, 'out with returnStats');
    assertClose(ro.mean, r.mean, { atol: 0, rtol: 0 }, 'mean with out');
    const out2 = new Float32Array(x.data.length).fill(-1);
    const ra = await ak.layerNormAsync(x, g, b, { eps: 1e-3, returnStats: true, out: out2 }, d());
    assert.is(ra.output.data, out2);
    for (const k of ['output', 'mean', 'invStd']) assertClose(ra[k], r[k], { atol: 0, rtol: 0 }, `async ${k}`);
    // One row, rank 1: stats of shape []; constant rows: mean exact, invStd = 1/sqrt(eps).
    const o3 = d();
    const one = layerNorm(fromNested([1, 2, 3, 4]), null, null, { returnStats: true }, o3);
    o3.check();
    assert.equal(one.mean.shape, []);
    assertClose(one.mean, [2.5], tol, 'rank-1 mean');
    const o4 = d();
    const c = layerNorm(fromNested([[3, 3, 3], [-2, -2, -2]]), null, null, { eps: 1e-5, returnStats: true }, o4);
    o4.check();
    assert.equal(Array.from(c.mean.data), [3, -2], 'constant rows: the mean exactly');
    assertClose(c.invStd, [1 / Math.sqrt(1e-5), 1 / Math.sqrt(1e-5)], tol, 'constant rows: 1/sqrt(eps)');
    assert.ok(c.output.data.every((v) => v === 0), 'constant rows → zeros');
    // Empty rows: no output elements, NaN statistics (0/0); no rows: empty statistics.
    const e = layerNorm({ data: new Float32Array(0), shape: [2, 0] }, null, null, { returnStats: true }, d());
    assert.equal(e.mean.shape, [2]);
    assert.ok(Array.from(e.mean.data).every(Number.isNaN) && Array.from(e.invStd.data).every(Number.isNaN), 'rows of no columns: NaN stats');
    assert.equal(layerNorm({ data: new Float32Array(0), shape: [0, 4] }, null, null, { returnStats: true }, d()).mean.shape, [0]);
    // returnStats: false (or a number as options) keeps the plain tensor result.
    assert.ok(ArrayBuffer.isView(layerNorm(x, null, null, { returnStats: false }, d()).data));
    assert.ok(ArrayBuffer.isView(layerNorm(x, null, null, 1e-5, d()).data));
  });

  test('linear known values and random shapes (not multiples of the SIMD width)', () => {
    const tol = tolFor('linear');
    const o = d();
    const y = linear(fromNested([[1, 2], [3, 4], [5, 6]]), fromNested([[1, 0, 2], [0, 1, -1]]), fromNested([0.5, 0, 0]), o);
    o.check();
    assert.equal(y.shape, [3, 3]);
    assertClose(y, [1.5, 2, 0, 3.5, 4, 2, 5.5, 6, 4], tol, 'linear');
    for (const [M, I, O] of [[1, 1, 1], [3, 17, 5], [65, 63, 129], [200, 64, 64], [7, 129, 1]]) {
      const o2 = d();
      const args = [rnd([M, I], M + I), rnd([I, O], I + O, 0.2), O % 2 ? rnd([O], O) : null];
      oracle('linear', args, linear(...args, o2));
      o2.check();
    }
    const o3 = d();
    const r3 = linear(rnd([2, 3, 5], 1), rnd([5, 4], 2), null, o3);
    o3.check();
    assert.equal(r3.shape, [2, 3, 4]);
  });

  test('gelu known values (exact and tanh) and random inputs', () => {
    const tol = tolFor('gelu');
    const o = d();
    const g = gelu(fromNested([0, 1, -1, 3, -3]), {}, o);
    o.check();
    assertClose(g, [0, 0.8413447460685429, -0.15865525393145707, 2.99595030590511, -0.00404969409489031], tol, 'gelu exact');
    const o2 = d();
    const t = gelu(fromNested([1, -1]), { approximate: 'tanh' }, o2);
    o2.check();
    assertClose(t, [0.8411919906082768, -0.15880800939172324], tol, 'gelu tanh');
    for (const approximate of ['none', 'tanh']) {
      const o3 = d();
      const args = [rnd([3, 1001], 7, 8), { approximate }];
      oracle('gelu', args, gelu(...args, o3));
      o3.check();
    }
    const o4 = d();
    const nf = gelu(fromNested([NaN, Infinity, -Infinity]), {}, o4);
    o4.check();
    assert.ok(Number.isNaN(nf.data[0]) && nf.data[1] === Infinity, 'gelu(NaN) = NaN, gelu(+Inf) = +Inf');
  });

  test('empty tensors (a 0 in the shape) give empty results; an empty inner dimension gives the bias', () => {
    const E = (shape) => ({ data: new Float32Array(0), shape });
    const o = d();
    assert.equal(softmax(E([0, 3]), {}, o).shape, [0, 3]);
    assert.equal(gelu(E([2, 0]), {}, d()).shape, [2, 0]);
    assert.equal(layerNorm(E([0, 4]), null, null, {}, d()).shape, [0, 4]);
    assert.equal(linear(E([0, 3]), rnd([3, 2], 1), null, d()).shape, [0, 2]);
    const o2 = d();
    assert.equal(Array.from(linear(E([3, 0]), E([0, 2]), fromNested([1, 2]), o2).data), [1, 2, 1, 2, 1, 2]);
    o2.check();
    const o3 = d();
    const t = ak.topK(E([2, 0]), E([5, 0]), 3, { exclude: [[0], null] }, o3);
    o3.check();
    assert.equal(Array.from(t.indices.data), [1, 2, 3, 0, 1, 2], 'all scores 0: ties to the lower index');
  });

  test('async twins', async () => {
    const x = rnd([4, 9], 3);
    const o = d();
    assertClose(await ak.softmaxAsync(x, {}, o), softmax(x, {}, { backend: d().backend }), { atol: 0, rtol: 0 });
    o.check();
    assertClose(await ak.layerNormAsync(x, null, null, {}, d()), layerNorm(x, null, null, {}, { backend: d().backend }), { atol: 0, rtol: 0 });
    assertClose(await ak.linearAsync(x, rnd([9, 3], 4), null, d()), linear(x, rnd([9, 3], 4), null, { backend: d().backend }), { atol: 0, rtol: 0 });
    assertClose(await ak.geluAsync(x, {}, d()), gelu(x, {}, { backend: d().backend }), { atol: 0, rtol: 0 });
  });

  test('out: softmax, layerNorm and gelu write into the caller\'s buffer (sync and async)', async () => {
    const x = rnd([37, 70], 7, 3); // odd sizes: not SIMD multiples
    const g = rnd([70], 8);
    const b = rnd([70], 9);
    const mask = maskOf([37, 70], (i, j) => (i * 7 + j) % 5 !== 0 && i !== 3);
    const calls = [
      ['softmax', (opts, dd) => softmax(x, { mask, ...opts }, dd), (opts, dd) => ak.softmaxAsync(x, { mask, ...opts }, dd)],
      ['layerNorm', (opts, dd) => layerNorm(x, g, b, { eps: 1e-3, ...opts }, dd), (opts, dd) => ak.layerNormAsync(x, g, b, { eps: 1e-3, ...opts }, dd)],
      ['gelu', (opts, dd) => gelu(x, { approximate: 'tanh', ...opts }, dd), (opts, dd) => ak.geluAsync(x, { approximate: 'tanh', ...opts }, dd)],
    ];
    for (const [name, sync, asyncCall] of calls) {
      const fresh = sync({}, { backend: d().backend });
      const out = new Float32Array(x.data.length).fill(NaN); // stale contents must not leak
      const o = d();
      const got = sync({ out }, o);
      o.check();
      assert.is(got.data, out, `${name}: the result wraps the caller's buffer`);
      assert.equal(got.shape, x.shape);
      assertClose(got, fresh, { atol: 0, rtol: 0 }, `${name}: out vs a fresh result`);
      const out2 = new Float32Array(x.data.length).fill(-1);
      const asy = await asyncCall({ out: out2 }, d());
      assert.is(asy.data, out2, `${name} async: the result wraps the caller's buffer`);
      assertClose(asy, fresh, { atol: 0, rtol: 0 }, `${name} async: out vs a fresh result`);
    }
  });

  test.run();
}
