// The GEMM family's accuracy cases (linear, topK, multiHeadAttention, transformerEncoderLayer,
// additiveAttention, targetAttention) at the sizes where their errors are largest: K up to 4096,
// E up to 256, F up to 1024, S up to 500. Each is [op, label, run(dispatchOptions)]. Used by
// bench/native-gemm.mjs (errors) and by bench/tolerances.mjs (the measurement behind every
// tolerance), so the tolerances cover them.
import * as ak from 'attnkit';

/** A seeded random tensor scaled by `scale`. */
export const R = (shape, seed, scale = 1) => {
  const t = ak.random(shape, { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return t;
};

export function gemmFamilyCases(ak) {
  const out = [];
  // linear
  for (const [M, K, N] of [[1, 1, 1], [3, 17, 63], [65, 129, 17], [129, 63, 65], [200, 256, 300], [64, 1024, 64], [32, 4096, 48]]) {
    out.push(['linear', `${M}x${K}x${N}`, (o) => ak.linear(R([M, K], M + K), R([K, N], K + N, 1 / Math.sqrt(K)), R([N], N, 0.1), o)]);
  }
  // topK: compare the returned scores (indices can differ legitimately on near-ties)
  for (const [B, N, D, k] of [[3, 1000, 17, 10], [17, 4099, 64, 33], [65, 2000, 129, 5]]) {
    out.push(['topK', `B${B} N${N} D${D} k${k}`, (o) => ak.topK(R([B, D], B), R([N, D], N), k, {}, o).scores]);
  }
  // multiHeadAttention
  for (const [B, L, S, E, Hq, Hkv, D] of [[2, 17, 17, 64, 4, 4, 16], [2, 7, 65, 24, 6, 2, 5], [1, 129, 63, 48, 8, 1, 6], [1, 200, 200, 256, 8, 8, 32]]) {
    const p = { wq: R([E, Hq * D], 1, 0.2), bq: R([Hq * D], 2, 0.1), wk: R([E, Hkv * D], 3, 0.2), bk: R([Hkv * D], 4, 0.1), wv: R([E, Hkv * D], 5, 0.2), bv: R([Hkv * D], 6, 0.1), wo: R([Hq * D, E], 7, 0.2), bo: R([E], 8, 0.1) };
    const x = R([B, L, E], 9);
    const kv = R([B, S, E], 10);
    const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
    out.push(['multiHeadAttention', `self B${B} L${L} E${E} H${Hq}/${Hkv} causal`, (o) => ak.multiHeadAttention(x, x, x, p, { numHeads: Hq, numKvHeads: Hkv, causal: true }, o)]);
    out.push(['multiHeadAttention', `cross B${B} L${L} S${S} keyLengths`, (o) => ak.multiHeadAttention(x, kv, kv, p, { numHeads: Hq, numKvHeads: Hkv, keyLengths: lens }, o)]);
  }
  // transformerEncoderLayer
  for (const [B, L, E, H, F] of [[2, 17, 64, 4, 256], [3, 33, 24, 3, 65], [1, 65, 48, 6, 129], [1, 100, 256, 8, 1024]]) {
    const p = {
      attention: { wq: R([E, E], 1, 0.2), bq: R([E], 2, 0.1), wk: R([E, E], 3, 0.2), bk: R([E], 4, 0.1), wv: R([E, E], 5, 0.2), bv: R([E], 6, 0.1), wo: R([E, E], 7, 0.2), bo: R([E], 8, 0.1) },
      norm1: { gamma: R([E], 9, 0.5), beta: R([E], 10, 0.1) },
      ffn: { w1: R([E, F], 11, 0.2), b1: R([F], 12, 0.1), w2: R([F, E], 13, 0.2), b2: R([E], 14, 0.1) },
      norm2: { gamma: R([E], 15, 0.5), beta: R([E], 16, 0.1) },
    };
    const x = R([B, L, E], 17);
    const lens = new Int32Array(B).map((_, b) => L - 3 * b);
    for (const norm of ['post', 'pre'])
      for (const activation of ['relu', 'gelu'])
        out.push(['transformerEncoderLayer', `B${B} L${L} E${E} F${F} ${norm} ${activation}`, (o) => ak.transformerEncoderLayer(x, p, { numHeads: H, norm, activation, causal: true, keyLengths: lens }, o)]);
  }
  // additiveAttention
  for (const [B, L, S, Dq, Dk, Dv, A] of [[2, 5, 17, 8, 12, 7, 16], [3, 1, 129, 0, 33, 65, 63], [1, 33, 65, 17, 17, 3, 129], [2, 20, 500, 64, 64, 64, 256]]) {
    const p = { wq: Dq ? R([Dq, A], 1, 0.3) : null, wk: R([Dk, A], 2, 0.3), b: R([A], 3, 0.1), v: R([A], 4, 0.5) };
    const q = Dq ? R([B, L, Dq], 5) : null;
    const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
    out.push(['additiveAttention', `B${B} L${L} S${S} A${A}${q ? '' : ' pooling'}`, (o) => ak.additiveAttention(q, R([B, S, Dk], 6), R([B, S, Dv], 7), p, { keyLengths: lens }, o)]);
  }
  // targetAttention
  for (const [B, S, D, hidden] of [[4, 50, 32, [80, 40]], [3, 129, 17, [16, 8, 4]], [2, 65, 63, [65]], [2, 500, 128, [200, 80]]]) {
    for (const activation of ['sigmoid', 'relu', 'prelu'])
      for (const normalize of ['none', 'softmax']) {
        const layers = [];
        let inDim = 4 * D;
        [...hidden, 1].forEach((o, l) => {
          layers.push({ w: R([inDim, o], 20 + l, 1 / Math.sqrt(inDim)), b: R([o], 30 + l, 0.1), alpha: activation === 'prelu' && l < hidden.length ? R([o], 40 + l, 0.3) : undefined });
          inDim = o;
        });
        const lens = new Int32Array(B).map((_, b) => (b === 1 ? 0 : S - b));
        out.push(['targetAttention', `B${B} S${S} D${D} ${hidden.join('-')} ${activation} ${normalize}`, (o) => ak.targetAttention(R([B, D], 50), R([B, S, D], 51), { layers }, { activation, normalize, keyLengths: lens }, o)]);
      }
  }
  return out;
}
