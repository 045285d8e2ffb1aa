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
  tolerance: { rtol: 1e-4, atol: 1e-4 },
};

registerNativeOp(additiveAttentionOp);
