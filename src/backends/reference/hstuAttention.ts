/**
 * Reference hstuAttention: plain loops over the jagged sequences (no padding), float64
 * accumulation, written from the contract on `HstuAttentionArgs` (src/kernels.ts). This file is
 * the specification of the op.
 *
 * @module
 */
import type { HstuAttentionArgs, RowFilter } from '../../kernels';

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
  // The ids of the positions, computed once per sequence (the kernels call visible() n² times).
  const ids = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    let id = c > 0 ? Math.max(p - c + 1, 0) : p;
    if (targets > 0) id = Math.min(id, maxId);
    ids[p] = id;
  }
  return {
    visible(i, j) {
      const idI = ids[i];
      const idJ = ids[j];
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
 * Which bias entries a pair reads: the position table's `h·(2N-1) + N-1 + j - i` (per head) or
 * `N-1 + j - i` (shared), and the time table's bucket of |t_q - t_j|, with the query time t_q the
 * next event's (the last event's own at the end of its sequence), offset by `h·(numBuckets+1)` per
 * head. -1 where there is no table. Built once per call from the args, so the kernels' pair loops
 * read a few fields of one small object.
 */
export class HstuBiasIndex {
  private readonly hasPos: boolean;
  private readonly posOrigin: number;
  private readonly posStride: number;
  private readonly times: Float64Array | null;
  private readonly thresholds: Float64Array;
  private readonly timeStride: number;

  constructor(a: Omit<HstuAttentionArgs, 'out'>) {
    const N = a.maxLength;
    this.hasPos = a.positionBias !== null;
    this.posOrigin = N - 1;
    this.posStride = a.positionBiasPerHead ? 2 * N - 1 : 0;
    this.times = a.timestamps && a.timeBias && a.timeBucketThresholds ? a.timestamps : null;
    this.thresholds = a.timeBucketThresholds ?? new Float64Array(0);
    this.timeStride = a.timeBiasPerHead ? a.numBuckets + 1 : 0;
  }

  /** The position-table entry of pair (i, j), head h; -1 without a table. */
  pos(h: number, i: number, j: number): number {
    return this.hasPos ? h * this.posStride + this.posOrigin + j - i : -1;
  }

  /** The time-table entry of pair (i, j), head h, of the sequence at row `o` of length n; -1 without timestamps. */
  time(o: number, n: number, h: number, i: number, j: number): number {
    const t = this.times;
    if (t === null) return -1;
    const tq = t[o + Math.min(i + 1, n - 1)];
    return h * this.timeStride + hstuBucketOf(Math.abs(tq - t[o + j]), this.thresholds);
  }
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
        if (rows && !rows[row]) continue;
        acc.fill(0);
        for (let j = 0; j < n; j++) {
          if (!mask.visible(i, j)) continue;
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q[row * D + d] * k[((o + j) * H + h) * D + d];
          const pi = index.pos(h, i, j);
          const ti = index.time(o, n, h, i, j);
          const z = alpha * dot + (pi >= 0 ? (pos as Float32Array)[pi] : 0) + (ti >= 0 ? (time as Float32Array)[ti] : 0);
          // SiLU as the contract and PyTorch's F.silu compute it: z / (1 + e^-z), so SiLU(-Inf) is NaN.
          const w = z / (1 + Math.exp(-z)) / norm;
          const vOff = ((o + j) * H + h) * Dv;
          for (let e = 0; e < Dv; e++) acc[e] += w * v[vOff + e];
        }
        for (let e = 0; e < Dv; e++) out[row * Dv + e] = acc[e];
      }
    }
  }
  return out;
}
