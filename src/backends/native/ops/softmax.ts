/**
 * Native softmax: the addon's `softmax` / `softmaxAsync` (vectorised per ISA, rows split over the pool).
 *
 * @module
 */
import type { SoftmaxArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native softmax adapter. */
export const softmaxOp: NativeOp<'softmax'> = {
  op: 'softmax',
  sync: (addon, args: SoftmaxArgs) => callSync<Float32Array>(addon, 'softmax', args),
  async: (addon, args: SoftmaxArgs) => callAsync<Float32Array>(addon, 'softmax', args),
  // Measured (bench/native-sdpa.mjs --errors, every ISA): worst |err| 6.0e-8, worst rel 4.6e-7
  // for |want| >= 1e-2; ~4x that.
  tolerance: { rtol: 2e-6, atol: 2e-7 },
};

registerNativeOp(softmaxOp);
