/**
 * Reference layerNorm over the last axis (biased variance).
 *
 * @module
 */
import type { LayerNormArgs, LayerNormResult, RowFilter } from '../../kernels';

/**
 * `y = (x - mean) / sqrt(var + eps) * gamma + beta`, mean and variance in float64. With
 * `returnStats`, also each row's mean and `1/sqrt(var + eps)` (the float64 values the row was
 * normalised with, rounded to float32; NaN for a row of no columns).
 */
export function layerNormReference(a: LayerNormArgs, rows: RowFilter = null): Float32Array | LayerNormResult {
  const { x, rows: R, cols: C, gamma, beta, eps } = a;
  const out = new Float32Array(R * C);
  const means = a.returnStats ? new Float32Array(R) : null;
  const invStds = a.returnStats ? new Float32Array(R) : null;
  for (let r = 0; r < R; r++) {
    if (rows && !rows[r]) continue;
    const off = r * C;
    let mean = 0;
    for (let j = 0; j < C; j++) mean += x[off + j];
    mean /= C;
    let variance = 0;
    for (let j = 0; j < C; j++) {
      const d = x[off + j] - mean;
      variance += d * d;
    }
    variance /= C;
    const inv = 1 / Math.sqrt(variance + eps);
    if (means && invStds) {
      means[r] = mean;
      invStds[r] = inv;
    }
    for (let j = 0; j < C; j++) {
      let y = (x[off + j] - mean) * inv;
      if (gamma) y *= gamma[j];
      if (beta) y += beta[j];
      out[off + j] = y;
    }
  }
  return means && invStds ? { output: out, mean: means, invStd: invStds } : out;
}
