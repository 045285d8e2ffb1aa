/**
 * Reference linearBackward (x·W layout), float64 sums.
 *
 * @module
 */
import type { LinearBackwardArgs, LinearBackwardResult, RowFilter } from '../../kernels';

/**
 * `dx[r,i] = Σ_o dy[r,o]·w[i,o]` (for the filtered rows), and over every row whatever the
 * filter: `dW[i,o] = Σ_r x[r,i]·dy[r,o]`, `db[o] = Σ_r dy[r,o]`.
 */
export function linearBackwardReference(a: LinearBackwardArgs, rows: RowFilter = null): LinearBackwardResult {
  const { dy, x, w, rows: R, inDim: I, outDim: O } = a;
  const dx = new Float32Array(R * I);
  const dW = new Float64Array(I * O);
  const db = new Float64Array(O);
  for (let r = 0; r < R; r++) {
    const dyOff = r * O, xOff = r * I;
    for (let o = 0; o < O; o++) db[o] += dy[dyOff + o];
    for (let i = 0; i < I; i++) {
      const xi = x[xOff + i];
      const wOff = i * O;
      for (let o = 0; o < O; o++) dW[wOff + o] += xi * dy[dyOff + o];
    }
    if (rows && !rows[r]) continue;
    for (let i = 0; i < I; i++) {
      let s = 0;
      const wOff = i * O;
      for (let o = 0; o < O; o++) s += dy[dyOff + o] * w[wOff + o];
      dx[xOff + i] = s;
    }
  }
  return { dx, dW: Float32Array.from(dW), db: Float32Array.from(db) };
}
