// siluBackward's gradient cases: the forward is oracleSilu (float64 x·σ(x)).
import * as ak from 'attnkit';
import { ORACLES, oracleSilu } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

function siluCase(label, x, seed) {
  return {
    label,
    forward: (inp) => oracleSilu(inp.x).output,
    inputs: { x },
    dOut: rand64(x.data.length, seed, 2),
    call: (inp32, dOut32) => ak.siluBackward({ data: dOut32, shape: x.shape }, inp32.x, null, { backend: 'reference' }),
    grads: { x: 'output' },
    oracle: (inp, dOut) => ORACLES.siluBackward([{ data: dOut, shape: x.shape }, inp.x]),
  };
}

export function gradCases() {
  return [
    siluCase('[7,9] x in [-8,8)', tensor64([7, 9], 1, 8), 2),
    siluCase('[1,1] one element', tensor64([1, 1], 3, 1), 4),
    siluCase('[3,5] large |x| (< 30)', tensor64([3, 5], 5, 30), 6),
    siluCase('[2,4,3] rank 3, small |x| (< 0.01)', tensor64([2, 4, 3], 7, 0.01), 8),
  ];
}
