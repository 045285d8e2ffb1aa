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
  // Scores are float32 dot products (FMA chains) vs reference's float64-then-rounded ones;
  // verify compares indices through their scores (see test/specs/topK.mjs).
  tolerance: { rtol: 1e-4, atol: 1e-4 },
};

registerNativeOp(topKOp);
