// An independent float64 sdpa, written straight from DESIGN.md's definition with plain loops (no
// code shared with src/): the reference backend is checked against it on random inputs, since
// `verify` on the reference backend would only compare reference with itself.
// Returns { output, weights, lse } as Float64Arrays.

/** Index of [b, h, i, j] in a tensor broadcast to [B, H, L, S] (shape right-aligned, size-1 axes repeat). */
function bcastIndex(shape, idx4) {
  const off = 4 - shape.length;
  let f = 0;
  for (let a = 0; a < shape.length; a++) f = f * shape[a] + (shape[a] === 1 ? 0 : idx4[off + a]);
  return f;
}

export function oracleSdpa(q, k, v, opts = {}) {
  const [B, Hq, L, D] = q.shape;
  const [, Hkv, S] = k.shape;
  const Dv = v.shape[3];
  const scale = opts.scale ?? 1 / Math.sqrt(D);
  const output = new Float64Array(B * Hq * L * Dv);
  const weights = new Float64Array(B * Hq * L * S);
  const lse = new Float64Array(B * Hq * L);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < Hq; h++) {
      const hk = Math.floor(h / (Hq / Hkv));
      for (let i = 0; i < L; i++) {
        const logits = new Float64Array(S).fill(-Infinity);
        for (let j = 0; j < S; j++) {
          if (opts.causal && j > i + S - L) continue;
          if (opts.keyLengths && j >= opts.keyLengths[b]) continue;
          if (opts.mask && !opts.mask.data[bcastIndex(opts.mask.shape, [b, h, i, j])]) continue;
          let dot = 0;
          for (let c = 0; c < D; c++) dot += q.data[((b * Hq + h) * L + i) * D + c] * k.data[((b * Hkv + hk) * S + j) * D + c];
          logits[j] = dot * scale + (opts.bias ? opts.bias.data[bcastIndex(opts.bias.shape, [b, h, i, j])] : 0);
        }
        const m = Math.max(...logits);
        const row = (b * Hq + h) * L + i;
        if (m === -Infinity) {
          lse[row] = -Infinity; // nothing to attend to: zeros out, zero weights
          continue;
        }
        let sum = 0;
        for (let j = 0; j < S; j++) sum += Math.exp(logits[j] - m);
        lse[row] = m + Math.log(sum);
        for (let j = 0; j < S; j++) {
          const p = Math.exp(logits[j] - m) / sum;
          weights[row * S + j] = p;
          for (let c = 0; c < Dv; c++) output[row * Dv + c] += p * v.data[((b * Hkv + hk) * S + j) * Dv + c];
        }
      }
    }
  return { output, weights, lse };
}
