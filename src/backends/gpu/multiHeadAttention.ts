/**
 * The gpu pipeline of `multiHeadAttention`: Q/K/V projections, the attention core over packed
 * heads, and the output projection. Browser-compatible.
 *
 * @module
 */
import type { AttentionResult, MultiHeadAttentionArgs, Widened } from '../../kernels';
import type { Runtime } from './runtime';
import { scoped } from './pipeline';
import { linear } from './stages';
import { attention, attentionResult } from './attentionCore';

/** multiHeadAttention: projections, attention and output projection, all on the GPU. */
export function multiHeadAttentionGpu(rt: Runtime, a: Widened<MultiHeadAttentionArgs>): AttentionResult {
  return scoped((scope) => {
    const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = a;
    const query = rt.input(a.query, [E, L, B]);
    const qp = linear(rt, scope, query, L, B, E, Hq * D, a.wq, a.bq);
    const key = a.selfAttention ? query : rt.input(a.key, [Ek, S, B]);
    const kp = linear(rt, scope, key, S, B, Ek, Hkv * D, a.wk, a.bk);
    const value = a.selfAttention ? query : rt.input(a.value, [Ev, S, B]);
    const vp = linear(rt, scope, value, S, B, Ev, Hkv * Dv, a.wv, a.bv);
    const r = attention(rt, scope, { ...a, layout: 'packed' }, qp, kp, vp);
    const o = linear(rt, scope, r.out, L, B, Hq * Dv, Eo, a.wo, a.bo);
    return attentionResult(rt, scope, { ...r, out: o }, B * L * Eo, B * Hq * L, S, L, B * Hq, a.returnWeights, a.returnLse);
  });
}
