// The gpu backend on headless-gl: the shared op specs, plus what is specific to GLSL kernels:
// the kernel class, long loops summed whole (gpu.js caps argument-bounded loops at 1000),
// adversarial sizes, masks, resources over many calls, dispose and reuse, texture limits, and the
// refusal of anything that is not a GL kernel. Runs under Xvfb (test/jobs.js: display: true).
// In CI (CI=true) an unavailable gpu backend FAILS; elsewhere it is a visible skip with the reason.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { runSpecs } from './specs/index.mjs';
import { maskOf, rnd, tensorOf, toleranceOf } from './specs/util.mjs';

const info = ak.backends().find((b) => b.name === 'gpu');
runSpecs('gpu');

const test = suite('gpu · backend');
if (!info || !info.available) {
  const why = info ? `${info.reason} (fix: ${info.fix})` : 'not registered';
  if (process.env.CI === 'true') test('gpu is available in CI', () => assert.unreachable(`gpu unavailable in CI: ${why}`));
  else {
    console.log(`SKIP: gpu backend unavailable: ${why}`);
    test.skip(`gpu-specific tests (unavailable: ${why})`, () => {});
  }
  test.run();
} else {
  const G = { backend: 'gpu' };
  const tol = (op) => toleranceOf('gpu', op);
  const verified = (op) => {
    const reports = [];
    return { opts: { backend: 'gpu', verify: true, onReport: (r) => reports.push(r) }, report: () => reports[0].verify };
  };

  test('backends() reports gpu on headless-gl with its renderer; kernels are HeadlessGLKernel', () => {
    ak.sdpa(rnd([1, 1, 2, 4], 1), rnd([1, 1, 3, 4], 2), rnd([1, 1, 3, 4], 3), {}, G);
    const b = ak.backends().find((x) => x.name === 'gpu');
    assert.ok(b.available);
    assert.ok(typeof b.renderer === 'string' && b.renderer.length > 0, 'renderer reported');
    // The classes of the kernels gpu.js actually built (not the host's configuration).
    const s = ak.gpuStats();
    assert.ok(s.kernelClasses.length > 0, 'kernels compiled');
    for (const c of s.kernelClasses) assert.is(c, 'HeadlessGLKernel');
  });

  test('long rows are summed whole: S = 4096, D = 256 (past gpu.js 1000-iteration cap)', () => {
    const [L, S, D, Dv] = [3, 4096, 256, 8];
    // Only keys past index 1000 carry weight: a loop cut at 1000 iterations would give zeros/NaN.
    const q = tensorOf([1, 1, L, D], (b, h, i, d) => (d === 0 ? 1 : 0));
    const k = tensorOf([1, 1, S, D], (b, h, j, d) => (d === 0 ? (j === 4000 - 100 * 0 ? 40 : j > 3000 ? 1 : -30) : Math.sin(j + d) * 0.01));
    const v = tensorOf([1, 1, S, Dv], (b, h, j, c) => (j === 4000 ? 1 + c : 0.001 * c));
    const { opts, report } = verified();
    const r = ak.sdpa(q, k, v, { scale: 1, returnLse: true }, opts);
    assert.ok(report().passed);
    assert.ok(Math.abs(r.output.data[0] - 1) < 1e-3, `key 4000 dominates: ${r.output.data[0]}`);
    // A dense row too: every one of 4096 keys and 256 dims matters.
    const { opts: o2, report: r2 } = verified();
    ak.sdpa(rnd([1, 2, 2, D], 5), rnd([1, 2, S, D], 6), rnd([1, 2, S, Dv], 7), { returnWeights: true }, o2);
    assert.ok(r2().passed && r2().elementsChecked === 2 * 2 * Dv + 2 * 2 * S);
    // and the primitives with long rows
    const x = rnd([3, 5000], 8, 3);
    for (const run of [() => ak.softmax(x, {}, verified().opts), () => ak.layerNorm(x, null, null, {}, verified().opts), () => ak.linear(rnd([2, 4096], 9), rnd([4096, 3], 10, 0.02), null, verified().opts)]) run();
    const sum = ak.linear(tensorOf([1, 4096], () => 1), tensorOf([4096, 1], () => 1), null, G);
    assert.is(sum.data[0], 4096);
  });

  test('adversarial sizes: D = 1, 3, 17, 65; L != S; S = 1; every mask kind; fully masked rows; GQA', () => {
    let n = 0;
    for (const D of [1, 3, 17, 65]) {
      for (const [L, S] of [[1, 1], [5, 1], [1, 7], [6, 13], [13, 6]]) {
        // GQA layouts cycle over the shapes (the full product compiles too many shaders for a test).
        for (const [Hq, Hkv] of [[[1, 1], [4, 2], [3, 1]][(D + L + S) % 3]]) {
          const B = 2;
          const seed = D * 1000 + L * 10 + S + Hq;
          const q = rnd([B, Hq, L, D], seed), k = rnd([B, Hkv, S, D], seed + 1), v = rnd([B, Hkv, S, D === 1 ? 2 : D], seed + 2);
          const masks = [
            null,
            maskOf([S], (j) => j % 2 === 0),
            maskOf([L, S], (i, j) => (i + j) % 3 !== 1),
            maskOf([B, 1, 1, S], (b, h, i, j) => b === 0 || j !== 0),
            Object.assign(maskOf([B, Hq, L, S], (b, h, i, j) => i !== 0 && (b + h + j) % 4 !== 0), { row0Masked: true }),
            maskOf([1, Hq, 1, 1], (b, h) => h !== 0), // head 0 fully masked
          ];
          for (const mask of masks) {
            for (const extra of [{}, { causal: true, returnWeights: true, returnLse: true }, { keyLengths: new Int32Array([S, Math.max(0, S - 2)]), bias: rnd([L, S], seed + 3, 2) }]) {
              const { opts, report } = verified();
              const r = ak.sdpa(q, k, v, { mask, ...extra }, opts);
              assert.ok(report().passed);
              n++;
              if (mask && mask.row0Masked) {
                // fully masked row 0: zeros, never NaN; lse -Infinity
                const out = r.output ?? r;
                const Dv = v.shape[3];
                for (let c = 0; c < Dv; c++) assert.is(out.data[c], 0);
                if (r.lse) assert.is(r.lse.data[0], -Infinity);
                if (r.weights) for (let j = 0; j < S; j++) assert.is(r.weights.data[j], 0);
              }
            }
          }
        }
      }
    }
    assert.ok(n >= 300, `${n} verified calls`);
  });

  test('adversarial sizes for every other op: dims 1, 3, 17, 65; L != S; S = 1; masks; empty rows', () => {
    let n = 0;
    const check = (run) => {
      const { opts, report } = verified();
      const r = run(opts);
      assert.ok(report().passed);
      n++;
      return r;
    };
    for (const d of [1, 3, 17, 65]) {
      for (const [L, S] of [[1, 1], [4, 1], [1, 6], [5, 9]]) {
        const B = 2;
        const seed = d * 100 + L * 10 + S;
        // additive (with query and pooled), with a mask that empties row 0 of batch 0
        const p = { wq: rnd([d, 5], seed, 0.3), wk: rnd([3, 5], seed + 1, 0.3), b: rnd([5], seed + 2, 0.1), v: rnd([5], seed + 3) };
        const keys = rnd([B, S, 3], seed + 4), vals = rnd([B, S, d], seed + 5);
        const mask = maskOf([B, L, S], (b, i, j) => !(b === 0 && i === 0) && (i + j) % 3 !== 2);
        const r = check((o) => ak.additiveAttention(rnd([B, L, d], seed + 6), keys, vals, p, { mask, returnWeights: true }, o));
        for (let c = 0; c < d; c++) assert.is(r.output.data[c], 0, 'additive: empty row gives zeros');
        check((o) => ak.additiveAttention(null, keys, vals, { wk: p.wk, b: p.b, v: p.v }, { keyLengths: new Int32Array([0, S]), returnWeights: true }, o));
        // target attention, both normalisations, one history fully padded
        const layers = [{ w: rnd([4 * d, 4], seed + 7, 0.3), b: rnd([4], seed + 8, 0.1), alpha: rnd([4], seed + 9, 0.2) }, { w: rnd([4, 1], seed + 10), b: rnd([1], seed + 11) }];
        for (const normalize of ['none', 'softmax']) {
          const t = check((o) => ak.targetAttention(rnd([B, d], seed + 12), rnd([B, S, d], seed + 13), { layers }, { activation: 'prelu', normalize, keyLengths: new Int32Array([S, 0]), returnWeights: true }, o));
          for (let c = 0; c < d; c++) assert.is(t.output.data[d + c], 0, 'target: empty history gives zeros');
        }
        // primitives with rows of d
        const x = rnd([L, S, d], seed + 14, 3);
        check((o) => ak.softmax(x, { mask: maskOf([S, d], (j, c) => j !== 0 && (c + j) % 2 === 0) }, o));
        check((o) => ak.layerNorm(x, rnd([d], seed + 15), null, {}, o));
        check((o) => ak.linear(x, rnd([d, S], seed + 16), rnd([S], seed + 17), o));
        check((o) => ak.gelu(x, {}, o));
        check((o) => ak.gelu(x, { approximate: 'tanh' }, o));
        // topK with k up to N and exclusions that leave fewer than k
        const N = S * 3;
        const tk = check((o) => ak.topK(rnd([B, d], seed + 18), rnd([N, d], seed + 19), N, { exclude: [[0, N - 1, 0], null] }, o));
        assert.equal([tk.indices.data[N - 2], tk.indices.data[N - 1]], [-1, -1], 'two excluded: the tail is -1');
        assert.is(tk.scores.data[N - 1], -Infinity);
      }
    }
    assert.ok(n >= 150, `${n} verified calls`);
  });

  test('NaN in masked keys/values does not leak; NaN and +Inf logits poison only their own row', () => {
    const [L, S, D] = [3, 5, 4];
    const q = rnd([1, 1, L, D], 11), k = rnd([1, 1, S, D], 12), v = rnd([1, 1, S, D], 13);
    k.data[4 * D] = NaN; // key 4
    v.data[4 * D + 1] = NaN;
    const mask = maskOf([L, S], (i, j) => j !== 4);
    const r = ak.sdpa(q, k, v, { mask, returnWeights: true, returnLse: true }, verified().opts);
    assert.ok(r.output.data.every(Number.isFinite) && r.weights.data.every(Number.isFinite) && r.lse.data.every(Number.isFinite));
    const lens = ak.sdpa(q, k, v, { keyLengths: new Int32Array([4]) }, verified().opts);
    assert.ok(lens.data.every(Number.isFinite));
    const ninf = tensorOf([L, S], (i, j) => (j === 4 ? -Infinity : 0));
    const kc = rnd([1, 1, S, D], 16);
    assert.ok(ak.sdpa(q, kc, v, { bias: ninf }, verified().opts).data.every(Number.isFinite), '-Inf logit = excluded key (NaN in its value does not leak)');
    const bias = tensorOf([L, S], (i, j) => (i === 1 && j === 0 ? NaN : i === 2 && j === 1 ? Infinity : 0));
    const k2 = rnd([1, 1, S, D], 14);
    const r2 = ak.sdpa(q, k2, v.data.some(Number.isNaN) ? rnd([1, 1, S, D], 15) : v, { bias, returnWeights: true, returnLse: true }, verified().opts);
    for (let c = 0; c < D; c++) {
      assert.ok(Number.isFinite(r2.output.data[c]), 'row 0 finite');
      assert.ok(Number.isNaN(r2.output.data[D + c]) && Number.isNaN(r2.output.data[2 * D + c]), 'rows 1, 2 NaN');
    }
    assert.ok(Number.isNaN(r2.lse.data[1]) && Number.isNaN(r2.lse.data[2]) && Number.isFinite(r2.lse.data[0]));
    // relu / gelu / softmax keep NaN and Inf semantics of reference
    const x = ak.tensor(new Float32Array([NaN, Infinity, -Infinity, 1e-40, -1e-40, 0, -0, 50, -50, 1e30, -1e30]), [1, 11]);
    ak.gelu(x, {}, verified().opts);
    ak.gelu(x, { approximate: 'tanh' }, verified().opts);
  });

  test('attention limits: extreme offsets and windows, softcap at ±Inf / NaN logits and with a bias pair, blhd; multiHeadAttention and transformerEncoderLayer pass them through', () => {
    const MAX = 2147483647;
    const [B, Hq, Hkv, L, S, D] = [3, 4, 2, 6, 11, 5];
    const q = rnd([B, Hq, L, D], 90), k = rnd([B, Hkv, S, D], 91), v = rnd([B, Hkv, S, 3], 92);
    const check = (run) => {
      const { opts, report } = verified();
      const r = run(opts);
      assert.ok(report().passed, JSON.stringify(report().worst));
      return r;
    };
    // Offsets and window sizes far beyond float32's exact integers: batch 0 sees nothing (every key
    // is before p - left), batch 1 nothing (p far before key 0), batch 2 a normal band.
    const far = check((o) => ak.sdpa(q, k, v, { causal: { offset: new Int32Array([MAX, -MAX, 3]) }, window: { left: 2 }, returnLogits: true, returnLse: true }, o));
    assert.ok(far.logits.data.slice(0, 2 * Hq * L * S).every((x) => x === -Infinity), 'batches 0 and 1: every logit -Infinity');
    assert.ok(far.lse.data.slice(0, 2 * Hq * L).every((x) => x === -Infinity));
    check((o) => ak.sdpa(q, k, v, { window: { left: MAX, right: 1 }, keyLengths: new Int32Array([S, 4, 0]), returnWeights: true }, o));
    check((o) => ak.sdpa(q, k, v, { causal: { offset: new Int32Array([-3, 0, 20]) }, window: { left: 1, right: MAX } }, o));
    // softcap of ±Inf and NaN dot products: c·tanh(±Inf) = ±c (a finite row), NaN stays NaN.
    const qi = rnd([1, 1, 3, D], 93);
    qi.data[0] = Infinity;
    qi.data[D] = NaN;
    const ki = rnd([1, 1, S, D], 94), vi = rnd([1, 1, S, 3], 95);
    const capped = check((o) => ak.sdpa(qi, ki, vi, { softcap: 2, returnLogits: true }, o));
    for (let j = 0; j < S; j++) {
      assert.is(Math.abs(capped.logits.data[j]), 2, 'row 0: ±Inf logits capped to ±2');
      assert.ok(Number.isNaN(capped.logits.data[S + j]), 'row 1: NaN');
    }
    assert.ok(capped.output.data.slice(0, 3).every(Number.isFinite) && capped.output.data.slice(3, 6).every(Number.isNaN));
    // softcap before a bias carried as an fp32 pair (the 'lo' logits kernel), GQA in the blhd layout
    const toBlhd = (t) => {
      const [b0, h0, l0, d0] = t.shape;
      return tensorOf([b0, l0, h0, d0], (b, i, h, d) => t.data[((b * h0 + h) * l0 + i) * d0 + d]);
    };
    check((o) => ak.sdpa(toBlhd(q), toBlhd(k), toBlhd(v), { layout: 'blhd', softcap: 4, bias: rnd([Hq, L, S], 96, 50), keyLengths: new Int32Array([S, 7, 1]), causal: 'top-left', returnLogits: true, returnWeights: true, returnLse: true }, o));
    // multiHeadAttention (cross, GQA) and transformerEncoderLayer with every limit
    const [E, Ek, Dh, F] = [8, 6, 4, 12];
    const p = { wq: rnd([E, 4 * Dh], 97, 0.4), wk: rnd([Ek, 2 * Dh], 98, 0.4), wv: rnd([Ek, 2 * Dh], 99, 0.4), wo: rnd([4 * Dh, E], 100, 0.4), bq: rnd([4 * Dh], 101, 0.1) };
    const query = rnd([2, L, E], 102), kv = rnd([2, S, Ek], 103);
    check((o) => ak.multiHeadAttention(query, kv, kv, p, { numHeads: 4, numKvHeads: 2, causal: { offset: new Int32Array([1, -2]) }, window: { left: 3 }, softcap: 1.5, bias: rnd([L, S], 104), keyLengths: new Int32Array([S, 5]), returnWeights: true, returnLse: true }, o));
    check((o) => ak.multiHeadAttention(query, kv, kv, p, { numHeads: 4, numKvHeads: 2, window: { left: 1, right: 2 }, softcap: 0.7 }, o));
    const w = (sd, a, b2) => rnd([a, b2], sd, 0.4);
    const tp = { attention: { wq: w(105, E, E), wk: w(106, E, E), wv: w(107, E, E), wo: w(108, E, E) }, norm1: {}, ffn: { w1: w(109, E, F), w2: w(110, F, E) }, norm2: {} };
    const x = rnd([2, 9, E], 111);
    check((o) => ak.transformerEncoderLayer(x, tp, { numHeads: 2, causal: true, window: { left: 2 }, softcap: 0.8, keyLengths: new Int32Array([9, 4]), norm: 'pre' }, o));
    check((o) => ak.transformerEncoderLayer(x, tp, { numHeads: 2, window: { left: 1, right: 1 }, softcap: 3 }, o));
    // each limit changes the result (so the pipelines do not drop them)
    const base = ak.transformerEncoderLayer(x, tp, { numHeads: 2 }, G).data;
    for (const extra of [{ causal: true }, { window: { left: 1 } }, { softcap: 0.3 }]) {
      const r = ak.transformerEncoderLayer(x, tp, { numHeads: 2, ...extra }, G).data;
      assert.ok(r.some((y, n) => y !== base[n]), `transformerEncoderLayer ${JSON.stringify(extra)} changes the output`);
    }
  });

  test('no growth over 1000 calls of one shape: kernels, textures, RSS', () => {
    const q = rnd([1, 2, 16, 8], 20), k = rnd([1, 2, 24, 8], 21), v = rnd([1, 2, 24, 8], 22);
    const call = () => ak.sdpa(q, k, v, { causal: true, returnWeights: true, returnLse: true }, G);
    for (let i = 0; i < 20; i++) call();
    const before = ak.gpuStats();
    global.gc?.();
    const rss0 = process.memoryUsage().rss;
    for (let i = 0; i < 1000; i++) call();
    global.gc?.();
    const rss1 = process.memoryUsage().rss;
    const after = ak.gpuStats();
    assert.is(after.kernelsCached, before.kernelsCached, 'no new kernels');
    assert.is(after.kernelsCompiled, before.kernelsCompiled, 'no recompilation');
    assert.is(after.texturesLive, 0, 'every texture deleted');
    const growth = (rss1 - rss0) / 2 ** 20;
    console.log(`    1000 sdpa calls: RSS ${(rss0 / 2 ** 20).toFixed(1)} -> ${(rss1 / 2 ** 20).toFixed(1)} MB, kernels ${after.kernelsCached}, live textures ${after.texturesLive}`);
    assert.ok(growth < 24, `RSS grew ${growth.toFixed(1)} MB over 1000 calls (bound 24 MB)`);
  });

  test('the kernel cache is bounded (LRU), never evicts the running op\'s kernels, and results stay right', () => {
    // Limit 2 is below what one sdpa op runs (logits, stats, probs, weighted sum): the op keeps its
    // own kernels while it runs and the cache is trimmed back by later ops.
    ak.setGpuKernelCacheLimit(2);
    try {
      for (let S = 1; S <= 8; S++) {
        const { opts, report } = verified();
        ak.sdpa(rnd([1, 1, 2, 4], S), rnd([1, 1, S, 4], S + 1), rnd([1, 1, S, 4], S + 2), { returnLse: true }, opts);
        assert.ok(report().passed);
        assert.ok(ak.gpuStats().kernelsCached <= 5, `cache holds at most one op's kernels: ${ak.gpuStats().kernelsCached}`);
      }
      const [B, L, E, H, F] = [2, 5, 8, 2, 12];
      const w = (sd, a, b2) => rnd([a, b2], sd, 0.3);
      const p = { attention: { wq: w(1, E, E), wk: w(2, E, E), wv: w(3, E, E), wo: w(4, E, E) }, norm1: {}, ffn: { w1: w(5, E, F), w2: w(6, F, E) }, norm2: {} };
      const { opts, report } = verified();
      ak.transformerEncoderLayer(rnd([B, L, E], 7), p, { numHeads: H, activation: 'gelu' }, opts);
      assert.ok(report().passed, 'an op with more kernels than the limit is still right');
      assert.ok(ak.gpuStats().kernelsEvicted > 0);
      assert.is(ak.gpuStats().texturesLive, 0);
    } finally {
      ak.setGpuKernelCacheLimit(48);
    }
    assert.throws(() => ak.setGpuKernelCacheLimit(0), (e) => e instanceof ak.ValueError);
  });

  test('dispose releases kernels and the context; the backend is usable again', () => {
    const q = rnd([2, 2, 5, 8], 30), k = rnd([2, 2, 7, 8], 31), v = rnd([2, 2, 7, 8], 32);
    const a = ak.sdpa(q, k, v, {}, G);
    ak.disposeGpu();
    const s = ak.gpuStats();
    assert.is(s.kernelsCached, 0);
    assert.is(s.texturesLive, 0);
    const b = ak.sdpa(q, k, v, {}, verified().opts);
    assert.equal(Array.from(b.data), Array.from(a.data), 'same result on the new context');
    ak.disposeGpu();
    ak.disposeGpu(); // idempotent
    assert.ok(ak.backends().find((x) => x.name === 'gpu').available);
  });

  test('async twins run on the gpu (main thread after a yield) and match', async () => {
    const q = rnd([1, 2, 9, 8], 40), k = rnd([1, 2, 11, 8], 41), v = rnd([1, 2, 11, 8], 42);
    const reports = [];
    const [x, y] = await Promise.all([
      ak.sdpaAsync(q, k, v, { causal: true }, { backend: 'gpu', verify: true, onReport: (r) => reports.push(r) }),
      ak.softmaxAsync(rnd([4, 9], 43), {}, { backend: 'gpu', verify: true, onReport: (r) => reports.push(r) }),
    ]);
    assert.is(reports.length, 2);
    assert.ok(reports.every((r) => r.backend === 'gpu' && r.verify.passed));
    assert.equal(Array.from(x.data), Array.from(ak.sdpa(q, k, v, { causal: true }, G).data));
    assert.is(y.data.length, 36);
  });

  test('outputs past MAX_TEXTURE_SIZE are re-laid out or refused with an error naming the limit', () => {
    const base = ak.getGpuHostFactory();
    ak.disposeGpu();
    // Pretend the limit is 64: a [20 x 100] output no longer fits as a 2D texture and is
    // re-laid out (square-ish texture); results still match reference. 64*64 texels is the cap.
    ak.setGpuHostFactory(() => ({ ...base(), maxTextureSize: 64 }));
    try {
      const { opts, report } = verified();
      ak.linear(rnd([20, 8], 50), rnd([8, 100], 51), null, opts);
      assert.ok(report().passed, 'relaid-out output matches');
      const { opts: o2, report: r2 } = verified();
      ak.sdpa(rnd([1, 1, 3, 4], 52), rnd([1, 1, 100, 4], 53), rnd([1, 1, 100, 4], 54), { returnWeights: true }, o2);
      assert.ok(r2().passed);
      assert.throws(
        () => ak.linear(rnd([100, 4], 55), rnd([4, 100], 56), null, G),
        (e) => e instanceof ak.GpuLimitError && e.limit === 'MAX_TEXTURE_SIZE' && /MAX_TEXTURE_SIZE = 64/.test(e.message),
      );
    } finally {
      ak.disposeGpu();
      ak.setGpuHostFactory(null);
    }
    ak.linear(rnd([100, 4], 55), rnd([4, 100], 56), null, verified().opts);
  });

  test('a kernel that is not a GL kernel is refused, never returned as gpu output', () => {
    const base = ak.getGpuHostFactory();
    ak.disposeGpu();
    ak.setGpuHostFactory(() => ({ ...base(), allowedKernelClasses: ['SomeOtherKernel'] }));
    try {
      assert.throws(() => ak.softmax(rnd([2, 3], 60), {}, G), (e) => e instanceof ak.GpuFallbackError && /HeadlessGLKernel/.test(e.message));
    } finally {
      ak.disposeGpu();
      ak.setGpuHostFactory(null);
    }
  });

  test('a host that cannot start surfaces as BackendUnavailableError with the fix', () => {
    ak.disposeGpu();
    const hostError = new ak.GpuHostUnavailable('no display for this test', 'xvfb-run ...');
    assert.ok(hostError instanceof ak.AttnkitError && hostError.code === 'ERR_ATTNKIT_GPU_HOST', 'GpuHostUnavailable is a typed AttnkitError');
    ak.setGpuHostFactory(() => {
      throw hostError;
    });
    try {
      assert.throws(() => ak.softmax(rnd([2, 3], 61), {}, G), (e) => e instanceof ak.BackendUnavailableError && /no display for this test/.test(e.message) && e.fix === 'xvfb-run ...');
    } finally {
      ak.setGpuHostFactory(null);
    }
    ak.softmax(rnd([2, 3], 61), {}, verified().opts);
  });

  test('topK over more scores than one readback chunk (2^24 values) matches reference', () => {
    const users = rnd([512, 16], 71);
    const items = rnd([40000, 16], 72); // 512 x 40000 = 2.05e7 scores: two chunks
    const reports = [];
    ak.topK(users, items, 10, { exclude: Array.from({ length: 512 }, (_, b) => (b % 3 ? null : [b, 39999])) }, { backend: 'gpu', verify: { rows: 12 }, onReport: (r) => reports.push(r.verify) });
    assert.ok(reports[0].passed && reports[0].elementsChecked > 0);
  });

  test('a row longer than the gpu reads correctly (32767 entries) is refused, naming the limit', () => {
    const isRowLimit = (e) => e instanceof ak.GpuLimitError && e.limit === 'MAX_ROW_LENGTH' && /32767/.test(e.message);
    const x = rnd([1, 32768], 81);
    assert.throws(() => ak.softmax(x, {}, { backend: 'gpu' }), isRowLimit);
    assert.throws(() => ak.layerNorm(x, null, null, {}, { backend: 'gpu' }), isRowLimit);
    const q = rnd([1, 1, 1, 4], 82), kv = rnd([1, 1, 40000, 4], 83);
    assert.throws(() => ak.sdpa(q, kv, kv, {}, { backend: 'gpu' }), isRowLimit);
    // The longest allowed row is right (the shared spec checks softmax there too).
    const reports = [];
    ak.layerNorm(rnd([1, 32767], 84), null, null, {}, { backend: 'gpu', verify: true, onReport: (r) => reports.push(r.verify) });
    assert.ok(reports[0].passed, 'layerNorm over 32767 columns verifies');
    // The backward ops' sums over rows (dW, db, dGamma, dBeta) loop down a column: the same limit.
    const isColumnLimit = (e) => isRowLimit(e) && /rows of a column/.test(e.message);
    assert.throws(() => ak.linearBackward(rnd([32768, 2], 85), rnd([32768, 3], 86), rnd([3, 2], 87), { backend: 'gpu' }), isColumnLimit);
    const xl = rnd([32768, 3], 88);
    assert.throws(() => ak.layerNormBackward(rnd([32768, 3], 89), xl, null, ak.layerNorm(xl, null, null, { returnStats: true }), { backend: 'gpu' }), isColumnLimit);
    const lr = [];
    ak.linearBackward(rnd([32767, 2], 85), rnd([32767, 3], 86), rnd([3, 2], 87), { backend: 'gpu', verify: true, onReport: (r) => lr.push(r.verify) });
    assert.ok(lr[0].passed, 'linearBackward over 32767 rows verifies');
  });

  test('an output beyond what one kernel is verified to read back (2^25 values) is refused, naming the limit', () => {
    const x = { data: new Float32Array(1024 * 32769), shape: [1024, 32769] };
    assert.throws(() => ak.gelu(x, {}, { backend: 'gpu' }), (e) => e instanceof ak.GpuLimitError && e.limit === 'MAX_OUTPUT_VALUES' && /2\^25/.test(e.message));
  });

  test.run();
}
