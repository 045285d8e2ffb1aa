/**
 * Layer normalisation over the last axis.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError, formatShape } from '../errors';
import type { LayerNormArgs } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { nonScalar, optFinite, optionalOut, optionsObject, rowsCols, vector } from '../validate';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';

/** Options of {@link layerNorm}. */
export interface LayerNormOptions {
  /** Added to the (biased) variance; default 1e-5, must be finite and >= 0. */
  eps?: number;
  /**
   * Write the result into this Float32Array (exactly as many elements as x, sharing no memory with
   * any input) and return it as the result tensor's data, instead of allocating a new array (see
   * sdpa's `out`). If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

function prepareLayerNorm(x: TensorLike, gamma: TensorLike | null | undefined, beta: TensorLike | null | undefined, options?: LayerNormOptions | number | null): Prepared<'layerNorm', Tensor> {
  const t = nonScalar(x, 'x');
  const { rows, cols } = rowsCols(t.shape);
  const g = vector(gamma, 'gamma', cols, 'E', true);
  const b = vector(beta, 'beta', cols, 'E', true);
  const epsName = typeof options === 'number' ? 'eps' : 'options.eps';
  const o = typeof options === 'number' ? {} : optionsObject<LayerNormOptions>(options, 'options', ['eps', 'out']);
  const eps = optFinite(typeof options === 'number' ? options : o.eps, epsName, 1e-5);
  if (eps < 0) throw new ValueError(epsName, `expected a number >= 0, received ${eps}`);
  const out = optionalOut(o.out, 'options.out', t.data.length, `x.shape=${formatShape(t.shape)}`, [['x', t.data], ['gamma', g], ['beta', b]]);
  const args: LayerNormArgs = { x: t.data, rows, cols, gamma: g, beta: b, eps, out };
  return { op: 'layerNorm', args, layout: () => rowMajorLayout(rows, { output: t.shape }), wrap: (r) => ({ data: intoOut(r, out), shape: t.shape }) };
}

/**
 * Layer normalisation over the last axis: `(x - mean) / sqrt(var + eps) * gamma + beta`, biased
 * variance. `gamma` and `beta` (`[E]`) may be null (no affine part). `options` may be `{ eps }` or
 * the eps number itself.
 */
export function layerNorm(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Tensor {
  return run(prepareLayerNorm(x, gamma, beta, options), dispatchOptions);
}

/** The async twin of {@link layerNorm}. */
export function layerNormAsync(x: TensorLike, gamma?: TensorLike | null, beta?: TensorLike | null, options?: LayerNormOptions | number | null, dispatchOptions?: DispatchOptions): Promise<Tensor> {
  return runAsync(() => prepareLayerNorm(x, gamma, beta, options), dispatchOptions);
}
