/**
 * Softmax over the last axis, with an optional mask.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { SoftmaxArgs } from '../kernels';
import type { MaskLike, Tensor, TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { nonScalar, optionalMask, optionalOut, optionsObject, rowsCols } from '../validate';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';

/** Options of {@link softmax}. */
export interface SoftmaxOptions {
  /** Bool mask broadcastable to x's shape; masked positions get 0, a fully masked row is all zeros. */
  mask?: MaskLike | null;
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareSoftmax(x: TensorLike, options?: SoftmaxOptions | null): Prepared<'softmax', Tensor> {
  const t = nonScalar(x, 'x');
  const o = optionsObject<SoftmaxOptions>(options, 'options', ['mask', 'out']);
  const { rows, cols } = rowsCols(t.shape);
  const mask = optionalMask(o.mask, 'options.mask', t.shape, 'x.shape');
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data], ['options.mask', mask?.data]]);
  const args: SoftmaxArgs = { x: t.data, shape: t.shape, rows, cols, mask, out };
  return { op: 'softmax', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/**
 * Softmax over the last axis (float64 accumulation in reference). Masked and -Infinity entries get
 * 0; a row with nothing left is all zeros; a NaN or +Infinity makes its own row NaN.
 *
 * @example
 * const p = softmax(fromNested([[1, 2, 3]]));
 */
export function softmax(x: TensorLike, options?: SoftmaxOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareSoftmax(x, options), dispatchOptions);
}

/** The async twin of {@link softmax}. */
export function softmaxAsync(x: TensorLike, options?: SoftmaxOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareSoftmax(x, options), dispatchOptions);
}
