// softmaxBackward's gradient cases: the forward is oracleSoftmax (float64; a mask or -Infinity
// excludes), the backward op gets the forward's output y (rounded to float32) and dOut.
import * as ak from 'attnkit';
import { ORACLES, oracleSoftmax } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

/** A case over logits x (optional mask): grads of x through y = softmax(x). */
function softmaxCase(label, x, mask, seed) {
  const forward = (inp) => oracleSoftmax(inp.x, mask).output;
  const y64 = (inp) => ({ data: forward(inp), shape: inp.x.shape });
  const dOut = rand64(x.data.length, seed);
  const maxDy = dOut.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
  return {
    label,
    forward,
    inputs: { x },
    dOut,
    // The op's input is the forward's output rounded to float32 (|Δy_k| <= 2^-24·y_k), which moves
    // dx_j = y_j(dy_j − Σ dy∘y) by up to 2^-24·y_j(|dy_j − s| + max|dy|) <= 3·2^-24·max|dy|:
    // near-one-hot rows (a dominant y = 1 − ε) make that a large relative error on small dx.
    tol: { rtol: 2 ** -20, atol: Math.max(1e-8, 3 * 2 ** -24 * maxDy) },
    why: "y is the forward's output rounded to float32: dx moves by up to 3·2^-24·max|dy| (derived above)",
    call: (inp32, dOut32) => ak.softmaxBackward({ data: dOut32, shape: x.shape }, { data: Float32Array.from(forward(inp32)), shape: x.shape }, null, { backend: 'reference' }),
    grads: { x: 'output' },
    oracle: (inp, dOut) => ORACLES.softmaxBackward([{ data: dOut, shape: x.shape }, y64(inp), {}]),
  };
}

export function gradCases() {
  const maskOf = (shape, f) => {
    const [R, C] = shape;
    return { data: Uint8Array.from({ length: R * C }, (_, i) => (f(Math.floor(i / C), i % C) ? 1 : 0)), shape };
  };
  return [
    softmaxCase('[3,7] logits ±3', tensor64([3, 7], 1, 3), null, 2),
    softmaxCase('[1,1] one entry (dx = 0)', tensor64([1, 1], 3, 1), null, 4),
    softmaxCase('[4,5] masked entries and a fully masked row', tensor64([4, 5], 5, 2), maskOf([4, 5], (r, c) => r !== 2 && (r + c) % 3 !== 0), 6),
    softmaxCase('[2,3,9] rank 3', tensor64([2, 3, 9], 7, 2), null, 8),
    softmaxCase('[2,6] large logits (±20)', tensor64([2, 6], 9, 20), null, 10),
    softmaxCase('[1,301] a long row', tensor64([1, 301], 11, 4), null, 12),
  ];
}
