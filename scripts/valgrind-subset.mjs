// The subset run under valgrind (scripts/valgrind.sh): every native op once sync and once async on
// small shapes, verified against reference, plus a few invalid raw-addon calls (error paths).
import * as ak from 'attnkit';
import { createRequire } from 'node:module';
const r = (s, seed) => ak.random(s, { seed });
const V = { backend: 'native', verify: true };
const x8 = r([1, 4, 8], 4), p8 = { wq: r([8, 8], 5), wk: r([8, 8], 6), wv: r([8, 8], 7), wo: r([8, 8], 8) };
const calls = [
  ['sdpa', [r([1, 2, 5, 8], 1), r([1, 2, 7, 8], 2), r([1, 2, 7, 4], 3), { causal: true, returnWeights: true, returnLse: true, keyLengths: Int32Array.of(6) }]],
  ['multiHeadAttention', [x8, x8, x8, p8, { numHeads: 2, returnWeights: true }]],
  ['additiveAttention', [r([2, 3, 6], 9), r([2, 7, 5], 10), r([2, 7, 4], 11), { wq: r([6, 8], 12), wk: r([5, 8], 13), b: r([8], 14), v: r([8], 15) }, { returnWeights: true }]],
  ['targetAttention', [r([2, 4], 16), r([2, 6, 4], 17), { layers: [{ w: r([16, 5], 18), b: r([5], 19) }, { w: r([5, 1], 20), b: r([1], 21) }] }, { activation: 'prelu', normalize: 'softmax' }]],
  ['transformerEncoderLayer', [x8, { attention: p8, ffn: { w1: r([8, 12], 22), w2: r([12, 8], 23) } }, { numHeads: 2, activation: 'gelu', norm: 'pre' }]],
  ['softmax', [r([6, 33], 24), null]],
  ['layerNorm', [r([5, 24], 25), r([24], 26), r([24], 27), null]],
  ['linear', [r([7, 20], 28), r([20, 9], 29), r([9], 30)]],
  ['gelu', [r([4, 30], 31), { approximate: 'tanh' }]],
  ['topK', [r([3, 16], 32), r([50, 16], 33), 5, { exclude: [[1, 2], null, [49]] }]],
];
const ops = ak.backends().find((b) => b.name === 'native').ops;
let n = 0;
for (const [fn, args] of calls) {
  if (!ops.includes(fn)) continue;
  ak[fn](...args, V);
  await ak[`${fn}Async`](...args, V);
  n += 2;
}
const { loadAddon } = createRequire(import.meta.url)('../dist/cjs/backends/native/loader.js');
const addon = loadAddon().addon;
let threw = 0;
for (const bad of [undefined, null, {}, { q: new Float32Array(3), B: 1e9 }, { x: new Float32Array(4), rows: 2, cols: 3 }]) {
  for (const op of ops) {
    try { addon[op](bad); } catch { threw++; }
  }
}
console.log(`valgrind subset: ${n} verified native calls, ${threw} rejected raw calls`);
