/**
 * Reference layerNorm over the last axis (biased variance).
 *
 * @module
 */
import type { LayerNormArgs, RowFilter } from '../../kernels';

/** `y = (x - mean) / sqrt(var + eps) * gamma + beta`, mean and variance in float64. */
export function layerNormReference(a: LayerNormArgs, rows: RowFilter = null): Float32Array {
  const { x, rows: R, cols: C, gamma, beta, eps } = a;
  const out = new Float32Array(R * C);
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
    for (let j = 0; j < C; j++) {
      let y = (x[off + j] - mean) * inv;
      if (gamma) y *= gamma[j];
      if (beta) y += beta[j];
      out[off + j] = y;
    }
  }
  return out;
}
