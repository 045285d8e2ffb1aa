/**
 * Softmax over the last axis, with an optional mask.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { SoftmaxArgs } from '../kernels';
import type { MaskLike, Tensor, TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { nonScalar, optionalMask, optionalOut, rowsCols } from '../validate';
import { broadcastShape, maskOf, normalLogits, optionsArg, randMask, randShape, randT, rnd, shapeOf, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link softmax}. */
export interface SoftmaxOptions {
  /** Bool mask broadcastable to x's shape; masked positions get 0, a fully masked row is all zeros. */
  mask?: MaskLike | null;
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareSoftmax(x: TensorLike, options?: SoftmaxOptions | null): Prepared<'softmax', Tensor> {
  const t = nonScalar(x, 'x');
  const o = optionsFor<SoftmaxOptions>(softmaxOp, options);
  const { rows, cols } = rowsCols(t.shape);
  const mask = optionalMask(o.mask, 'options.mask', t.shape, 'x.shape');
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data], ['options.mask', mask?.data]]);
  const args: SoftmaxArgs = { x: t.data, shape: t.shape, rows, cols, mask, out };
  return { op: 'softmax', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/**
 * Softmax over the last axis (float64 accumulation in reference). Masked and -Infinity entries get
 * 0; a row with nothing left is all zeros; a NaN or +Infinity makes its own row NaN.
 *
 * @example
 * const p = softmax(fromNested([[1, 2, 3]]));
 */
export function softmax(x: TensorLike, options?: SoftmaxOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareSoftmax(x, options), dispatchOptions);
}

/** The async twin of {@link softmax}. */
export function softmaxAsync(x: TensorLike, options?: SoftmaxOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareSoftmax(x, options), dispatchOptions);
}

/** The softmax descriptor. */
export const softmaxOp: OpDescriptor<'softmax'> = defineOp({
  name: 'softmax',
  summary: 'softmax over the last axis, with an optional broadcast mask',
  signature: 'softmax(x, options?, dispatch?)',
  params: [{ name: 'x', kind: 'tensor' }, 'options'],
  options: {
    mask: { kind: 'mask', doc: "bool mask broadcastable to x's shape" },
    out: { kind: 'out', doc: 'write the result into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 4.7e-7, then 3.9e-22 of atol needed at 4x that rtol (max abs 2.4e-7).
    native: { rtol: 1.9e-6, atol: 1.6e-21 },
    // gpu on llvmpipe: max rel 7.9e-7, then 7.7e-23 of atol (max abs 1.8e-7).
    gpu: { rtol: 3.2e-6, atol: 3.1e-22 },
  },
  // Nominal 4 flops per element: max, subtract + exp, sum, scale.
  cost: (s) => ({ flops: 4 * (s.R as number) * (s.C as number), bytes: 8 * (s.R as number) * (s.C as number) }),
  fn: softmax,
  fnAsync: softmaxAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const e = [Math.exp(1), Math.exp(2), Math.exp(3)];
      const s = e[0] + e[1] + e[2];
      return [
        { label: 'exp(x)/sum, and a constant row', args: [{ data: new Float32Array([1, 2, 3, 0, 0, 0]), shape: [2, 3] }, {}], want: { output: [e[0] / s, e[1] / s, e[2] / s, 1 / 3, 1 / 3, 1 / 3] } },
        {
          label: 'masked entries, a fully masked row, -Infinity',
          args: [{ data: new Float32Array([1, 2, 3, 4, 5, 6, 1, -Infinity, 1]), shape: [3, 3] }, { mask: maskOf([3, 3], (i, j) => i !== 1 && !(i === 0 && j === 2)) }],
          want: { output: [1 / (1 + Math.E), Math.E / (1 + Math.E), 0, 0, 0, 0, 0.5, 0, 0.5] },
        },
        { label: 'NaN makes its own row NaN', args: [{ data: new Float32Array([1, NaN, 0, 1, 1, 1]), shape: [2, 3] }, {}], want: { output: [NaN, NaN, NaN, 1 / 3, 1 / 3, 1 / 3] } },
      ];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) {
        cases.push({ label: `[${R},${C}] masked`, args: [rnd([R, C], R + C, 5), { mask: maskOf([R, C], (i, j) => (i + j) % 3 !== 0 || C === 1) }] });
      }
      cases.push({ label: '[2,3,129] mask [2,1,129]', args: [rnd([2, 3, 129], 3, 30), { mask: maskOf([2, 1, 129], (...i) => (i[0] + i[2]) % 3 !== 0) }] });
      cases.push({ label: '[3,5] logits ±1e4', args: [rnd([3, 5], 4, 1e4), {}], logitMagnitude: 1e4 });
      cases.push({ label: '[2,4] ±Infinity entries', args: [tensorOf([2, 4], (i, j) => (j === 1 ? -Infinity : i === 1 && j === 2 ? Infinity : j)), {}] });
      // Long rows of normal logits (sd 2-4): many entries carry weight, so the sum's rounding shows above atol.
      for (const [shape, sd] of (quick ? [[[6, 1000], 4]] : [[[6, 1000], 4], [[2, 20000], 3], [[1, 32767], 2]]) as [number[], number][]) {
        cases.push({ label: `[${shape}] normal logits (sd ${sd})`, args: [normalLogits(shape, 7, sd), {}] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [{ label: 'rows of logits', shape: s, make: () => { const x = rnd([s.R, s.C], 22, 4); return { args: [x, {}], outArgs: [x, { out: new Float32Array(s.R * s.C) }] }; } }];
    },
    random(R) {
      const shape = randShape(R, 1, 4, 5);
      const o: Record<string, unknown> = {};
      if (R.bool(0.4)) o.mask = randMask(R, broadcastShape(R, shape));
      return [randT(R, shape, 4), o];
    },
    small: () => [rnd([4, 16], 27), null],
  },
  fuzz: {
    broadcastTarget: (a) => ({ shape: shapeOf(a[0]), bias: false }),
    lengthsTarget: () => null,
    invalidate(_R, a) {
      optionsArg(a, 1).mask = 'x';
      return "options.mask := 'x'";
    },
  },
});
