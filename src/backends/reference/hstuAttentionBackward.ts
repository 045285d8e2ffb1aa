/**
 * Reference hstuAttentionBackward: plain loops, float64 accumulation, written from the contract on
 * `HstuAttentionBackwardArgs` (src/kernels.ts). This file is the specification of the op.
 *
 * @module
 */
import type { HstuAttentionBackwardArgs, HstuAttentionBackwardResult, RowFilter } from '../../kernels';
import { HstuBiasIndex, hstuNorm, hstuSequenceMask } from './hstuAttention';

/**
 * The vector-Jacobian product of hstuAttention. For each visible pair (i, j) of a sequence and
 * head, with `z = alpha·q_i·k_j + bias_ij`, `A = SiLU(z)/norm`, `dA = dOut_i·v_j`,
 * `dZ = dA/norm · SiLU'(z)`: `dq_i += alpha·dZ·k_j`, `dk_j += alpha·dZ·q_i`, `dv_j += A·dOut_i`,
 * and dZ adds to the position-bias and time-bias entries the pair read. Invisible pairs are never
 * read (a NaN in a hidden position cannot leak into others' gradients).
 *
 * `rows` is ignored: dk, dv and the bias gradients sum over every row, so sampled verify needs
 * them all (the op's output layout maps them to row 0, which every sample holds).
 */
export function hstuAttentionBackwardReference(a: HstuAttentionBackwardArgs, _rows: RowFilter = null): HstuAttentionBackwardResult {
  const { q, k, v, dOut, offsets, B, H, D, Dv, alpha } = a;
  const T = offsets[B];
  const dq = new Float32Array(T * H * D);
  const dk = new Float64Array(T * H * D);
  const dv = new Float64Array(T * H * Dv);
  const dPos = a.positionBias ? new Float64Array(a.positionBias.length) : null;
  const dTime = a.timeBias ? new Float64Array(a.timeBias.length) : null;
  const dqRow = new Float64Array(D);
  const pos = a.positionBias;
  const time = a.timeBias;
  const index = new HstuBiasIndex(a);
  const { numTargets, causal, maxAttnLen, contextualLength } = a;
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    if (n === 0) continue;
    const mask = hstuSequenceMask(n, numTargets ? numTargets[b] : 0, causal, maxAttnLen, contextualLength);
    const norm = hstuNorm(a, n);
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < H; h++) {
        const row = (o + i) * H + h;
        dqRow.fill(0);
        for (let j = 0; j < n; j++) {
          if (!mask.visible(i, j)) continue;
          const kOff = ((o + j) * H + h) * D;
          const vOff = ((o + j) * H + h) * Dv;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[row * D + d] * k[kOff + d];
          const pi = index.pos(h, i, j);
          const ti = index.time(o, n, h, i, j);
          const z = alpha * dot + (pi >= 0 ? (pos as Float32Array)[pi] : 0) + (ti >= 0 ? (time as Float32Array)[ti] : 0);
          const sig = 1 / (1 + Math.exp(-z));
          const w = z / (1 + Math.exp(-z)) / norm; // SiLU(z)/norm, as the forward
          let dA = 0;
          for (let e = 0; e < Dv; e++) {
            const g = dOut[row * Dv + e];
            dA += g * v[vOff + e];
            dv[vOff + e] += w * g;
          }
          const dZ = (dA / norm) * sig * (1 + z * (1 - sig)); // SiLU'(z) = σ(1 + z(1 - σ))
          for (let d = 0; d < D; d++) {
            dqRow[d] += alpha * dZ * k[kOff + d];
            dk[kOff + d] += alpha * dZ * q[row * D + d];
          }
          if (dPos && pi >= 0) dPos[pi] += dZ;
          if (dTime && ti >= 0) dTime[ti] += dZ;
        }
        for (let d = 0; d < D; d++) dq[row * D + d] = dqRow[d];
      }
    }
  }
  const res: { -readonly [K in keyof HstuAttentionBackwardResult]: HstuAttentionBackwardResult[K] } = { dq, dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
  if (dPos) res.dPositionBias = Float32Array.from(dPos);
  if (dTime) res.dTimeBias = Float32Array.from(dTime);
  return res;
}
