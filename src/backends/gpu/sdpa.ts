/**
 * The gpu pipeline of `sdpa`: q (and k, v when read often enough) copied to float textures,
 * then the attention core: per head for layout 'bhld', packed heads (no transposed copy) for
 * 'blhd'. Browser-compatible.
 *
 * @module
 */
import type { AttentionResult, SdpaArgs, Widened } from '../../kernels';
import type { Runtime } from './runtime';
import { REUSE, scoped, texture, type Src } from './pipeline';
import { attention, attentionResult } from './attentionCore';
import { sdpaJaggedGpu } from './sdpaJagged';

/** sdpa on the gpu: the attention core over q, k, v in their layout; output, and weights / lse / logits when asked for. */
export function sdpaGpu(rt: Runtime, a: Widened<SdpaArgs>): AttentionResult {
  if (a.qOffsets && a.kvOffsets) return sdpaJaggedGpu(rt, a, a.qOffsets, a.kvOffsets);
  return scoped((scope) => {
    const { B, Hq, Hkv, L, S, D, Dv } = a;
    // 'bhld' [B,H,L,D] is the core's 'heads' layout; 'blhd' [B,L,H,D] is its 'packed' one
    // ([B, L, H*D], as multiHeadAttention's projections), output [B,L,Hq,Dv] alike.
    const packed = a.layout === 'blhd';
    const dims = (H: number, rows: number, cols: number): [number, number, number] => (packed ? [H * cols, rows, B] : [cols, rows, B * H]);
    // Copy to a float texture what is read often enough to repay the copy: each q element is read
    // S times, each k / v element L * (Hq / Hkv) times (so not k and v when decoding, L = 1).
    const up = (data: Float32Array, d: [number, number, number], reads: number): Src => (reads >= REUSE ? texture(rt, scope, data, d) : rt.input(data, d));
    const q = up(a.q, dims(Hq, L, D), S);
    const k = up(a.k, dims(Hkv, S, D), L * (Hq / Hkv));
    const v = up(a.v, dims(Hkv, S, Dv), L * (Hq / Hkv));
    const r = attention(rt, scope, { ...a, layout: packed ? 'packed' : 'heads' }, q, k, v);
    return attentionResult(rt, scope, r, B * Hq * L * Dv, B * Hq * L, S, L, B * Hq, a.returnWeights, a.returnLse, a.returnLogits);
  });
}
