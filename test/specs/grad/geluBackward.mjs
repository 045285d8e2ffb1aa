// geluBackward's gradient cases: the forward is oracleGelu (float64: exact x·Φ(x) with Φ by
// integration, or the tanh form).
import * as ak from 'attnkit';
import { ORACLES, oracleGelu } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

function geluCase(label, x, approximate, seed) {
  return {
    label,
    forward: (inp) => oracleGelu(inp.x, approximate).output,
    inputs: { x },
    dOut: rand64(x.data.length, seed, 2),
    call: (inp32, dOut32) => ak.geluBackward({ data: dOut32, shape: x.shape }, inp32.x, { approximate }, { backend: 'reference' }),
    grads: { x: 'output' },
    oracle: (inp, dOut) => ORACLES.geluBackward([{ data: dOut, shape: x.shape }, inp.x, { approximate }]),
  };
}

export function gradCases() {
  const wide = (seed) => tensor64([7, 9], seed, 6); // [-6, 6): both tails and the middle
  return [
    geluCase('[7,9] exact, x in [-6,6)', wide(1), 'none', 2),
    geluCase('[7,9] tanh, x in [-6,6)', wide(3), 'tanh', 4),
    geluCase('[1,1] exact, one element', tensor64([1, 1], 5, 1), 'none', 6),
    geluCase('[2,5] tanh, small |x| (< 0.01)', tensor64([2, 5], 7, 0.01), 'tanh', 8),
    geluCase('[3,4] exact, small |x| (< 0.01)', tensor64([3, 4], 9, 0.01), 'none', 10),
  ];
}
