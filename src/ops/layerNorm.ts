/**
 * Layer normalisation over the last axis.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError, formatShape } from '../errors';
import type { LayerNormArgs, LayerNormResult } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { nonScalar, optFinite, optionalOut, rowsCols, vector } from '../validate';
import { randShape, randT, rnd, shapeOf, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, readOption, type KnownAnswer, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Added to the (biased) variance; default 1e-5, must be finite and >= 0. */
  eps?: number;
  /**
   * Also return each row's statistics: the result is then a {@link LayerNormStatsOutput}
   * `{ output, mean, invStd }` instead of the output tensor (ONNX LayerNormalization's Mean and
   * InvStdDev outputs, for a backward pass). Default false; must be a boolean.
   */
  returnStats?: boolean;
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). With `returnStats`, this is the data of `output`; mean and invStd are always new
   * arrays. If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

/** The result of {@link layerNorm} with `returnStats: true`. */
export interface LayerNormStatsOutput {
  /** The normalised tensor, shape of x (its data is `options.out` when given). */
  output: Tensor;
  /**
   * Each row's mean, shape `x.shape` without the last axis (float32). It is the mean the
   * backend normalised the row with (not recomputed); NaN for a row of no elements.
   */
  mean: Tensor;
  /**
   * Each row's `1 / sqrt(var + eps)` (biased variance), shape `x.shape` without the last axis
   * (float32): the scale the backend normalised the row with; NaN for a row of no elements,
   * +Infinity for a constant row with eps 0.
   */
  invStd: Tensor;
}

/** Options that ask for the statistics, so the result is a {@link LayerNormStatsOutput}. */
type WithStats = LayerNormOptions & { returnStats: true };

function prepareLayerNorm(x: TensorLike, gamma: TensorLike | null | undefined, beta: TensorLike | null | undefined, options?: LayerNormOptions | number | null): Prepared<'layerNorm', Tensor | LayerNormStatsOutput> {
  const t = nonScalar(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const g = vector(gamma, 'gamma', cols, 'E', true);
  const b = vector(beta, 'beta', cols, 'E', true);
  const epsName = typeof options === 'number' ? 'eps' : 'options.eps';
  const o = typeof options === 'number' ? {} : optionsFor<LayerNormOptions>(layerNormOp, options);
  const eps = optFinite(typeof options === 'number' ? options : o.eps, epsName, 1e-5);
  if (eps < 0) throw new ValueError(epsName, `expected a number >= 0, received ${eps}`);
  const returnStats: boolean = readOption(layerNormOp, o, 'returnStats');
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data], ['gamma', g], ['beta', b]]);
  const args: LayerNormArgs = { x: t.data, rows, cols, gamma: g, beta: b, eps, returnStats, out };
  const statShape = t.shape.slice(0, -1);
  const layout = () => rowMajorLayout(rows, returnStats ? { output: t.shape, mean: statShape, invStd: statShape } : { output: t.shape });
  const wrap = (r: Float32Array | LayerNormResult): Tensor | LayerNormStatsOutput => {
    if (ArrayBuffer.isView(r)) return { data: intoOut(r, out), shape: t.shape };
    const output: Tensor = { data: intoOut(r.output, out), shape: t.shape };
    return returnStats ? { output, mean: { data: r.mean, shape: statShape }, invStd: { data: r.invStd, shape: statShape } } : output;
  };
  return { op: 'layerNorm', args, layout, wrap };
}

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * gamma + beta`, biased
 * variance. `gamma` and `beta` (`[E]`) may be null (no affine part). `options` may be
 * `{ eps, returnStats, out }` or the eps number itself. Returns the tensor, or with
 * `returnStats: true` `{ output, mean, invStd }` (each row's mean and `1/sqrt(var + eps)`, shape
 * `x.shape` without its last axis, as ONNX LayerNormalization's Mean and InvStdDev).
 *
 * @example
 * const { output, mean, invStd } = layerNorm(x, gamma, beta, { returnStats: true });
 */
export function layerNorm(x: TensorLike, gamma: TensorLike | null | undefined, beta: TensorLike | null | undefined, options: WithStats, dispatchOptions?: DispatchOptions): LayerNormStatsOutput;
export function layerNorm(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: (LayerNormOptions & { returnStats?: false }) | number | null, dispatchOptions?: DispatchOptions): Tensor;
export function layerNorm(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Tensor | LayerNormStatsOutput;
export function layerNorm(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Tensor | LayerNormStatsOutput {
  return run(prepareLayerNorm(x, gamma, beta, options), dispatchOptions);
}

/** The async twin of {@link layerNorm}. */
export function layerNormAsync(x: TensorLike, gamma: TensorLike | null | undefined, beta: TensorLike | null | undefined, options: WithStats, dispatchOptions?: DispatchOptions): Promise<LayerNormStatsOutput>;
export function layerNormAsync(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: (LayerNormOptions & { returnStats?: false }) | number | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function layerNormAsync(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Promise<Tensor | LayerNormStatsOutput>;
export function layerNormAsync(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Promise<Tensor | LayerNormStatsOutput> {
  return runAsync(() => prepareLayerNorm(x, gamma, beta, options), dispatchOptions);
}

/** The layerNorm descriptor. */
export const layerNormOp: OpDescriptor<'layerNorm'> = defineOp({
  name: 'layerNorm',
  summary: 'layer normalisation over the last axis, optional gamma and beta',
  signature: 'layerNorm(x, gamma?, beta?, options? | eps, dispatch?)',
  params: [{ name: 'x', kind: 'tensor' }, { name: 'gamma', kind: 'tensor?', dims: ['E'] }, { name: 'beta', kind: 'tensor?', dims: ['E'] }, { name: 'options', kind: 'options', numberMeans: 'eps' }],
  options: {
    eps: { kind: 'finite', default: 1e-5, doc: 'added to the variance (>= 0); a number in place of options means eps' },
    returnStats: { kind: 'boolean', default: false, doc: 'also return each row\'s mean and 1/sqrt(var + eps): { output, mean, invStd }' },
    out: { kind: 'out', doc: 'write the result into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 1.3e-6, then 1.9e-7 of atol needed at 4x that rtol (max abs 3.1e-5).
    native: { rtol: 5.1e-6, atol: 7.7e-7 },
    // gpu on llvmpipe: max rel 1.9e-5, then 1.9e-6 of atol (max abs 3.1e-5).
    gpu: { rtol: 7.8e-5, atol: 7.5e-6 },
  },
  // Nominal 7 flops per element: mean, centre, square-sum, scale, gamma, beta.
  cost: (s) => ({ flops: 7 * (s.R as number) * (s.C as number), bytes: 8 * (s.R as number) * (s.C as number) + 8 * (s.C as number) }),
  fn: layerNorm,
  fnAsync: layerNormAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const sd = Math.sqrt(1.25), sde = Math.sqrt(1.25 + 1e-5);
      const x = { data: new Float32Array([1, 2, 3, 4]), shape: [1, 4] };
      const answers: KnownAnswer[] = [
        { label: 'a known vector, eps 0', args: [x, null, null, { eps: 0 }], want: { output: [-1.5 / sd, -0.5 / sd, 0.5 / sd, 1.5 / sd] } },
        { label: 'affine, eps as a number', args: [x, { data: new Float32Array([1, 2, 3, 4]), shape: [4] }, { data: new Float32Array([0, 1, 0, -1]), shape: [4] }, 1e-5], want: { output: [-1.5 / sde, 1 - 1 / sde, 1.5 / sde, 6 / sde - 1] } },
        { label: 'a constant row gives zeros', args: [{ data: new Float32Array([3, 3, 3]), shape: [1, 3] }, null, null, {}], want: { output: [0, 0, 0] } },
        {
          label: 'returnStats: mean and invStd per row (a known row, a constant row)',
          args: [{ data: new Float32Array([1, 2, 3, 4, 3, 3, 3, 3]), shape: [2, 4] }, null, null, { returnStats: true }],
          want: { output: [-1.5 / sde, -0.5 / sde, 0.5 / sde, 1.5 / sde, 0, 0, 0, 0], mean: [2.5, 3], invStd: [1 / sde, 1 / Math.sqrt(1e-5)] },
        },
        {
          label: 'returnStats, rank 1 (stats of shape []), eps 0, affine',
          args: [{ data: new Float32Array([1, 2, 3, 4]), shape: [4] }, { data: new Float32Array([1, 2, 3, 4]), shape: [4] }, { data: new Float32Array([0, 1, 0, -1]), shape: [4] }, { eps: 0, returnStats: true }],
          want: { output: [-1.5 / sd, 1 - 1 / sd, 1.5 / sd, 6 / sd - 1], mean: [2.5], invStd: [1 / sd] },
        },
      ];
      return answers;
    },
    checks() {
      const cases: OpCase[] = [];
      for (const shape of [[1, 1], [7, 3], [4, 129], [2, 3, 65], [1, 4096]]) {
        const E = shape[shape.length - 1];
        cases.push({ label: `[${shape}] affine`, args: [rnd(shape, E, 10), rnd([E], E + 1), rnd([E], E + 2), {}] });
      }
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) cases.push({ label: `[${R},${C}]`, args: [rnd([R, C], R + C, 5), rnd([C], 3), rnd([C], 4), {}] });
      cases.push({ label: '[3,64] rows with a mean of 100', args: [tensorOf([3, 64], (i, j) => 100 + Math.sin(i * 64 + j)), null, null, {}] });
      // returnStats: the statistics are checked like the output (mean and invStd per row).
      for (const shape of [[1, 1], [7, 3], [1, 4096], [2, 3, 65]]) {
        const E = shape[shape.length - 1];
        cases.push({ label: `[${shape}] affine, returnStats`, args: [rnd(shape, E + 7, 10), rnd([E], E + 8), rnd([E], E + 9), { returnStats: true }] });
      }
      cases.push({ label: '[3,64] rows with a mean of 100, returnStats', args: [tensorOf([3, 64], (i, j) => 100 + Math.sin(i * 64 + j)), null, null, { returnStats: true }] });
      cases.push({ label: '[5,33] constant rows (0, 1, -7.5, 1e4, 1e-30), returnStats', args: [tensorOf([5, 33], (i) => [0, 1, -7.5, 1e4, 1e-30][i]), null, null, { returnStats: true }] });
      cases.push({ label: '[4,17] eps 0.5, returnStats', args: [rnd([4, 17], 71, 3), null, rnd([17], 72), { eps: 0.5, returnStats: true }] });
      // Rows holding +Inf, -Inf, both, and NaN: the mean is +Inf, -Inf, NaN, NaN (as the values'
      // mean is), every output and invStd NaN; the finite last row is unaffected.
      cases.push({ label: '[5,9] rows with +Inf, -Inf, both, NaN; returnStats', args: [tensorOf([5, 9], (i, j) => (j === 4 ? [Infinity, -Infinity, i === 2 ? Infinity : 0, NaN, 0][i] : i === 2 && j === 7 ? -Infinity : j - 3.5)), null, null, { returnStats: true }] });
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1600, C: 64 } : { R: 25600, C: 64 };
      return [{ label: 'SASRec rows', shape: s, make: () => { const x = rnd([s.R, s.C], 23), g = rnd([s.C], 24), b = rnd([s.C], 25); return { args: [x, g, b, {}], outArgs: [x, g, b, { out: new Float32Array(s.R * s.C) }] }; } }];
    },
    random(R) {
      const shape = randShape(R, 1, 3, 6);
      const c = shape[shape.length - 1];
      const o: LayerNormOptions | undefined = R.bool() ? { eps: R.f() * 1e-3 } : undefined;
      return [randT(R, shape), R.bool() ? randT(R, [c]) : null, R.bool() ? randT(R, [c]) : null, R.bool(0.3) ? { ...o, returnStats: true } : o];
    },
    small: () => [rnd([4, 16], 28), rnd([16], 29), null, null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      a[3] = { eps: -1e-3 };
      return `eps := -1e-3 (x ${shapeOf(a[0])})`;
    },
  },
});
