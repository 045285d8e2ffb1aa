/**
 * The backward of SiLU (swish): the vector-Jacobian product (docs/TRAINING.md).
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { SiluBackwardArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { expectShape, optionalOut, rowsCols } from '../validate';
import { randShape, randT, rnd, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link siluBackward}. */
export interface SiluBackwardOptions {
  /**
   * Write dx into this Float32Array (exactly as many elements as x, sharing no memory with dy or
   * x) and return it as the result tensor's data, instead of allocating a new array (see sdpa's
   * `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareSiluBackward(dy: TensorLike, x: TensorLike, options?: SiluBackwardOptions | null): Prepared<'siluBackward', Tensor> {
  const dyt = asTensor(dy, 'dy');
  const xt = asTensor(x, 'x');
  expectShape(dyt, 'dy', xt.shape, 'x.shape');
  const { rows, cols } = rowsCols(xt.shape);
  const o = optionsFor<SiluBackwardOptions>(siluBackwardOp, options);
  const out = optionalOut(o.out, 'options.out', xt.data.length, `x.shape=${formatShape(xt.shape)}`, [['dy', dyt.data], ['x', xt.data]]);
  const args: SiluBackwardArgs = { dy: dyt.data, x: xt.data, rows, cols, out };
  return { op: 'siluBackward', args, layout: () => rowMajorLayout(rows, { output: xt.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: xt.shape }) };
}

/**
 * The gradient of SiLU with respect to its input x, elementwise:
 * `dx = dy · (σ(x) + x·σ(x)(1 − σ(x)))`, σ the logistic sigmoid. At x = ±Infinity the limits
 * silu' = 1 and 0 are used; NaN stays NaN.
 */
export function siluBackward(dy: TensorLike, x: TensorLike, options?: SiluBackwardOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareSiluBackward(dy, x, options), dispatchOptions);
}

/** The async twin of {@link siluBackward}. */
export function siluBackwardAsync(dy: TensorLike, x: TensorLike, options?: SiluBackwardOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareSiluBackward(dy, x, options), dispatchOptions);
}

/** The siluBackward descriptor. */
export const siluBackwardOp: OpDescriptor<'siluBackward'> = defineOp({
  name: 'siluBackward',
  summary: "SiLU's backward, elementwise: dx = dy · (σ(x) + x·σ(x)(1 − σ(x)))",
  signature: 'siluBackward(dy, x, options?, dispatch?)',
  params: [{ name: 'dy', kind: 'tensor' }, { name: 'x', kind: 'tensor' }, 'options'],
  options: {
    out: { kind: 'out', doc: 'write dx into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks, the quick bench cases and a grid of x in [-100, 100] (dy = 1).
    // Native, worst ISA: max rel error 2.7e-7, then 3.8e-8 of atol needed at 4x that rtol (max abs 2.4e-7).
    native: { rtol: 1.1e-6, atol: 1.6e-7 },
    // gpu on llvmpipe: max rel 3.9e-7, then 3.2e-8 of atol (max abs 2.4e-7).
    gpu: { rtol: 1.6e-6, atol: 1.3e-7 },
  },
  // Nominal 8 flops per element (exp, add, divide, the product rule).
  cost: (s) => ({ flops: 8 * (s.R as number) * (s.C as number), bytes: 12 * (s.R as number) * (s.C as number) }),
  fn: siluBackward,
  fnAsync: siluBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      // σ(x)(1 + x(1 − σ(x))) at ±1, 2, -3, ±10, 0.5 (to 16 digits, float64), 0.5 at 0, the limits
      // 1 and 0 at ±Infinity; dy = 2 at x = 2.
      const x = [0, 1, -1, 2, -3, 10, -10, 0.5, Infinity, -Infinity, NaN];
      const dy = [1, 1, 1, 2, 1, 1, 1, 1, 3, 3, 1];
      const t = (v: number[]) => ({ data: new Float32Array(v), shape: [v.length] });
      const want = [0.5, 0.9276705118714869, 0.07232948812851325, 2 * 1.0907842487848955, -0.08810410601516962, 1.0004085602086568, -0.00040856020865708237, 0.7399611873026519, 3, 0, NaN];
      return [{ label: 'closed forms, ±Infinity, NaN', args: [t(dy), t(x), {}], want: { output: want } }];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) cases.push({ label: `[${R},${C}]`, args: [rnd([R, C], R + 2 * C), rnd([R, C], R + C, 5), {}] });
      cases.push({ label: '[3,17] large |x| (±100)', args: [rnd([3, 17], 6), rnd([3, 17], 5, 100), {}] });
      cases.push({ label: '[1,8] ±Infinity, NaN, -0, tiny, huge x', args: [rnd([1, 8], 7), tensorOf([1, 8], (_i, j) => [Infinity, -Infinity, NaN, -0, 1e-30, -1e30, 1e30, -1e-30][j]), {}] });
      cases.push({ label: '[2,9] tiny dy, ±Infinity and NaN in dy', args: [tensorOf([2, 9], (i, j) => (j === 0 ? Infinity : j === 1 ? -Infinity : j === 2 ? NaN : (i ? 1e-30 : 1) * (j - 4))), rnd([2, 9], 8, 3), {}] });
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [
        {
          label: 'FFN activations',
          shape: s,
          make: () => {
            const dy = rnd([s.R, s.C], 48), x = rnd([s.R, s.C], 49, 3);
            return { args: [dy, x, {}], outArgs: [dy, x, { out: new Float32Array(s.R * s.C) }] };
          },
        },
      ];
    },
    random(R) {
      const shape = randShape(R, 1, 3, 6);
      return [randT(R, shape), randT(R, shape, 4), R.bool() ? {} : undefined];
    },
    small: () => [rnd([4, 16], 50), rnd([4, 16], 51), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      a[2] = { approximate: 'tanh' };
      return "options.approximate := 'tanh' (siluBackward has no such option)";
    },
  },
});
