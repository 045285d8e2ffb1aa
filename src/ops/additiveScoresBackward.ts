/**
 * The pairwise part of additive attention's backward (issue #15): from the projections, the
 * forward's weights and the output's gradient, the gradients of the values, of the projections
 * and of the score vector v. {@link additiveAttentionBackward} chains it with linear /
 * linearBackward; it is a registered op of its own because its O(B·L·S·A) tanh work is the
 * backward's hot loop and no chain of public ops computes it.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import type { AdditiveScoresBackwardArgs } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty } from '../validate';
import { randT, rnd, shapeOf } from './cases';
import { run, runAsync, type Prepared } from './common';
import { defineOp, tensor, tensorParam, type OpCase, type OpDescriptor } from './descriptor';

/** The result of {@link additiveScoresBackward}. */
export interface AdditiveScoresGradients {
  /** `[B,S,Dv]`: `Σ_i P_ij·dOut_i`. */
  dValues: Tensor;
  /** `[B,L,A]`: the gradient of the query projection `qa` (absent when qa is null). */
  dqa?: Tensor;
  /** `[B,S,A]`: the gradient of the key projection `ka` (its bias's gradient is the sum of its rows). */
  dka: Tensor;
  /** `[A]`: the gradient of the score vector v. */
  dv: Tensor;
}

const OP = ['B', 'L', 'Dv'];
const VP = ['B', 'S', 'Dv'];
const WP = ['B', 'L', 'S'];
const QP = ['B', 'L', 'A'];
const KP = ['B', 'S', 'A'];

/** Row space B (batches): each batch's rows of dValues, dqa and dka map to it; dv (a sum over every batch) to row 0. */
function batchLayout(B: number, shapes: Record<string, number[]>): OutputLayout {
  return {
    rows: B,
    rowOf: (name, flat) => (name === 'dv' ? 0 : Math.floor(flat / (shapes[name].slice(1).reduce((a, b) => a * b, 1) || 1))),
    shapeOf: (name) => shapes[name] ?? [],
  };
}

function prepareScoresBackward(dOut: TensorLike, values: TensorLike, weights: TensorLike, qa: TensorLike | null, ka: TensorLike, v: TensorLike): Prepared<'additiveScoresBackward', AdditiveScoresGradients> {
  const d = additiveScoresBackwardOp;
  // In the order of the call (a half dOut is refused first); its dims are checked below.
  const ot = tensorParam(d, 'dOut', dOut);
  const vt = tensorParam(d, 'values', values);
  const [B, S, Dv] = vt.shape;
  for (let a = 0; a < 3; a++) expectNonEmpty('values', vt.shape, a, VP);
  const wt = tensorParam(d, 'weights', weights);
  expectDim('weights', wt.shape, 0, B, WP, 'batch must match values');
  expectNonEmpty('weights', wt.shape, 1, WP);
  expectDim('weights', wt.shape, 2, S, WP, 'length must match values');
  const L = wt.shape[1];
  expectDim('dOut', ot.shape, 0, B, OP, "the forward's output shape");
  expectDim('dOut', ot.shape, 1, L, OP, "the forward's output shape");
  expectDim('dOut', ot.shape, 2, Dv, OP, "the forward's output shape");
  const kt = tensorParam(d, 'ka', ka);
  expectDim('ka', kt.shape, 0, B, KP, 'batch must match values');
  expectDim('ka', kt.shape, 1, S, KP, 'length must match values');
  expectNonEmpty('ka', kt.shape, 2, KP);
  const A = kt.shape[2];
  const vv = tensorParam(d, 'v', v);
  expectDim('v', vv.shape, 0, A, ['A'], 'must match the projections');
  let q: Float32Array | null = null;
  if (qa !== null) {
    const qt = tensorParam(d, 'qa', qa);
    expectDim('qa', qt.shape, 0, B, QP, 'batch must match values');
    expectDim('qa', qt.shape, 1, L, QP, 'rows must match weights');
    expectDim('qa', qt.shape, 2, A, QP, 'must match ka');
    q = qt.data as Float32Array;
  }
  const args: AdditiveScoresBackwardArgs = { dOut: ot.data as Float32Array, values: vt.data as Float32Array, weights: wt.data as Float32Array, qa: q, ka: kt.data as Float32Array, v: vv.data as Float32Array, B, L, S, Dv, A };
  const shapes: Record<string, number[]> = { dValues: [B, S, Dv], dqa: [B, L, A], dka: [B, S, A], dv: [A] };
  return {
    op: 'additiveScoresBackward',
    args,
    layout: () => batchLayout(B, shapes),
    wrap: (r) => {
      const out: AdditiveScoresGradients = { dValues: { data: r.dValues, shape: shapes.dValues }, dka: { data: r.dka, shape: shapes.dka }, dv: { data: r.dv, shape: shapes.dv } };
      if (q && r.dqa) out.dqa = { data: r.dqa, shape: shapes.dqa };
      return out;
    },
  };
}

/**
 * The backward of additive attention's scores, softmax and weighted sum, given the projections
 * `qa = query·wq` `[B,L,A]` (null for pooling: no query term) and `ka = keys·wk + b` `[B,S,A]`,
 * the score vector `v` `[A]`, the forward's `weights` P `[B,L,S]`, its `values` `[B,S,Dv]` and
 * `dOut` `[B,L,Dv]`. With `t_ija = tanh(qa_ia + ka_ja)`, `dP_ij = dOut_i·values_j` and
 * `dE_ij = P_ij·(dP_ij − Σ_j' P_ij'·dP_ij')`: `dValues_j = Σ_i P_ij·dOut_i`,
 * `dqa_i = Σ_j dE_ij·v∘(1 − t_ij²)`, `dka_j = Σ_i dE_ij·v∘(1 − t_ij²)`, `dv = Σ_ij dE_ij·t_ij`.
 * A pair contributes only where its weight and its dE are nonzero, so excluded keys (weight 0)
 * and rows with nothing to attend to give zeros, and a NaN in their projections or values does
 * not leak. Most callers want {@link additiveAttentionBackward}, which calls this.
 *
 * @example
 * const g = additiveScoresBackward(dOut, values, weights, qa, ka, v);
 * // g.dValues, g.dqa, g.dka, g.dv
 */
export function additiveScoresBackward(dOut: TensorLike, values: TensorLike, weights: TensorLike, qa: TensorLike | null, ka: TensorLike, v: TensorLike, dispatchOptions?: DispatchOptions): AdditiveScoresGradients {
  return run(prepareScoresBackward(dOut, values, weights, qa, ka, v), dispatchOptions);
}

/** The async twin of {@link additiveScoresBackward}. */
export function additiveScoresBackwardAsync(dOut: TensorLike, values: TensorLike, weights: TensorLike, qa: TensorLike | null, ka: TensorLike, v: TensorLike, dispatchOptions?: DispatchOptions): Promise<AdditiveScoresGradients> {
  return runAsync(() => prepareScoresBackward(dOut, values, weights, qa, ka, v), dispatchOptions);
}

/** Softmax weights `[B,L,S]` of random logits (scale `sd`), with `excluded(b,i,j)` keys at 0 (rows with nothing left all 0). */
function weightsOf(B: number, L: number, S: number, seed: number, sd: number, excluded: (b: number, i: number, j: number) => boolean): Tensor {
  const lg = rnd([B, L, S], seed, sd).data;
  const w = new Float32Array(B * L * S);
  for (let r = 0; r < B * L; r++) {
    const b = Math.floor(r / L), i = r % L;
    let m = -Infinity;
    for (let j = 0; j < S; j++) if (!excluded(b, i, j)) m = Math.max(m, lg[r * S + j]);
    if (m === -Infinity) continue;
    let sum = 0;
    for (let j = 0; j < S; j++) if (!excluded(b, i, j)) sum += Math.exp(lg[r * S + j] - m);
    for (let j = 0; j < S; j++) if (!excluded(b, i, j)) w[r * S + j] = Math.exp(lg[r * S + j] - m) / sum;
  }
  return { data: w, shape: [B, L, S] };
}

/** A case: shapes, seeds, exclusions, the projections' scale (large: tanh saturates). */
function scoresCase(label: string, B: number, L: number, S: number, Dv: number, A: number, pooled: boolean, seed: number, excluded: (b: number, i: number, j: number) => boolean = () => false, projScale = 1): OpCase {
  const w = weightsOf(B, L, S, seed, 2, excluded);
  const values = rnd([B, S, Dv], seed + 1);
  const ka = rnd([B, S, A], seed + 2, projScale);
  // An excluded key's projections and values may hold anything (padding): NaN must not leak.
  for (let b = 0; b < B; b++)
    for (let j = 0; j < S; j++) {
      let used = false;
      for (let i = 0; i < L; i++) if (w.data[(b * L + i) * S + j] !== 0) used = true;
      if (!used) {
        ka.data.fill(NaN, (b * S + j) * A, (b * S + j + 1) * A);
        values.data.fill(NaN, (b * S + j) * Dv, (b * S + j + 1) * Dv);
      }
    }
  return { label, args: [rnd([B, L, Dv], seed + 3), values, w, pooled ? null : rnd([B, L, A], seed + 4, projScale), ka, rnd([A], seed + 5)] };
}

/** The additiveScoresBackward descriptor. */
export const additiveScoresBackwardOp: OpDescriptor<'additiveScoresBackward'> = defineOp({
  name: 'additiveScoresBackward',
  summary: "additive attention's backward from the projections: dValues, dqa, dka, dv (the tanh pairs)",
  signature: 'additiveScoresBackward(dOut, values, weights, qa | null, ka, v, dispatch?)',
  params: [tensor('dOut', OP), tensor('values', VP), tensor('weights', WP), tensor('qa', QP, true), tensor('ka', KP), tensor('v', ['A'])],
  options: {},
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks and the quick bench cases. Native, worst
    // ISA (scalar): max rel error 2.9e-6, then 1.5e-7 of atol needed at 4x that rtol (max abs 1.1e-6).
    native: { rtol: 1.2e-5, atol: 6.1e-7 },
    // gpu on llvmpipe: max rel 5.8e-6, then 1.5e-6 of atol (max abs 5.4e-6).
    gpu: { rtol: 2.4e-5, atol: 6.2e-6 },
  },
  // Per pair: dP and dValues (2·Dv each), and per unit a tanh (counted as one) and 7 more flops.
  cost: (s) => {
    const { B, L, S, Dv, A } = s as Record<string, number>;
    return { flops: B * L * S * (4 * Dv + 8 * A), bytes: 4 * (B * L * Dv + 2 * B * S * Dv + B * L * S + 2 * B * L * A + 2 * B * S * A + 2 * A) };
  },
  fn: additiveScoresBackward,
  fnAsync: additiveScoresBackwardAsync,
  native: { isaKernel: false },
  half: false,
  cases: {
    knownAnswers() {
      // One row, two keys, A = Dv = 1: P = [1/4, 3/4], dOut = 1, values [2, 4]: dP = [2, 4], δ = 3.5,
      // dE = [-0.375, 0.375]; qa = 0, ka = [0, atanh(1/2)], v = 2: t = [0, 1/2],
      // g = dE·2·(1 - t²) = [-0.75, 0.5625]; dqa = -0.1875, dka = g, dv = Σ dE·t = 0.1875.
      const t = (data: number[], shape: number[]) => ({ data: new Float32Array(data), shape });
      return [{
        label: 'one row over two keys by hand',
        args: [t([1], [1, 1, 1]), t([2, 4], [1, 2, 1]), t([0.25, 0.75], [1, 1, 2]), t([0], [1, 1, 1]), t([0, Math.atanh(0.5)], [1, 2, 1]), t([2], [1])],
        want: { dValues: [0.25, 0.75], dqa: [-0.1875], dka: [-0.75, 0.5625], dv: [0.1875] },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [
        scoresCase('B=3 L=2 S=17 Dv=9 A=5', 3, 2, 17, 9, 5, false, 40),
        scoresCase('pooling B=4 S=50 Dv=16 A=33', 4, 1, 50, 16, 33, true, 41),
        scoresCase('L=7 > S=3, keyLengths [3,1,0] (an empty batch)', 3, 7, 3, 5, 6, false, 42, (b, _i, j) => j >= [3, 1, 0][b]),
        scoresCase('one key', 2, 3, 1, 4, 7, false, 43),
        scoresCase('masked pairs and a fully masked row', 2, 4, 9, 3, 17, false, 44, (b, i, j) => (b === 1 && i === 2) || (i + j) % 3 === 0),
        scoresCase('saturated tanh (projections ±20)', 2, 3, 11, 4, 9, false, 45, () => false, 20),
      ];
      if (!quick) {
        cases.push(scoresCase('B=2 L=65 S=129 Dv=64 A=64 (several row blocks per batch)', 2, 65, 129, 64, 64, false, 46));
        cases.push(scoresCase('pooling B=64 S=50 Dv=64 A=64', 64, 1, 50, 64, 64, true, 47, (b, _i, j) => j >= 50 - (b % 7)));
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { B: 32, L: 1, S: 50, Dv: 64, A: 64 } : { B: 256, L: 1, S: 50, Dv: 64, A: 64 };
      return [{ label: 'attention pooling over 50 items', shape: s, make: () => ({ args: scoresCase('bench', s.B, s.L, s.S, s.Dv, s.A, true, 48).args }) }];
    },
    random(R) {
      const B = R.int(1, 2), L = R.int(1, 4), S = R.int(1, 5), Dv = R.int(1, 4), A = R.int(1, 6);
      const w = randT(R, [B, L, S]);
      for (let i = 0; i < w.data.length; i++) w.data[i] = R.bool(0.2) ? 0 : Math.abs(w.data[i]);
      return [randT(R, [B, L, Dv]), randT(R, [B, S, Dv]), w, R.bool(0.3) ? null : randT(R, [B, L, A]), randT(R, [B, S, A]), randT(R, [A])];
    },
    small: () => scoresCase('small', 2, 3, 6, 4, 5, false, 49).args,
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      const A = shapeOf(a[4])[2];
      a[5] = rnd([A + 1], 50);
      return `v := [A+1=${A + 1}]`;
    },
  },
});
