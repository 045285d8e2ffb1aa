/**
 * Native targetAttention (DIN): the activation unit fused over the history, with the first
 * layer's t-part computed once per batch row; batch x item-block parallel.
 *
 * @module
 */
import type { PoolResult, TargetArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native targetAttention adapter. */
export const targetAttentionOp: NativeOp<'targetAttention'> = {
  op: 'targetAttention',
  sync: (addon, args: TargetArgs) => callSync<PoolResult>(addon, 'targetAttention', args),
  async: (addon, args: TargetArgs) => callAsync<PoolResult>(addon, 'targetAttention', args),
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 1.6e-7 (max |got - want| 3.8e-6 on outputs up to 31); atol leaves ~4x headroom.
  tolerance: { rtol: 1e-4, atol: 1e-6 },
};

registerNativeOp(targetAttentionOp);
