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
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 1.0e-6 (max |got - want| 3.1e-6); atol leaves ~5x headroom.
  tolerance: { rtol: 1e-4, atol: 5e-6 },
};

registerNativeOp(multiHeadAttentionOp);
