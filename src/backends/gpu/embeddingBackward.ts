/**
 * The gpu pipeline of `embeddingBackward`. The host sorts the positions by item (a counting sort
 * of the indices: integer bookkeeping, no arithmetic on the values), then one kernel per pass
 * writes each table element as the sum of its item's dOut rows, in position order, in blocks of
 * 64 positions added into a running total (the native kernel's order). Browser-compatible.
 *
 * @module
 */
import { ValueError } from '../../errors';
import type { EmbeddingBackwardArgs, Widened } from '../../kernels';
import { GpuLimitError, fn, type Runtime } from './runtime';
import { scoped } from './pipeline';

/** Positions summed per block (each block's sum is added to the running total), as on native. */
const BLOCK = 64;
/** Positions one pass sums per item at most (a multiple of BLOCK); longer lists take several passes. */
const PASS = 8192;
/** Positions and offsets travel as float32: exact below 2^24. */
const MAX_EXACT = 2 ** 24;

/** embeddingBackward: dTable `[numItems, E]`. */
export function embeddingBackwardGpu(rt: Runtime, a: Widened<EmbeddingBackwardArgs>): Float32Array {
  const { N, E, numItems, paddingIndex, indices } = a;
  if (N >= MAX_EXACT) throw new GpuLimitError('MAX_EXACT_INDEX', `embeddingBackward on gpu indexes positions with float32 (exact below 2^24); N = ${N} positions is too many: use another backend`);
  // The counting sort: count[i] positions per item (padding left out), start[i] their first slot.
  const count = new Float32Array(numItems);
  for (let n = 0; n < N; n++) {
    const i = indices[n];
    // The op checked the indices; an async caller may have changed them since (after the yield).
    if (!(i >= 0 && i < numItems)) throw new ValueError(`indices[${n}]`, `expected an item index within 0..${numItems - 1}, received ${i} (changed while the call was pending?)`);
    if (i !== paddingIndex) count[i]++;
  }
  const start = new Float32Array(numItems);
  let maxCount = 0;
  for (let i = 0, s = 0; i < numItems; i++) {
    start[i] = s;
    s += count[i];
    if (count[i] > maxCount) maxCount = count[i];
  }
  if (E === 0 || maxCount === 0) return new Float32Array(numItems * E);
  const order = new Float32Array(Math.max(1, N));
  const fill = Float64Array.from(start);
  for (let n = 0; n < N; n++) {
    const i = indices[n];
    if (i !== paddingIndex) order[fill[i]++] = n;
  }
  // Blocks per pass: enough for the longest list, rounded up to a power of two (few kernel variants).
  let blocks = 1;
  while (blocks * BLOCK < Math.min(maxCount, PASS)) blocks *= 2;
  const perPass = blocks * BLOCK;
  // The first pass starts each total at 0; the next ones from the previous pass's texture.
  const body = (init: string): string => `  let total = ${init};
  let c = cnt[this.thread.y] - k0[0];
  let base = st[this.thread.y] + k0[0];
  for (let b = 0; b < this.constants.NB; b++) {
    if (b * ${BLOCK} >= c) { break; }
    let part = 0.0;
    for (let j = 0; j < ${BLOCK}; j++) {
      let k = b * ${BLOCK} + j;
      if (k < c) {
        let pos = ord[base + k];
        part += d[0][pos][this.thread.x];
      }
    }
    total += part;
  }
  return total;`;
  const first = fn(['d', 'ord', 'st', 'cnt', 'k0'], body('0.0'));
  const next = fn(['d', 'ord', 'st', 'cnt', 'k0', 'prev'], body('prev[this.thread.z][this.thread.y][this.thread.x]'));
  return scoped((scope) => {
    const d = rt.input(a.dOut, [E, N, 1]);
    const ord = rt.input(order, [order.length]);
    const st = rt.input(start, [numItems]);
    const cnt = rt.input(count, [numItems]);
    const spec = (src: string) => ({ name: 'embeddingBackward', src, output: [E, numItems, 1] as [number, number, number], constants: { NB: blocks } });
    let t = rt.run(scope, spec(first), [d, ord, st, cnt, Float32Array.of(0)]);
    for (let k0 = perPass; k0 < maxCount; k0 += perPass) t = rt.run(scope, spec(next), [d, ord, st, cnt, Float32Array.of(k0), t]);
    return rt.read(t, numItems * E);
  });
}
