/**
 * The gpu pipeline of `targetAttention`: the DIN activation unit (first layer fused with the
 * [h, t, h - t, h * t] features, then linear layers), then the softmax-normalized or raw
 * weighted sum of the history. Browser-compatible.
 *
 * @module
 */
import type { PoolResult, TargetAttentionArgs, Widened } from '../../kernels';
import { fn, type Runtime } from './runtime';
import { activation, pvSrc } from './sources';
import { SPECIAL, lensArg, scoped, type Act, type Src } from './pipeline';
import { linear, softmaxTail } from './stages';
import { jaggedProbsSrc, jaggedStatsSrc, jaggedSumSrc, sequenceTextures } from './jaggedPool';

/**
 * targetAttention over a jagged history (historyOffsets): the activation unit runs over the T
 * history rows (each row reads its user's target through the row's sequence texture), the
 * softmax and the weighted sum over each user's own rows. No padded texture exists.
 */
function targetAttentionJaggedGpu(rt: Runtime, a: Widened<TargetAttentionArgs>, offsets: Int32Array): PoolResult {
  const { B, D, layers } = a;
  const T = offsets[B];
  // No history row at all: every user's history is empty (output zeros, no weights to compute).
  if (T === 0) return a.returnWeights ? { output: new Float32Array(B * D), weights: new Float32Array(0) } : { output: new Float32Array(B * D) };
  return scoped((scope) => {
    const seq = sequenceTextures(offsets);
    const hist = rt.input(a.history, [D, T, 1]);
    const first = layers[0];
    const act: Act = layers.length === 1 ? 'none' : a.activation;
    const p1 = ['hs', 'tg', 'w', 'bb', 'rs'];
    const a1: Src[] = [hist, rt.input(a.target, [D, B, 1]), rt.input(first.w, [first.outDim, first.inDim]), first.b, seq.rowSeq];
    if (act === 'prelu') {
      p1.push('al');
      a1.push(first.alpha!);
    }
    const src1 = fn(
      p1,
      `  let o = this.thread.x;
  let r = this.thread.y;
  let b = rs[r];
  let acc = 0.0;
  for (let d = 0; d < this.constants.D; d++) {
    let hv = hs[0][r][d];
    let tv = tg[0][b][d];
    acc += hv * w[d][o] + tv * w[d + this.constants.D][o] + (hv - tv) * w[d + this.constants.D2][o] + (hv * tv) * w[d + this.constants.D3][o];
  }
  acc += bb[o];
${activation(act, 'acc', 'al[o]')}
  return acc;`,
    );
    let h = rt.run(scope, { name: 'targetAttention.jagged.layer0', src: src1, output: [first.outDim, T, 1], constants: { B, T, D, D2: 2 * D, D3: 3 * D } }, a1);
    for (let l = 1; l < layers.length; l++) {
      const ly = layers[l];
      h = linear(rt, scope, h, T, 1, ly.inDim, ly.outDim, ly.w, ly.b, l === layers.length - 1 ? 'none' : a.activation, null, ly.alpha);
    }
    // h is [1, T, 1]: the activation weight of each history row (the logits, L = 1).
    if (a.normalize === 'softmax') {
      const st = rt.run(scope, { name: 'targetAttention.jagged.stats', src: jaggedStatsSrc(), output: [2, 1, B], constants: { B, T, S: seq.loop } }, [h, SPECIAL, seq.start, seq.length]);
      const p = rt.run(scope, { name: 'targetAttention.jagged.probs', src: jaggedProbsSrc(), output: [1, T, 1], constants: { B, T } }, [h, st, seq.rowSeq]);
      const out = rt.run(scope, { name: 'targetAttention.jagged.pv', src: jaggedSumSrc(), output: [D, 1, B], constants: { B, T, S: seq.loop } }, [p, hist, seq.start, seq.length]);
      const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * D) };
      if (a.returnWeights) res.weights = rt.read(p, T, true);
      return res;
    }
    // normalize 'none': the raw weights, every row of a user's history counts.
    const out = rt.run(scope, { name: 'targetAttention.jagged.sum', src: jaggedSumSrc(true), output: [D, 1, B], constants: { B, T, S: seq.loop } }, [h, hist, seq.start, seq.length]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * D) };
    if (a.returnWeights) res.weights = rt.read(h, T);
    return res;
  });
}

/** targetAttention (DIN activation unit, then weighted sum of history). */
export function targetAttentionGpu(rt: Runtime, a: Widened<TargetAttentionArgs>): PoolResult {
  if (a.historyOffsets) return targetAttentionJaggedGpu(rt, a, a.historyOffsets);
  return scoped((scope) => {
    const { B, S, D, layers } = a;
    const hist = rt.input(a.history, [D, S, B]);
    const first = layers[0];
    const act: Act = layers.length === 1 ? 'none' : a.activation;
    const p1 = ['hs', 'tg', 'w', 'bb'];
    const a1: Src[] = [hist, rt.input(a.target, [D, B, 1]), rt.input(first.w, [first.outDim, first.inDim]), first.b];
    if (act === 'prelu') {
      p1.push('al');
      a1.push(first.alpha!);
    }
    const src1 = fn(
      p1,
      `  let o = this.thread.x;
  let acc = 0.0;
  for (let d = 0; d < this.constants.D; d++) {
    let hv = hs[this.thread.z][this.thread.y][d];
    let tv = tg[0][this.thread.z][d];
    acc += hv * w[d][o] + tv * w[d + this.constants.D][o] + (hv - tv) * w[d + this.constants.D2][o] + (hv * tv) * w[d + this.constants.D3][o];
  }
  acc += bb[o];
${activation(act, 'acc', 'al[o]')}
  return acc;`,
    );
    let h = rt.run(scope, { name: 'targetAttention.layer0', src: src1, output: [first.outDim, S, B], constants: { D, D2: 2 * D, D3: 3 * D } }, a1);
    for (let l = 1; l < layers.length; l++) {
      const ly = layers[l];
      h = linear(rt, scope, h, S, B, ly.inDim, ly.outDim, ly.w, ly.b, l === layers.length - 1 ? 'none' : a.activation, null, ly.alpha);
    }
    // h is [1, S, B]: the activation weight a_j of each history item.
    const lens = a.keyLengths ? lensArg(a.keyLengths) : null;
    const valid = lens ? '  if (j >= lens[b]) { return EXCLUDED; }' : '';
    if (a.normalize === 'softmax') {
      const src = fn(
        lens ? ['h', 'sp', 'lens'] : ['h', 'sp'],
        `  let j = this.thread.x;
  let b = this.thread.z;
${valid.replace('EXCLUDED', 'sp[0]')}
  return h[b][j][0];`,
      );
      const lg = rt.run(scope, { name: 'targetAttention.logits', src, output: [S, 1, B], constants: {} }, lens ? [h, SPECIAL, lens] : [h, SPECIAL]);
      const { p } = softmaxTail(rt, scope, lg, S, 1, B);
      const out = rt.run(scope, { name: 'targetAttention.pv', src: pvSrc('  let pz = this.thread.z;\n  let d = this.thread.x;', 'v[pz][j][d]'), output: [D, 1, B], constants: { S } }, [p, hist]);
      const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * D) };
      if (a.returnWeights) res.weights = rt.read(p, B * S, true);
      return res;
    }
    // normalize 'none': raw weights, padded items 0; output Σ_{valid j} a_j h_j.
    const wsrc = fn(
      lens ? ['h', 'lens'] : ['h'],
      `  let j = this.thread.x;
  let b = this.thread.z;
${valid.replace('EXCLUDED', '0.0')}
  return h[b][j][0];`,
    );
    const wt = rt.run(scope, { name: 'targetAttention.weights', src: wsrc, output: [S, 1, B], constants: {} }, lens ? [h, lens] : [h]);
    const osrc = fn(
      lens ? ['h', 'v', 'lens'] : ['h', 'v'],
      `  let b = this.thread.z;
  let d = this.thread.x;
  let acc = 0.0;
  for (let j = 0; j < this.constants.S; j++) {
    ${lens ? 'if (j < lens[b]) { acc += h[b][j][0] * v[b][j][d]; }' : 'acc += h[b][j][0] * v[b][j][d];'}
  }
  return acc;`,
    );
    const out = rt.run(scope, { name: 'targetAttention.sum', src: osrc, output: [D, 1, B], constants: { S } }, lens ? [h, hist, lens] : [h, hist]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * D) };
    if (a.returnWeights) res.weights = rt.read(wt, B * S);
    return res;
  });
}
