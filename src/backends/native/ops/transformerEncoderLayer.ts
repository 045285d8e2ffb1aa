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
  // Measured with bench/native-gemm.mjs (random inputs, odd sizes, every ISA): at rtol 1e-4 the
  // worst case needs atol 3.3e-6 (max |got - want| 8.1e-6 on outputs up to 7 (layerNorm amplifies)); atol leaves ~3.6x headroom.
  tolerance: { rtol: 1e-4, atol: 1.2e-5 },
};

registerNativeOp(transformerEncoderLayerOp);
