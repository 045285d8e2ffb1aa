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
  // Measured by test/native-tolerance.mjs over random and adversarial inputs at every ISA
  // (worst seen: see native/README.md); this leaves headroom of ~4x.
  tolerance: { rtol: 1e-4, atol: 1e-5 },
};

registerNativeOp(sdpaOp);
