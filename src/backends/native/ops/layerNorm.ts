/**
 * Native layerNorm: the addon's `layerNorm` / `layerNormAsync` (vectorised per ISA, rows split over the pool).
 *
 * @module
 */
import type { LayerNormArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native layerNorm adapter. */
export const layerNormOp: NativeOp<'layerNorm'> = {
  op: 'layerNorm',
  sync: (addon, args: LayerNormArgs) => callSync<Float32Array>(addon, 'layerNorm', args),
  async: (addon, args: LayerNormArgs) => callAsync<Float32Array>(addon, 'layerNorm', args),
  // Measured (bench/native-sdpa.mjs --errors, every ISA, incl. rows with a mean of 100): worst
  // |err| 1.1e-6, worst rel 5.4e-5 for |want| >= 1e-2 (scalar); ~4x that.
  tolerance: { rtol: 3e-4, atol: 5e-6 },
};

registerNativeOp(layerNormOp);
