/**
 * The backward of GELU (exact or tanh form): the vector-Jacobian product (docs/TRAINING.md).
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { GeluBackwardArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { expectShape, optionalOut, rowsCols } from '../validate';
import { randShape, randT, rnd, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, readOption, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link geluBackward}. */
export interface GeluBackwardOptions {
  /** The forward's form: `'none'` (default, exact `x·Φ(x)`) or `'tanh'`. */
  approximate?: 'none' | 'tanh';
  /**
   * Write dx into this Float32Array (exactly as many elements as x, sharing no memory with dy or
   * x) and return it as the result tensor's data, instead of allocating a new array (see sdpa's
   * `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareGeluBackward(dy: TensorLike, x: TensorLike, options?: GeluBackwardOptions | null): Prepared<'geluBackward', Tensor> {
  const dyt = asTensor(dy, 'dy');
  const xt = asTensor(x, 'x');
  expectShape(dyt, 'dy', xt.shape, 'x.shape');
  const { rows, cols } = rowsCols(xt.shape);
  const o = optionsFor<GeluBackwardOptions>(geluBackwardOp, options);
  const approximate: GeluBackwardArgs['approximate'] = readOption(geluBackwardOp, o, 'approximate');
  const out = optionalOut(o.out, 'options.out', xt.data.length, `x.shape=${formatShape(xt.shape)}`, [['dy', dyt.data], ['x', xt.data]]);
  const args: GeluBackwardArgs = { dy: dyt.data, x: xt.data, rows, cols, approximate, out };
  return { op: 'geluBackward', args, layout: () => rowMajorLayout(rows, { output: xt.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: xt.shape }) };
}

/**
 * The gradient of GELU with respect to its input x, elementwise: `dx = dy · gelu'(x)` with
 * `gelu'(x) = Φ(x) + x·φ(x)` (exact, the default) or, `{ approximate: 'tanh' }`, the derivative of
 * `0.5x(1 + tanh(u))`, `u = √(2/π)(x + 0.044715x³)`: `0.5(1 + tanh u) + 0.5x(1 − tanh²u)·u'`.
 * At x = ±Infinity the limits gelu' = 1 and 0 are used; NaN stays NaN.
 */
export function geluBackward(dy: TensorLike, x: TensorLike, options?: GeluBackwardOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareGeluBackward(dy, x, options), dispatchOptions);
}

/** The async twin of {@link geluBackward}. */
export function geluBackwardAsync(dy: TensorLike, x: TensorLike, options?: GeluBackwardOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareGeluBackward(dy, x, options), dispatchOptions);
}

/** The geluBackward descriptor. */
export const geluBackwardOp: OpDescriptor<'geluBackward'> = defineOp({
  name: 'geluBackward',
  summary: "GELU's backward, elementwise: dx = dy · gelu'(x) (exact or tanh form)",
  signature: 'geluBackward(dy, x, options?, dispatch?)',
  params: [{ name: 'dy', kind: 'tensor' }, { name: 'x', kind: 'tensor' }, 'options'],
  options: {
    approximate: { kind: 'enum', values: ['none', 'tanh'], default: 'none', doc: "the forward's form: 'none' (exact) or 'tanh'" },
    out: { kind: 'out', doc: 'write dx into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks, the quick bench cases and a grid of x in [-100, 100] (dy = 1).
    // Native, worst ISA: max rel error 7.6e-7, then 5.6e-8 of atol needed at 4x that rtol (max abs 2.4e-7).
    native: { rtol: 3.1e-6, atol: 2.3e-7 },
    // gpu on llvmpipe: max rel 8.4e-7, then 8.4e-8 of atol (max abs 2.4e-7).
    gpu: { rtol: 3.4e-6, atol: 3.4e-7 },
  },
  // Nominal 20 flops per element (the erfc fit, exp, the product rule).
  cost: (s) => ({ flops: 20 * (s.R as number) * (s.C as number), bytes: 12 * (s.R as number) * (s.C as number) }),
  fn: geluBackward,
  fnAsync: geluBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      // gelu'(x) = Φ(x) + xφ(x) and the tanh form's derivative at ±1, 2, -3, 0.5 (to 16 digits,
      // from erf / tanh in float64), 0.5 at 0, the limits 1 and 0 at ±Infinity; dy = 2 at x = 2.
      const x = [0, 1, -1, 2, -3, 0.5, Infinity, -Infinity, NaN];
      const dy = [1, 1, 1, 2, 1, 1, 3, 3, 1];
      const t = (v: number[]) => ({ data: new Float32Array(v), shape: [v.length] });
      return [
        { label: 'exact: closed forms, ±Infinity, NaN', args: [t(dy), t(x), {}], want: { output: [0.5, 1.0833154705876864, -0.08331547058768629, 2 * 1.085231801078197, -0.01194564720418392, 0.8674951246561629, 3, 0, NaN] } },
        { label: 'tanh: closed forms, ±Infinity, NaN', args: [t(dy), t(x), { approximate: 'tanh' }], want: { output: [0.5, 1.0829640838457826, -0.08296408384578255, 2 * 1.0860992566236183, -0.011584166630969516, 0.8673699035346424, 3, 0, NaN] } },
      ];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) {
        const dy = rnd([R, C], R + 2 * C), x = rnd([R, C], R + C, 5);
        cases.push({ label: `[${R},${C}] exact`, args: [dy, x, {}] });
        cases.push({ label: `[${R},${C}] tanh`, args: [dy, x, { approximate: 'tanh' }] });
      }
      for (const approximate of ['none', 'tanh']) {
        cases.push({ label: `[3,17] large |x| (±30), ${approximate}`, args: [rnd([3, 17], 6), rnd([3, 17], 5, 30), { approximate }] });
        cases.push({ label: `[1,8] ±Infinity, NaN, -0, tiny, huge x, ${approximate}`, args: [rnd([1, 8], 7), tensorOf([1, 8], (_i, j) => [Infinity, -Infinity, NaN, -0, 1e-30, -1e30, 1e30, -1e-30][j]), { approximate }] });
        cases.push({ label: `[2,9] tiny dy, ±Infinity and NaN in dy, ${approximate}`, args: [tensorOf([2, 9], (i, j) => (j === 0 ? Infinity : j === 1 ? -Infinity : j === 2 ? NaN : (i ? 1e-30 : 1) * (j - 4))), rnd([2, 9], 8, 3), { approximate }] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [
        {
          label: 'FFN activations',
          shape: s,
          make: () => {
            const dy = rnd([s.R, s.C], 44), x = rnd([s.R, s.C], 45, 3);
            return { args: [dy, x, {}], outArgs: [dy, x, { out: new Float32Array(s.R * s.C) }] };
          },
        },
      ];
    },
    random(R) {
      const shape = randShape(R, 1, 3, 6);
      return [randT(R, shape), randT(R, shape, 4), R.bool() ? { approximate: R.pick(['none', 'tanh']) } : undefined];
    },
    small: () => [rnd([4, 16], 46), rnd([4, 16], 47), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      a[2] = { approximate: 'fast' };
      return "options.approximate := 'fast'";
    },
  },
});
