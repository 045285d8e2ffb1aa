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
  // Measured (bench/native-sdpa.mjs --errors, every ISA, both forms): worst |err| 4.8e-7, worst
  // rel 6.3e-7 for |want| >= 1e-2; the tolerance keeps that within its atol.
  tolerance: { rtol: 2e-6, atol: 5e-7 },
};

registerNativeOp(geluOp);
