// An independent float64 HSTU attention, written from the paper's equations and
// generative-recommenders' semantics (pytorch_hstu_mha, _get_valid_attn_mask,
// RelativeBucketedTimeAndPositionBasedBias) the way that code computes them: pad every sequence to
// N = maxLength, build the dense [N, N] mask and bias per sequence, then plain loops. No code is
// shared with src/. The contract it checks is documented on HstuAttentionArgs (src/kernels.ts).
//
// Inputs are plain arrays (Float32Array/Float64Array) in the jagged layout: q, k [T,H,D], v [T,H,Dv],
// offsets [B+1]. opts: { maxLength, alpha, normalization: 'maxLength'|'length', causal,
// numTargets, maxAttnLen, contextualLength, positionBias, positionBiasPerHead, timestamps,
// timeBias, timeBiasPerHead, numBuckets }. Returns Float64Arrays.

/** The [N, N] 0/1 mask of one sequence of length n, literally as _get_valid_attn_mask builds it. */
export function hstuMask(N, n, opts = {}) {
  const causal = opts.causal ?? true;
  const c = opts.contextualLength ?? 0;
  const maxAttnLen = opts.maxAttnLen ?? 0;
  let ids = Array.from({ length: N }, (_, p) => p);
  let maxIds = n;
  if (c > 0) {
    ids = ids.map((p) => Math.max(p - c + 1, 0));
    maxIds = maxIds - c + 1;
  }
  if (opts.numTargets) {
    maxIds -= opts.numTargets;
    ids = ids.map((p) => Math.min(p, maxIds));
  }
  const m = new Uint8Array(N * N);
  for (let i = 0; i < N; i++) {
    for (let j = 0; j < N; j++) {
      let dist = ids[i] - ids[j];
      if (!causal) dist = Math.abs(dist);
      let ok = i === j || dist > 0;
      if (maxAttnLen > 0) ok = ok && dist <= maxAttnLen;
      if (c > 0) ok = ok || (ids[i] === 0 && ids[j] < maxIds);
      m[i * N + j] = ok ? 1 : 0;
    }
  }
  return m;
}

/** The reference's time bucket: floor(ln(max(|delta|, 1)) / 0.301), clamped to [0, numBuckets]. */
export function hstuBucket(delta, numBuckets) {
  const b = Math.floor(Math.log(Math.max(Math.abs(delta), 1)) / 0.301);
  return Math.min(Math.max(b, 0), numBuckets);
}

const silu = (z) => z / (1 + Math.exp(-z));
const siluGrad = (z) => {
  const s = 1 / (1 + Math.exp(-z));
  return s * (1 + z * (1 - s));
};

/** Per sequence, per head: the [n, n] logits z and mask (n = the sequence's length). */
function eachSequence(q, k, offsets, H, D, opts, fn) {
  const B = offsets.length - 1;
  let N = opts.maxLength;
  if (N === undefined) { N = 1; for (let b = 0; b < B; b++) N = Math.max(N, offsets[b + 1] - offsets[b]); }
  const alpha = opts.alpha ?? 1 / Math.sqrt(D);
  const nb = opts.numBuckets ?? 0;
  for (let b = 0; b < B; b++) {
    const o = offsets[b];
    const n = offsets[b + 1] - o;
    if (n === 0) continue;
    const mask = hstuMask(N, n, { ...opts, numTargets: opts.numTargets ? opts.numTargets[b] : 0 });
    const norm = (opts.normalization ?? 'maxLength') === 'maxLength' ? N : n;
    for (let h = 0; h < H; h++) {
      const z = new Float64Array(n * n);
      const posIdx = new Int32Array(n * n).fill(-1);
      const bucket = new Int32Array(n * n).fill(-1);
      for (let i = 0; i < n; i++) {
        for (let j = 0; j < n; j++) {
          let s = 0;
          for (let d = 0; d < D; d++) s += q[((o + i) * H + h) * D + d] * k[((o + j) * H + h) * D + d];
          s *= alpha;
          if (opts.positionBias) {
            // rel_pos_bias[i][j] = pos_w[N - 1 + j - i] (the reference's pad/repeat/reshape trick)
            posIdx[i * n + j] = (opts.positionBiasPerHead ? h * (2 * N - 1) : 0) + N - 1 + j - i;
            s += opts.positionBias[posIdx[i * n + j]];
          }
          if (opts.timestamps) {
            // ext_timestamps[:, 1:][i] - ext_timestamps[:, :-1][j]: the next event's time, the
            // last event's own time at the end of the sequence.
            const tq = opts.timestamps[o + Math.min(i + 1, n - 1)];
            const u = hstuBucket(tq - opts.timestamps[o + j], nb);
            bucket[i * n + j] = (opts.timeBiasPerHead ? h * (nb + 1) : 0) + u;
            s += opts.timeBias[bucket[i * n + j]];
          }
          z[i * n + j] = s;
        }
      }
      fn({ b, h, o, n, N, norm, mask, z, posIdx, bucket, alpha });
    }
  }
}

/** Forward: Float64Array [T,H,Dv]. */
export function oracleHstuAttention(q, k, v, offsets, H, D, Dv, opts = {}) {
  const T = offsets[offsets.length - 1];
  const y = new Float64Array(T * H * Dv);
  eachSequence(q, k, offsets, H, D, opts, ({ h, o, n, N, norm, mask, z }) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (!mask[i * N + j]) continue;
        const a = silu(z[i * n + j]) / norm;
        for (let e = 0; e < Dv; e++) y[((o + i) * H + h) * Dv + e] += a * v[((o + j) * H + h) * Dv + e];
      }
    }
  });
  return y;
}

/** Backward: { dq, dk, dv, dPositionBias?, dTimeBias? } as Float64Arrays. */
export function oracleHstuAttentionBackward(dOut, q, k, v, offsets, H, D, Dv, opts = {}) {
  const T = offsets[offsets.length - 1];
  const dq = new Float64Array(T * H * D);
  const dk = new Float64Array(T * H * D);
  const dv = new Float64Array(T * H * Dv);
  const dPositionBias = opts.positionBias ? new Float64Array(opts.positionBias.length) : undefined;
  const dTimeBias = opts.timeBias ? new Float64Array(opts.timeBias.length) : undefined;
  eachSequence(q, k, offsets, H, D, opts, ({ h, o, n, N, norm, mask, z, posIdx, bucket, alpha }) => {
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) {
        if (!mask[i * N + j]) continue;
        const zij = z[i * n + j];
        const a = silu(zij) / norm;
        let dA = 0;
        for (let e = 0; e < Dv; e++) {
          const g = dOut[((o + i) * H + h) * Dv + e];
          dA += g * v[((o + j) * H + h) * Dv + e];
          dv[((o + j) * H + h) * Dv + e] += a * g;
        }
        const dz = (dA / norm) * siluGrad(zij);
        for (let d = 0; d < D; d++) {
          dq[((o + i) * H + h) * D + d] += alpha * dz * k[((o + j) * H + h) * D + d];
          dk[((o + j) * H + h) * D + d] += alpha * dz * q[((o + i) * H + h) * D + d];
        }
        if (dPositionBias) dPositionBias[posIdx[i * n + j]] += dz;
        if (dTimeBias) dTimeBias[bucket[i * n + j]] += dz;
      }
    }
  });
  return { dq, dk, dv, dPositionBias, dTimeBias };
}
