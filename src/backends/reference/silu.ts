/**
 * Reference SiLU: `x·sigmoid(x)` in float64.
 *
 * @module
 */
import type { RowFilter, SiluArgs } from '../../kernels';

/** silu of one value in float64; `-Infinity` gives the limit -0 (not `-Inf/Inf = NaN`). */
export function siluScalar(x: number): number {
  return x === -Infinity ? -0 : x / (1 + Math.exp(-x));
}

/** Elementwise silu. */
export function siluReference(a: SiluArgs, rows: RowFilter = null): Float32Array {
  const { x, rows: R, cols: C } = a;
  const out = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    for (let j = 0; j < C; j++) out[r * C + j] = siluScalar(x[r * C + j]);
  }
  return out;
}
