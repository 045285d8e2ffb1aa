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
  // Measured (bench/native-gemm.mjs --errors): float32 FMA chains vs float64 give relative
  // errors ~1e-6 of Σ|x·w|; cancellation makes |got-want|/|want| unbounded, so atol carries it.
  tolerance: { rtol: 1e-4, atol: 1e-4 },
};

registerNativeOp(linearOp);
