/**
 * Reference adamStep: one AdamW step per element in float64 (the bias corrections too), the moments
 * rounded to float32 as stored and the update computed from those stored values.
 *
 * @module
 */
import type { AdamStepArgs, AdamStepResult, RowFilter } from '../../kernels';

/** AdamW, elementwise (see AdamStepArgs); in place when `inPlace`, else into new arrays. */
export function adamStepReference(a: AdamStepArgs, rows: RowFilter = null): AdamStepResult {
  const { param, grad, m, v, cols, lr, beta1, beta2, eps, weightDecay, maximize } = a;
  const n = a.rows * cols;
  const out = a.inPlace ? { param, m, v } : { param: new Float32Array(n), m: new Float32Array(n), v: new Float32Array(n) };
  const stepSize = lr / (1 - beta1 ** a.step);
  const bc2Sqrt = Math.sqrt(1 - beta2 ** a.step);
  const decay = 1 - lr * weightDecay;
  for (let r = 0; r < a.rows; r++) {
    if (rows && !rows[r]) continue;
    for (let i = r * cols; i < (r + 1) * cols; i++) {
      const g = maximize ? -grad[i] : grad[i];
      const m1 = Math.fround(beta1 * m[i] + (1 - beta1) * g);
      const v1 = Math.fround(beta2 * v[i] + (1 - beta2) * g * g);
      const p = param[i] * decay - (stepSize * m1) / (Math.sqrt(v1) / bc2Sqrt + eps);
      out.param[i] = p;
      out.m[i] = m1;
      out.v[i] = v1;
    }
  }
  return out;
}
