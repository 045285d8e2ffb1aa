/**
 * Native sdpa: the addon's `sdpa` / `sdpaAsync` (tiled online softmax, per-ISA microkernels).
 *
 * @module
 */
import type { AttentionResult, SdpaArgs } from '../../../kernels';
import { callAsync, callSync, registerNativeOp, type NativeOp } from './types';

/** The native sdpa adapter. */
export const sdpaOp: NativeOp<'sdpa'> = {
  op: 'sdpa',
  sync: (addon, args: SdpaArgs) => callSync<AttentionResult>(addon, 'sdpa', args),
  async: (addon, args: SdpaArgs) => callAsync<AttentionResult>(addon, 'sdpa', args),
  // Measured with `node bench/native-sdpa.mjs --errors` (random + masked/biased/causal/GQA/decode
  // inputs, every ISA): worst |err| 1.9e-6 (lse) / 1.8e-7 (output), worst rel 5.8e-6 for
  // |want| >= 1e-2; this is ~4x that (see native/README.md).
  tolerance: { rtol: 2e-5, atol: 4e-6 },
};

registerNativeOp(sdpaOp);
