// linearBackward's gradient cases: the forward is oracleLinear (float64 x·w + b).
import * as ak from 'attnkit';
import { ORACLES, oracleLinear } from '../oracle.mjs';
import { rand64, tensor64 } from './fd.mjs';

function linearCase(label, xShape, O, seed) {
  const I = xShape[xShape.length - 1];
  const outShape = [...xShape.slice(0, -1), O];
  const x = tensor64(xShape, seed), w = tensor64([I, O], seed + 1, 0.5), b = tensor64([O], seed + 2);
  return {
    label,
    forward: (inp) => oracleLinear(inp.x, inp.w, inp.b).output,
    inputs: { x, w, b },
    dOut: rand64(outShape.reduce((p, d) => p * d, 1), seed + 3),
    call: (inp32, dOut32) => ak.linearBackward({ data: dOut32, shape: outShape }, inp32.x, inp32.w, { backend: 'reference' }),
    grads: { x: 'dx', w: 'dW', b: 'db' },
    oracle: (inp, dOut) => ORACLES.linearBackward([{ data: dOut, shape: outShape }, inp.x, inp.w]),
  };
}

export function gradCases() {
  return [
    linearCase('[5,4]x[4,3]', [5, 4], 3, 1),
    linearCase('[1,1]x[1,1]', [1, 1], 1, 5),
    linearCase('[2,3,7]x[7,5] rank 3', [2, 3, 7], 5, 9),
    linearCase('[9,1]x[1,6] In = 1', [9, 1], 6, 13),
    linearCase('[3,17]x[17,1] Out = 1', [3, 17], 1, 17),
    linearCase('[40,6]x[6,4] many rows', [40, 6], 4, 21),
  ];
}
