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

/** additiveAttention (and pooling when there is no query). */
export function additiveAttentionGpu(rt: Runtime, a: Widened<AdditiveAttentionArgs>): PoolResult {
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
