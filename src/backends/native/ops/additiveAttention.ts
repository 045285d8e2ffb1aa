/**
 * Native additiveAttention: projections through the GEMM, vectorised tanh sum (documented
 * error), exclusion-aware softmax in double, weighted sum of the allowed values.
 *
 * @module
 */
import type { AdditiveArgs, PoolResult } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native additiveAttention adapter. */
export const additiveAttentionOp: NativeOp<'additiveAttention'> = {
  op: 'additiveAttention',
  sync: (addon, args: AdditiveArgs) => callSync<PoolResult>(addon, 'additiveAttention', args),
  async: (addon, args: AdditiveArgs) => callAsync<PoolResult>(addon, 'additiveAttention', args),
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 3.2e-7 (max |got - want| 9.8e-7); atol leaves ~4x headroom.
  tolerance: { rtol: 1e-4, atol: 1.5e-6 },
};

registerNativeOp(additiveAttentionOp);
