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
  // Measured (bench/native-sdpa.mjs --errors, every ISA): worst |err| 1.2e-7, worst rel 5.3e-7
  // for |want| >= 1e-2; the tolerance keeps that within its atol.
  tolerance: { rtol: 2e-6, atol: 2e-7 },
};

registerNativeOp(softmaxOp);
