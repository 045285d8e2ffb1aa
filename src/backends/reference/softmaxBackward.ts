/**
 * Reference softmaxBackward over the last axis, float64 sums.
 *
 * @module
 */
import type { RowFilter, SoftmaxBackwardArgs } from '../../kernels';

/** `dx = y ∘ (dy − Σ_j dy_j·y_j)` per row, the sum and the products in float64. */
export function softmaxBackwardReference(a: SoftmaxBackwardArgs, rows: RowFilter = null): Float32Array {
  const { dy, y, rows: R, cols: C } = a;
  const out = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    const off = r * C;
    let s = 0;
    for (let j = 0; j < C; j++) s += dy[off + j] * y[off + j];
    for (let j = 0; j < C; j++) out[off + j] = y[off + j] * (dy[off + j] - s);
  }
  return out;
}
