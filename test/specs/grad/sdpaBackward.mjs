// sdpaBackward's gradient cases (see index.mjs): the forward is the float64 sdpa oracle
// (oracleSdpa of ../oracle.mjs, written from the definition) over q, k, v and the bias; the
// backward call gets out and lse from the reference forward (float32, as a user gets them with
// returnLse), and the independent oracle (oracleSdpaBackward) gets them from the float64 forward.
// Every option of the forward: grouped-query heads, L != S both ways, every causal form, windows,
// masks with empty rows, key lengths with an empty batch, softcap, layouts, and biases of several
// broadcast shapes with their gradient (dBias, summed over the broadcast axes).
import * as ak from 'attnkit';
import { oracleSdpa, oracleSdpaBackward } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

const maskOf = (shape, f) => {
  const n = shape.reduce((a, b) => a * b, 1);
  const data = new Uint8Array(n);
  const idx = new Array(shape.length).fill(0);
  for (let e = 0; e < n; e++) {
    data[e] = f(...idx) ? 1 : 0;
    for (let a = shape.length - 1; a >= 0; a--) {
      if (++idx[a] < shape[a]) break;
      idx[a] = 0;
    }
  }
  return { data, shape };
};

/**
 * One case: sizes [B, Hq, Hkv, L, S, D, Dv], forward options `opts` (mask, keyLengths, causal,
 * window, softcap, scale, layout), and optionally a bias of shape `biasShape` (its gradient
 * checked too). `qScale` sets the inputs' spread (the logits' size).
 */
function sdpaCase(label, [B, Hq, Hkv, L, S, D, Dv], opts, { biasShape = null, seed = 1, qScale = 1 } = {}) {
  const bl = opts.layout === 'blhd';
  const shape = (H, T, X) => (bl ? [B, T, H, X] : [B, H, T, X]);
  const inputs = {
    q: tensor64(shape(Hq, L, D), seed, qScale),
    k: tensor64(shape(Hkv, S, D), seed + 1, qScale),
    v: tensor64(shape(Hkv, S, Dv), seed + 2),
  };
  if (biasShape) inputs.bias = tensor64(biasShape, seed + 3);
  const outShape = shape(Hq, L, Dv);
  const dOut = rand64(outShape.reduce((a, b) => a * b, 1), seed + 4);
  const withBias = (bias) => (bias ? { ...opts, bias } : opts);
  const forward = (x) => oracleSdpa(x.q, x.k, x.v, withBias(x.bias)).output;
  const grads = { q: 'dq', k: 'dk', v: 'dv' };
  if (biasShape) grads.bias = 'dBias';
  const oracle = (x, g) => {
    const f = oracleSdpa(x.q, x.k, x.v, withBias(x.bias));
    return oracleSdpaBackward({ data: g, shape: outShape }, x.q, x.k, x.v, { data: f.output, shape: outShape }, { data: f.lse, shape: [B, Hq, L] }, { ...withBias(x.bias), returnDBias: !!x.bias });
  };
  // The largest gradient element of the case (any input), for the absolute part of the tolerance.
  let largest = 0;
  for (const a of Object.values(oracle(inputs, dOut))) for (const x of a) largest = Math.max(largest, Math.abs(x));
  return {
    label,
    forward,
    inputs,
    dOut,
    call(x, g) {
      const fwd = ak.sdpa(x.q, x.k, x.v, { ...withBias(x.bias), returnLse: true }, { backend: 'reference' });
      return ak.sdpaBackward({ data: g, shape: outShape }, x.q, x.k, x.v, fwd.output, fwd.lse, { ...withBias(x.bias), returnDBias: !!x.bias }, { backend: 'reference' });
    },
    grads,
    oracle,
    tol: { rtol: 2 ** -20, atol: Math.max(1e-8, 2 ** -20 * largest) },
    why:
      "the op's contract takes out and lse as the forward returns them, in float32: P = exp(z - lse) and δ = dOut·out carry their 2^-24 rounding, " +
      'which reaches each gradient element as an absolute error of that order times the gradients\' size (δ\'s error times Σ_j P_j k_j in dq, for one), ' +
      'not relative to the element: measured below 3.2e-7 of the largest gradient element over these cases (reference vs the float64 oracle), so atol = 2^-20 of it',
  };
}

/** The gradient cases of sdpaBackward. */
export function gradCases() {
  const offsets = new Int32Array([-2, 3]);
  return [
    sdpaCase('plain, one head', [1, 1, 1, 4, 6, 3, 2], {}),
    sdpaCase('one key (P = 1: dq = dk = 0)', [1, 2, 1, 3, 1, 4, 3], {}, { seed: 5 }),
    sdpaCase('one query, grouped-query 3:1', [1, 3, 1, 1, 7, 5, 4], {}, { seed: 9 }),
    sdpaCase('L > S, grouped-query 2:1, odd sizes', [2, 4, 2, 9, 5, 3, 5], {}, { seed: 13 }),
    sdpaCase('causal bottom-right, L < S', [1, 2, 2, 4, 7, 4, 3], { causal: true }, { seed: 17 }),
    sdpaCase("causal 'top-left', L > S (rows past the keys)", [1, 2, 1, 7, 4, 3, 3], { causal: 'top-left' }, { seed: 21 }),
    sdpaCase('causal { offset: [-2, 3] }: empty first rows in batch 0', [2, 2, 1, 5, 6, 3, 2], { causal: { offset: offsets } }, { seed: 25 }),
    sdpaCase('window { left: 1, right: 2 }, no causal', [1, 2, 1, 6, 8, 3, 2], { window: { left: 1, right: 2 } }, { seed: 29 }),
    sdpaCase('causal + window left 2 + keyLengths [5, 0] (an empty batch)', [2, 2, 2, 4, 6, 3, 3], { causal: true, window: { left: 2 }, keyLengths: new Int32Array([5, 0]) }, { seed: 33 }),
    sdpaCase('mask with empty rows, broadcast [L,S]', [1, 2, 1, 5, 6, 4, 3], { mask: maskOf([5, 6], (i, j) => i !== 2 && (i + j) % 3 !== 0) }, { seed: 37 }),
    sdpaCase('scale 0.7, larger logits (inputs ±2.5)', [1, 2, 2, 4, 5, 6, 2], { scale: 0.7 }, { seed: 41, qScale: 2.5 }),
    sdpaCase('softcap 2 over logits up to ~±6 (inputs ±2.5)', [1, 2, 1, 4, 6, 4, 3], { softcap: 2, scale: 1 }, { seed: 45, qScale: 2.5 }),
    sdpaCase('softcap 5 + bias [Hq,L,S], dBias', [1, 2, 1, 3, 5, 3, 2], { softcap: 5, causal: 'top-left' }, { seed: 49, biasShape: [2, 3, 5] }),
    sdpaCase('bias [B,Hq,L,S] (no broadcast), dBias', [2, 2, 1, 3, 4, 3, 2], {}, { seed: 53, biasShape: [2, 2, 3, 4] }),
    sdpaCase('bias [S] (broadcast over batch, heads, rows), dBias sums them', [2, 2, 2, 3, 5, 3, 2], { causal: true }, { seed: 57, biasShape: [5] }),
    sdpaCase('bias [B,1,1,S] (key padding bias) + mask, dBias', [2, 3, 1, 4, 5, 2, 3], { mask: maskOf([2, 1, 4, 5], (b, _h, i, j) => (b + i + j) % 4 !== 1) }, { seed: 61, biasShape: [2, 1, 1, 5] }),
    sdpaCase('bias [B,1,L,1] (row-constant: dBias = Σ_j dZ = 0)', [2, 2, 1, 3, 4, 3, 2], {}, { seed: 65, biasShape: [2, 1, 3, 1] }),
    sdpaCase('layout blhd, causal, window, bias [Hq,1,S], dBias', [2, 4, 2, 5, 6, 3, 2], { layout: 'blhd', causal: true, window: { left: 3 } }, { seed: 69, biasShape: [4, 1, 6] }),
    sdpaCase('layout blhd, grouped-query, softcap 3, keyLengths', [2, 2, 1, 3, 5, 4, 3], { layout: 'blhd', softcap: 3, keyLengths: new Int32Array([4, 2]) }, { seed: 73 }),
  ];
}
