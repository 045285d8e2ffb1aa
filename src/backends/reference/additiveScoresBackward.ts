/**
 * Reference additiveScoresBackward: the pairwise part of additive attention's backward, in float64.
 *
 * @module
 */
import type { AdditiveScoresBackwardArgs, AdditiveScoresBackwardResult } from '../../kernels';

/**
 * From the definition (src/kernels.ts AdditiveScoresBackwardArgs): per row, dP over the keys with
 * a nonzero weight, δ = Σ P·dP, dE = P·(dP − δ); then every pair with dE ≠ 0 adds
 * `dE·v∘(1 − t²)` to dqa_i and dka_j and `dE·t` to dv. Every sum in float64. Computes every batch
 * (dv sums over all of them), whatever a sampled verify asks.
 */
export function additiveScoresBackwardReference(a: AdditiveScoresBackwardArgs): AdditiveScoresBackwardResult {
  const { B, L, S, Dv, A, dOut, values, weights, qa, ka, v } = a;
  const dValues = new Float64Array(B * S * Dv);
  const dqa = new Float64Array(qa ? B * L * A : 0);
  const dka = new Float64Array(B * S * A);
  const dv = new Float64Array(A);
  const dP = new Float64Array(S);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++) {
      const row = b * L + i;
      let delta = 0;
      for (let j = 0; j < S; j++) {
        const p = weights[row * S + j];
        if (p === 0) continue;
        let s = 0;
        for (let d = 0; d < Dv; d++) {
          const g = dOut[row * Dv + d];
          s += g * values[(b * S + j) * Dv + d];
          dValues[(b * S + j) * Dv + d] += p * g;
        }
        dP[j] = s;
        delta += p * s;
      }
      for (let j = 0; j < S; j++) {
        const p = weights[row * S + j];
        if (p === 0) continue;
        const e = p * (dP[j] - delta);
        if (e === 0) continue;
        for (let u = 0; u < A; u++) {
          const t = Math.tanh((qa ? qa[row * A + u] : 0) + ka[(b * S + j) * A + u]);
          const g = e * v[u] * (1 - t * t);
          if (qa) dqa[row * A + u] += g;
          dka[(b * S + j) * A + u] += g;
          dv[u] += e * t;
        }
      }
    }
  const out: { dValues: Float32Array; dqa?: Float32Array; dka: Float32Array; dv: Float32Array } = { dValues: Float32Array.from(dValues), dka: Float32Array.from(dka), dv: Float32Array.from(dv) };
  if (qa) out.dqa = Float32Array.from(dqa);
  return out;
}
