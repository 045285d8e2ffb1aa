/**
 * The gpu pipeline of `layerNorm`: the layerNorm stage over the last axis (and, with
 * `returnStats`, the mean and invStd of its statistics stage). Browser-compatible.
 *
 * @module
 */
import type { LayerNormArgs, LayerNormResult } from '../../kernels';
import type { GpuJsTexture } from './host';
import type { Runtime } from './runtime';
import { scoped } from './pipeline';
import { layerNorm, layerNormStats } from './stages';

/** layerNorm over the last axis; with `returnStats`, each row's mean and invStd too. */
export function layerNormGpu(rt: Runtime, a: LayerNormArgs): Float32Array | LayerNormResult {
  const { rows, cols } = a;
  if (rows * cols === 0) {
    // Rows of no columns have NaN statistics (0/0), as reference gives.
    return a.returnStats ? { output: new Float32Array(0), mean: new Float32Array(rows).fill(NaN), invStd: new Float32Array(rows).fill(NaN) } : new Float32Array(0);
  }
  return scoped((scope) => {
    const kept: { st?: GpuJsTexture } = {};
    const y = layerNorm(rt, scope, rt.input(a.x, [cols, rows, 1]), null, cols, rows, 1, a.gamma, a.beta, a.eps, a.returnStats ? (t) => (kept.st = t) : undefined);
    const output = rt.read(y, rows * cols);
    const st = kept.st;
    if (!st) return output;
    // The statistics the output was normalised with: the mean as is, invStd = 1/sqrt(var + eps).
    const both = rt.read(layerNormStats(rt, scope, st, rows, 1, a.eps), 2 * rows);
    const mean = new Float32Array(rows);
    const invStd = new Float32Array(rows);
    for (let r = 0; r < rows; r++) {
      mean[r] = both[2 * r];
      invStd[r] = both[2 * r + 1];
    }
    return { output, mean, invStd };
  });
}
