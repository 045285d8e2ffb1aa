/**
 * Reference layerNormBackward over the last axis, float64 sums, from the forward's statistics.
 *
 * @module
 */
import type { LayerNormBackwardArgs, LayerNormBackwardResult, RowFilter } from '../../kernels';

/**
 * Per row, with `x̂ = (x − mean)·invStd` and `g = dy·gamma`: `dx = invStd·(g − mean(g) −
 * x̂·mean(g·x̂))`; over every row (whatever the row filter): `dGamma = Σ dy·x̂`, `dBeta = Σ dy`.
 */
export function layerNormBackwardReference(a: LayerNormBackwardArgs, rows: RowFilter = null): LayerNormBackwardResult {
  const { dy, x, rows: R, cols: C, gamma, mean, invStd } = a;
  const dx = new Float32Array(R * C);
  const dGamma = new Float64Array(C);
  const dBeta = new Float64Array(C);
  const xh = new Float64Array(C);
  for (let r = 0; r < R; r++) {
    const off = r * C;
    const m = mean[r], inv = invStd[r];
    let sg = 0, sgx = 0;
    for (let j = 0; j < C; j++) {
      xh[j] = (x[off + j] - m) * inv;
      const d = dy[off + j];
      dGamma[j] += d * xh[j];
      dBeta[j] += d;
      const g = gamma ? d * gamma[j] : d;
      sg += g;
      sgx += g * xh[j];
    }
    if (rows && !rows[r]) continue;
    const a0 = sg / C, b0 = sgx / C;
    for (let j = 0; j < C; j++) {
      const g = gamma ? dy[off + j] * gamma[j] : dy[off + j];
      dx[off + j] = inv * (g - a0 - xh[j] * b0);
    }
  }
  return { dx, dGamma: Float32Array.from(dGamma), dBeta: Float32Array.from(dBeta) };
}
