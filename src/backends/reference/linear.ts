/**
 * Reference linear layer, x·W layout.
 *
 * @module
 */
import type { LinearArgs, RowFilter, Widened } from '../../kernels';

/** `y[r, o] = Σ_i x[r, i] · w[i, o] + b[o]`, accumulated in float64. */
export function linearReference(a: Widened<LinearArgs>, rows: RowFilter = null): Float32Array {
  const { x, rows: R, inDim: I, outDim: O, w, b } = a;
  const out = new Float32Array(R * O);
  const acc = new Float64Array(O);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    if (b) for (let o = 0; o < O; o++) acc[o] = b[o];
    else acc.fill(0);
    for (let i = 0; i < I; i++) {
      const xi = x[r * I + i];
      const wOff = i * O;
      for (let o = 0; o < O; o++) acc[o] += xi * w[wOff + o];
    }
    for (let o = 0; o < O; o++) out[r * O + o] = acc[o];
  }
  return out;
}
