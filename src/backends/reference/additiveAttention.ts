/**
 * Reference additive (Bahdanau) attention and attention pooling.
 *
 * @module
 */
import type { AdditiveAttentionArgs, PoolResult, RowFilter, Widened } from '../../kernels';
import { softmaxRow } from './softmaxRow';

/**
 * `score(i,j) = v · tanh(q_i·wq + k_j·wk + b)`, softmax over the allowed j, weighted sum of
 * values. Jagged keys / values (`keyOffsets`): batch b reads its own rows only (masked by its own
 * `[L, n_b]` block of `jaggedMask`), and the weights are `[T, L]` in the keys' row order.
 */
export function additiveAttentionReference(a: Widened<AdditiveAttentionArgs>, rows: RowFilter = null): PoolResult {
  const { B, L, S, Dq, Dk, Dv, A, mask, keyLengths } = a;
  const offsets = a.keyOffsets ?? null;
  const jaggedMask = offsets ? (a.jaggedMask ?? null) : null;
  const keyRows = offsets ? offsets[B] : B * S;
  const output = new Float32Array(B * L * Dv);
  const weights = a.returnWeights ? new Float32Array(keyRows * L) : undefined;
  // Project every key once: kp[r,:] = k_r·wk (float64), r a key row (b*S + j, or a jagged row).
  const kp = new Float64Array(keyRows * A);
  for (let r = 0; r < keyRows; r++)
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
    const base = offsets ? offsets[b] : b * S; // the key row of key 0 of batch b
    const len = offsets ? offsets[b + 1] - offsets[b] : keyLengths ? keyLengths[b] : S;
    const n = offsets ? len : S; // the items visited: a jagged row has no padding
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
      for (let j = 0; j < n; j++) {
        let ok = j < len;
        if (ok && mask) ok = mask.data[b * mask.strides[0] + i * mask.strides[1] + j * mask.strides[2]] !== 0;
        if (ok && jaggedMask) ok = jaggedMask[L * base + i * len + j] !== 0; // batch b's [L, len] block at L·offsets[b]
        allowed[j] = 0;
        if (!ok) continue;
        let s = 0;
        for (let u = 0; u < A; u++) s += a.v[u] * Math.tanh(qp[u] + kp[(base + j) * A + u]);
        if (s === -Infinity) continue;
        logits[j] = s;
        allowed[j] = 1;
      }
      softmaxRow(logits, allowed, n, p);
      acc.fill(0);
      for (let j = 0; j < n; j++) {
        if (!allowed[j]) continue;
        for (let d = 0; d < Dv; d++) acc[d] += p[j] * a.values[(base + j) * Dv + d];
      }
      for (let d = 0; d < Dv; d++) output[row * Dv + d] = acc[d];
      if (weights && offsets) for (let j = 0; j < len; j++) weights[(base + j) * L + i] = p[j];
      else if (weights) for (let j = 0; j < n; j++) weights[row * S + j] = p[j];
    }
  }
  return weights ? { output, weights } : { output };
}
