/**
 * Native topK: item table packed once, users scored in GEMM tiles, bounded heaps per user.
 *
 * @module
 */
import type { TopKArgs, TopKResult } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native topK adapter. */
export const topKOp: NativeOp<'topK'> = {
  op: 'topK',
  sync: (addon, args: TopKArgs) => callSync<TopKResult>(addon, 'topK', args),
  async: (addon, args: TopKArgs) => callAsync<TopKResult>(addon, 'topK', args),
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 0 (max |got - want| 7.6e-6 on scores up to 17, max rel 6.6e-7): the k best
  // scores are large; atol only covers a near-zero score left in the k when few items remain.
  tolerance: { rtol: 1e-4, atol: 1e-6 },
};

registerNativeOp(topKOp);
