/**
 * Reference additive (Bahdanau) attention and attention pooling.
 *
 * @module
 */
import type { AdditiveAttentionArgs, PoolResult, RowFilter, Widened } from '../../kernels';
import { softmaxRow } from './softmaxRow';

/** `score(i,j) = v · tanh(q_i·wq + k_j·wk + b)`, softmax over the allowed j, weighted sum of values. */
export function additiveAttentionReference(a: Widened<AdditiveAttentionArgs>, rows: RowFilter = null): PoolResult {
  const { B, L, S, Dq, Dk, Dv, A, mask, keyLengths } = a;
  const output = new Float32Array(B * L * Dv);
  const weights = a.returnWeights ? new Float32Array(B * L * S) : undefined;
  // Project every key once: kp[b,j,:] = k_j·wk (float64).
  const kp = new Float64Array(B * S * A);
  for (let r = 0; r < B * S; r++)
    for (let d = 0; d < Dk; d++) {
      const kv = a.keys[r * Dk + d];
      for (let u = 0; u < A; u++) kp[r * A + u] += kv * a.wk[d * A + u];
    }
  const qp = new Float64Array(A);
  const logits = new Float64Array(S);
  const allowed = new Uint8Array(S);
  const p = new Float64Array(S);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    const len = keyLengths ? keyLengths[b] : S;
    for (let i = 0; i < L; i++) {
      const row = b * L + i;
      if (rows && !rows[row]) continue;
      for (let u = 0; u < A; u++) qp[u] = a.b[u];
      if (a.query && a.wq) {
        for (let d = 0; d < Dq; d++) {
          const qv = a.query[row * Dq + d];
          for (let u = 0; u < A; u++) qp[u] += qv * a.wq[d * A + u];
        }
      }
      for (let j = 0; j < S; j++) {
        let ok = j < len;
        if (ok && mask) ok = mask.data[b * mask.strides[0] + i * mask.strides[1] + j * mask.strides[2]] !== 0;
        allowed[j] = 0;
        if (!ok) continue;
        let s = 0;
        for (let u = 0; u < A; u++) s += a.v[u] * Math.tanh(qp[u] + kp[(b * S + j) * A + u]);
        if (s === -Infinity) continue;
        logits[j] = s;
        allowed[j] = 1;
      }
      softmaxRow(logits, allowed, S, p);
      acc.fill(0);
      for (let j = 0; j < S; j++) {
        if (!allowed[j]) continue;
        for (let d = 0; d < Dv; d++) acc[d] += p[j] * a.values[(b * S + j) * Dv + d];
      }
      for (let d = 0; d < Dv; d++) output[row * Dv + d] = acc[d];
      if (weights) for (let j = 0; j < S; j++) weights[row * S + j] = p[j];
    }
  }
  return weights ? { output, weights } : { output };
}
