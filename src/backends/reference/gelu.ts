/**
 * Reference GELU: exact `x·Φ(x)` via erf, or the tanh approximation.
 *
 * @module
 */
import type { GeluArgs, RowFilter } from '../../kernels';

/**
 * erf to float64 accuracy. |x| <= 3: the series `2/√π · e^(-x²) · Σ (2x²)^n · x / (2n+1)!!`, whose
 * terms are all positive (no cancellation); beyond, `1 - erfc(|x|)` with erfc's continued fraction.
 */
export function erf(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const ax = Math.abs(x);
  const r = ax <= 3 ? erfSeries(ax) : 1 - erfcContinuedFraction(ax);
  return x < 0 ? -r : r;
}

/** erfc(x) = 1 - erf(x), accurate in the tail (continued fraction for x > 3). */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return NaN;
  if (x < 0) return 1 + erf(-x);
  return x <= 3 ? 1 - erfSeries(x) : erfcContinuedFraction(x);
}

function erfSeries(x: number): number {
  const x2 = x * x;
  let term = x;
  let sum = x;
  for (let n = 1; n < 200; n++) {
    term *= (2 * x2) / (2 * n + 1);
    sum += term;
    if (term < sum * 1e-17) break;
  }
  return (2 / Math.sqrt(Math.PI)) * Math.exp(-x2) * sum;
}

/** erfc(x) for x > 3: `e^(-x²)/√π · 1/(x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))`, evaluated backwards. */
function erfcContinuedFraction(x: number): number {
  if (x === Infinity) return 0;
  let f = x;
  for (let n = 80; n >= 1; n--) f = x + n / 2 / f;
  return Math.exp(-x * x) / Math.sqrt(Math.PI) / f;
}

/** GELU of one value in float64. */
export function geluScalar(x: number, approximate: 'none' | 'tanh'): number {
  if (approximate === 'tanh') {
    const c = Math.sqrt(2 / Math.PI);
    return 0.5 * x * (1 + Math.tanh(c * (x + 0.044715 * x * x * x)));
  }
  // Φ(x) = erfc(-x/√2)/2: exact in the negative tail, where 1 + erf would cancel.
  return 0.5 * x * erfc(-x / Math.SQRT2);
}

/** Elementwise GELU. */
export function geluReference(a: GeluArgs, rows: RowFilter = null): Float32Array {
  const { x, rows: R, cols: C, approximate } = a;
  const out = new Float32Array(R * C);
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    for (let j = 0; j < C; j++) out[r * C + j] = geluScalar(x[r * C + j], approximate);
  }
  return out;
}
