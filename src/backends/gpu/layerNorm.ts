/**
 * The gpu pipeline of `layerNorm`: the layerNorm stage over the last axis. Browser-compatible.
 *
 * @module
 */
import type { LayerNormArgs } from '../../kernels';
import type { Runtime } from './runtime';
import { scoped } from './pipeline';
import { layerNorm } from './stages';

/** layerNorm over the last axis. */
export function layerNormGpu(rt: Runtime, a: LayerNormArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) => rt.read(layerNorm(rt, scope, rt.input(a.x, [a.cols, a.rows, 1]), null, a.cols, a.rows, 1, a.gamma, a.beta, a.eps), a.rows * a.cols));
}
