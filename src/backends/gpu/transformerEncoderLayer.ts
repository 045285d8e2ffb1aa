/**
 * The gpu pipeline of `transformerEncoderLayer`: layerNorms, Q/K/V projections, the attention
 * core, the output projection and FFN with residuals fused, pre- or post-norm. Browser-compatible.
 *
 * @module
 */
import type { TransformerEncoderLayerArgs, Widened } from '../../kernels';
import type { GpuJsTexture } from './host';
import type { Runtime } from './runtime';
import { scoped, type Act, type Src } from './pipeline';
import { layerNorm, linear } from './stages';
import { attention, type AttnCore } from './attentionCore';

/** transformerEncoderLayer: every step (norms, projections, attention, FFN, residuals) on the GPU. */
export function transformerEncoderLayerGpu(rt: Runtime, a: Widened<TransformerEncoderLayerArgs>): Float32Array {
  return scoped((scope) => {
    const { B, L, E, H, D, F } = a;
    const x = rt.input(a.x, [E, L, B]);
    const core: AttnCore = {
      B, Hq: H, Hkv: H, L, S: L, D, Dv: D, scale: 1 / Math.sqrt(D),
      causal: a.causal, offsets: a.offsets, windowLeft: a.windowLeft, windowRight: a.windowRight, softcap: a.softcap,
      mask: null, bias: null, keyLengths: a.keyLengths, layout: 'packed',
    };
    const selfAttention = (inp: Src): GpuJsTexture => {
      const qp = linear(rt, scope, inp, L, B, E, E, a.wq, a.bq);
      const kp = linear(rt, scope, inp, L, B, E, E, a.wk, a.bk);
      const vp = linear(rt, scope, inp, L, B, E, E, a.wv, a.bv);
      return attention(rt, scope, core, qp, kp, vp).out;
    };
    const act: Act = a.activation === 'gelu' ? 'gelu' : 'relu';
    if (a.norm === 'post') {
      const y1 = linear(rt, scope, selfAttention(x), L, B, E, E, a.wo, a.bo, 'none', x); // x + selfAttention(x)
      const h1 = layerNorm(rt, scope, y1, null, E, L, B, a.gamma1, a.beta1, a.eps);
      const f = linear(rt, scope, h1, L, B, E, F, a.w1, a.b1, act);
      const y2 = linear(rt, scope, f, L, B, F, E, a.w2, a.b2, 'none', h1); // h1 + ffn(h1)
      return rt.read(layerNorm(rt, scope, y2, null, E, L, B, a.gamma2, a.beta2, a.eps), B * L * E);
    }
    const n1 = layerNorm(rt, scope, x, null, E, L, B, a.gamma1, a.beta1, a.eps);
    const y1 = linear(rt, scope, selfAttention(n1), L, B, E, E, a.wo, a.bo, 'none', x); // x + selfAttention(norm1(x))
    const n2 = layerNorm(rt, scope, y1, null, E, L, B, a.gamma2, a.beta2, a.eps);
    const f = linear(rt, scope, n2, L, B, E, F, a.w1, a.b1, act);
    return rt.read(linear(rt, scope, f, L, B, F, E, a.w2, a.b2, 'none', y1), B * L * E); // y1 + ffn(norm2(y1))
  });
}
