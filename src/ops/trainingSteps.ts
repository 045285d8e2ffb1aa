/**
 * Public-op steps shared by the training composites (internal): multiHeadAttention,
 * transformerEncoderLayer, additiveAttention and targetAttention with `returnSaved`, and their
 * backward functions. Each step is one dispatched op (verified and reported on its own, on any
 * backend); see {@link drive} / {@link driveAsync}.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError } from '../errors';
import type { Tensor } from '../tensor';
import type { Step, Steps } from './cached';
import { linear, linearAsync } from './linear';
import { linearBackward, linearBackwardAsync } from './linearBackward';

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

/** The gradients of `y = x·w + b` (x `[rows,inDim]`, w `[inDim,outDim]`). */
export interface LinearGrads {
  /** `[rows,inDim]`: dy·wᵀ. */
  dx: Float32Array;
  /** `[inDim,outDim]`: xᵀ·dy. */
  dW: Float32Array;
  /** `[outDim]`: the column sums of dy. */
  db: Float32Array;
}

/** linear's backward (`dx = dy·wᵀ`, `dW = xᵀ·dy`, `db` = dy's column sums) as one linearBackward step. */
export function* linearBackwardSteps(dy: Float32Array, x: Float32Array, rows: number, inDim: number, w: Float32Array, outDim: number, d?: DispatchOptions): Steps<LinearGrads> {
  const dyt = tensorOf(dy, [rows, outDim]);
  const xt = tensorOf(x, [rows, inDim]);
  const wt = tensorOf(w, [inDim, outDim]);
  const g = (yield step(() => linearBackward(dyt, xt, wt, d), () => linearBackwardAsync(dyt, xt, wt, d))) as { dx: Tensor; dW: Tensor; db: Tensor };
  return { dx: g.dx.data, dW: g.dW.data, db: g.db.data };
}

/** `x + y` elementwise in float32 (a residual add; exact on every backend). */
export function addInto(x: Float32Array, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
  return out;
}

/**
 * Refuse options the `returnSaved` (training) path does not take: it returns float32
 * `{ output, saved }` (the weights are inside saved).
 */
export function refuseWithSaved(o: Record<string, unknown>, keys: readonly string[]): void {
  for (const k of keys) {
    const v = o[k];
    if (v === undefined || v === null || v === false || (k === 'outputDtype' && v === 'float32')) continue;
    throw new ValueError(`options.${k}`, 'not with options.returnSaved (training returns float32 { output, saved }, with the weights / lse inside saved, and takes no cache)');
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
