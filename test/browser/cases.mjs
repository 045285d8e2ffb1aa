// The browser test's cases, shared by the page (served to Chromium) and the Node side of
// test/browser.test.mjs, which recomputes the reference results in Node and compares. No imports:
// plain ESM that runs unchanged in both. Inputs come from a seeded generator, so both sides build
// bit-identical Float32Arrays.

/** mulberry32: a tiny seeded PRNG; values in [-scale, scale). */
export function rand(n, seed, scale = 1) {
  let s = seed >>> 0;
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    const u = ((t ^ (t >>> 14)) >>> 0) / 4294967296;
    out[i] = (2 * u - 1) * scale;
  }
  return out;
}

const T = (shape, seed, scale = 1) => ({ data: rand(shape.reduce((a, b) => a * b, 1), seed, scale), shape });

/** Normalise an op's return (a tensor, or `{ output, weights?, lse? }`) to named arrays. */
export function outputsOf(r) {
  if (r && r.data && r.shape) return { output: { data: r.data, shape: r.shape } };
  const o = {};
  for (const k of ['output', 'weights', 'lse']) if (r && r[k]) o[k] = { data: r[k].data, shape: r[k].shape };
  return o;
}

/**
 * The cases: sdpa (grouped-query, causal bottom-right, sliding window, softcap, key lengths,
 * log-sum-exp), multi-head attention (projections with biases, GQA, key lengths, weights) and DIN
 * target attention (3-layer MLP, key lengths, softmax-normalised, weights). `run(ak, dispatchOptions)` calls the op
 * (`runAsync`: its async twin); the case id is the op name.
 */
export function cases() {
  const sdpaQ = T([2, 4, 24, 32], 11);
  const sdpaK = T([2, 2, 40, 32], 12);
  const sdpaV = T([2, 2, 40, 16], 13);
  // window and softcap: the per-batch key bounds (klo, khi) and the kernel's own tanh on WebGL2 too
  const sdpaOpts = { causal: true, window: { left: 30 }, softcap: 2, keyLengths: new Int32Array([40, 29]), returnLse: true };

  const [B, L, S, E, Hq, Hkv, D, Eo] = [2, 12, 20, 48, 4, 2, 12, 32];
  const mq = T([B, L, E], 21);
  const mk = T([B, S, E], 22);
  const mv = T([B, S, E], 23);
  const sc = 1 / Math.sqrt(E);
  const mhaParams = {
    wq: T([E, Hq * D], 24, sc), bq: T([Hq * D], 25, 0.1),
    wk: T([E, Hkv * D], 26, sc), bk: T([Hkv * D], 27, 0.1),
    wv: T([E, Hkv * D], 28, sc), bv: T([Hkv * D], 29, 0.1),
    wo: T([Hq * D, Eo], 30, 1 / Math.sqrt(Hq * D)), bo: T([Eo], 31, 0.1),
  };
  const mhaOpts = { numHeads: Hq, numKvHeads: Hkv, keyLengths: new Int32Array([20, 7]), returnWeights: true };

  const [tb, ts, td] = [3, 30, 16];
  const tTarget = T([tb, td], 41);
  const tHistory = T([tb, ts, td], 42);
  const dims = [4 * td, 32, 16, 1];
  const tParams = { layers: dims.slice(1).map((out, l) => ({ w: T([dims[l], out], 43 + 2 * l, 0.3), b: T([out], 44 + 2 * l, 0.1) })) };
  const tOpts = { activation: 'sigmoid', normalize: 'softmax', keyLengths: new Int32Array([30, 17, 5]), returnWeights: true };

  return [
    {
      id: 'sdpa',
      run: (ak, d) => ak.sdpa(sdpaQ, sdpaK, sdpaV, sdpaOpts, d),
      runAsync: (ak, d) => ak.sdpaAsync(sdpaQ, sdpaK, sdpaV, sdpaOpts, d),
    },
    {
      id: 'multiHeadAttention',
      run: (ak, d) => ak.multiHeadAttention(mq, mk, mv, mhaParams, mhaOpts, d),
      runAsync: (ak, d) => ak.multiHeadAttentionAsync(mq, mk, mv, mhaParams, mhaOpts, d),
    },
    {
      id: 'targetAttention',
      run: (ak, d) => ak.targetAttention(tTarget, tHistory, tParams, tOpts, d),
      runAsync: (ak, d) => ak.targetAttentionAsync(tTarget, tHistory, tParams, tOpts, d),
    },
  ];
}
