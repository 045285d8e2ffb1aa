/**
 * Reference embeddingBackward: the scatter-add of dOut's rows into the rows their indices name,
 * each sum in float64 in position order, rounded to float32 once.
 *
 * @module
 */
import type { EmbeddingBackwardArgs, RowFilter } from '../../kernels';

/** dTable `[numItems, E]`; with a row filter, only the flagged items' rows are computed. */
export function embeddingBackwardReference(a: EmbeddingBackwardArgs, rows: RowFilter = null): Float32Array {
  const { dOut, indices, N, E, numItems, paddingIndex } = a;
  const sums = new Float64Array(numItems * E);
  for (let n = 0; n < N; n++) {
    const item = indices[n];
    if (item === paddingIndex || (rows && !rows[item])) continue;
    for (let e = 0; e < E; e++) sums[item * E + e] += dOut[n * E + e];
  }
  return Float32Array.from(sums);
}
