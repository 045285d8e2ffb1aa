/**
 * Reference transformer encoder layer (PyTorch's nn.TransformerEncoderLayer semantics, x·W weights).
 *
 * @module
 */
import type { TransformerEncoderLayerArgs, RowFilter, Widened } from '../../kernels';
import { geluScalar } from './gelu';
import { layerNormReference } from './layerNorm';
import { linearReference } from './linear';
import { multiHeadAttentionReference } from './multiHeadAttention';

/** Post-norm: `x = norm1(x + mha(x)); x = norm2(x + ffn(x))`. Pre-norm: `x = x + mha(norm1(x)); x = x + ffn(norm2(x))`. */
export function transformerEncoderLayerReference(a: Widened<TransformerEncoderLayerArgs>, rows: RowFilter = null): Float32Array {
  const { B, L, E, H, D, F, eps } = a;
  const R = B * L;
  const norm = (x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null, r: RowFilter) =>
    layerNormReference({ x, rows: R, cols: E, gamma, beta, eps, returnStats: false }, r) as Float32Array;
  const attention = (x: Float32Array) =>
    multiHeadAttentionReference(
      {
        query: x, key: x, value: x, selfAttention: true,
        B, L, S: L, E, Ek: E, Ev: E, Hq: H, Hkv: H, D, Dv: D, Eo: E,
        wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo,
        scale: 1 / Math.sqrt(D), causal: a.causal, offsets: a.offsets, windowLeft: a.windowLeft, windowRight: a.windowRight, softcap: a.softcap,
        mask: null, bias: null, keyLengths: a.keyLengths,
        returnWeights: false, returnLse: false,
      },
      rows,
    ).output;
  const ffn = (x: Float32Array) => {
    const h = linearReference({ x, rows: R, inDim: E, outDim: F, w: a.w1, b: a.b1 }, rows);
    for (let i = 0; i < h.length; i++) h[i] = a.activation === 'relu' ? (h[i] > 0 ? h[i] : h[i] < 0 ? 0 : h[i]) : geluScalar(h[i], 'none');
    return linearReference({ x: h, rows: R, inDim: F, outDim: E, w: a.w2, b: a.b2 }, rows);
  };
  const add = (x: Float32Array, y: Float32Array) => {
    const out = new Float32Array(x.length);
    for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
    return out;
  };
  if (a.norm === 'post') {
    const x1 = norm(add(a.x, attention(a.x)), a.gamma1, a.beta1, rows);
    return norm(add(x1, ffn(x1)), a.gamma2, a.beta2, rows);
  }
  // Pre-norm: every row's norm1 is needed, since every row is a key and value.
  const x1 = add(a.x, attention(norm(a.x, a.gamma1, a.beta1, null)));
  return add(x1, ffn(norm(x1, a.gamma2, a.beta2, rows)));
}
