/**
 * SiLU (swish), `x·sigmoid(x)`: the activation of HSTU and of SwiGLU feed-forward layers.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { SiluArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { optionalOut, rowsCols } from '../validate';
import { randShape, randT, rnd, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link silu}. */
export interface SiluOptions {
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareSilu(x: TensorLike, options?: SiluOptions | null): Prepared<'silu', Tensor> {
  const t = asTensor(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const o = optionsFor<SiluOptions>(siluOp, options);
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data]]);
  const args: SiluArgs = { x: t.data, rows, cols, out };
  return { op: 'silu', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/**
 * SiLU (swish), elementwise: `silu(x) = x·sigmoid(x) = x / (1 + e^-x)` (PyTorch `F.silu`, ONNX
 * `Swish`/`x·Sigmoid(x)`). `silu(+Inf) = +Inf`, `silu(-Inf) = -0` (the limit), NaN stays NaN.
 */
export function silu(x: TensorLike, options?: SiluOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareSilu(x, options), dispatchOptions);
}

/** The async twin of {@link silu}. */
export function siluAsync(x: TensorLike, options?: SiluOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareSilu(x, options), dispatchOptions);
}

/** The silu descriptor. */
export const siluOp: OpDescriptor<'silu'> = defineOp({
  name: 'silu',
  summary: 'SiLU (swish), elementwise: x·sigmoid(x)',
  signature: 'silu(x, options?, dispatch?)',
  params: [{ name: 'x', kind: 'tensor' }, 'options'],
  options: {
    out: { kind: 'out', doc: 'write the result into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 1.9e-7, then 1e-36 of atol needed at 4x that rtol (max abs 1.9e-6).
    native: { rtol: 7.6e-7, atol: 1e-30 },
    // gpu on llvmpipe: max rel 2.3e-7, then 1.7e-12 of atol (max abs 1.9e-6).
    gpu: { rtol: 9.4e-7, atol: 6.9e-12 },
  },

  // Nominal 4 flops per element (exp, add, divide, multiply).
  cost: (s) => ({ flops: 4 * (s.R as number) * (s.C as number), bytes: 8 * (s.R as number) * (s.C as number) }),
  fn: silu,
  fnAsync: siluAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      // x / (1 + e^-x) evaluated with 40 significant digits, rounded to float64.
      const x = [0, 1, -1, 2, -2, 10, -10, -20, 30, -87, 1e-3, -1e-3, Infinity, -Infinity, NaN];
      const want = [0, 0.7310585786300049, -0.2689414213699951, 1.7615941559557649, -0.23840584404423512, 9.999546021312975, -4.5397868702434395e-4, -4.122307236380407e-8, 29.999999999997193, -1.431855945041578e-36, 5.002499999791667e-4, -4.997500000208334e-4, Infinity, -0, NaN];
      return [{ label: 'closed forms, ±Infinity, NaN', args: [{ data: new Float32Array(x), shape: [x.length] }, {}], want: { output: want } }];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) cases.push({ label: `[${R},${C}]`, args: [rnd([R, C], R + C, 5), {}] });
      cases.push({ label: '[3,17] large |x| (±100)', args: [rnd([3, 17], 5, 100), {}] });
      cases.push({ label: '[1,6] ±Infinity, NaN, -0, tiny, huge', args: [tensorOf([1, 6], (_i, j) => [Infinity, -Infinity, NaN, -0, 1e-30, -1e30][j]), {}] });
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [{ label: 'FFN activations', shape: s, make: () => { const x = rnd([s.R, s.C], 27, 3); return { args: [x, {}], outArgs: [x, { out: new Float32Array(s.R * s.C) }] }; } }];
    },
    random: (R) => [randT(R, randShape(R, 1, 3, 6), 4), undefined],
    small: () => [rnd([4, 16], 33), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      a[1] = { approximate: 'tanh' };
      return "options.approximate := 'tanh' (silu has no such option)";
    },
  },
});
