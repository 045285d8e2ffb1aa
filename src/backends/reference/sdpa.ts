/**
 * Reference sdpa: plain loops, float64 accumulation. This file is the specification of the op.
 *
 * @module
 */
import type { AttentionResult, RowFilter, SdpaArgs, Widened } from '../../kernels';
import { softmaxRow } from './softmaxRow';

/** Element offsets of (b, h, row) in a `[B,H,rows,cols]` tensor stored in `layout` order. */
export function headStrides(layout: 'bhld' | 'blhd', H: number, rows: number, cols: number): { sb: number; sh: number; si: number } {
  return layout === 'blhd' ? { sb: rows * H * cols, sh: cols, si: H * cols } : { sb: H * rows * cols, sh: rows * cols, si: cols };
}

/** sdpa, row by row: logits (scale, softcap, bias), exclusion, stable softmax, weighted sum of values. */
export function sdpaReference(a: Widened<SdpaArgs>, rows: RowFilter = null): AttentionResult {
  if (a.qOffsets && a.kvOffsets) return sdpaJaggedReference(a, a.qOffsets, a.kvOffsets, rows);
  const { B, Hq, Hkv, L, S, D, Dv, scale, causal, mask, bias, keyLengths, offsets, windowLeft, windowRight, softcap } = a;
  const group = Hq / Hkv;
  const qs = headStrides(a.layout, Hq, L, D), ks = headStrides(a.layout, Hkv, S, D), vs = headStrides(a.layout, Hkv, S, Dv), os = headStrides(a.layout, Hq, L, Dv);
  const output = new Float32Array(B * Hq * L * Dv);
  const weights = a.returnWeights ? new Float32Array(B * Hq * L * S) : undefined;
  const lse = a.returnLse ? new Float32Array(B * Hq * L) : undefined;
  const logitsOut = a.returnLogits ? new Float32Array(B * Hq * L * S) : undefined;
  const logits = new Float64Array(S);
  const allowed = new Uint8Array(S);
  const p = new Float64Array(S);
  const acc = new Float64Array(Dv);
  for (let b = 0; b < B; b++) {
    const len = keyLengths ? keyLengths[b] : S;
    const off = offsets ? offsets[b] : S - L;
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / group);
      for (let i = 0; i < L; i++) {
        const row = (b * Hq + h) * L + i;
        if (rows && !rows[row]) continue;
        const qOff = b * qs.sb + h * qs.sh + i * qs.si;
        const pos = i + off; // the query's aligned key position
        for (let j = 0; j < S; j++) {
          let ok = j < len && (!causal || j <= pos) && (windowLeft < 0 || j >= pos - windowLeft) && (windowRight < 0 || j <= pos + windowRight);
          if (ok && mask) ok = mask.data[b * mask.strides[0] + h * mask.strides[1] + i * mask.strides[2] + j * mask.strides[3]] !== 0;
          allowed[j] = 0;
          if (logitsOut) logitsOut[row * S + j] = -Infinity;
          if (!ok) continue;
          const kOff = b * ks.sb + hk * ks.sh + j * ks.si;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qOff + d] * a.k[kOff + d];
          let s = dot * scale;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          if (bias) s += bias.data[b * bias.strides[0] + h * bias.strides[1] + i * bias.strides[2] + j * bias.strides[3]];
          if (logitsOut) logitsOut[row * S + j] = s;
          if (s === -Infinity) continue; // an excluded key, exactly as if masked
          logits[j] = s;
          allowed[j] = 1;
        }
        const lseValue = softmaxRow(logits, allowed, S, p);
        if (lse) lse[row] = lseValue;
        acc.fill(0);
        for (let j = 0; j < S; j++) {
          if (!allowed[j]) continue;
          const vOff = b * vs.sb + hk * vs.sh + j * vs.si;
          const pj = p[j];
          for (let d = 0; d < Dv; d++) acc[d] += pj * a.v[vOff + d];
        }
        const oOff = b * os.sb + h * os.sh + i * os.si;
        for (let d = 0; d < Dv; d++) output[oOff + d] = acc[d];
        if (weights) {
          const wOff = row * S;
          for (let j = 0; j < S; j++) weights[wOff + j] = allowed[j] ? p[j] : 0;
        }
      }
    }
  }
  const res: { output: Float32Array; weights?: Float32Array; lse?: Float32Array; logits?: Float32Array } = { output };
  if (weights) res.weights = weights;
  if (lse) res.lse = lse;
  if (logitsOut) res.logits = logitsOut;
  return res;
}

/**
 * Jagged sdpa (SdpaArgs.qOffsets / kvOffsets): sequence b is the dense formula above over its own
 * `Lq_b` query rows and `S_b` keys (rows `[t, H, D]`, no padding), its mask and bias blocks
 * `[Lq_b, S_b]` broadcast over the heads. Output `[ΣLq, Hq, Dv]`, lse `[ΣLq, Hq]`; row (t, h) is `t·Hq + h`.
 */
function sdpaJaggedReference(a: Widened<SdpaArgs>, qo: Int32Array, ko: Int32Array, rows: RowFilter): AttentionResult {
  const { B, Hq, Hkv, S, D, Dv, scale, causal, offsets, windowLeft, windowRight, softcap } = a;
  const mask = a.jaggedMask ?? null;
  const bias = a.jaggedBias ?? null;
  const group = Hq / Hkv;
  const T = qo[B];
  const output = new Float32Array(T * Hq * Dv);
  const lse = a.returnLse ? new Float32Array(T * Hq) : undefined;
  const logits = new Float64Array(S);
  const allowed = new Uint8Array(S);
  const p = new Float64Array(S);
  const acc = new Float64Array(Dv);
  let maskStart = 0; // sequence b's [Lq_b, S_b] mask block
  for (let b = 0; b < B; b++) {
    const Lb = qo[b + 1] - qo[b];
    const Sb = ko[b + 1] - ko[b];
    const off = offsets ? offsets[b] : Sb - Lb;
    for (let i = 0; i < Lb; i++) {
      const t = qo[b] + i;
      const pos = i + off;
      for (let h = 0; h < Hq; h++) {
        const row = t * Hq + h;
        if (rows && !rows[row]) continue;
        const hk = Math.floor(h / group);
        const qOff = row * D;
        for (let j = 0; j < Sb; j++) {
          let ok = (!causal || j <= pos) && (windowLeft < 0 || j >= pos - windowLeft) && (windowRight < 0 || j <= pos + windowRight);
          if (ok && mask) ok = mask[maskStart + i * Sb + j] !== 0;
          allowed[j] = 0;
          if (!ok) continue;
          const kOff = ((ko[b] + j) * Hkv + hk) * D;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += a.q[qOff + d] * a.k[kOff + d];
          let s = dot * scale;
          if (softcap > 0) s = softcap * Math.tanh(s / softcap);
          if (bias) s += bias[maskStart + i * Sb + j];
          if (s === -Infinity) continue;
          logits[j] = s;
          allowed[j] = 1;
        }
        const lseValue = softmaxRow(logits, allowed, Sb, p);
        if (lse) lse[row] = lseValue;
        acc.fill(0);
        for (let j = 0; j < Sb; j++) {
          if (!allowed[j]) continue;
          const vOff = ((ko[b] + j) * Hkv + hk) * Dv;
          const pj = p[j];
          for (let d = 0; d < Dv; d++) acc[d] += pj * a.v[vOff + d];
        }
        for (let d = 0; d < Dv; d++) output[row * Dv + d] = acc[d];
      }
    }
    maskStart += Lb * Sb;
  }
  return lse ? { output, lse } : { output };
}
