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
  // Measured: see native/README.md (tolerances).
  tolerance: { rtol: 1e-4, atol: 1e-5 },
};

registerNativeOp(softmaxOp);
