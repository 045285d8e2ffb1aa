// Float64 forwards of the attention layers, written from their definitions for the finite
// differences (no src/ code): projections x·W + b, heads through the float64 sdpa oracle,
// LayerNorm with biased variance, the FFN with exact gelu (x·Φ(x)) or relu.
import { oracleSdpa, normalCdf } from '../oracle.mjs';

/** x [rows,In] · w [In,Out] + b in float64. */
export function linear64(x, rows, inDim, w, b, outDim) {
  const out = new Float64Array(rows * outDim);
  for (let r = 0; r < rows; r++)
    for (let o = 0; o < outDim; o++) {
      let s = b ? b[o] : 0;
      for (let i = 0; i < inDim; i++) s += x[r * inDim + i] * w[i * outDim + o];
      out[r * outDim + o] = s;
    }
  return out;
}

/** LayerNorm over rows of E in float64 (biased variance), affine when gamma / beta are given. */
export function layerNorm64(x, rows, E, gamma, beta, eps) {
  const out = new Float64Array(rows * E);
  for (let r = 0; r < rows; r++) {
    let mean = 0;
    for (let c = 0; c < E; c++) mean += x[r * E + c];
    mean /= E;
    let v = 0;
    for (let c = 0; c < E; c++) v += (x[r * E + c] - mean) ** 2;
    const inv = 1 / Math.sqrt(v / E + eps);
    for (let c = 0; c < E; c++) out[r * E + c] = (x[r * E + c] - mean) * inv * (gamma ? gamma[c] : 1) + (beta ? beta[c] : 0);
  }
  return out;
}

/**
 * Multi-head attention in float64: query [B,L,E], key [B,S,Ek], value [B,S,Ev] arrays, params
 * arrays (biases may be null), `o` = { Hq, Hkv, ...sdpa oracle options }. Returns [B,L,Eo].
 */
export function mha64(query, key, value, dims, p, o) {
  const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = dims;
  const q = linear64(query, B * L, E, p.wq, p.bq, Hq * D);
  const k = linear64(key, B * S, Ek, p.wk, p.bk, Hkv * D);
  const v = linear64(value, B * S, Ev, p.wv, p.bv, Hkv * Dv);
  const att = oracleSdpa({ data: q, shape: [B, L, Hq, D] }, { data: k, shape: [B, S, Hkv, D] }, { data: v, shape: [B, S, Hkv, Dv] }, { ...o, layout: 'blhd' });
  return linear64(att.output, B * L, Hq * Dv, p.wo, p.bo, Eo);
}

/** gelu (exact) or relu, elementwise in float64. */
export const act64 = (h, activation) => h.map((v) => (activation === 'gelu' ? v * normalCdf(v) : Math.max(0, v)));

/** x + y in float64. */
export const add64 = (x, y) => x.map((v, i) => v + y[i]);
