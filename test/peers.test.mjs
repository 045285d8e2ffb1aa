// The bench's peers of the training ops (bench/peers/onnx-graphs-training.js, tfjs-training.js)
// against attnkit's float64 reference: every onnxruntime graph and tfjs form, on cases that take
// each option the graphs handle (gelu's tanh form, layerNorm without gamma, a padding index, AdamW
// maximize, additive attention with and without qa), must compute the op's function: each
// output's max abs error within a stated bound. A wrong graph (a sign, a missing term, a swapped
// transpose) is off by O(1) and fails here. The checker itself is shown to catch a wrong output.
// Needs the dev dependencies onnxruntime-node and @tensorflow/tfjs (skipped, visibly, without).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { createRequire } from 'module';
import * as ak from 'attnkit';

const require = createRequire(import.meta.url);
const { ortOpPeers, tfjsOpPeer, flatArgs, referenceChecker } = require('../bench/peers/op-peers.js');
const { loadOrt } = require('../bench/peers/onnx.js');
const haveOrt = !!loadOrt().ort;
let haveTf = true;
try {
  require.resolve('@tensorflow/tfjs');
} catch {
  haveTf = false;
}

/** Seeded uniform values in [-scale, scale) (a 32-bit LCG, high bits). */
function rnd(n, seed, scale = 1) {
  let s = seed >>> 0 || 1;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    out[i] = ((s >>> 8) / 2 ** 24 * 2 - 1) * scale;
  }
  return out;
}
const T = (data, shape) => ({ data, shape });
/** Row-wise softmax of [R, C] values. */
function softmaxRows(x, R, C) {
  const y = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    let m = -Infinity, s = 0;
    for (let c = 0; c < C; c++) m = Math.max(m, x[r * C + c]);
    for (let c = 0; c < C; c++) s += Math.exp(x[r * C + c] - m);
    for (let c = 0; c < C; c++) y[r * C + c] = Math.exp(x[r * C + c] - m) / s;
  }
  return y;
}
/** The mean and 1/std (eps 1e-5) of each row, as a forward layerNorm saves them. */
function statsOf(x, R, C) {
  const mean = new Float32Array(R), invStd = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    let m = 0, v = 0;
    for (let c = 0; c < C; c++) m += x[r * C + c];
    m /= C;
    for (let c = 0; c < C; c++) v += (x[r * C + c] - m) ** 2;
    mean[r] = m;
    invStd[r] = 1 / Math.sqrt(v / C + 1e-5);
  }
  return { mean: T(mean, [R]), invStd: T(invStd, [R]) };
}

// Bounds on each peer's max abs error against the float64 reference: elementwise outputs of O(1)
// are float32 results a few roundings off (measured ≤ 6.6e-7 over these cases on ORT 1.30 and
// tfjs cpu/wasm: siluBackward at |x| up to 8; bound 2e-6, 3x); sums over rows of O(1) terms carry
// float32 summation error growing with the row count (measured ≤ 9.5e-6 here at 300 rows: db of
// linearBackward; bound 3e-4, loose, as the sum order is the library's). A wrong graph is off by
// O(0.1-1): dropping the padding index's Where fails the embeddingBackward case, and ScatterND
// (reduction 'add'), which races on duplicate indices at 2 threads, fails the 20000-position one
// (tried: max abs 0.48).
const ELEMENTWISE = 2e-6;
const SUMS = 3e-4;

const R = 37, C = 129; // odd sizes: no multiple of any SIMD width
const x = rnd(R * C, 3, 3), dy = rnd(R * C, 4);
const B = 5, L = 3, S = 11, Dv = 7, A = 9;
const weightsOf = (seed) => {
  const w = softmaxRows(rnd(B * L * S, seed, 2), B * L, S);
  w[4] = 0; // an excluded key (finite inputs there: its pairs add exact zeros)
  return w;
};
const CASES = [
  ['softmaxBackward', 'odd sizes', [T(dy, [R, C]), T(softmaxRows(rnd(R * C, 5, 4), R, C), [R, C]), {}], ELEMENTWISE],
  ['geluBackward', 'exact', [T(dy, [R, C]), T(x, [R, C]), {}], ELEMENTWISE],
  ['geluBackward', 'tanh form', [T(dy, [R, C]), T(x, [R, C]), { approximate: 'tanh' }], ELEMENTWISE],
  ['siluBackward', 'odd sizes', [T(dy, [R, C]), T(rnd(R * C, 6, 8), [R, C]), {}], ELEMENTWISE],
  ['layerNormBackward', 'gamma, 300 rows', [T(rnd(300 * 33, 7), [300, 33]), T(rnd(300 * 33, 8, 2), [300, 33]), T(rnd(33, 9), [33]), statsOf(rnd(300 * 33, 8, 2), 300, 33)], SUMS],
  ['layerNormBackward', 'no gamma', [T(dy, [R, C]), T(x, [R, C]), null, statsOf(x, R, C)], SUMS],
  ['linearBackward', '300 rows, 17 -> 23', [T(rnd(300 * 23, 10), [300, 23]), T(rnd(300 * 17, 11), [300, 17]), T(rnd(17 * 23, 12, 0.3), [17, 23])], SUMS],
  ['additiveScoresBackward', 'with qa, a zero weight', [T(rnd(B * L * Dv, 13), [B, L, Dv]), T(rnd(B * S * Dv, 14), [B, S, Dv]), T(weightsOf(15), [B, L, S]), T(rnd(B * L * A, 16), [B, L, A]), T(rnd(B * S * A, 17), [B, S, A]), T(rnd(A, 18), [A])], SUMS],
  ['additiveScoresBackward', 'pooled (qa null)', [T(rnd(B * L * Dv, 19), [B, L, Dv]), T(rnd(B * S * Dv, 20), [B, S, Dv]), T(weightsOf(21), [B, L, S]), null, T(rnd(B * S * A, 22), [B, S, A]), T(rnd(A, 23), [A])], SUMS],
  ['embeddingBackward', 'duplicates, padding index 3', [T(rnd(200 * 13, 24), [200, 13]), Int32Array.from({ length: 200 }, (_, i) => (i * 7) % 11), 11, { paddingIndex: 3 }], SUMS],
  // ~400 positions per item: a scatter-add that races on duplicates at 2 threads loses updates.
  ['embeddingBackward', '20000 positions into 50 items', [T(rnd(20000 * 64, 29, 0.1), [20000, 64]), Int32Array.from({ length: 20000 }, (_, i) => (i * 13) % 50), 50, {}], SUMS],
  ['adamStep', 'step 5, weight decay, maximize', [T(rnd(R * C, 25), [R, C]), T(rnd(R * C, 26, 0.1), [R, C]), { m: rnd(R * C, 27, 0.01), v: rnd(R * C, 28, 0.01).map((t) => t * t), step: 4 }, { lr: 0.01, weightDecay: 0.1, maximize: true }], ELEMENTWISE],
];

/** `fn` as a test, or a visible skip when the library is missing. */
const when = (have, name, fn) => (have ? test : test.skip)(name, fn);

for (const [op, label, args, bound] of CASES) {
  // At 2 intra-op threads, as the bench runs them, and 8 calls each: a graph whose result changes
  // from call to call (a race in a parallel kernel) fails as surely as a wrong one.
  when(haveOrt, `onnxruntime graphs of ${op} (${label}) within ${bound} of reference, 8 calls at 2 threads`, async () => {
    const res = await ortOpPeers(op, { args }, 2);
    assert.is(res.errors.length, 0, res.errors.join('; '));
    assert.ok(res.peers.length > 0, `${op}: a graph`);
    const check = referenceChecker(op, flatArgs(op, args));
    for (const p of res.peers) {
      let worst = p.err;
      for (let i = 0; i < 7; i++) {
        const e = check(await p.run());
        if (!(e.maxAbs <= worst.maxAbs)) worst = e;
      }
      p.release();
      process.stdout.write(`  ${op} ${label} ${p.name}: max abs ${worst.maxAbs.toPrecision(2)}${worst.note ? ` (${worst.note})` : ''}\n`);
      assert.ok(worst.maxAbs <= bound, `${op} ${label} ${p.name}: max abs error ${worst.maxAbs} > ${bound} (${worst.note ?? ''})`);
    }
  });
  when(haveTf, `tfjs forms of ${op} (${label}) within ${bound} of reference`, async () => {
    for (const be of ['cpu', 'wasm']) {
      const res = await tfjsOpPeer(be, op, { args }, 1);
      assert.not.ok(res.error, res.error);
      res.peer.release();
      process.stdout.write(`  ${op} ${label} ${res.peer.name}: max abs ${res.peer.err.maxAbs.toPrecision(2)}\n`);
      assert.ok(res.peer.err.maxAbs <= bound, `${op} ${label} ${res.peer.name}: max abs error ${res.peer.err.maxAbs} > ${bound} (${res.peer.err.note ?? ''})`);
    }
  });
}

when(haveOrt, 'a case a graph cannot express is refused with what is missing', async () => {
  const xInf = x.slice();
  xInf[5] = Infinity;
  for (const op of ['geluBackward', 'siluBackward']) {
    const res = await ortOpPeers(op, { args: [T(dy, [R, C]), T(xInf, [R, C]), {}] }, 1);
    assert.is(res.peers.length, 0);
    assert.match(res.errors.join(' '), /±Infinity/);
  }
  const args = CASES.find(([op, label]) => op === 'additiveScoresBackward' && /qa,/.test(label))[2].slice();
  const ka = args[4].data.slice();
  ka.fill(NaN, 4 * A, 5 * A); // batch 0, key 4, which row 0 excludes (weight 0): the dense graph would spread it
  args[4] = T(ka, args[4].shape);
  const res = await ortOpPeers('additiveScoresBackward', { args }, 1);
  assert.is(res.peers.length, 0);
  assert.match(res.errors.join(' '), /non-finite values or projections at excluded/);
});

test('the checker catches a wrong output in any one output (a reduction included) and a missing one', () => {
  const args = CASES.find(([op]) => op === 'linearBackward')[2];
  const flat = flatArgs('linearBackward', args);
  const check = referenceChecker('linearBackward', flat);
  const right = ak.referenceKernels.linearBackward(flat);
  assert.ok(check(right).maxAbs <= SUMS, 'the reference passes its own check');
  // dx is compared on sampled rows: all of it is off; dW and db are compared whole: their last element.
  for (const [f, which] of [['dx', 'every element'], ['dW', 'the last element'], ['db', 'the last element']]) {
    const wrong = { ...right, [f]: right[f].map((t, i) => (which === 'every element' || i === right[f].length - 1 ? t + 0.5 : t)) };
    assert.ok(check(wrong).maxAbs >= 0.5 - 1e-6, `${which} of ${f} wrong is seen`);
  }
  assert.ok(Number.isNaN(check({ dx: right.dx, dW: right.dW }).maxAbs), 'a missing output is NaN');
});

test.run();
