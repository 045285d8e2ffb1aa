/**
 * Public-op steps shared by the pooling ops' training composites (internal): additiveAttention and
 * targetAttention with `returnSaved`, and their backward functions. Each step is one dispatched
 * op (verified and reported on its own, on any backend); see {@link drive} / {@link driveAsync}.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError } from '../errors';
import type { Tensor } from '../tensor';
import type { Step, Steps } from './cached';
import { linear, linearAsync } from './linear';

/** A float32 tensor from data and shape. */
export const tensorOf = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });

/** One op call as a composite step, in its sync and async forms. */
export function step<R>(run: () => R, runAsync: () => Promise<R>): Step {
  return { run, runAsync };
}

/** `x [rows,inDim] · w [inDim,outDim] + b` through the public linear op. */
export function linearStep(x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, b: Float32Array | null, d?: DispatchOptions): Step {
  const xt = tensorOf(x, [rows, inDim]);
  const wt = tensorOf(w, [inDim, outDim]);
  const bt = b ? tensorOf(b, [outDim]) : null;
  return step(() => linear(xt, wt, bt, d), () => linearAsync(xt, wt, bt, d));
}

/** `x [rows,cols]` transposed to `[cols,rows]` (a data move, exact on every backend). */
function transpose(x: Float32Array, rows: number, cols: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) out[c * rows + r] = x[r * cols + c];
  return out;
}

/** The gradients of `y = x·w + b` (x `[rows,inDim]`, w `[inDim,outDim]`). */
export interface LinearGrads {
  /** `[rows,inDim]`: dy·wᵀ. */
  dx: Float32Array;
  /** `[inDim,outDim]`: xᵀ·dy. */
  dW: Float32Array;
  /** `[outDim]`: the column sums of dy. */
  db: Float32Array;
}

/**
 * linear's backward as public linear calls: `dx = linear(dy, wᵀ)`, `dW = linear(xᵀ, dy)` (the
 * transposes are data moves), `db` the column sums of dy in float64. Replaced by one
 * linearBackward call once that op is in (issue #15, branch prim-bw).
 */
export function* linearBackwardSteps(dy: Float32Array, x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, d?: DispatchOptions): Steps<LinearGrads> {
  const dx = ((yield linearStep(dy, rows, outDim, transpose(w, inDim, outDim), inDim, null, d)) as Tensor).data;
  const dW = ((yield linearStep(transpose(x, rows, inDim), inDim, rows, dy, outDim, null, d)) as Tensor).data;
  const sums = new Float64Array(outDim);
  for (let r = 0; r < rows; r++) for (let o = 0; o < outDim; o++) sums[o] += dy[r * outDim + o];
  return { dx, dW, db: Float32Array.from(sums) };
}

/**
 * Refuse options the `returnSaved` (training) path does not take: it returns float32
 * `{ output, saved }` (the weights are inside saved).
 */
export function refuseWithSaved(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || v === null || v === false || (k === 'outputDtype' && v === 'float32')) continue;
    throw new ValueError(`options.${k}`, 'not with options.returnSaved (training returns float32 { output, saved }, with the weights inside saved)');
  }
}

/**
 * `x [rows,cols]` with the rows `used[r] == 0` zeroed when any of them holds a non-finite value
 * (else `x` itself): a padded or excluded row gets a zero gradient, and its NaN must not reach a
 * weight gradient through `0·NaN` in `xᵀ·dy`.
 */
export function zeroUnusedRows(x: Float32Array, rows: number, cols: number, used: Uint8Array): Float32Array {
  let copy: Float32Array | null = null;
  for (let r = 0; r < rows; r++) {
    if (used[r]) continue;
    let finite = true;
    for (let c = 0; c < cols && finite; c++) finite = Number.isFinite(x[r * cols + c]);
    if (finite) continue;
    copy ??= Float32Array.from(x);
    copy.fill(0, r * cols, (r + 1) * cols);
  }
  return copy ?? x;
}
