/**
 * Reference DIN target attention (the "activation unit" of Deep Interest Network).
 *
 * @module
 */
import type { PoolResult, RowFilter, TargetAttentionArgs, Widened } from '../../kernels';
import { softmaxRow } from './softmaxRow';

/** One activation in float64. */
function activate(x: number, kind: TargetAttentionArgs['activation'], alpha: number): number {
  if (kind === 'relu') return x > 0 ? x : x < 0 ? 0 : x; // keeps NaN
  if (kind === 'sigmoid') return 1 / (1 + Math.exp(-x));
  return x >= 0 ? x : alpha * x; // prelu (NaN stays NaN)
}

/** For each valid history item, an MLP over `[h, t, h-t, h*t]` gives a_j; output `Σ a_j h_j` (or softmax-normalised). */
export function targetAttentionReference(a: Widened<TargetAttentionArgs>, rows: RowFilter = null): PoolResult {
  const { B, S, D, layers, activation, normalize, keyLengths } = a;
  const output = new Float32Array(B * D);
  const weights = a.returnWeights ? new Float32Array(B * S) : undefined;
  const maxWidth = Math.max(4 * D, ...layers.map((l) => l.outDim));
  let cur = new Float64Array(maxWidth);
  let nxt = new Float64Array(maxWidth);
  const scores = new Float64Array(S);
  const allowed = new Uint8Array(S);
  const p = new Float64Array(S);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    if (rows && !rows[b]) continue;
    const len = keyLengths ? keyLengths[b] : S;
    for (let j = 0; j < S; j++) {
      allowed[j] = j < len ? 1 : 0;
      if (!allowed[j]) continue;
      for (let d = 0; d < D; d++) {
        const h = a.history[(b * S + j) * D + d];
        const t = a.target[b * D + d];
        cur[d] = h;
        cur[D + d] = t;
        cur[2 * D + d] = h - t;
        cur[3 * D + d] = h * t;
      }
      for (let l = 0; l < layers.length; l++) {
        const { w, b: bias, inDim, outDim, alpha } = layers[l];
        for (let o = 0; o < outDim; o++) nxt[o] = bias[o];
        for (let i = 0; i < inDim; i++) {
          const xi = cur[i];
          for (let o = 0; o < outDim; o++) nxt[o] += xi * w[i * outDim + o];
        }
        if (l < layers.length - 1) for (let o = 0; o < outDim; o++) nxt[o] = activate(nxt[o], activation, alpha ? alpha[o] : 0);
        [cur, nxt] = [nxt, cur];
      }
      scores[j] = cur[0];
    }
    if (normalize === 'softmax') {
      for (let j = 0; j < S; j++) if (allowed[j] && scores[j] === -Infinity) allowed[j] = 0;
      softmaxRow(scores, allowed, S, p);
    } else {
      for (let j = 0; j < S; j++) p[j] = allowed[j] ? scores[j] : 0;
    }
    acc.fill(0);
    for (let j = 0; j < S; j++) {
      if (!allowed[j]) continue;
      for (let d = 0; d < D; d++) acc[d] += p[j] * a.history[(b * S + j) * D + d];
    }
    for (let d = 0; d < D; d++) output[b * D + d] = acc[d];
    if (weights) for (let j = 0; j < S; j++) weights[b * S + j] = p[j];
  }
  return weights ? { output, weights } : { output };
}
