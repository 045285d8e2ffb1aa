/**
 * Reference geluBackward: `dy · gelu'(x)` in float64, exact or tanh form.
 *
 * @module
 */
import type { GeluBackwardArgs, RowFilter } from '../../kernels';
import { erfc } from './gelu';

const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);
const SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI);

/**
 * gelu'(x) in float64. Exact: `Φ(x) + x·φ(x)` with `Φ(x) = erfc(−x/√2)/2` (no cancellation in
 * the negative tail). Tanh form: with `u = √(2/π)(x + 0.044715x³)`, `0.5(1 + tanh u) = σ(2u)` and
 * `0.5(1 − tanh²u) = 2σ(2u)σ(−2u)`, both formed from `e = exp(−2|u|)` (no `1 + tanh u` cancellation
 * for negative x): `σ(2u) + 2x·e/(1 + e)²·u'`. ±Infinity: the limits 1 and 0; NaN stays NaN.
 */
export function geluGrad(x: number, approximate: 'none' | 'tanh'): number {
  if (x === Infinity) return 1;
  if (x === -Infinity) return 0;
  if (approximate === 'tanh') {
    const u = SQRT_2_OVER_PI * (x + 0.044715 * x * x * x);
    const du = SQRT_2_OVER_PI * (1 + 3 * 0.044715 * x * x);
    const e = Math.exp(-2 * Math.abs(u));
    const d = 1 / (1 + e);
    const s = u >= 0 ? d : e * d;
    return e === 0 ? s : s + 2 * x * e * d * d * du;
  }
  return 0.5 * erfc(-x / Math.SQRT2) + x * Math.exp(-0.5 * x * x) * INV_SQRT_2PI;
}

/** Elementwise `dy · gelu'(x)`. */
export function geluBackwardReference(a: GeluBackwardArgs, rows: RowFilter = null): Float32Array {
  const { dy, x, rows: R, cols: C, approximate } = a;
  const out = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    for (let j = 0; j < C; j++) out[r * C + j] = dy[r * C + j] * geluGrad(x[r * C + j], approximate);
  }
  return out;
}
