/**
 * A linear layer in the x·W layout.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { LinearArgs } from '../kernels';
import { ShapeError, formatShape } from '../errors';
import { asFloatTensor, type Tensor, type FloatTensorLike } from '../tensor';
import { HalfFields, floatMatrix, floatVector, rowsCols } from '../validate';
import { randShape, randT, rnd, shapeOf } from './cases';
import { rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, type OpCase, type OpDescriptor } from './descriptor';

function prepareLinear(x: FloatTensorLike, w: FloatTensorLike, b?: FloatTensorLike | null): Prepared<'linear', Tensor> {
  const t = asFloatTensor(x, 'x');
  if (t.shape.length < 1) throw new ShapeError('x', '[...,N] (rank >= 1)', formatShape(t.shape));
  const { rows, cols } = rowsCols(t.shape);
  const wt = floatMatrix(w, 'w', cols, -1, 'In', 'Out');
  const outDim = wt.shape[1];
  const half = new HalfFields();
  const bias = half.take('b', floatVector(b, 'b', outDim, 'Out', true));
  const outShape = [...t.shape.slice(0, -1), outDim];
  const args: LinearArgs = { x: half.take('x', t), rows, inDim: cols, outDim, w: half.take('w', wt), b: bias, dtypes: half.dtypes };
  return { op: 'linear', args, layout: () => rowMajorLayout(rows, { output: outShape }), wrap: (r) => ({ data: r, shape: outShape }) };
}

/** A linear layer in the x·W layout: x `[...,In]`, w `[In,Out]`, optional b `[Out]` → `[...,Out]`. */
export function linear(x: FloatTensorLike, w: FloatTensorLike, b?: FloatTensorLike | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareLinear(x, w, b), dispatchOptions);
}

/** The async twin of {@link linear}. */
export function linearAsync(x: FloatTensorLike, w: FloatTensorLike, b?: FloatTensorLike | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareLinear(x, w, b), dispatchOptions);
}

/** The linear descriptor. */
export const linearOp: OpDescriptor<'linear'> = defineOp({
  name: 'linear',
  summary: 'a linear layer x·W + b (GEMM)',
  signature: 'linear(x, w, b?, dispatch?)',
  params: [{ name: 'x', kind: 'tensor' }, { name: 'w', kind: 'tensor', dims: ['In', 'Out'] }, { name: 'b', kind: 'tensor?', dims: ['Out'] }],
  options: {},
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 7.5e-6, then 9.7e-7 of atol needed at 4x that rtol (max abs 5.7e-6).
    // max rel by input type: bfloat16 2.3e-6, float16 3.6e-6, float32 7.5e-6, mixed 4.2e-6.
    native: { rtol: 3.1e-5, atol: 3.9e-6 },
    // gpu on llvmpipe: max rel 6.3e-6, then 7e-7 of atol (max abs 5.7e-6).
    gpu: { rtol: 2.6e-5, atol: 2.9e-6 },
  },
  cost: (s) => {
    const { M, I, O } = s as Record<string, number>;
    return { flops: 2 * M * I * O, bytes: 4 * (M * I + I * O + O + M * O) };
  },
  fn: linear,
  fnAsync: linearAsync,
  native: { isaKernel: true },
  half: true,
  cases: {
    knownAnswers() {
      const t = (data: number[], shape: number[]) => ({ data: new Float32Array(data), shape });
      return [{ label: 'a 3x2 by 2x3 product plus bias', args: [t([1, 2, 3, 4, 5, 6], [3, 2]), t([1, 0, 2, 0, 1, -1], [2, 3]), t([0.5, 0, 0], [3])], want: { output: [1.5, 2, 0, 3.5, 4, 2, 5.5, 6, 4] } }];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const [M, I, O] of [[1, 1, 1], [3, 17, 5], [65, 63, 129], [200, 64, 64], [7, 129, 1]]) {
        cases.push({ label: `[${M},${I}]x[${I},${O}]${O % 2 ? ' + b' : ''}`, args: [rnd([M, I], M + I), rnd([I, O], I + O, 0.2), O % 2 ? rnd([O], O) : null] });
      }
      cases.push({ label: '[2,3,17]x[17,9] (rank 3)', args: [rnd([2, 3, 17], 50), rnd([17, 9], 51, 0.2), rnd([9], 52)] });
      // Long reductions: the error grows with K (FFN down-projections, wide layers).
      cases.push({ label: '[5,4096]x[4096,17] (K = 4096)', args: [rnd([5, 4096], 53), rnd([4096, 17], 54, 0.05), rnd([17], 55)] });
      return cases;
    },
    bench(quick) {
      const shapes = quick ? [{ M: 1600, I: 64, O: 64 }] : [{ M: 25600, I: 64, O: 64 }, { M: 1024, I: 1024, O: 1024 }];
      return shapes.map((s) => ({ label: s.I === 64 ? 'SASRec projection' : 'square', shape: s, make: () => ({ args: [rnd([s.M, s.I], 19), rnd([s.I, s.O], 20, 0.1), rnd([s.O], 21)] }) }));
    },
    random(R) {
      const shape = randShape(R, 1, 3, 6);
      const out = R.int(1, 7);
      return [randT(R, shape), randT(R, [shape[shape.length - 1], out]), R.bool() ? randT(R, [out]) : null];
    },
    small: () => [rnd([4, 16], 30), rnd([16, 8], 31), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      const w = a[1] as { data: Float32Array; shape: number[] };
      a[1] = { data: w.data, shape: [shapeOf(w)[0] + 1, w.data.length] };
      return 'w rows lie';
    },
  },
});
