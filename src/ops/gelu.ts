/**
 * GELU, exact (erf) or tanh-approximated.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import type { GeluArgs } from '../kernels';
import { asTensor, type Tensor, type TensorLike } from '../tensor';
import { formatShape } from '../errors';
import { optEnum, optionalOut, optionsObject, rowsCols } from '../validate';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';

/** Options of {@link gelu}. */
export interface GeluOptions {
  /** `'none'` (default): exact `x·Φ(x)` with erf; `'tanh'`: the tanh approximation. */
  approximate?: 'none' | 'tanh';
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareGelu(x: TensorLike, options?: GeluOptions | null): Prepared<'gelu', Tensor> {
  const t = asTensor(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const o = optionsObject<GeluOptions>(options, 'options', ['approximate', 'out']);
  const approximate = optEnum(o.approximate, 'options.approximate', ['none', 'tanh'] as const, 'none');
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data]]);
  const args: GeluArgs = { x: t.data, rows, cols, approximate, out };
  return { op: 'gelu', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/** GELU, elementwise: exact `x·Φ(x)` (erf) by default, `{ approximate: 'tanh' }` for the tanh form. */
export function gelu(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareGelu(x, options), dispatchOptions);
}

/** The async twin of {@link gelu}. */
export function geluAsync(x: TensorLike, options?: GeluOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareGelu(x, options), dispatchOptions);
}
