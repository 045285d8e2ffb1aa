/**
 * The gpu pipeline of `additiveAttention`: key (and query) projections, the tanh scores, the
 * softmax tail and the weighted sum of values. Browser-compatible.
 *
 * @module
 */
import type { AdditiveAttentionArgs, PoolResult, Widened } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { exclusionLines, pvSrc, tanhInline } from './sources';
import { SPECIAL, lensArg, operand3, scoped, type Src } from './pipeline';
import { linear, softmaxTail } from './stages';
import { jaggedProbsSrc, jaggedStatsSrc, jaggedSumSrc, sequenceTextures } from './jaggedPool';

/**
 * additiveAttention over jagged keys / values (keyOffsets): keys projected over their T rows,
 * scores `[L, T, 1]` (the weights' own [T, L] layout; -Infinity where `jaggedMask` excludes a
 * key), softmax and weighted sum over each batch row's own keys. No padded texture exists.
 */
function additiveAttentionJaggedGpu(rt: Runtime, a: Widened<AdditiveAttentionArgs>, offsets: Int32Array): PoolResult {
  const { B, L, Dq, Dk, Dv, A } = a;
  const T = offsets[B];
  // No key at all: every row is empty (output zeros, no weights).
  if (T === 0) return a.returnWeights ? { output: new Float32Array(B * L * Dv), weights: new Float32Array(0) } : { output: new Float32Array(B * L * Dv) };
  return scoped((scope) => {
    const seq = sequenceTextures(offsets);
    const ka = linear(rt, scope, rt.input(a.keys, [Dk, T, 1]), T, 1, Dk, A, a.wk, a.b);
    const pooled = a.query === null;
    const params = ['ka', 'vv', 'rs'];
    const args: Src[] = [ka, a.v, seq.rowSeq];
    if (!pooled) {
      params.push('qa');
      args.push(linear(rt, scope, rt.input(a.query!, [Dq, L, B]), L, B, Dq, A, a.wq!, null));
    }
    // The per-user mask ([L·T] floats, batch b's [L, n_b] block at L·start[b]): a masked key
    // scores -Infinity (excluded) before its tanh terms are read, so a NaN behind it stays out.
    const masked = !!a.jaggedMask;
    if (masked) {
      params.push('mk', 'sst', 'sln', 'sp');
      args.push(Float32Array.from(a.jaggedMask!), seq.start, seq.length, SPECIAL);
    }
    const src = fn(
      params,
      `  let i = this.thread.x;
  let r = this.thread.y;
  let b = rs[r];
${masked ? `  let n = sln[b];
  let st = sst[b];
  if (mk[this.constants.L * st + i * n + (r - st)] == 0.0) { return sp[0]; }` : ''}
  let s = 0.0;
  for (let c = 0; c < this.constants.A; c++) {
${tanhInline(pooled ? 'ka[0][r][c]' : 'qa[b][i][c] + ka[0][r][c]', 'th')}
    s += vv[c] * th;
  }
  return s;`,
    );
    const lg = rt.run(scope, { name: 'additiveAttention.jagged.scores', src, output: [L, T, 1], constants: masked ? { B, T, A, L } : { B, T, A } }, args);
    const st = rt.run(scope, { name: 'additiveAttention.jagged.stats', src: jaggedStatsSrc(), output: [2, L, B], constants: { B, T, S: seq.loop } }, [lg, SPECIAL, seq.start, seq.length]);
    const p = rt.run(scope, { name: 'additiveAttention.jagged.probs', src: jaggedProbsSrc(), output: [L, T, 1], constants: { B, T } }, [lg, st, seq.rowSeq]);
    const out = rt.run(scope, { name: 'additiveAttention.jagged.pv', src: jaggedSumSrc(), output: [Dv, L, B], constants: { B, T, S: seq.loop } }, [p, rt.input(a.values, [Dv, T, 1]), seq.start, seq.length]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * L * Dv) };
    if (a.returnWeights) res.weights = rt.read(p, T * L, true);
    return res;
  });
}

/** additiveAttention (and pooling when there is no query). */
export function additiveAttentionGpu(rt: Runtime, a: Widened<AdditiveAttentionArgs>): PoolResult {
  if (a.keyOffsets) return additiveAttentionJaggedGpu(rt, a, a.keyOffsets);
  return scoped((scope) => {
    const { B, L, S, Dq, Dk, Dv, A } = a;
    const ka = linear(rt, scope, rt.input(a.keys, [Dk, S, B]), S, B, Dk, A, a.wk, a.b);
    const params = ['ka', 'vv', 'sp'];
    const args: Src[] = [ka, a.v, SPECIAL];
    const pooled = a.query === null;
    if (!pooled) {
      params.push('qa');
      args.push(linear(rt, scope, rt.input(a.query!, [Dq, L, B]), L, B, Dq, A, a.wq!, null));
    }
    let maskExpr: string | null = null;
    if (a.mask) {
      const m = operand3(rt, a.mask, [B, L, S], 'mk');
      params.push('mk');
      args.push(m.arg);
      maskExpr = m.expr;
    }
    if (a.keyLengths) {
      params.push('lens');
      args.push(lensArg(a.keyLengths));
    }
    const src = fn(
      params,
      `  let j = this.thread.x;
  let i = this.thread.y;
  let b = this.thread.z;
${exclusionLines({ lens: !!a.keyLengths, mask: maskExpr })}
  let s = 0.0;
  for (let c = 0; c < this.constants.A; c++) {
${tanhInline(pooled ? 'ka[b][j][c]' : 'qa[b][i][c] + ka[b][j][c]', 'th')}
    s += vv[c] * th;
  }
  return s;`,
    );
    const lg = rt.run(scope, { name: 'additiveAttention.scores', src, output: [S, L, B], constants: { A } }, args);
    const { p } = softmaxTail(rt, scope, lg, S, L, B);
    const pre = `  let pz = this.thread.z;
  let d = this.thread.x;`;
    const out = rt.run(scope, { name: 'additiveAttention.pv', src: pvSrc(pre, 'v[pz][j][d]'), output: [Dv, L, B], constants: { S } }, [p, rt.input(a.values, [Dv, S, B])]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * L * Dv) };
    if (a.returnWeights) res.weights = rt.read(p, B * L * S, true);
    return res;
  });
}
