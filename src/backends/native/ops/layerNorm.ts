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
  // Measured: see native/README.md (tolerances).
  tolerance: { rtol: 1e-4, atol: 1e-5 },
};

registerNativeOp(layerNormOp);
