/**
 * The gpu pipeline of `linear`: the linear stage (the bias alone when the inner dimension is
 * empty). Browser-compatible.
 *
 * @module
 */
import type { LinearArgs, Widened } from '../../kernels';
import type { Runtime } from './runtime';
import { scoped } from './pipeline';
import { linear } from './stages';

/** linear on the gpu: `x · w + b` in one kernel. */
export function linearGpu(rt: Runtime, a: Widened<LinearArgs>): Float32Array {
  if (a.rows * a.outDim === 0) return new Float32Array(0);
  if (a.inDim === 0) {
    // x·W over an empty inner dimension is zero: the result is the bias on every row.
    const out = new Float32Array(a.rows * a.outDim);
    if (a.b) for (let r = 0; r < a.rows; r++) out.set(a.b, r * a.outDim);
    return out;
  }
  return scoped((scope) => rt.read(linear(rt, scope, rt.input(a.x, [a.inDim, a.rows, 1]), a.rows, 1, a.inDim, a.outDim, a.w, a.b), a.rows * a.outDim));
}
