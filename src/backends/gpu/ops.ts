/**
 * The gpu backend's op pipelines: each op is a chain of gpu.js kernels whose intermediate results
 * stay in textures (pipeline + immutable), deleted when the op ends, with one readback per
 * returned array at the end. Browser-compatible.
 *
 * @module
 */
import type {
  AdditiveArgs,
  AttentionResult,
  EncoderArgs,
  GeluArgs,
  LayerNormArgs,
  LinearArgs,
  MhaArgs,
  PoolResult,
  SdpaArgs,
  SoftmaxArgs,
  Strided,
  TargetArgs,
  TopKArgs,
  TopKResult,
} from '../../kernels';
import type { GpuJsTexture } from './host';
import { Scope, type Arg, type Runtime } from './runtime';
import {
  exclusionLines,
  geluSrc,
  idiv,
  linearSrc,
  lnApplySrc,
  lnStatsSrc,
  lseSrc,
  probsSrc,
  pvSrc,
  statsSrc,
  activation,
  tanhInline,
} from './sources';
import { fn } from './runtime';

type Src = Arg | GpuJsTexture;
type Act = 'none' | 'relu' | 'sigmoid' | 'prelu' | 'gelu' | 'gelu_tanh';

/** Reads per element above which an input is first copied to a float texture (see {@link texture}). */
const REUSE = 16;
/** [-Infinity, NaN, 1]: values GLSL ES 1.00 cannot write as literals, and a 1 the compiler cannot fold. */
const SPECIAL = new Float32Array([-Infinity, NaN, 1]);

/** Run `body` with a texture scope that is always closed. */
function scoped<T>(body: (scope: Scope) => T): T {
  const scope = new Scope();
  try {
    return body(scope);
  } finally {
    scope.close();
  }
}

/**
 * A broadcast operand (strides over a canonical shape) gathered into its compact form: axes with
 * stride 0 keep extent 1. Returns the data and the kept extents.
 */
function compact(st: Strided<ArrayLike<number>>, dims: readonly number[]): { data: Float32Array; n: number[] } {
  const n = dims.map((d, k) => (st.strides[k] === 0 ? 1 : d));
  const total = n.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  const idx = new Array<number>(n.length).fill(0);
  for (let f = 0; f < total; f++) {
    let off = 0;
    for (let k = 0; k < n.length; k++) off += idx[k] * st.strides[k];
    out[f] = st.data[off];
    for (let k = n.length - 1; k >= 0; k--) {
      if (++idx[k] < n[k]) break;
      idx[k] = 0;
    }
  }
  return { data: out, n };
}

function maskToFloat(d: Float32Array): Float32Array {
  for (let i = 0; i < d.length; i++) d[i] = d[i] !== 0 ? 1 : 0;
  return d;
}

/** A compact `[B,H,L,S]` operand as an upload viewed `[nS, nL, nB*nH]` and the read expression. */
function operand4(rt: Runtime, st: Strided<ArrayLike<number>>, dims: [number, number, number, number], name: string, isMask: boolean): { arg: Arg; expr: string } {
  const c = compact(st, dims);
  const [nB, nH, nL, nS] = c.n;
  const data = isMask ? maskToFloat(c.data) : c.data;
  // A literal-only sum such as `0 + 0` makes gpu.js emit a float index GLSL cannot take: keep only real terms.
  const terms = [nB > 1 ? (nH > 1 ? `b * ${nH}.0` : 'b') : '', nH > 1 ? 'h' : ''].filter(Boolean);
  const z = terms.length ? terms.join(' + ') : '0';
  return { arg: rt.input(data, [nS, nL, nB * nH]), expr: `${name}[${z}][${nL > 1 ? 'i' : '0'}][${nS > 1 ? 'j' : '0'}]` };
}

/** A compact `[B,L,S]` operand as an upload viewed `[nS, nL, nB]`. */
function operand3(rt: Runtime, st: Strided<ArrayLike<number>>, dims: [number, number, number], name: string): { arg: Arg; expr: string } {
  const c = compact(st, dims);
  const [nB, nL, nS] = c.n;
  return { arg: rt.input(maskToFloat(c.data), [nS, nL, nB]), expr: `${name}[${nB > 1 ? 'b' : '0'}][${nL > 1 ? 'i' : '0'}][${nS > 1 ? 'j' : '0'}]` };
}

function lensArg(l: Int32Array): Float32Array {
  return Float32Array.from(l);
}

/**
 * Upload an array and copy it into a float texture: kernels that read every element many times
 * (q and k in attention, items in topK) read a plain float texture faster than gpu.js's packed
 * 4-floats-per-texel upload (measured: the 1024x1024x64 logits kernel about 30% faster).
 */
function texture(rt: Runtime, scope: Scope, data: Float32Array, dims: [number, number, number]): GpuJsTexture {
  const src = fn(['a'], '  return a[this.thread.z][this.thread.y][this.thread.x];');
  return rt.run(scope, { name: 'upload', src, output: dims, constants: {} }, [rt.input(data, dims)]);
}

/** `x[rows, In] · w + b` with optional activation / residual, output `[Out, Y, Z]`. */
function linear(rt: Runtime, scope: Scope, x: Src, Y: number, Z: number, inDim: number, outDim: number, w: Float32Array, b: Float32Array | null, act: Act = 'none', residual: Src | null = null, alpha: Float32Array | null = null): GpuJsTexture {
  const args: Src[] = [x, rt.input(w, [outDim, inDim])];
  if (b) args.push(b);
  if (act === 'prelu') args.push(alpha!);
  if (residual) args.push(residual);
  return rt.run(scope, { name: 'linear', src: linearSrc({ bias: !!b, act, residual: !!residual }), output: [outDim, Y, Z], constants: { IN: inDim } }, args);
}

/** layerNorm of `x (+ r)` over C, rows `[Y, Z]`. */
function layerNorm(rt: Runtime, scope: Scope, x: Src, r: Src | null, C: number, Y: number, Z: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number): GpuJsTexture {
  const st = rt.run(scope, { name: 'layerNorm.stats', src: lnStatsSrc(!!r), output: [2, Y, Z], constants: { C } }, r ? [x, r] : [x]);
  const args: Src[] = [x];
  if (r) args.push(r);
  args.push(st);
  if (gamma) args.push(gamma);
  if (beta) args.push(beta);
  return rt.run(scope, { name: 'layerNorm.apply', src: lnApplySrc(!!r, !!gamma, !!beta), output: [C, Y, Z], constants: { EPS: eps } }, args);
}

/** Softmax tail over logits `[S, Y, Z]` (-Inf = excluded): statistics and probabilities (-1 = excluded). */
function softmaxTail(rt: Runtime, scope: Scope, lg: Src, S: number, Y: number, Z: number, lo: Src | null = null): { st: GpuJsTexture; p: GpuJsTexture } {
  const st = rt.run(scope, { name: 'softmax.stats', src: statsSrc(!!lo), output: [2, Y, Z], constants: { S } }, lo ? [lg, SPECIAL, lo] : [lg, SPECIAL]);
  const p = rt.run(scope, { name: 'softmax.probs', src: probsSrc(!!lo), output: [S, Y, Z], constants: {} }, lo ? [lg, st, lo] : [lg, st]);
  return { st, p };
}

function lse(rt: Runtime, scope: Scope, st: GpuJsTexture, Y: number, Z: number): GpuJsTexture {
  return rt.run(scope, { name: 'lse', src: lseSrc(), output: [1, Y, Z], constants: {} }, [st, SPECIAL]);
}

interface AttnCore {
  B: number;
  Hq: number;
  Hkv: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
  scale: number;
  causal: boolean;
  mask: Strided<Uint8Array> | null;
  bias: Strided<Float32Array> | null;
  keyLengths: Int32Array | null;
  /** 'heads': q `[D, L, B*Hq]`, k `[D, S, B*Hkv]`, v `[Dv, S, B*Hkv]`, output `[Dv, L, B*Hq]`. 'packed': q `[Hq*D, L, B]`, k `[Hkv*D, S, B]`, v `[Hkv*Dv, S, B]`, output `[Hq*Dv, L, B]`. */
  layout: 'heads' | 'packed';
}

/** Scaled dot-product attention on the GPU: logits, statistics, probabilities, weighted values. */
function attention(rt: Runtime, scope: Scope, c: AttnCore, q: Src, k: Src, v: Src): { out: GpuJsTexture; st: GpuJsTexture; p: GpuJsTexture } {
  const { B, Hq, Hkv, L, S, D, Dv } = c;
  const params = ['q', 'k', 'sp'];
  const args: Src[] = [q, k, SPECIAL];
  let maskExpr: string | null = null;
  let biasExpr: string | null = null;
  if (c.mask) {
    const m = operand4(rt, c.mask, [B, Hq, L, S], 'mk', true);
    params.push('mk');
    args.push(m.arg);
    maskExpr = m.expr;
  }
  if (c.bias) {
    const m = operand4(rt, c.bias, [B, Hq, L, S], 'bs', false);
    params.push('bs');
    args.push(m.arg);
    biasExpr = m.expr;
  }
  if (c.keyLengths) {
    params.push('lens');
    args.push(lensArg(c.keyLengths));
  }
  const heads = c.layout === 'heads';
  const qr = heads ? 'q[z][i][d]' : 'q[b][i][h * this.constants.D + d]';
  const kr = heads ? 'k[b * this.constants.HKV + hk][j][d]' : 'k[b][j][hk * this.constants.D + d]';
  // part 'hi': the fp32 logit; part 'lo' (only with a bias): the rounding error of `dot*scale + bias`
  // (TwoSum), so a large bias (1e4) does not round away the differences between logits.
  const src = (part: 'hi' | 'lo'): string =>
    fn(
      params,
      `  let j = this.thread.x;
  let i = this.thread.y;
  let z = this.thread.z;
  let b = ${idiv('z', 'this.constants.HQ')};
  let h = z - b * this.constants.HQ;
  let hk = ${idiv('h', 'this.constants.G')};
${exclusionLines({ lens: !!c.keyLengths, causal: c.causal, mask: maskExpr }, part === 'hi' ? 'sp[0]' : '0.0')}
  let dot = 0.0;
  for (let d = 0; d < this.constants.D; d++) { dot += ${qr} * ${kr}; }
  let s = dot * this.constants.SCALE;
${
  !biasExpr
    ? '  return s;'
    : part === 'hi'
      ? `  return s + ${biasExpr};`
      : // sp[2] = 1, unknown to the compiler: without it Mesa folds TwoSum's error term to 0.
        `  let one = sp[2];
  let bv = ${biasExpr};
  let t = (s + bv) * one;
  let bt = (t - s) * one;
  let u = (t - bt) * one;
  let e = (s - u) + (bv - bt);
  // reference's float64 logit keeps no bits below 2^-53 of its size (a 1e30 bias swamps the dot)
  if (Math.abs(e) * 9007199254740992.0 < Math.abs(t)) { return 0.0; }
  if (e != e) { return 0.0; }
  return e;`
}`,
    );
  const constants = { HQ: Hq, HKV: Hkv, G: Hq / Hkv, D, SCALE: c.scale, COFF: S - L };
  const lg = rt.run(scope, { name: 'attention.logits', src: src('hi'), output: [S, L, B * Hq], constants }, args);
  const lo = biasExpr ? rt.run(scope, { name: 'attention.logits.lo', src: src('lo'), output: [S, L, B * Hq], constants }, args) : null;
  const { st, p } = softmaxTail(rt, scope, lg, S, L, B * Hq, lo);
  const pre = heads
    ? `  let pz = this.thread.z;
  let d = this.thread.x;
  let b = ${idiv('pz', 'this.constants.HQ')};
  let h = pz - b * this.constants.HQ;
  let hk = ${idiv('h', 'this.constants.G')};`
    : `  let b = this.thread.z;
  let h = ${idiv('this.thread.x', 'this.constants.DV')};
  let d = this.thread.x - h * this.constants.DV;
  let hk = ${idiv('h', 'this.constants.G')};
  let pz = b * this.constants.HQ + h;`;
  const vr = heads ? 'v[b * this.constants.HKV + hk][j][d]' : 'v[b][j][hk * this.constants.DV + d]';
  const out = rt.run(
    scope,
    { name: 'attention.pv', src: pvSrc(pre, vr), output: heads ? [Dv, L, B * Hq] : [Hq * Dv, L, B], constants: { S, HQ: Hq, HKV: Hkv, G: Hq / Hkv, DV: Dv } },
    [p, v],
  );
  return { out, st, p };
}

function attentionResult(rt: Runtime, scope: Scope, r: { out: GpuJsTexture; st: GpuJsTexture; p: GpuJsTexture }, outLen: number, rows: number, S: number, L: number, Z: number, weights: boolean, wantLse: boolean): AttentionResult {
  const res: { output: Float32Array; weights?: Float32Array; lse?: Float32Array } = { output: rt.read(r.out, outLen) };
  if (weights) res.weights = rt.read(r.p, rows * S, true);
  if (wantLse) res.lse = rt.read(lse(rt, scope, r.st, L, Z), rows);
  return res;
}

/** sdpa. */
export function sdpaGpu(rt: Runtime, a: SdpaArgs): AttentionResult {
  return scoped((scope) => {
    const { B, Hq, Hkv, L, S, D, Dv } = a;
    // Copy to a float texture what is read often enough to repay the copy: each q element is read
    // S times, each k / v element L * (Hq / Hkv) times (so not k and v when decoding, L = 1).
    const up = (data: Float32Array, dims: [number, number, number], reads: number): Src => (reads >= REUSE ? texture(rt, scope, data, dims) : rt.input(data, dims));
    const q = up(a.q, [D, L, B * Hq], S);
    const k = up(a.k, [D, S, B * Hkv], L * (Hq / Hkv));
    const v = up(a.v, [Dv, S, B * Hkv], L * (Hq / Hkv));
    const r = attention(rt, scope, { ...a, layout: 'heads' }, q, k, v);
    return attentionResult(rt, scope, r, B * Hq * L * Dv, B * Hq * L, S, L, B * Hq, a.returnWeights, a.returnLse);
  });
}

/** multiHeadAttention: projections, attention and output projection, all on the GPU. */
export function mhaGpu(rt: Runtime, a: MhaArgs): AttentionResult {
  return scoped((scope) => {
    const { B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo } = a;
    const query = rt.input(a.query, [E, L, B]);
    const qp = linear(rt, scope, query, L, B, E, Hq * D, a.wq, a.bq);
    const key = a.selfAttention ? query : rt.input(a.key, [Ek, S, B]);
    const kp = linear(rt, scope, key, S, B, Ek, Hkv * D, a.wk, a.bk);
    const value = a.selfAttention ? query : rt.input(a.value, [Ev, S, B]);
    const vp = linear(rt, scope, value, S, B, Ev, Hkv * Dv, a.wv, a.bv);
    const r = attention(rt, scope, { ...a, layout: 'packed' }, qp, kp, vp);
    const o = linear(rt, scope, r.out, L, B, Hq * Dv, Eo, a.wo, a.bo);
    return attentionResult(rt, scope, { ...r, out: o }, B * L * Eo, B * Hq * L, S, L, B * Hq, a.returnWeights, a.returnLse);
  });
}

/** additiveAttention (and pooling when there is no query). */
export function additiveGpu(rt: Runtime, a: AdditiveArgs): PoolResult {
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
${exclusionLines({ lens: !!a.keyLengths, causal: false, mask: maskExpr })}
  let s = 0.0;
  for (let c = 0; c < this.constants.A; c++) {
${tanhInline(pooled ? 'ka[b][j][c]' : 'qa[b][i][c] + ka[b][j][c]', 'th')}
    s += vv[c] * th;
  }
  return s;`,
    );
    const lg = rt.run(scope, { name: 'additive.scores', src, output: [S, L, B], constants: { A } }, args);
    const { p } = softmaxTail(rt, scope, lg, S, L, B);
    const pre = `  let pz = this.thread.z;
  let d = this.thread.x;`;
    const out = rt.run(scope, { name: 'additive.pv', src: pvSrc(pre, 'v[pz][j][d]'), output: [Dv, L, B], constants: { S } }, [p, rt.input(a.values, [Dv, S, B])]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * L * Dv) };
    if (a.returnWeights) res.weights = rt.read(p, B * L * S, true);
    return res;
  });
}

/** targetAttention (DIN activation unit, then weighted sum of history). */
export function targetGpu(rt: Runtime, a: TargetArgs): PoolResult {
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
    let h = rt.run(scope, { name: 'target.layer0', src: src1, output: [first.outDim, S, B], constants: { D, D2: 2 * D, D3: 3 * D } }, a1);
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
      const lg = rt.run(scope, { name: 'target.logits', src, output: [S, 1, B], constants: {} }, lens ? [h, SPECIAL, lens] : [h, SPECIAL]);
      const { p } = softmaxTail(rt, scope, lg, S, 1, B);
      const out = rt.run(scope, { name: 'target.pv', src: pvSrc('  let pz = this.thread.z;\n  let d = this.thread.x;', 'v[pz][j][d]'), output: [D, 1, B], constants: { S } }, [p, hist]);
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
    const wt = rt.run(scope, { name: 'target.weights', src: wsrc, output: [S, 1, B], constants: {} }, lens ? [h, lens] : [h]);
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
    const out = rt.run(scope, { name: 'target.sum', src: osrc, output: [D, 1, B], constants: { S } }, lens ? [h, hist, lens] : [h, hist]);
    const res: { output: Float32Array; weights?: Float32Array } = { output: rt.read(out, B * D) };
    if (a.returnWeights) res.weights = rt.read(wt, B * S);
    return res;
  });
}

/** transformerEncoderLayer: every step (norms, projections, attention, FFN, residuals) on the GPU. */
export function encoderGpu(rt: Runtime, a: EncoderArgs): Float32Array {
  return scoped((scope) => {
    const { B, L, E, H, D, F } = a;
    const x = rt.input(a.x, [E, L, B]);
    const core: AttnCore = { B, Hq: H, Hkv: H, L, S: L, D, Dv: D, scale: 1 / Math.sqrt(D), causal: a.causal, mask: null, bias: null, keyLengths: a.keyLengths, layout: 'packed' };
    const mha = (inp: Src): GpuJsTexture => {
      const qp = linear(rt, scope, inp, L, B, E, E, a.wq, a.bq);
      const kp = linear(rt, scope, inp, L, B, E, E, a.wk, a.bk);
      const vp = linear(rt, scope, inp, L, B, E, E, a.wv, a.bv);
      return attention(rt, scope, core, qp, kp, vp).out;
    };
    const act: Act = a.activation === 'gelu' ? 'gelu' : 'relu';
    if (a.norm === 'post') {
      const y1 = linear(rt, scope, mha(x), L, B, E, E, a.wo, a.bo, 'none', x); // x + mha(x)
      const h1 = layerNorm(rt, scope, y1, null, E, L, B, a.gamma1, a.beta1, a.eps);
      const f = linear(rt, scope, h1, L, B, E, F, a.w1, a.b1, act);
      const y2 = linear(rt, scope, f, L, B, F, E, a.w2, a.b2, 'none', h1); // h1 + ffn(h1)
      return rt.read(layerNorm(rt, scope, y2, null, E, L, B, a.gamma2, a.beta2, a.eps), B * L * E);
    }
    const n1 = layerNorm(rt, scope, x, null, E, L, B, a.gamma1, a.beta1, a.eps);
    const y1 = linear(rt, scope, mha(n1), L, B, E, E, a.wo, a.bo, 'none', x); // x + mha(norm1(x))
    const n2 = layerNorm(rt, scope, y1, null, E, L, B, a.gamma2, a.beta2, a.eps);
    const f = linear(rt, scope, n2, L, B, E, F, a.w1, a.b1, act);
    return rt.read(linear(rt, scope, f, L, B, F, E, a.w2, a.b2, 'none', y1), B * L * E); // y1 + ffn(norm2(y1))
  });
}

/** softmax over the last axis, with an optional broadcast mask. */
export function softmaxGpu(rt: Runtime, a: SoftmaxArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0); // an empty tensor: nothing to upload
  return scoped((scope) => {
    const { rows, cols } = a;
    const x = rt.input(a.x, [cols, rows, 1]);
    let lg: Src = x;
    if (a.mask) {
      const src = fn(
        ['x', 'mk', 'sp'],
        `  if (mk[this.thread.z][this.thread.y][this.thread.x] == 0.0) { return sp[0]; }
  return x[this.thread.z][this.thread.y][this.thread.x];`,
      );
      const full = expand(a.mask, a.shape);
      lg = rt.run(scope, { name: 'softmax.mask', src, output: [cols, rows, 1], constants: {} }, [x, rt.input(full, [cols, rows, 1]), SPECIAL]);
    }
    const { p } = softmaxTail(rt, scope, lg, cols, rows, 1);
    return rt.read(p, rows * cols, true);
  });
}

/** A broadcast mask gathered to the full shape (0/1 floats). */
function expand(st: Strided<Uint8Array>, shape: readonly number[]): Float32Array {
  const n = shape.reduce((p, d) => p * d, 1);
  const out = new Float32Array(n);
  const idx = new Array<number>(shape.length).fill(0);
  for (let f = 0; f < n; f++) {
    let off = 0;
    for (let k = 0; k < shape.length; k++) off += idx[k] * st.strides[k];
    out[f] = st.data[off] !== 0 ? 1 : 0;
    for (let k = shape.length - 1; k >= 0; k--) {
      if (++idx[k] < shape[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/** layerNorm over the last axis. */
export function layerNormGpu(rt: Runtime, a: LayerNormArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) => rt.read(layerNorm(rt, scope, rt.input(a.x, [a.cols, a.rows, 1]), null, a.cols, a.rows, 1, a.gamma, a.beta, a.eps), a.rows * a.cols));
}

/** linear. */
export function linearGpu(rt: Runtime, a: LinearArgs): Float32Array {
  if (a.rows * a.outDim === 0) return new Float32Array(0);
  if (a.inDim === 0) {
    // x·W over an empty inner dimension is zero: the result is the bias on every row.
    const out = new Float32Array(a.rows * a.outDim);
    if (a.b) for (let r = 0; r < a.rows; r++) out.set(a.b, r * a.outDim);
    return out;
  }
  return scoped((scope) => rt.read(linear(rt, scope, rt.input(a.x, [a.inDim, a.rows, 1]), a.rows, 1, a.inDim, a.outDim, a.w, a.b), a.rows * a.outDim));
}

/** gelu (erf or tanh form). */
export function geluGpu(rt: Runtime, a: GeluArgs): Float32Array {
  if (a.rows * a.cols === 0) return new Float32Array(0);
  return scoped((scope) =>
    rt.read(rt.run(scope, { name: 'gelu', src: geluSrc(a.approximate === 'tanh'), output: [a.cols, a.rows, 1], constants: {} }, [rt.input(a.x, [a.cols, a.rows, 1])]), a.rows * a.cols),
  );
}

/** True when (sa, ia) ranks before (sb, ib): NaN first, then larger score, ties to the lower index. */
function before(sa: number, ia: number, sb: number, ib: number): boolean {
  const na = sa !== sa;
  const nb = sb !== sb;
  if (na || nb) return na && (!nb || ia < ib);
  return sa > sb || (sa === sb && ia < ib);
}

/** Scores read back per chunk of items (B x chunk floats): keeps textures and readbacks bounded. */
const TOPK_CHUNK_VALUES = 1 << 24;

/** topK: the B x N scores on the GPU, the selection (a k-heap per user) on the CPU. */
export function topKGpu(rt: Runtime, a: TopKArgs): TopKResult {
  const { B, N, D, k } = a;
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
      // Each item vector is read B times: copy it to a float texture when that repays (see texture()).
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
        const s = scores[b * C + (n - n0)];
        if (sz < k) {
          let c = sz++;
          while (c > 0) {
            const p = (c - 1) >> 1;
            if (!before(hs[h + p], hi[h + p], s, n)) break;
            hs[h + c] = hs[h + p];
            hi[h + c] = hi[h + p];
            c = p;
          }
          hs[h + c] = s;
          hi[h + c] = n;
        } else if (before(s, n, hs[h], hi[h])) {
          let c = 0;
          for (;;) {
            const l = 2 * c + 1;
            if (l >= sz) break;
            let w = l;
            if (l + 1 < sz && before(hs[h + w], hi[h + w], hs[h + l + 1], hi[h + l + 1])) w = l + 1;
            if (!before(s, n, hs[h + w], hi[h + w])) break;
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
  const out = new Float32Array(B * k).fill(-Infinity);
  for (let b = 0; b < B; b++) {
    const h = b * k;
    const order = Array.from({ length: size[b] }, (_, t) => h + t).sort((x, y) => (before(hs[x], hi[x], hs[y], hi[y]) ? -1 : 1));
    for (let t = 0; t < order.length; t++) {
      indices[h + t] = hi[order[t]];
      out[h + t] = hs[order[t]];
    }
  }
  return { indices, scores: out };
}
