/**
 * The gpu pipeline of `sdpa`: q (and k, v when read often enough) copied to float textures,
 * then the attention core. Browser-compatible.
 *
 * @module
 */
import type { AttentionResult, SdpaArgs } from '../../kernels';
import type { Runtime } from './runtime';
import { REUSE, scoped, texture, type Src } from './pipeline';
import { attention, attentionResult } from './attentionCore';

/** sdpa on the gpu: the attention core over per-head q, k, v; output, and weights / lse when asked for. */
export function sdpaGpu(rt: Runtime, a: SdpaArgs): AttentionResult {
  return scoped((scope) => {
    const { B, Hq, Hkv, L, S, D, Dv } = a;
    // Copy to a float texture what is read often enough to repay the copy: each q element is read
    // S times, each k / v element L * (Hq / Hkv) times (so not k and v when decoding, L = 1).
    const up = (data: Float32Array, dims: [number, number, number], reads: number): Src => (reads >= REUSE ? texture(rt, scope, data, dims) : rt.input(data, dims));
    const q = up(a.q, [D, L, B * Hq], S);
    const k = up(a.k, [D, S, B * Hkv], L * (Hq / Hkv));
    const v = up(a.v, [Dv, S, B * Hkv], L * (Hq / Hkv));
    const r = attention(rt, scope, { ...a, layout: 'heads' }, q, k, v);
    return attentionResult(rt, scope, r, B * Hq * L * Dv, B * Hq * L, S, L, B * Hq, a.returnWeights, a.returnLse);
  });
}
