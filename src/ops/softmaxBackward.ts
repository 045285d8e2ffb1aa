/**
 * The backward of softmax over the last axis: the vector-Jacobian product from the forward's
 * output (docs/TRAINING.md).
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { SoftmaxBackwardArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { expectShape, nonScalar, optionalOut, rowsCols } from '../validate';
import { normalLogits, randShape, randT, rnd, shapeOf, tensorOf } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link softmaxBackward}. */
export interface SoftmaxBackwardOptions {
  /**
   * Write dx into this Float32Array (exactly as many elements as y, sharing no memory with dy or
   * y) and return it as the result tensor's data, instead of allocating a new array (see sdpa's
   * `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareSoftmaxBackward(dy: TensorLike, y: TensorLike, options?: SoftmaxBackwardOptions | null): Prepared<'softmaxBackward', Tensor> {
  const dyt = asTensor(dy, 'dy');
  const yt = nonScalar(y, 'y');
  expectShape(dyt, 'dy', yt.shape, 'y.shape');
  const { rows, cols } = rowsCols(yt.shape);
  const o = optionsFor<SoftmaxBackwardOptions>(softmaxBackwardOp, options);
  const out = optionalOut(o.out, 'options.out', yt.data.length, `y.shape=${formatShape(yt.shape)}`, [['dy', dyt.data], ['y', yt.data]]);
  const args: SoftmaxBackwardArgs = { dy: dyt.data, y: yt.data, rows, cols, out };
  return { op: 'softmaxBackward', args, layout: () => rowMajorLayout(rows, { output: yt.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: yt.shape }) };
}

/**
 * The gradient of softmax over the last axis with respect to its input, from the forward's output
 * `y` and the gradient `dy` of the loss with respect to it (same shape):
 * `dx = y ∘ (dy − rowsum(dy ∘ y))` (float64 sums in reference). Masked and excluded entries of the
 * forward have y = 0, so their dx is 0 (a fully masked row: all zeros). A NaN or ±Infinity in a row
 * of dy or y makes that row's dx non-finite (IEEE arithmetic on a non-finite row sum; other rows
 * are untouched).
 *
 * @example
 * const y = softmax(x);
 * const dx = softmaxBackward(dy, y);
 */
export function softmaxBackward(dy: TensorLike, y: TensorLike, options?: SoftmaxBackwardOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareSoftmaxBackward(dy, y, options), dispatchOptions);
}

/** The async twin of {@link softmaxBackward}. */
export function softmaxBackwardAsync(dy: TensorLike, y: TensorLike, options?: SoftmaxBackwardOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareSoftmaxBackward(dy, y, options), dispatchOptions);
}

/** Float64 softmax of each row of `x` (entries where `keep` is false get 0; a row with none kept is zeros), rounded to float32: the forward outputs the checks start from. */
function softmaxOf(x: Tensor, keep: (r: number, c: number) => boolean = () => true): Tensor {
  const C = x.shape[x.shape.length - 1];
  const R = x.data.length / C;
  const y = new Float32Array(x.data.length);
  for (let r = 0; r < R; r++) {
    let m = -Infinity;
    for (let c = 0; c < C; c++) if (keep(r, c)) m = Math.max(m, x.data[r * C + c]);
    if (m === -Infinity) continue;
    let s = 0;
    for (let c = 0; c < C; c++) if (keep(r, c)) s += Math.exp(x.data[r * C + c] - m);
    for (let c = 0; c < C; c++) y[r * C + c] = keep(r, c) ? Math.exp(x.data[r * C + c] - m) / s : 0;
  }
  return { data: y, shape: [...x.shape] };
}

/** The softmaxBackward descriptor. */
export const softmaxBackwardOp: OpDescriptor<'softmaxBackward'> = defineOp({
  name: 'softmaxBackward',
  summary: "softmax's backward from its output: dx = y ∘ (dy − rowsum(dy ∘ y))",
  signature: 'softmaxBackward(dy, y, options?, dispatch?)',
  params: [{ name: 'dy', kind: 'tensor' }, { name: 'y', kind: 'tensor' }, 'options'],
  options: {
    out: { kind: 'out', doc: 'write dx into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks and the quick bench cases.
    // Native, worst ISA: max rel error 5.7e-7, then 2.6e-9 of atol needed at 4x that rtol (max abs 4.5e-8).
    native: { rtol: 2.3e-6, atol: 1.1e-8 },
    // gpu on llvmpipe: max rel 5.7e-7, then 1.1e-9 of atol (max abs 4.5e-8).
    gpu: { rtol: 2.3e-6, atol: 4.4e-9 },
  },
  // Nominal 4 flops per element: multiply and sum, subtract, multiply.
  cost: (s) => ({ flops: 4 * (s.R as number) * (s.C as number), bytes: 12 * (s.R as number) * (s.C as number) }),
  fn: softmaxBackward,
  fnAsync: softmaxBackwardAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const t = (data: number[], shape: number[]) => ({ data: new Float32Array(data), shape });
      // Row 0: rowsum(dy∘y) = 2.75, dx = y(dy − 2.75). Row 1 (a masked middle entry, y = 0):
      // rowsum = 2, dx = [-0.5, 0, 0.5]. Row 2: a fully masked row (y = 0): zeros.
      // Row 3: a constant dy gives 0 (rowsum = dy·Σy = dy).
      return [
        {
          label: 'closed forms: a row, a masked entry, a fully masked row, a constant dy',
          args: [t([1, 2, 4, 1, 7, 3, 5, -1, 2, 3, 3, 3], [4, 3]), t([0.25, 0.25, 0.5, 0.5, 0, 0.5, 0, 0, 0, 0.25, 0.5, 0.25], [4, 3]), {}],
          want: { output: [-0.4375, -0.1875, 0.625, -0.5, 0, 0.5, 0, 0, 0, 0, 0, 0] },
        },
        { label: 'NaN in dy makes its row NaN (y = 0 entries too: 0·NaN)', args: [t([1, NaN, 0, 1, 2, 3], [2, 3]), t([0.5, 0.5, 0, 0.25, 0.25, 0.5], [2, 3]), {}], want: { output: [NaN, NaN, NaN, -0.3125, -0.0625, 0.375] } },
      ];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [R, C] of [[7, 1], [33, 129], [4, 4096]]) {
        const x = rnd([R, C], R + C, 5);
        // Masked entries (every third) are y = 0, as the forward gives them.
        cases.push({ label: `[${R},${C}] masked`, args: [rnd([R, C], R + 2 * C, 2), softmaxOf(x, (r, c) => (r + c) % 3 !== 0 || C === 1), {}] });
      }
      cases.push({ label: '[2,3,65] rank 3', args: [rnd([2, 3, 65], 11), softmaxOf(rnd([2, 3, 65], 12, 3)), {}] });
      cases.push({ label: '[5,17] rows of zeros (fully masked rows)', args: [rnd([5, 17], 13), softmaxOf(rnd([5, 17], 14, 2), (r) => r % 2 === 0), {}] });
      cases.push({ label: '[3,33] one-hot y (logits ±1e4)', args: [rnd([3, 33], 15), softmaxOf(rnd([3, 33], 16, 1e4)), {}] });
      cases.push({ label: '[3,40] tiny dy (±1e-30)', args: [rnd([3, 40], 19, 1e-30), softmaxOf(rnd([3, 40], 20, 2)), {}] });
      const y = softmaxOf(rnd([4, 9], 21, 2));
      y.data[2 * 9 + 4] = NaN; // a NaN row of the forward (NaN logits)
      cases.push({ label: '[4,9] ±Infinity and NaN in dy, a NaN y row', args: [tensorOf([4, 9], (i, j) => (i === 0 && j === 3 ? Infinity : i === 1 && j === 5 ? -Infinity : i === 3 && j === 0 ? NaN : j - 4)), y, {}] });
      // Long rows: many entries carry weight, so the row sum's rounding shows.
      for (const [shape, sd] of (quick ? [[[6, 1000], 4]] : [[[6, 1000], 4], [[2, 20000], 3]]) as [number[], number][]) {
        cases.push({ label: `[${shape}] normal logits (sd ${sd})`, args: [rnd(shape, 23, 1), softmaxOf(normalLogits(shape, 22, sd)), {}] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { R: 1024, C: 256 } : { R: 16384, C: 1024 };
      return [
        {
          label: 'rows of logits',
          shape: s,
          make: () => {
            const dy = rnd([s.R, s.C], 40), y = softmaxOf(rnd([s.R, s.C], 41, 4));
            return { args: [dy, y, {}], outArgs: [dy, y, { out: new Float32Array(s.R * s.C) }] };
          },
        },
      ];
    },
    random(R) {
      const shape = randShape(R, 1, 4, 5);
      return [randT(R, shape), softmaxOf(randT(R, shape, 4), () => R.f() < 0.8), R.bool() ? {} : undefined];
    },
    small: () => [rnd([4, 16], 42), softmaxOf(rnd([4, 16], 43)), null],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(_R, a) {
      const shape = shapeOf(a[0]);
      shape[shape.length - 1] += 1;
      a[0] = { data: new Float32Array(shape.reduce((p, d) => p * d, 1)), shape };
      return `dy one column wider than y (${formatShape(shape)})`;
    },
  },
});
