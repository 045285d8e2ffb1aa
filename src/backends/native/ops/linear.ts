/**
 * Native linear: one blocked SIMD GEMM (native/kernels/gemm) with the bias in the accumulator.
 *
 * @module
 */
import type { LinearArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native linear adapter (args passed to the addon as they are). */
export const linearOp: NativeOp<'linear'> = {
  op: 'linear',
  sync: (addon, args: LinearArgs) => callSync<Float32Array>(addon, 'linear', args),
  async: (addon, args: LinearArgs) => callAsync<Float32Array>(addon, 'linear', args),
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 3.8e-7 (max |got - want| 2.3e-6 (K up to 4096)); atol leaves ~4x headroom.
  tolerance: { rtol: 1e-4, atol: 2e-6 },
};

registerNativeOp(linearOp);
