/**
 * GELU, exact (erf) or tanh-approximated.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { GeluArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { optionalOut, rowsCols } from '../validate';
import { randShape, randT, rnd, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, readOption, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `'none'` (default): exact `x·Φ(x)` with erf; `'tanh'`: the tanh approximation. */
  approximate?: 'none' | 'tanh';
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareGelu(x: TensorLike, options?: GeluOptions | null): Prepared<'gelu', Tensor> {
  const t = asTensor(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const o = optionsFor<GeluOptions>(geluOp, options);
  const approximate: GeluArgs['approximate'] = readOption(geluOp, o, 'approximate');
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data]]);
  const args: GeluArgs = { x: t.data, rows, cols, approximate, out };
  return { op: 'gelu', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/** GELU, elementwise: exact `x·Φ(x)` (erf) by default, `{ approximate: 'tanh' }` for the tanh form. */
export function gelu(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareGelu(x, options), dispatchOptions);
}

/** The async twin of {@link gelu}. */
export function geluAsync(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareGelu(x, options), dispatchOptions);
}

/** The gelu descriptor. */
export const geluOp: OpDescriptor<'gelu'> = defineOp({
  name: 'gelu',
  summary: 'GELU, elementwise: exact (erf) or tanh-approximated',
  signature: 'gelu(x, options?, dispatch?)',
  params: [{ name: 'x', kind: 'tensor' }, 'options'],
  options: {
    approximate: { kind: 'enum', values: ['none', 'tanh'], default: 'none', doc: "'none': exact x·Φ(x); 'tanh': the tanh form" },
    out: { kind: 'out', doc: 'write the result into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 2.7e-7, then 6.1e-9 of atol needed at 4x that rtol (max abs 4.8e-7).
    native: { rtol: 1.1e-6, atol: 2.5e-8 },
    // gpu on llvmpipe: max rel 3.5e-7, then 7.4e-10 of atol (max abs 4.8e-7).
    gpu: { rtol: 1.5e-6, atol: 3e-9 },
  },
  // Nominal 10 flops per element (the erf polynomial).
  cost: (s) => ({ flops: 10 * (s.R as number) * (s.C as number), bytes: 8 * (s.R as number) * (s.C as number) }),
  fn: gelu,
  fnAsync: geluAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      // gelu(0) = 0, gelu(1) = Φ(1), gelu(-1) = -Φ(-1), gelu(+Inf) = +Inf; NaN stays NaN.
      // (gelu(-Inf) is NaN today on every backend, -Inf·Φ(-Inf) = -Inf·0, not the limit 0.)
      return [{ label: 'zero, ±1, +Infinity, NaN', args: [{ data: new Float32Array([0, 1, -1, Infinity, NaN]), shape: [5] }, {}], want: { output: [0, 0.8413447460685429, -0.15865525393145707, Infinity, NaN] } }];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) {
        const x = rnd([R, C], R + C, 5);
        cases.push({ label: `[${R},${C}] exact`, args: [x, {}] });
        cases.push({ label: `[${R},${C}] tanh`, args: [x, { approximate: 'tanh' }] });
      }
      cases.push({ label: '[3,17] large |x| (±30)', args: [rnd([3, 17], 5, 30), {}] });
      cases.push({ label: '[1,6] ±Infinity and NaN', args: [tensorOf([1, 6], (_i, j) => [Infinity, -Infinity, NaN, -0, 1e-30, -1e30][j]), { approximate: 'tanh' }] });
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [{ label: 'FFN activations', shape: s, make: () => { const x = rnd([s.R, s.C], 26, 3); return { args: [x, {}], outArgs: [x, { out: new Float32Array(s.R * s.C) }] }; } }];
    },
    random: (R) => [randT(R, randShape(R, 1, 3, 6), 4), R.bool() ? { approximate: R.pick(['none', 'tanh']) } : undefined],
    small: () => [rnd([4, 16], 32), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      a[1] = { approximate: 'fast' };
      return "options.approximate := 'fast'";
    },
  },
});
