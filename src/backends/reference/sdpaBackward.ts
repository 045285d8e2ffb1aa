/**
 * Reference sdpaBackward: plain loops, float64 accumulation, written from the math of
 * docs/TRAINING.md. This file is the specification of the op.
 *
 * @module
 */
import type { RowFilter, SdpaBackwardArgs, SdpaBackwardResult } from '../../kernels';
import { headStrides } from './sdpa';

/**
 * The vector-Jacobian product of sdpa, row by row. For each query row (b,h,i) and each key j it
 * may see (the forward's exclusions: key lengths, causal / window limits, mask, a -Infinity
 * logit), with `s = scale·q_i·k_j`, `c = softcap·tanh(s/softcap)` (or s), `z = c + bias`:
 * `P = exp(z - lse_i)` (recomputed from the given lse), `dP = dOut_i·v_j`,
 * `dZ = P·(dP - δ_i)` with `δ_i = dOut_i·out_i`, `dS = dZ·(1 - (c/softcap)²)` (or dZ);
 * `dq_i += scale·dS·k_j`, `dk_j += scale·dS·q_i`, `dv_j += P·dOut_i`, `dBias[bias-index] += dZ`.
 * Excluded keys are never read (a NaN in their k or v cannot leak). A row whose lse is -Infinity
 * (no visible key in the forward) contributes nothing and gets dq = 0; a NaN lse, out or dOut
 * makes that row's terms NaN, as the math says.
 *
 * `rows` is ignored: dk, dv and dBias sum over every row, so sampled verify still needs them all
 * (sdpaBackward's output layout maps them to row 0, which every sample holds).
 */
export function sdpaBackwardReference(a: SdpaBackwardArgs, _rows: RowFilter = null): SdpaBackwardResult {
  const { B, Hq, Hkv, L, S, D, Dv, scale, causal, mask, bias, keyLengths, offsets, windowLeft, windowRight, softcap } = a;
  const group = Hq / Hkv;
  const qs = headStrides(a.layout, Hq, L, D), ks = headStrides(a.layout, Hkv, S, D), vs = headStrides(a.layout, Hkv, S, Dv), os = headStrides(a.layout, Hq, L, Dv);
  const dq = new Float32Array(B * Hq * L * D);
  const dk = new Float64Array(B * Hkv * S * D);
  const dv = new Float64Array(B * Hkv * S * Dv);
  const dBias = a.returnDBias && bias ? new Float64Array(a.biasLength) : null;
  const dqRow = new Float64Array(D);
  for (let b = 0; b < B; b++) {
    const len = keyLengths ? keyLengths[b] : S;
    const off = offsets ? offsets[b] : S - L;
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < L; i++) {
        const row = (b * Hq + h) * L + i;
        const lse = a.lse[row];
        if (lse === -Infinity) continue; // nothing visible in the forward: dq stays 0, nothing to dk, dv
        const qOff = b * qs.sb + h * qs.sh + i * qs.si;
        const oOff = b * os.sb + h * os.sh + i * os.si;
        const pos = i + off; // the query's aligned key position
        let delta = 0;
        for (let d = 0; d < Dv; d++) delta += a.dOut[oOff + d] * a.out[oOff + d];
        dqRow.fill(0);
        for (let j = 0; j < S; j++) {
          let ok = j < len && (!causal || j <= pos) && (windowLeft < 0 || j >= pos - windowLeft) && (windowRight < 0 || j <= pos + windowRight);
          if (ok && mask) ok = mask.data[b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2] + j * mask.strides[3]] !== 0;
          if (!ok) continue;
          const kOff = b * ks.sb + hk * ks.sh + j * ks.si;
          const vOff = b * vs.sb + hk * vs.sh + j * vs.si;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qOff + d] * a.k[kOff + d];
          const s = dot * scale;
          let z = s;
          let slope = 1; // dc/ds
          if (softcap > 0) {
            const t = Math.tanh(s / softcap);
            z = softcap * t;
            slope = 1 - t * t;
          }
          const bIdx = bias ? b * bias.strides[0] + h * bias.strides[1] + i * bias.strides[2] + j * bias.strides[3] : 0;
          if (bias) z += bias.data[bIdx];
          if (z === -Infinity) continue; // an excluded key, exactly as if masked
          const p = Math.exp(z - lse);
          let dp = 0;
          for (let d = 0; d < Dv; d++) dp += a.dOut[oOff + d] * a.v[vOff + d];
          const dz = p * (dp - delta);
          if (dBias) dBias[bIdx] += dz;
          const ds = dz * slope * scale;
          for (let d = 0; d < D; d++) {
            dqRow[d] += ds * a.k[kOff + d];
            dk[kOff + d] += ds * a.q[qOff + d];
          }
          for (let d = 0; d < Dv; d++) dv[vOff + d] += p * a.dOut[oOff + d];
        }
        for (let d = 0; d < D; d++) dq[qOff + d] = dqRow[d];
      }
    }
  }
  const res: { dq: Float32Array; dk: Float32Array; dv: Float32Array; dBias?: Float32Array } = { dq, dk: Float32Array.from(dk), dv: Float32Array.from(dv) };
  if (dBias) res.dBias = Float32Array.from(dBias);
  return res;
}
