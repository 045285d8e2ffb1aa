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

/**
 * For each valid history item, an MLP over `[h, t, h-t, h*t]` gives a_j; output `Σ a_j h_j` (or
 * softmax-normalised). A jagged history (`historyOffsets`) is read from user b's own rows: no
 * padding is visited, and the weights are `[T]` in the history's row order.
 */
export function targetAttentionReference(a: Widened<TargetAttentionArgs>, rows: RowFilter = null): PoolResult {
  const { B, S, D, layers, activation, normalize, keyLengths } = a;
  const offsets = a.historyOffsets ?? null;
  const output = new Float32Array(B * D);
  const weights = a.returnWeights ? new Float32Array(offsets ? offsets[B] : B * S) : undefined;
  const maxWidth = Math.max(4 * D, ...layers.map((l) => l.outDim));
  let cur = new Float64Array(maxWidth);
  let nxt = new Float64Array(maxWidth);
  const scores = new Float64Array(S);
  const allowed = new Uint8Array(S);
  const p = new Float64Array(S);
  const acc = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    if (rows && !rows[b]) continue;
    // The history row of item 0 of user b, and how many items it has (the rest of S is padding).
    const base = offsets ? offsets[b] : b * S;
    const len = offsets ? offsets[b + 1] - offsets[b] : keyLengths ? keyLengths[b] : S;
    const n = offsets ? len : S; // the items visited: a jagged row has no padding
    for (let j = 0; j < n; j++) {
      allowed[j] = j < len ? 1 : 0;
      if (!allowed[j]) continue;
      for (let d = 0; d < D; d++) {
        const h = a.history[(base + j) * D + d];
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
      for (let j = 0; j < n; j++) if (allowed[j] && scores[j] === -Infinity) allowed[j] = 0;
      softmaxRow(scores, allowed, n, p);
    } else {
      for (let j = 0; j < n; j++) p[j] = allowed[j] ? scores[j] : 0;
    }
    acc.fill(0);
    for (let j = 0; j < n; j++) {
      if (!allowed[j]) continue;
      for (let d = 0; d < D; d++) acc[d] += p[j] * a.history[(base + j) * D + d];
    }
    for (let d = 0; d < D; d++) output[b * D + d] = acc[d];
    if (weights) for (let j = 0; j < n; j++) weights[base + j] = p[j];
  }
  return weights ? { output, weights } : { output };
}
