/**
 * The backward of layerNorm over the last axis, from the forward's statistics (docs/TRAINING.md).
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { DTypeError, describeType, formatShape } from '../errors';
import type { LayerNormBackwardArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { expectShape, nonScalar, optionsObject, rowsCols, shapedLike, vector } from '../validate';
import { randShape, randT, rnd, tensorOf } from './cases';
import { rowsAndSumsLayout, run, runAsync, type Prepared } from './common';
import { defineOp, type OpCase, type OpDescriptor } from './descriptor';

/**
 * The statistics a layerNorm forward normalised x with: `layerNorm(x, gamma, beta, { returnStats:
 * true })`'s result, passed as is (its `output`, when present, is checked for x's shape and not
 * used) or as `{ mean, invStd }`, each of shape `x.shape` without the last axis.
 */
export interface LayerNormStats {
  /** Each row's mean. */
  mean: TensorLike;
  /** Each row's `1 / sqrt(var + eps)`. */
  invStd: TensorLike;
  /** The forward's output (accepted so the forward's result can be passed whole; unused). */
  output?: TensorLike;
}

/** The result of {@link layerNormBackward}. */
export interface LayerNormGradients {
  /** The gradient with respect to x (x's shape). */
  dx: Tensor;
  /** The gradient with respect to gamma, `[E]` (also when gamma is null: that of an implicit γ = 1). */
  dGamma: Tensor;
  /** The gradient with respect to beta, `[E]` (also when there was no beta: that of an implicit β = 0). */
  dBeta: Tensor;
}

function prepareLayerNormBackward(dy: TensorLike, x: TensorLike, gamma: TensorLike | null | undefined, stats: LayerNormStats): Prepared<'layerNormBackward', LayerNormGradients> {
  const dyt = asTensor(dy, 'dy');
  const xt = nonScalar(x, 'x');
  expectShape(dyt, 'dy', xt.shape, 'x.shape');
  const { rows, cols } = rowsCols(xt.shape);
  const g = vector(gamma, 'gamma', cols, 'E', true);
  if (stats === null || typeof stats !== 'object') throw new DTypeError('stats', "layerNorm's { mean, invStd } (its result with returnStats: true)", describeType(stats));
  const s = optionsObject<LayerNormStats>(stats, 'stats', ['mean', 'invStd', 'output']);
  const statShape = xt.shape.slice(0, -1);
  const mean = shapedLike(s.mean, 'stats.mean', statShape, 'x.shape[:-1]');
  const invStd = shapedLike(s.invStd, 'stats.invStd', statShape, 'x.shape[:-1]');
  if (s.output !== undefined) shapedLike(s.output, 'stats.output', xt.shape, 'x.shape');
  const args: LayerNormBackwardArgs = { dy: dyt.data, x: xt.data, rows, cols, gamma: g, mean: mean.data, invStd: invStd.data };
  const vec = [cols];
  return {
    op: 'layerNormBackward',
    args,
    layout: () => rowsAndSumsLayout(rows, { dx: xt.shape }, { dGamma: vec, dBeta: vec }),
    wrap: (r) => ({ dx: { data: r.dx, shape: xt.shape }, dGamma: { data: r.dGamma, shape: vec }, dBeta: { data: r.dBeta, shape: vec } }),
  };
}

/**
 * The gradients of `layerNorm(x, gamma, beta)` over the last axis, from the statistics the
 * forward normalised each row with (`stats`: its result with `returnStats: true`, or
 * `{ mean, invStd }`). With `x̂ = (x − mean)·invStd` and `g = dy·gamma` (γ = 1 when gamma is null):
 * `dx = invStd·(g − mean_E(g) − x̂·mean_E(g·x̂))`, `dGamma = Σ_rows dy·x̂`, `dBeta = Σ_rows dy`
 * (float64 sums in reference). The statistics are used as given (not recomputed from x), as
 * PyTorch's saved mean and rstd are. A non-finite value in a row makes that row's dx non-finite
 * and the dGamma / dBeta columns it reaches.
 *
 * @example
 * const fwd = layerNorm(x, gamma, beta, { returnStats: true });
 * const { dx, dGamma, dBeta } = layerNormBackward(dy, x, gamma, fwd);
 */
export function layerNormBackward(dy: TensorLike, x: TensorLike, gamma: TensorLike | null | undefined, stats: LayerNormStats, dispatchOptions?: DispatchOptions): LayerNormGradients {
  return run(prepareLayerNormBackward(dy, x, gamma, stats), dispatchOptions);
}

/** The async twin of {@link layerNormBackward}. */
export function layerNormBackwardAsync(dy: TensorLike, x: TensorLike, gamma: TensorLike | null | undefined, stats: LayerNormStats, dispatchOptions?: DispatchOptions): Promise<LayerNormGradients> {
  return runAsync(() => prepareLayerNormBackward(dy, x, gamma, stats), dispatchOptions);
}

/** Each row's float64 mean and 1/sqrt(biased var + eps) of `x`, as float32 tensors (what layerNorm returns with returnStats). */
function statsOf(x: Tensor, eps = 1e-5): { mean: Tensor; invStd: Tensor } {
  const C = x.shape[x.shape.length - 1];
  const R = x.data.length / C;
  const mean = new Float32Array(R), invStd = new Float32Array(R);
  for (let r = 0; r < R; r++) {
    let m = 0;
    for (let c = 0; c < C; c++) m += x.data[r * C + c];
    m /= C;
    let v = 0;
    for (let c = 0; c < C; c++) v += (x.data[r * C + c] - m) ** 2;
    mean[r] = m;
    invStd[r] = 1 / Math.sqrt(v / C + eps);
  }
  const shape = x.shape.slice(0, -1);
  return { mean: { data: mean, shape }, invStd: { data: invStd, shape } };
}

/** The layerNormBackward descriptor. */
export const layerNormBackwardOp: OpDescriptor<'layerNormBackward'> = defineOp({
  name: 'layerNormBackward',
  summary: "layerNorm's backward from its statistics: { dx, dGamma, dBeta }",
  signature: 'layerNormBackward(dy, x, gamma | null, stats, dispatch?)',
  params: [{ name: 'dy', kind: 'tensor' }, { name: 'x', kind: 'tensor' }, { name: 'gamma', kind: 'tensor?', dims: ['E'] }, { name: 'stats', kind: 'params' }],
  options: {},
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks and the quick bench cases.
    // Native, worst ISA: max rel error 1.9e-6, then 4.8e-6 of atol needed at 4x that rtol (max abs 1.9e-5).
    // The atol comes from rows whose dx is a small difference of large terms (constant rows of
    // 1e4: invStd 316, dx = 316·(g − mean g)).
    native: { rtol: 7.6e-6, atol: 2e-5 },
    // gpu on llvmpipe: max rel 1.3e-6, then 4e-6 of atol (max abs 1.5e-5).
    gpu: { rtol: 5.2e-6, atol: 1.7e-5 },
  },
  // Nominal 12 flops per element: x̂, g, two row sums, dx, dGamma and dBeta sums.
  cost: (s) => ({ flops: 12 * (s.R as number) * (s.C as number), bytes: 12 * (s.R as number) * (s.C as number) + 8 * (s.R as number) + 12 * (s.C as number) }),
  fn: layerNormBackward,
  fnAsync: layerNormBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const t = (data: number[], shape: number[]) => ({ data: new Float32Array(data), shape });
      // Row [0,2,0,2]: mean 1, invStd 1 (eps 0), x̂ = [-1,1,-1,1]. With gamma [1,2,3,4] and
      // dy = [1,0,0,0]: g = [1,0,0,0], mean(g) = 1/4, mean(g·x̂) = -1/4, dx = [1/2, 0, -1/2, 0],
      // dGamma = dy·x̂ = [-1,0,0,0], dBeta = dy.
      // Two rows, no gamma: row 0 as above with dy = [0,1,0,0]: dx = [0, 1/2, 0, -1/2]; row 1 a
      // constant row [5,5,5,5] given invStd 2 (x̂ = 0): dx = 2·(dy - mean(dy)) for dy = [1,2,3,6].
      return [
        { label: 'one row, gamma, invStd 1', args: [t([1, 0, 0, 0], [1, 4]), t([0, 2, 0, 2], [1, 4]), t([1, 2, 3, 4], [4]), { mean: t([1], [1]), invStd: t([1], [1]) }], want: { dx: [0.5, 0, -0.5, 0], dGamma: [-1, 0, 0, 0], dBeta: [1, 0, 0, 0] } },
        {
          label: 'no gamma (γ = 1), a constant row, rank 1 stats',
          args: [t([0, 1, 0, 0, 1, 2, 3, 6], [2, 4]), t([0, 2, 0, 2, 5, 5, 5, 5], [2, 4]), null, { mean: t([1, 5], [2]), invStd: t([1, 2], [2]) }],
          want: { dx: [0, 0.5, 0, -0.5, -4, -2, 0, 6], dGamma: [0, 1, 0, 0], dBeta: [1, 3, 3, 6] },
        },
      ];
    },
    checks() {
      const cases: OpCase[] = [];
      for (const shape of [[1, 1], [7, 3], [4, 129], [2, 3, 65], [1, 4096], [33, 64]]) {
        const E = shape[shape.length - 1];
        const x = rnd(shape, E, 10);
        cases.push({ label: `[${shape}] gamma`, args: [rnd(shape, E + 3), x, rnd([E], E + 1), statsOf(x)] });
      }
      for (const [R, C] of [[7, 1], [33, 129]]) {
        const x = rnd([R, C], R + C, 5);
        cases.push({ label: `[${R},${C}] no gamma`, args: [rnd([R, C], R + C + 1), x, null, statsOf(x)] });
      }
      const m100 = tensorOf([3, 64], (i, j) => 100 + Math.sin(i * 64 + j));
      cases.push({ label: '[3,64] rows with a mean of 100', args: [rnd([3, 64], 60), m100, rnd([64], 61), statsOf(m100)] });
      const cst = tensorOf([4, 33], (i) => [0, 1, -7.5, 1e4][i]);
      cases.push({ label: '[4,33] constant rows (x̂ = 0)', args: [rnd([4, 33], 62), cst, rnd([33], 63), statsOf(cst)] });
      const x5 = rnd([5, 17], 64, 3);
      cases.push({ label: '[5,17] eps 0.5 statistics', args: [rnd([5, 17], 65), x5, null, statsOf(x5, 0.5)] });
      const x40 = rnd([3, 40], 67);
      cases.push({ label: '[3,40] tiny dy (±1e-30)', args: [rnd([3, 40], 69, 1e-30), x40, rnd([40], 68), statsOf(x40)] });
      const x1 = rnd([19], 75, 3);
      cases.push({ label: '[19] rank 1 (statistics of shape [])', args: [rnd([19], 76), x1, rnd([19], 77), statsOf(x1)] });
      // The forward's result passed whole ({ output, mean, invStd }).
      const xw = rnd([6, 24], 70, 2);
      cases.push({ label: "[6,24] the forward's { output, mean, invStd } as stats", args: [rnd([6, 24], 71), xw, rnd([24], 72), { output: rnd([6, 24], 73), ...statsOf(xw) }] });
      // Non-finite rows: +Inf, -Inf, NaN in x (the forward's stats of such rows), NaN and Inf in dy; the last row finite.
      const xn = tensorOf([5, 9], (i, j) => (j === 4 ? [Infinity, -Infinity, NaN, 0, 0][i] : j - 3.5));
      const dyn = tensorOf([5, 9], (i, j) => (i === 3 && j === 2 ? NaN : i === 3 && j === 6 ? Infinity : Math.sin(i + 2 * j)));
      cases.push({ label: '[5,9] ±Infinity and NaN in x and dy', args: [dyn, xn, rnd([9], 74), statsOf(xn)] });
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1600, C: 64 } : { R: 25600, C: 64 };
      return [
        {
          label: 'SASRec rows',
          shape: s,
          make: () => {
            const x = rnd([s.R, s.C], 75);
            return { args: [rnd([s.R, s.C], 76), x, rnd([s.C], 77), statsOf(x)] };
          },
        },
      ];
    },
    random(R) {
      // Rank >= 2, so the statistics have rank >= 1 (a rank-0 statistic has no shape the fuzzer
      // could make lie; rank 1 is a check).
      const shape = randShape(R, 2, 3, 6);
      const c = shape[shape.length - 1];
      const x = randT(R, shape);
      return [randT(R, shape), x, R.bool() ? randT(R, [c]) : null, statsOf(x, R.f() * 1e-3)];
    },
    small: () => {
      const x = rnd([4, 16], 78);
      return [rnd([4, 16], 79), x, rnd([16], 80), statsOf(x)];
    },
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      const st = a[3] as { mean: Tensor; invStd: Tensor };
      const shape = [...st.mean.shape, 2];
      a[3] = { mean: { data: new Float32Array(shape.reduce((p, d) => p * d, 1)), shape }, invStd: st.invStd };
      return `stats.mean shape ${formatShape(shape)} (x without its last axis expected)`;
    },
  },
});
