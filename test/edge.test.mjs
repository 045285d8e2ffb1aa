// Numerical edge cases on every available backend, for sdpa, multiHeadAttention,
// additiveAttention, targetAttention, softmax and hstuAttention: logits of ±1e30 and ±1e4, denormal inputs,
// all-equal rows, S = 1, rows whose bias is all -Infinity, NaN in a masked position (must not leak)
// and NaN in an unmasked position (must reach only the rows that read it). Every call runs with
// `verify: true` (cross-checked against reference by the dispatcher) and is then checked explicitly.
//
// Documented backend difference, asserted rather than skipped: the gpu backend's GLSL (WebGL1
// highp on llvmpipe / most GPUs) flushes float32 denormals to zero, so an output whose exact value
// is denormal may come back as 0 (or as the denormal): `denormalOk` accepts exactly that on gpu.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import * as ak from 'attnkit';
import { backendWanted, rnd } from './specs/util.mjs';

const BACKENDS = ak.backends().filter((b) => b.available && backendWanted(b.name));
const T = (shape, fill) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Float32Array(n);
  for (let i = 0; i < n; i++) data[i] = typeof fill === 'function' ? fill(i) : fill;
  return { data, shape };
};
const M = (shape, fn) => ({ data: Uint8Array.from({ length: shape.reduce((a, b) => a * b, 1) }, (_, i) => (fn(i) ? 1 : 0)), shape });
const DENORM = 3e-39; // below float32's smallest normal (1.18e-38)

let VERIFY = true; // per-test override where float32 conditioning is the limit (stated there)
/** Call op `fn` through its descriptor (omitted trailing arguments are undefined), verified against reference. */
function call(backend, fn, ...args) {
  const reports = [];
  const res = ak.OPS[fn].call(args, { backend, verify: backend !== 'reference' && VERIFY, onReport: (r) => reports.push(r) });
  if (backend !== 'reference') assert.ok(reports[0]?.verify?.passed, `${fn} on ${backend}: verified against reference`);
  return res;
}
const out = (res) => (res.data ? res.data : res.output.data);
function near(a, b, tol, what) {
  if (!(Math.abs(a - b) <= tol)) assert.unreachable(`${what}: got ${a}, want ${b} (±${tol})`);
}
/** On gpu a denormal exact value may be flushed to 0; elsewhere it must be kept (relative 1e-3). */
function denormalOk(backend, got, want, what) {
  if (backend === 'gpu' && got === 0) return;
  if (!(Math.abs(got - want) <= 1e-3 * Math.abs(want))) assert.unreachable(`${what}: got ${got}, want ${want}`);
}

for (const { name: be, ops } of BACKENDS) {
  const has = (op) => ops.includes(op);

  if (has('sdpa')) {
    test(`${be} sdpa: bias of ±1e30 and logits of ±1e4 (no overflow, no NaN)`, () => {
      const S = 5, D = 4;
      const q = rnd([1, 1, 3, D], 1), k = rnd([1, 1, S, D], 2), v = rnd([1, 1, S, 3], 3);
      // +1e30 on key 2 for every row: all the weight on key 2
      let o = out(call(be, 'sdpa', q, k, v, { bias: T([S], (j) => (j === 2 ? 1e30 : 0)) }));
      for (let i = 0; i < 3; i++) for (let c = 0; c < 3; c++) near(o[i * 3 + c], v.data[2 * 3 + c], 1e-6, `+1e30 row ${i}`);
      // -1e30 on every key but 4: all the weight on key 4
      o = out(call(be, 'sdpa', q, k, v, { bias: T([S], (j) => (j === 4 ? 0 : -1e30)) }));
      for (let c = 0; c < 3; c++) near(o[c], v.data[4 * 3 + c], 1e-6, '-1e30 elsewhere');
      // the same huge bias on every key: uniform over all keys (the shift cancels)
      o = out(call(be, 'sdpa', q, k, v, { bias: T([S], 1e30), scale: 0 }));
      for (let c = 0; c < 3; c++) near(o[c], [0, 1, 2, 3, 4].reduce((s, j) => s + v.data[j * 3 + c], 0) / S, 1e-5, 'uniform +1e30');
      // logits ±1e4 through q·k: q = ±100, k = 100 with D = 1 and scale 1
      const q1 = T([1, 1, 2, 1], (i) => (i === 0 ? 100 : -100)), k1 = T([1, 1, S, 1], (j) => (j === 3 ? 100 : 99)), v1 = T([1, 1, S, 1], (j) => j);
      const res = call(be, 'sdpa', q1, k1, v1, { scale: 1, returnLse: true });
      near(out(res)[0], 3, 1e-6, 'logit +1e4: argmax key'); // 1e4 vs 9.9e3: exp(-100) ≈ 0
      near(out(res)[1], (0 + 1 + 2 + 4) / 4, 1e-5, 'logit -1e4: the four larger logits (-9.9e3) share');
      assert.ok(Number.isFinite(res.lse.data[0]) && Math.abs(res.lse.data[0] - 1e4) <= 1, `lse ${res.lse.data[0]}`);
    });

    test(`${be} sdpa: denormal inputs, all-equal rows, S = 1`, () => {
      const S = 4;
      const v = T([1, 1, S, 2], (i) => DENORM * (1 + (i % 3)));
      // denormal q and k: logits underflow to 0 -> uniform weights; output = mean of v (denormal)
      const o = out(call(be, 'sdpa', T([1, 1, 2, 3], DENORM), T([1, 1, S, 3], DENORM), v));
      for (let c = 0; c < 2; c++) {
        const want = [0, 1, 2, 3].reduce((s, j) => s + v.data[j * 2 + c], 0) / S;
        denormalOk(be, o[c], Math.fround(want), `denormal mean col ${c}`);
      }
      // all-equal rows (q = 0): uniform weights, exact mean of v
      const vv = rnd([1, 2, 6, 3], 9);
      const res = call(be, 'sdpa', T([1, 2, 3, 5], 0), rnd([1, 2, 6, 5], 8), vv, { returnWeights: true });
      for (const w of res.weights.data) near(w, 1 / 6, 1e-6, 'uniform weight');
      // S = 1: output is v exactly, weight 1
      const v1 = rnd([2, 1, 1, 4], 11);
      const r1 = call(be, 'sdpa', rnd([2, 1, 3, 4], 10, 50), rnd([2, 1, 1, 4], 12, 50), v1, { returnWeights: true });
      for (let b = 0; b < 2; b++) for (let i = 0; i < 3; i++) for (let c = 0; c < 4; c++) near(r1.output.data[(b * 3 + i) * 4 + c], v1.data[b * 4 + c], 1e-6, 'S=1');
      for (const w of r1.weights.data) near(w, 1, 1e-6, 'S=1 weight');
    });

    test(`${be} sdpa: a row whose bias is all -Infinity gives zeros and lse -Infinity; NaN masked does not leak; NaN unmasked reaches only its rows`, () => {
      const B = 2, L = 3, S = 4, D = 3;
      const q = rnd([B, 1, L, D], 20), k = rnd([B, 1, S, D], 21), v = rnd([B, 1, S, 2], 22);
      // row (b=0,i=1): every key -Infinity
      const bias = T([B, 1, L, S], (f) => (f >= S && f < 2 * S ? -Infinity : 0));
      const r = call(be, 'sdpa', q, k, v, { bias, returnWeights: true, returnLse: true });
      for (let c = 0; c < 2; c++) assert.is(r.output.data[1 * 2 + c], 0, 'empty row output 0');
      for (let j = 0; j < S; j++) assert.is(r.weights.data[S + j], 0, 'empty row weights 0');
      assert.is(r.lse.data[1], -Infinity, 'empty row lse');
      assert.ok(r.output.data.every(Number.isFinite), 'no NaN anywhere');
      // NaN in k and v of key 2 of batch 0, masked out for every row: the output equals the clean one
      const kn = { data: k.data.slice(), shape: k.shape }, vn = { data: v.data.slice(), shape: v.shape };
      for (let d = 0; d < D; d++) kn.data[2 * D + d] = NaN;
      vn.data[2 * 2] = NaN;
      const mask = M([B, 1, 1, S], (f) => f !== 2);
      const clean = out(call(be, 'sdpa', q, k, v, { mask }));
      const masked = out(call(be, 'sdpa', q, kn, vn, { mask }));
      for (let i = 0; i < clean.length; i++) near(masked[i], clean[i], 1e-6, `masked NaN leaked at ${i}`);
      // the same NaN unmasked: every row of batch 0 (they all read key 2) is NaN, batch 1 untouched
      const leaky = out(call(be, 'sdpa', q, kn, vn));
      const ref = out(call(be, 'sdpa', q, k, v));
      for (let i = 0; i < L * 2; i++) assert.ok(Number.isNaN(leaky[i]), `batch 0 element ${i} NaN`);
      for (let i = L * 2; i < 2 * L * 2; i++) near(leaky[i], ref[i], 1e-6, `batch 1 element ${i} untouched`);
      // NaN in one query row: only that row
      const qn = { data: q.data.slice(), shape: q.shape };
      qn.data[(1 * L + 2) * D] = NaN; // b=1, i=2
      const qo = out(call(be, 'sdpa', qn, k, v));
      for (let row = 0; row < B * L; row++) for (let c = 0; c < 2; c++) {
        if (row === L + 2) assert.ok(Number.isNaN(qo[row * 2 + c]), 'NaN row');
        else near(qo[row * 2 + c], ref[row * 2 + c], 1e-6, `row ${row} untouched by another row's NaN`);
      }
      // NaN in the bias of one masked position does not leak; in an unmasked one only that row
      const bn = T([B, 1, L, S], (f) => (f === 5 ? NaN : 0)); // (b0, i1, j1)
      const mo = out(call(be, 'sdpa', q, k, v, { bias: bn, mask: M([B, 1, L, S], (f) => f !== 5) }));
      const mref = out(call(be, 'sdpa', q, k, v, { mask: M([B, 1, L, S], (f) => f !== 5) }));
      for (let i = 0; i < mo.length; i++) near(mo[i], mref[i], 1e-6, `masked NaN bias leaked at ${i}`);
      const uo = out(call(be, 'sdpa', q, k, v, { bias: bn }));
      for (let row = 0; row < B * L; row++) for (let c = 0; c < 2; c++) {
        if (row === 1) assert.ok(Number.isNaN(uo[row * 2 + c]), 'NaN-bias row is NaN');
        else near(uo[row * 2 + c], ref[row * 2 + c], 1e-6, `row ${row} untouched by NaN bias`);
      }
    });
  }

  if (has('multiHeadAttention')) {
    test(`${be} multiHeadAttention: ±1e30 bias, all -Infinity row, NaN masked / unmasked key`, () => {
      const E = 4, L = 2, S = 3;
      const p = { wq: rnd([E, E], 30), wk: rnd([E, E], 31), wv: rnd([E, E], 32), wo: rnd([E, E], 33) };
      const x = rnd([1, L, E], 34), kv = rnd([1, S, E], 35);
      const opts = (o) => ({ numHeads: 2, ...o });
      const big = out(call(be, 'multiHeadAttention', x, kv, kv, p, opts({ bias: T([S], (j) => (j === 1 ? 1e30 : -1e30)) })));
      const one = out(call(be, 'multiHeadAttention', x, kv, kv, p, opts({ mask: M([S], (j) => j === 1) })));
      for (let i = 0; i < big.length; i++) near(big[i], one[i], 1e-5, '±1e30 bias = only key 1');
      const empty = call(be, 'multiHeadAttention', x, kv, kv, p, opts({ bias: T([1, 2, L, S], (f) => (f < S ? -Infinity : 0)), returnLse: true }));
      assert.is(empty.lse.data[0], -Infinity, 'head 0 row 0 empty: lse -Infinity');
      assert.ok(empty.output.data.every(Number.isFinite), 'no NaN from an empty head row');
      const kn = { data: kv.data.slice(), shape: kv.shape };
      kn.data[2 * E] = NaN; // key/value row 2
      const m = M([S], (j) => j !== 2);
      const a = out(call(be, 'multiHeadAttention', x, kn, kn, p, opts({ mask: m })));
      const b = out(call(be, 'multiHeadAttention', x, kv, kv, p, opts({ mask: m })));
      for (let i = 0; i < a.length; i++) near(a[i], b[i], 1e-5, 'masked NaN key did not leak');
      const c = out(call(be, 'multiHeadAttention', x, kn, kn, p, opts()));
      assert.ok(c.every(Number.isNaN), 'unmasked NaN key reaches every row that reads it (all)');
    });
  }

  if (has('additiveAttention')) {
    test(`${be} additiveAttention: scores of ±1e4 and ±1e30, denormal keys, S = 1, NaN masked / unmasked`, () => {
      const B = 2, L = 2, S = 4, Dk = 3, A = 2;
      const keys = rnd([B, S, Dk], 40), values = rnd([B, S, 2], 41), query = rnd([B, L, 3], 42);
      for (const mag of [1e4, 1e30]) {
        // At 1e30, tanh must not saturate: float32 rounds tanh(x > 9) to exactly 1, so keys that
        // float64 separates by 1e22 in score would tie (uniform weights instead of one-hot).
        const p = { wq: rnd([3, A], 43), wk: rnd([Dk, A], 44, mag === 1e4 ? 20 : 1), b: T([A], 0), v: T([A], mag) };
        // Scores mag·tanh(.) with tanh near ±1: float32 resolves tanh to 2^-24, so a score carries
        // an absolute error of ~mag·6e-8 (6e-4 at 1e4) that the softmax turns into a relative error
        // of the same size; reference computes tanh in float64. Verify at that conditioning.
        VERIFY = { rtol: mag === 1e4 ? 4 * 1e4 * 2 ** -23 : 1e-4, atol: 1e-5 };
        const r = call(be, 'additiveAttention', query, keys, values, p, { returnWeights: true });
        VERIFY = true;
        assert.ok(r.output.data.every(Number.isFinite), `scores ±${mag}: finite`);
        for (let row = 0; row < B * L; row++) near(r.weights.data.slice(row * S, row * S + S).reduce((s, x) => s + x, 0), 1, 1e-5, 'weights sum to 1');
      }
      const p = { wq: rnd([3, A], 45), wk: rnd([Dk, A], 46), b: rnd([A], 47), v: rnd([A], 48) };
      const dn = out(call(be, 'additiveAttention', null, T([B, S, Dk], DENORM), T([B, S, 2], DENORM), p));
      for (const x of dn) denormalOk(be, x, Math.fround(DENORM), 'denormal pooling');
      const s1 = out(call(be, 'additiveAttention', query, rnd([B, 1, Dk], 49), T([B, 1, 2], (i) => i + 1), p));
      for (let b = 0; b < B; b++) for (let i = 0; i < L; i++) for (let c = 0; c < 2; c++) near(s1[(b * L + i) * 2 + c], b * 2 + c + 1, 1e-6, 'S=1');
      const kn = { data: keys.data.slice(), shape: keys.shape };
      kn.data[(0 * S + 3) * Dk] = NaN; // batch 0, key 3
      const m = M([B, 1, S], (f) => f !== 3);
      const a = out(call(be, 'additiveAttention', query, kn, values, p, { mask: m }));
      const c = out(call(be, 'additiveAttention', query, keys, values, p, { mask: m }));
      for (let i = 0; i < a.length; i++) near(a[i], c[i], 1e-6, 'masked NaN key');
      const u = out(call(be, 'additiveAttention', query, kn, values, p));
      const ref = out(call(be, 'additiveAttention', query, keys, values, p));
      for (let i = 0; i < L * 2; i++) assert.ok(Number.isNaN(u[i]), 'batch 0 NaN');
      for (let i = L * 2; i < 2 * L * 2; i++) near(u[i], ref[i], 1e-6, 'batch 1 untouched');
    });
  }

  if (has('targetAttention')) {
    test(`${be} targetAttention: activations of ±1e4 / ±1e30 under softmax, padded NaN history does not leak, NaN item reaches only its user`, () => {
      const B = 2, S = 4, D = 2;
      const t = rnd([B, D], 50), h = rnd([B, S, D], 51);
      for (const mag of [1e4, 1e30]) {
        const layers = [{ w: rnd([4 * D, 3], 52), b: rnd([3], 53) }, { w: T([3, 1], mag), b: T([1], 0) }];
        const r = call(be, 'targetAttention', t, h, { layers }, { activation: 'relu', normalize: 'softmax', returnWeights: true });
        assert.ok(r.output.data.every(Number.isFinite), `±${mag}: finite`);
        for (let b = 0; b < B; b++) near(r.weights.data.slice(b * S, b * S + S).reduce((s, x) => s + x, 0), 1, 1e-5, 'softmax weights sum to 1');
      }
      const layers = [{ w: rnd([4 * D, 3], 54), b: rnd([3], 55) }, { w: rnd([3, 1], 56), b: rnd([1], 57) }];
      const hn = { data: h.data.slice(), shape: h.shape };
      hn.data[(0 * S + 3) * D] = NaN; // user 0, item 3
      for (const normalize of ['none', 'softmax']) {
        const lens = Int32Array.from([3, 4]);
        const a = out(call(be, 'targetAttention', t, hn, { layers }, { normalize, keyLengths: lens }));
        const c = out(call(be, 'targetAttention', t, h, { layers }, { normalize, keyLengths: lens }));
        for (let i = 0; i < a.length; i++) near(a[i], c[i], 1e-6, `${normalize}: padded NaN did not leak`);
        const u = out(call(be, 'targetAttention', t, hn, { layers }, { normalize }));
        const ref = out(call(be, 'targetAttention', t, h, { layers }, { normalize }));
        for (let d = 0; d < D; d++) assert.ok(Number.isNaN(u[d]), `${normalize}: user 0 NaN`);
        for (let d = 0; d < D; d++) near(u[D + d], ref[D + d], 1e-6, `${normalize}: user 1 untouched`);
      }
      // S = 1 with softmax: weight 1 on the only item
      const r1 = call(be, 'targetAttention', t, rnd([B, 1, D], 58), { layers }, { normalize: 'softmax', returnWeights: true });
      for (const w of r1.weights.data) near(w, 1, 1e-6, 'S=1 weight');
    });
  }

  if (has('softmax')) {
    test(`${be} softmax: ±1e30, ±1e4, -Infinity rows, denormals, all-equal rows, NaN masked / unmasked`, () => {
      const x = { data: Float32Array.from([1e30, 0, -1e30, 5, /**/ 1e4, -1e4, 1e4 - 1, 0, /**/ -Infinity, -Infinity, -Infinity, -Infinity, /**/ 7, 7, 7, 7, /**/ DENORM, -DENORM, 0, DENORM]), shape: [5, 4] };
      const o = out(call(be, 'softmax', x, null));
      const want = [1, 0, 0, 0, 1 / (1 + Math.exp(-1)), 0, Math.exp(-1) / (1 + Math.exp(-1)), 0, 0, 0, 0, 0, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25, 0.25];
      for (let i = 0; i < want.length; i++) near(o[i], want[i], 1e-6, `softmax[${i}]`);
      const xn = { data: Float32Array.from([1, NaN, 2, 3, /**/ 1, 2, 3, 4]), shape: [2, 4] };
      const mo = out(call(be, 'softmax', xn, { mask: M([1, 4], (j) => j !== 1) }));
      assert.is(mo[1], 0, 'masked NaN position is 0');
      assert.ok(mo.every(Number.isFinite), 'masked NaN did not leak');
      const uo = out(call(be, 'softmax', xn, null));
      for (let j = 0; j < 4; j++) assert.ok(Number.isNaN(uo[j]), 'row 0 NaN');
      const r1 = out(call(be, 'softmax', { data: Float32Array.from([1, 2, 3, 4]), shape: [1, 4] }, null));
      for (let j = 0; j < 4; j++) near(uo[4 + j], r1[j], 1e-7, 'row 1 untouched');
      const s1 = out(call(be, 'softmax', { data: Float32Array.from([-1e30, 1e30, 3]), shape: [3, 1] }, null));
      for (const v of s1) near(v, 1, 0, 'S = 1 is exactly 1');
    });
  }

  if (has('hstuAttention')) {
    test(`${be} hstuAttention: logits of ±1e4 and ±1e30 (SiLU saturates: z and -0, no NaN), NaN only where a row reads it`, () => {
      const offsets = Int32Array.of(0, 2, 3);
      const j = (data, X = 1) => ({ values: { data: Float32Array.from(data), shape: [data.length / X, 1, X] }, offsets });
      const v = j([3, 5, 7]);
      for (const big of [1e4, 1e15]) {
        // Row 0: z = big·big·α; row 1: z_10 the same, z_11 = -(big²α): SiLU = -0; row 2 (its own sequence): z = big².
        const alpha = 1e4 / (big * big);
        const y = out(call(be, 'hstuAttention', j([big, big, big]), j([big, -big, big]), v, { alpha }).values);
        const s = 1e4 / (1 + Math.exp(-1e4)); // SiLU(1e4) = 1e4
        // Within 1e-6 relative: a float32 logit of 1e4 carries its rounding (and q = 1e15's).
        near(y[0], (s / 2) * 3, 1e-6 * s * 3, `row 0 (|z| = 1e4 from q, k of ${big})`);
        near(y[1], (s / 2) * 3, 1e-6 * s * 3, 'row 1 (the -1e4 logit adds -0·5)');
        near(y[2], (s / 2) * 7, 1e-6 * s * 7, 'row 2 (its own sequence; N = 2)');
      }
      // A huge but finite logit (1e30): SiLU(1e30)/N·v stays finite in float32 (1e30·3/2).
      const y = out(call(be, 'hstuAttention', j([1e15, 1, 1]), j([1e15, 1, 1]), v, { alpha: 1 }).values);
      assert.ok(Number.isFinite(y[0]) && Math.abs(y[0] / 1.5e30 - 1) < 1e-5, `SiLU(1e30)/2·3 = ${y[0]}`);
      // NaN in v of event 1 (row 1 of sequence 0): row 0 cannot see it (causal), row 1 reads it.
      const yn = out(call(be, 'hstuAttention', j([1, 2, 3]), j([1, 1, 1]), j([3, NaN, 7]), {}).values);
      assert.ok(Number.isFinite(yn[0]) && Number.isNaN(yn[1]) && Number.isFinite(yn[2]), `NaN reaches row 1 only: [${Array.from(yn)}]`);
    });
  }

  // The backward ops are linear in dy: dy·2^100 and dy·2^-60 (huge and tiny gradients, exact
  // scalings) must give exactly that multiple of the result for dy, every output, on every backend
  // (no overflow in the sums; 2^-60, not 2^-100, keeps every partial sum and native
  // softmaxBackward's two-float row sum normal, where a scaling stays exact). The unscaled call is verified against reference; the scaled ones are
  // compared bit for bit with it instead (their absolute errors scale with 2^100, so verify's
  // atol does not apply to them).
  const scaled = (t, f) => ({ data: t.data.map((v) => v * f), shape: t.shape });
  const fieldsOf = (r) => (r.data ? { output: r.data } : Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v.data])));
  const sm = (x) => {
    const C = x.shape[1];
    return { data: x.data.map((_v, i) => { const r = Math.floor(i / C); let m = -Infinity, z = 0; for (let c = 0; c < C; c++) m = Math.max(m, x.data[r * C + c]); for (let c = 0; c < C; c++) z += Math.exp(x.data[r * C + c] - m); return Math.exp(x.data[i] - m) / z; }), shape: x.shape };
  };
  const lnx = rnd([6, 37], 71, 2);
  const BACKWARD = {
    softmaxBackward: (dy) => [dy, sm(rnd([6, 37], 70, 3)), {}],
    layerNormBackward: (dy) => [dy, lnx, rnd([37], 72), ak.layerNorm(lnx, null, null, { returnStats: true }, { backend: 'reference' })],
    linearBackward: (dy) => [dy, rnd([6, 29], 73), rnd([29, 37], 74, 0.2)],
    geluBackward: (dy) => [dy, rnd([6, 37], 75, 4), { approximate: 'tanh' }],
    siluBackward: (dy) => [dy, rnd([6, 37], 76, 4), {}],
    // dOut of 6 events (sequences of 4 and 2) x 1 head x 37; q, k [6,1,5], a position table.
    hstuAttentionBackward: (dy) => {
      const offsets = Int32Array.of(0, 4, 6);
      const j = (t) => ({ values: t, offsets });
      return [j({ data: dy.data, shape: [6, 1, 37] }), j(rnd([6, 1, 5], 78)), j(rnd([6, 1, 5], 79)), j(rnd([6, 1, 37], 80)), { positionBias: rnd([7], 81) }];
    },
  };
  for (const [op, argsOf] of Object.entries(BACKWARD)) {
    if (!has(op)) continue;
    test(`${be} ${op}: dy·2^100 and dy·2^-60 scale the result exactly`, () => {
      const dy = rnd([6, 37], 77);
      const base = fieldsOf(call(be, op, ...argsOf(dy)));
      for (const e of [100, -60]) {
        const got = fieldsOf(ak.OPS[op].call(argsOf(scaled(dy, 2 ** e)), { backend: be }));
        for (const [k, v] of Object.entries(base)) {
          assert.ok(v.some((z) => z !== 0), `${op} ${k}: a non-trivial result`);
          v.forEach((z, i) => {
            if (got[k][i] !== Math.fround(z * 2 ** e)) assert.unreachable(`${op} ${k}[${i}] with dy·2^${e}: got ${got[k][i]}, want ${z}·2^${e}`);
          });
        }
      }
    });
  }
}

test.run();
