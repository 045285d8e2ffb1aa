/**
 * Reference siluBackward: `dy · silu'(x)` in float64.
 *
 * @module
 */
import type { RowFilter, SiluBackwardArgs } from '../../kernels';

/**
 * silu'(x) = σ(x) + x·σ(x)(1 − σ(x)) in float64, from `e = exp(−|x|)` (never overflows):
 * σ = 1/(1 + e) or e/(1 + e), σ(1 − σ) = e/(1 + e)². ±Infinity: the limits 1 and 0; NaN stays NaN.
 */
export function siluGrad(x: number): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  const e = Math.exp(-Math.abs(x));
  const d = 1 / (1 + e);
  const s = x >= 0 ? d : e * d;
  return s + x * e * d * d;
}

/** Elementwise `dy · silu'(x)`. */
export function siluBackwardReference(a: SiluBackwardArgs, rows: RowFilter = null): Float32Array {
  const { dy, x, rows: R, cols: C } = a;
  const out = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    for (let j = 0; j < C; j++) out[r * C + j] = dy[r * C + j] * siluGrad(x[r * C + j]);
  }
  return out;
}
