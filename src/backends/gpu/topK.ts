/**
 * The gpu pipeline of `topK`: the B x N scores on the GPU, chunk by chunk, and the selection
 * (a bounded heap per user, exclusions, NaN first, ties to the lower index) on the CPU. The k
 * smallest (`largest: false`) rank the negated scores the same way with NaN last (NaN is the
 * greatest value in both directions) and negate them back (exact).
 * Browser-compatible.
 *
 * @module
 */
import type { TopKArgs, TopKResult, Widened } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { REUSE, scoped, texture } from './pipeline';

/**
 * True when (sa, ia) ranks before (sb, ib): NaN first (`nanLast`: last), then larger score, ties
 * to the lower index.
 */
function before(sa: number, ia: number, sb: number, ib: number, nanLast: boolean): boolean {
  const na = sa !== sa;
  const nb = sb !== sb;
  if (na || nb) return na && nb ? ia < ib : nanLast ? nb : na;
  return sa > sb || (sa === sb && ia < ib);
}

/** Scores read back per chunk of items (B x chunk floats): keeps textures and readbacks bounded. */
const TOPK_CHUNK_VALUES = 1 << 24;

/** topK: the B x N scores on the GPU, the selection (a k-heap per user) on the CPU. */
export function topKGpu(rt: Runtime, a: Widened<TopKArgs>): TopKResult {
  const { B, N, D, k } = a;
  // The k smallest: rank -s (exact), NaN last.
  const neg = !a.largest;
  // One bounded heap per user, fed chunk by chunk: the root is the worst kept item.
  const hs = new Float64Array(B * k);
  const hi = new Int32Array(B * k);
  const size = new Int32Array(B);
  const skip = new Uint8Array(N);
  const chunk = Math.max(1, Math.floor(TOPK_CHUNK_VALUES / B));
  const src = fn(
    ['u', 'it'],
    `  let acc = 0.0;
  for (let d = 0; d < this.constants.D; d++) { acc += u[0][this.thread.y][d] * it[0][this.thread.x][d]; }
  return acc;`,
  );
  for (let n0 = 0; n0 < N; n0 += chunk) {
    const n1 = Math.min(N, n0 + chunk);
    const C = n1 - n0;
    // D = 0: every score is an empty dot product, 0 (nothing to upload).
    const scores = D === 0 ? new Float32Array(B * C) : scoped((scope) => {
      const part = a.items.subarray(n0 * D, n1 * D);
      // Each item vector is read B times: copy it to a float texture when that repays (see texture() in pipeline.ts).
      const items = B >= REUSE ? texture(rt, scope, part, [D, C, 1]) : rt.input(part, [D, C, 1]);
      const t = rt.run(scope, { name: 'topK.scores', src, output: [C, B, 1], constants: { D } }, [rt.input(a.users, [D, B, 1]), items]);
      return rt.read(t, B * C);
    });
    for (let b = 0; b < B; b++) {
      const ex = a.exclude ? a.exclude[b] : null;
      if (ex) for (let e = 0; e < ex.length; e++) skip[ex[e]] = 1;
      const h = b * k;
      let sz = size[b];
      for (let n = n0; n < n1; n++) {
        if (skip[n]) continue;
        const s = neg ? -scores[b * C + (n - n0)] : scores[b * C + (n - n0)];
        if (sz < k) {
          let c = sz++;
          while (c > 0) {
            const p = (c - 1) >> 1;
            if (!before(hs[h + p], hi[h + p], s, n, neg)) break;
            hs[h + c] = hs[h + p];
            hi[h + c] = hi[h + p];
            c = p;
          }
          hs[h + c] = s;
          hi[h + c] = n;
        } else if (before(s, n, hs[h], hi[h], neg)) {
          let c = 0;
          for (;;) {
            const l = 2 * c + 1;
            if (l >= sz) break;
            let w = l;
            if (l + 1 < sz && before(hs[h + w], hi[h + w], hs[h + l + 1], hi[h + l + 1], neg)) w = l + 1;
            if (!before(s, n, hs[h + w], hi[h + w], neg)) break;
            hs[h + c] = hs[h + w];
            hi[h + c] = hi[h + w];
            c = w;
          }
          hs[h + c] = s;
          hi[h + c] = n;
        }
      }
      size[b] = sz;
      if (ex) for (let e = 0; e < ex.length; e++) skip[ex[e]] = 0;
    }
  }
  const indices = new Int32Array(B * k).fill(-1);
  const out = new Float32Array(B * k).fill(neg ? Infinity : -Infinity);
  for (let b = 0; b < B; b++) {
    const h = b * k;
    const order = Array.from({ length: size[b] }, (_, t) => h + t).sort((x, y) => (before(hs[x], hi[x], hs[y], hi[y], neg) ? -1 : 1));
    for (let t = 0; t < order.length; t++) {
      indices[h + t] = hi[order[t]];
      out[h + t] = neg ? -hs[order[t]] : hs[order[t]];
    }
  }
  return { indices, scores: out };
}
