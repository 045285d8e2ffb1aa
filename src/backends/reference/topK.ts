/**
 * Reference top-K: every user against every item, by dot product.
 *
 * @module
 */
import type { RowFilter, TopKArgs, TopKResult, Widened } from '../../kernels';

/**
 * Order for ranking. `largest` (default): higher score first, NaN above every number (PyTorch's
 * convention). `!largest` (the k smallest): lower score first, NaN below every number (NaN is the
 * greatest value in both directions, as in PyTorch). Ties go to the lower index either way.
 * Scores are compared as the float32 values returned, so equal returned scores are always
 * ordered by index.
 */
export function ranksBefore(sa: number, ia: number, sb: number, ib: number, largest = true): boolean {
  const na = Number.isNaN(sa);
  const nb = Number.isNaN(sb);
  if (na || nb) return na && nb ? ia < ib : largest ? na : nb;
  if (sa === sb) return ia < ib;
  return largest ? sa > sb : sa < sb;
}

/** Scores in float64 rounded to float32, then a full sort of the non-excluded items (clear, not fast); padding -Infinity (largest) or +Infinity (smallest). */
export function topKReference(a: Widened<TopKArgs>, rows: RowFilter = null): TopKResult {
  const { users, items, B, N, D, k, exclude, largest } = a;
  const indices = new Int32Array(B * k).fill(-1);
  const scores = new Float32Array(B * k).fill(largest ? -Infinity : Infinity);
  const score = new Float32Array(N);
  const excluded = new Uint8Array(N);
  for (let b = 0; b < B; b++) {
    if (rows && !rows[b]) continue;
    excluded.fill(0);
    const ex = exclude ? exclude[b] : null;
    if (ex) for (let i = 0; i < ex.length; i++) excluded[ex[i]] = 1;
    const candidates: number[] = [];
    for (let n = 0; n < N; n++) {
      if (excluded[n]) continue;
      let dot = 0;
      for (let d = 0; d < D; d++) dot += users[b * D + d] * items[n * D + d];
      score[n] = dot;
      candidates.push(n);
    }
    candidates.sort((x, y) => (ranksBefore(score[x], x, score[y], y, largest) ? -1 : 1));
    const m = Math.min(k, candidates.length);
    for (let r = 0; r < m; r++) {
      indices[b * k + r] = candidates[r];
      scores[b * k + r] = score[candidates[r]];
    }
  }
  return { indices, scores };
}
