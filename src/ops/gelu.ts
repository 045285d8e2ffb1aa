/**
 * GELU, exact (erf) or tanh-approximated.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { GeluArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { optEnum, optionsObject, rowsCols } from '../validate';
import { rowMajorLayout, run, runAsync, type Prepared } from './common';

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `'none'` (default): exact `x·Φ(x)` with erf; `'tanh'`: the tanh approximation. */
  approximate?: 'none' | 'tanh';
}

function prepareGelu(x: TensorLike, options?: GeluOptions | null): Prepared<'gelu', Tensor> {
  const t = asTensor(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const approximate = optEnum(optionsObject<GeluOptions>(options, 'options').approximate, 'options.approximate', ['none', 'tanh'] as const, 'none');
  const args: GeluArgs = { x: t.data, rows, cols, approximate };
  return { op: 'gelu', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: r, shape: t.shape }) };
}

/** GELU, elementwise: exact `x·Φ(x)` (erf) by default, `{ approximate: 'tanh' }` for the tanh form. */
export function gelu(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareGelu(x, options), dispatchOptions);
}

/** The async twin of {@link gelu}. */
export function geluAsync(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareGelu(x, options), dispatchOptions);
}
