/**
 * Native multiHeadAttention: fused QKV projection GEMM, sdpa on the strided projections (no head
 * split/merge copies), output projection.
 *
 * @module
 */
import type { AttentionResult, MhaArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native multiHeadAttention adapter. */
export const multiHeadAttentionOp: NativeOp<'multiHeadAttention'> = {
  op: 'multiHeadAttention',
  sync: (addon, args: MhaArgs) => callSync<AttentionResult>(addon, 'multiHeadAttention', args),
  async: (addon, args: MhaArgs) => callAsync<AttentionResult>(addon, 'multiHeadAttention', args),
  tolerance: { rtol: 1e-4, atol: 1e-4 },
};

registerNativeOp(multiHeadAttentionOp);
