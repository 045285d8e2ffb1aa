/**
 * A linear layer in the x·W layout.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { LinearArgs } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { matrix, nonScalar, rowsCols, vector } from '../validate';
import { rowMajorLayout, run, runAsync, type Prepared } from './common';

function prepareLinear(x: TensorLike, w: TensorLike, b?: TensorLike | null): Prepared<'linear', Tensor> {
  const t = nonScalar(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const wt = matrix(w, 'w', cols, -1, 'In', 'Out');
  const outDim = wt.shape[1];
  const bias = vector(b, 'b', outDim, 'Out', true);
  const outShape = [...t.shape.slice(0, -1), outDim];
  const args: LinearArgs = { x: t.data, rows, inDim: cols, outDim, w: wt.data, b: bias };
  return { op: 'linear', args, layout: () => rowMajorLayout(rows, { output: outShape }), wrap: (r) => ({ data: r, shape: outShape }) };
}

/** A linear layer in the x·W layout: x `[...,In]`, w `[In,Out]`, optional b `[Out]` → `[...,Out]`. */
export function linear(x: TensorLike, w: TensorLike, b?: TensorLike | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareLinear(x, w, b), dispatchOptions);
}

/** The async twin of {@link linear}. */
export function linearAsync(x: TensorLike, w: TensorLike, b?: TensorLike | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareLinear(x, w, b), dispatchOptions);
}
