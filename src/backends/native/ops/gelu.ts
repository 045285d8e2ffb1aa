/**
 * Native gelu: the addon's `gelu` / `geluAsync` (vectorised per ISA, rows split over the pool).
 *
 * @module
 */
import type { GeluArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native gelu adapter. */
export const geluOp: NativeOp<'gelu'> = {
  op: 'gelu',
  sync: (addon, args: GeluArgs) => callSync<Float32Array>(addon, 'gelu', args),
  async: (addon, args: GeluArgs) => callAsync<Float32Array>(addon, 'gelu', args),
  // Measured: see native/README.md (tolerances).
  tolerance: { rtol: 1e-4, atol: 1e-5 },
};

registerNativeOp(geluOp);
