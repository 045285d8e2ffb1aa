/**
 * Native transformerEncoderLayer: fused QKV GEMM + sdpa, residual-accumulating GEMMs, relu /
 * exact-gelu GEMM epilogue, layerNorm in double.
 *
 * @module
 */
import type { EncoderArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native transformerEncoderLayer adapter. */
export const transformerEncoderLayerOp: NativeOp<'transformerEncoderLayer'> = {
  op: 'transformerEncoderLayer',
  sync: (addon, args: EncoderArgs) => callSync<Float32Array>(addon, 'transformerEncoderLayer', args),
  async: (addon, args: EncoderArgs) => callAsync<Float32Array>(addon, 'transformerEncoderLayer', args),
  tolerance: { rtol: 1e-4, atol: 1e-4 },
};

registerNativeOp(transformerEncoderLayerOp);
