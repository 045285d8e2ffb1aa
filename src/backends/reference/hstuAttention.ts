/**
 * Reference hstuAttention: plain loops over the jagged sequences (no padding), float64
 * accumulation, written from the contract on `HstuAttentionArgs` (src/kernels.ts). This file is
 * the specification of the op.
 *
 * @module
 */
import type { HstuAttentionArgs, RowFilter } from '../../kernels';

/**
 * SiLU as the contract and generative-recommenders (PyTorch's `F.silu`) compute it:
 * `z / (1 + e^-z)`. A logit of -Infinity gives NaN there (-Inf / Inf), and so here.
 */
export const hstuSilu = (z: number): number => z / (1 + Math.exp(-z));

/** d SiLU(z) / dz = σ(z)·(1 + z·(1 - σ(z))). */
export function hstuSiluGrad(z: number): number {
  const s = 1 / (1 + Math.exp(-z));
  return s * (1 + z * (1 - s));
}

/**
 * The mask of one sequence (generative-recommenders' `_get_valid_attn_mask`, see
 * HstuAttentionArgs): `visible(i, j)` for row-in-sequence positions i, j < n.
 */
export interface HstuSequenceMask {
  visible(i: number, j: number): boolean;
}

/** The mask of a sequence of length `n` with `targets` targets at its end. */
export function hstuSequenceMask(n: number, targets: number, causal: boolean, maxAttnLen: number, contextualLength: number): HstuSequenceMask {
  const c = contextualLength;
  let maxId = c > 0 ? n - c + 1 : n;
  if (targets > 0) maxId -= targets;
  const idOf = (p: number): number => {
    let id = c > 0 ? Math.max(p - c + 1, 0) : p;
    if (targets > 0) id = Math.min(id, maxId);
    return id;
  };
  return {
    visible(i, j) {
      const idI = idOf(i);
      const idJ = idOf(j);
      let dist = idI - idJ;
      if (!causal) dist = Math.abs(dist);
      let ok = i === j || dist > 0;
      if (maxAttnLen > 0) ok = ok && dist <= maxAttnLen;
      // The contextual prefix (id 0) sees every non-target position.
      if (c > 0) ok = ok || (idI === 0 && idJ < maxId);
      return ok;
    },
  };
}

/** The time bucket of `delta`: how many thresholds are <= delta (thresholds ascending). */
export function hstuBucketOf(delta: number, thresholds: Float64Array): number {
  let lo = 0;
  let hi = thresholds.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (thresholds[mid] <= delta) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Everything about pair (i, j) of one sequence and head besides q·k: its relative bias and the
 * indices of the bias entries it reads (for the backward's dPositionBias, dTimeBias; -1: none).
 */
export interface HstuPairBias {
  bias: number;
  posIndex: number;
  timeIndex: number;
}

/**
 * The relative bias of pair (i, j) of the sequence starting at row `o` (length n), head h:
 * `posBias(h, j - i) + timeBias(h, bucket_ij)`, written into `out`.
 */
export function hstuPairBias(a: Omit<HstuAttentionArgs, 'out'>, o: number, n: number, h: number, i: number, j: number, out: HstuPairBias): void {
  let bias = 0;
  out.posIndex = -1;
  out.timeIndex = -1;
  const N = a.maxLength;
  if (a.positionBias) {
    out.posIndex = (a.positionBiasPerHead ? h * (2 * N - 1) : 0) + N - 1 + j - i;
    bias += a.positionBias[out.posIndex];
  }
  if (a.timestamps && a.timeBias && a.timeBucketThresholds) {
    // The query time is the next event's (the last event's own at the end of the sequence).
    const tq = a.timestamps[o + Math.min(i + 1, n - 1)];
    const u = hstuBucketOf(Math.abs(tq - a.timestamps[o + j]), a.timeBucketThresholds);
    out.timeIndex = (a.timeBiasPerHead ? h * (a.numBuckets + 1) : 0) + u;
    bias += a.timeBias[out.timeIndex];
  }
  out.bias = bias;
}

/** The divisor of SiLU(z) for a sequence of length n. */
export const hstuNorm = (a: Pick<HstuAttentionArgs, 'normalization' | 'maxLength'>, n: number): number => (a.normalization === 'length' ? n : a.maxLength);

/**
 * HSTU attention, row by row (row t·H + h; `rows` restricts the work to the flagged rows for
 * sampled verify). Invisible pairs are never read, so a NaN in a hidden position's q, k, v or in a
 * bias entry only they would use cannot leak.
 */
export function hstuAttentionReference(a: HstuAttentionArgs, rows: RowFilter = null): Float32Array {
  const { q, k, v, offsets, B, H, D, Dv, alpha } = a;
  const T = offsets[B];
  const out = new Float32Array(T * H * Dv);
  const acc = new Float64Array(Dv);
  const pair: HstuPairBias = { bias: 0, posIndex: -1, timeIndex: -1 };
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    if (n === 0) continue;
    const mask = hstuSequenceMask(n, a.numTargets ? a.numTargets[b] : 0, a.causal, a.maxAttnLen, a.contextualLength);
    const norm = hstuNorm(a, n);
    for (let i = 0; i < n; i++) {
      for (let h = 0; h < H; h++) {
        const row = (o + i) * H + h;
        if (rows && !rows[row]) continue;
        acc.fill(0);
        for (let j = 0; j < n; j++) {
          if (!mask.visible(i, j)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[row * D + d] * k[((o + j) * H + h) * D + d];
          hstuPairBias(a, o, n, h, i, j, pair);
          const w = hstuSilu(alpha * dot + pair.bias) / norm;
          const vOff = ((o + j) * H + h) * Dv;
          for (let e = 0; e < Dv; e++) acc[e] += w * v[vOff + e];
        }
        for (let e = 0; e < Dv; e++) out[row * Dv + e] = acc[e];
      }
    }
  }
  return out;
}
