'use strict';
// The benchmark and verify cases: default shapes per op, seeded input builders, and the flop
// count of every op (written down here, used for GFLOP/s and share of peak).
const ak = require('../dist/cjs/index.js');

const rnd = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};

/**
 * Visible (query, key) pairs of one (b, h) slice: L*S, or for causal (bottom-right aligned)
 * Σ_i clamp(i + S - L + 1, 0, S). sdpa flops = 2·B·H·(D + Dv)·pairs: the work a kernel that skips
 * masked-out tiles must do (for non-causal D = Dv this is the usual 4·B·H·L·S·D).
 */
function visiblePairs(L, S, causal) {
  if (!causal) return L * S;
  let n = 0;
  for (let i = 0; i < L; i++) n += Math.max(0, Math.min(S, i + S - L + 1));
  return n;
}

const FLOPS = {
  sdpa: ({ B, H, Hkv, L, S, D, causal }) => 2 * B * H * 2 * D * visiblePairs(L, S, causal),
  multiHeadAttention: ({ B, L, E, H, causal }) => {
    const D = E / H;
    return 2 * B * L * E * E * 4 + 2 * B * H * 2 * D * visiblePairs(L, L, causal);
  },
  transformerEncoderLayer: ({ B, L, E, H, F, causal }) => FLOPS.multiHeadAttention({ B, L, E, H, causal }) + 4 * B * L * E * F,
  additiveAttention: ({ B, L, S, D, A }) => 2 * B * S * D * A + 2 * B * L * D * A + 3 * B * L * S * A + 2 * B * L * S * D,
  targetAttention: ({ B, S, D, hidden }) => {
    let per = 0;
    let inDim = 4 * D;
    for (const h of [...hidden, 1]) {
      per += 2 * inDim * h;
      inDim = h;
    }
    return B * S * (per + 3 * D) + 2 * B * S * D;
  },
  topK: ({ B, N, D }) => 2 * B * N * D,
  linear: ({ M, I, O }) => 2 * M * I * O,
  softmax: ({ R, C }) => 4 * R * C, // max, sub+exp, sum, scale: nominal 4 per element
  layerNorm: ({ R, C }) => 7 * R * C, // mean, centre, square-sum, scale, gamma, beta: nominal 7
  gelu: ({ R, C }) => 10 * R * C, // nominal 10 per element (erf polynomial)
};

const mlp = (D, hidden, seed) => {
  const layers = [];
  let inDim = 4 * D;
  [...hidden, 1].forEach((out, l) => {
    layers.push({ w: rnd([inDim, out], seed + 2 * l, 0.2), b: rnd([out], seed + 2 * l + 1, 0.1) });
    inDim = out;
  });
  return { layers };
};

const encoderParams = (E, F, seed) => ({
  attention: { wq: rnd([E, E], seed, 0.2), bq: rnd([E], seed + 1, 0.1), wk: rnd([E, E], seed + 2, 0.2), bk: rnd([E], seed + 3, 0.1), wv: rnd([E, E], seed + 4, 0.2), bv: rnd([E], seed + 5, 0.1), wo: rnd([E, E], seed + 6, 0.2), bo: rnd([E], seed + 7, 0.1) },
  norm1: { gamma: rnd([E], seed + 8, 0.5), beta: rnd([E], seed + 9, 0.1) },
  ffn: { w1: rnd([E, F], seed + 10, 0.2), b1: rnd([F], seed + 11, 0.1), w2: rnd([F, E], seed + 12, 0.2), b2: rnd([E], seed + 13, 0.1) },
  norm2: { gamma: rnd([E], seed + 14, 0.5), beta: rnd([E], seed + 15, 0.1) },
});

/** A case: op, label, shape object, and make() → { run(dispatchOptions), runAsync?, sdpaInputs? }. */
function sdpaCase(label, B, H, L, S, D, causal = false) {
  const shape = { B, H, Hkv: H, L, S, D, causal };
  return {
    op: 'sdpa', label, shape, flops: FLOPS.sdpa(shape),
    make() {
      const q = rnd([B, H, L, D], 1);
      const k = rnd([B, H, S, D], 2);
      const v = rnd([B, H, S, D], 3);
      const opts = { causal };
      // runOut: the same call writing into one preallocated output (options.out), as a caller
      // that reuses its buffers would: no allocation, no page faults on fresh memory.
      const out = new Float32Array(B * H * L * D);
      const optsOut = { causal, out };
      return { q, k, v, opts, run: (d) => ak.sdpa(q, k, v, opts, d), runOut: (d) => ak.sdpa(q, k, v, optsOut, d) };
    },
  };
}

const SDPA_SHAPES = [
  ['small', 1, 8, 128, 128, 64],
  ['', 1, 8, 512, 512, 64],
  ['', 4, 8, 256, 256, 64],
  ['', 1, 12, 1024, 1024, 64],
  ['causal', 1, 8, 512, 512, 64, true],
  ['decode', 1, 32, 1, 4096, 128],
  ['DIN-sized', 256, 1, 1, 50, 32],
];

function shapeLabel(op, s) {
  if (op === 'sdpa') return `(${s.B},${s.H},${s.L},${s.S},${s.D})`;
  return Object.entries(s).filter(([, v]) => v !== false && v !== undefined).map(([k, v]) => (v === true ? k : `${k}=${Array.isArray(v) ? v.join('-') : v}`)).join(' ');
}

/** Default (or quick) cases for every op. */
function defaultCases({ quick = false } = {}) {
  const cases = [];
  const sdpaShapes = quick ? [SDPA_SHAPES[0], ['causal', 1, 8, 256, 256, 64, true], ['decode', 1, 8, 1, 1024, 64], SDPA_SHAPES[6]] : SDPA_SHAPES;
  for (const [tag, B, H, L, S, D, causal] of sdpaShapes) cases.push({ ...sdpaCase(tag, B, H, L, S, D, !!causal) });
  // SASRec-sized: B=128, L=200, E=64, 2 heads, causal; FFN width F = E as in SASRec.
  const sas = quick ? { B: 8, L: 50, E: 64, H: 2, causal: true } : { B: 128, L: 200, E: 64, H: 2, causal: true };
  cases.push({
    op: 'multiHeadAttention', label: 'SASRec-sized self-attention', shape: sas, flops: FLOPS.multiHeadAttention(sas),
    make() {
      const x = rnd([sas.B, sas.L, sas.E], 4);
      const p = encoderParams(sas.E, sas.E, 5).attention;
      return { run: (d) => ak.multiHeadAttention(x, x, x, p, { numHeads: sas.H, causal: true }, d) };
    },
  });
  const enc = { ...sas, F: sas.E };
  cases.push({
    op: 'transformerEncoderLayer', label: 'SASRec-sized block', shape: enc, flops: FLOPS.transformerEncoderLayer(enc),
    make() {
      const x = rnd([enc.B, enc.L, enc.E], 6);
      const p = encoderParams(enc.E, enc.F, 7);
      return { run: (d) => ak.transformerEncoderLayer(x, p, { numHeads: enc.H, causal: true, norm: 'pre', activation: 'gelu' }, d) };
    },
  });
  const add = quick ? { B: 32, L: 1, S: 50, D: 64, A: 64 } : { B: 256, L: 1, S: 50, D: 64, A: 64 };
  cases.push({
    op: 'additiveAttention', label: 'attention over 50 items', shape: add, flops: FLOPS.additiveAttention(add),
    make() {
      const q = rnd([add.B, add.L, add.D], 8);
      const k = rnd([add.B, add.S, add.D], 9);
      const p = { wq: rnd([add.D, add.A], 10, 0.2), wk: rnd([add.D, add.A], 11, 0.2), b: rnd([add.A], 12, 0.1), v: rnd([add.A], 13) };
      return { run: (d) => ak.additiveAttention(q, k, k, p, {}, d) };
    },
  });
  const din = quick ? { B: 32, S: 50, D: 32, hidden: [80, 40] } : { B: 256, S: 50, D: 32, hidden: [80, 40] };
  cases.push({
    op: 'targetAttention', label: 'DIN activation unit', shape: din, flops: FLOPS.targetAttention(din),
    make() {
      const t = rnd([din.B, din.D], 14);
      const h = rnd([din.B, din.S, din.D], 15);
      const p = mlp(din.D, din.hidden, 16);
      return { run: (d) => ak.targetAttention(t, h, p, { activation: 'sigmoid' }, d) };
    },
  });
  const tk = quick ? { B: 64, N: 10000, D: 64, k: 10 } : { B: 1024, N: 100000, D: 64, k: 10 };
  cases.push({
    op: 'topK', label: 'users x item table', shape: tk, flops: FLOPS.topK(tk),
    make() {
      const u = rnd([tk.B, tk.D], 17);
      const it = rnd([tk.N, tk.D], 18);
      return { run: (d) => ak.topK(u, it, tk.k, {}, d) };
    },
  });
  const lin = quick ? [{ M: 1600, I: 64, O: 64 }] : [{ M: 25600, I: 64, O: 64 }, { M: 1024, I: 1024, O: 1024 }];
  for (const s of lin) {
    cases.push({
      op: 'linear', label: s.I === 64 ? 'SASRec projection' : 'square', shape: s, flops: FLOPS.linear(s),
      make() {
        const x = rnd([s.M, s.I], 19);
        const w = rnd([s.I, s.O], 20, 0.1);
        const b = rnd([s.O], 21);
        return { run: (d) => ak.linear(x, w, b, d) };
      },
    });
  }
  const ew = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
  cases.push({ op: 'softmax', label: 'rows of logits', shape: ew, flops: FLOPS.softmax(ew), make() { const x = rnd([ew.R, ew.C], 22, 4); return { run: (d) => ak.softmax(x, {}, d) }; } });
  const ln = quick ? { R: 1600, C: 64 } : { R: 25600, C: 64 };
  cases.push({ op: 'layerNorm', label: 'SASRec rows', shape: ln, flops: FLOPS.layerNorm(ln), make() { const x = rnd([ln.R, ln.C], 23); const g = rnd([ln.C], 24); const b = rnd([ln.C], 25); return { run: (d) => ak.layerNorm(x, g, b, {}, d) }; } });
  cases.push({ op: 'gelu', label: 'FFN activations', shape: ew, flops: FLOPS.gelu(ew), make() { const x = rnd([ew.R, ew.C], 26, 3); return { run: (d) => ak.gelu(x, {}, d) }; } });
  for (const c of cases) c.shapeText = shapeLabel(c.op, c.shape) + (c.label ? ` ${c.label}` : '');
  return cases;
}

module.exports = { defaultCases, FLOPS, visiblePairs, rnd, mlp, encoderParams, SDPA_SHAPES, shapeLabel };
