/**
 * The attention core shared by sdpa, multiHeadAttention and transformerEncoderLayer: logits
 * (exclusions: key lengths, causal / window limits per batch, mask; scale, softcap, bias carried
 * as an fp32 pair), the softmax tail, and the weighted sum of values, for q/k/v textures laid out
 * per head or packed; plus the readback of an attention result. Browser-compatible.
 *
 * @module
 */
import type { AttentionLimits, AttentionResult, Strided } from '../../kernels';
import type { GpuJsTexture } from './host';
import { fn, type Runtime, type Scope } from './runtime';
import { exclusionLines, idiv, pvSrc, tanhInline } from './sources';
import { SPECIAL, lensArg, limitsArgs, operand4, type Src } from './pipeline';
import { lse, softmaxTail } from './stages';

/**
 * The shape and options of one attention core call, and the layout its q, k, v and output
 * textures use. The {@link AttentionLimits} (causal, per-batch offsets, window, softcap) are those
 * of the kernel contract.
 */
export interface AttnCore extends AttentionLimits {
  B: number;
  Hq: number;
  Hkv: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
  scale: number;
  mask: Strided<Uint8Array> | null;
  bias: Strided<Float32Array> | null;
  keyLengths: Int32Array | null;
  /** 'heads': q `[D, L, B*Hq]`, k `[D, S, B*Hkv]`, v `[Dv, S, B*Hkv]`, output `[Dv, L, B*Hq]`. 'packed': q `[Hq*D, L, B]`, k `[Hkv*D, S, B]`, v `[Hkv*Dv, S, B]`, output `[Hq*Dv, L, B]`. */
  layout: 'heads' | 'packed';
}

/**
 * The textures of one attention core call: output, softmax statistics, probabilities (-1 =
 * excluded), and the logits `[S, L, B*Hq]` (-Inf = excluded) with their low part `lo` (only with
 * a bias: the TwoSum error of `capped logit + bias`, 0 where excluded).
 */
export interface AttnTextures {
  out: GpuJsTexture;
  st: GpuJsTexture;
  p: GpuJsTexture;
  lg: GpuJsTexture;
  lo: GpuJsTexture | null;
}

/**
 * One part of the logits stage `[S, L, B*Hq]` of an attention core call (exclusions: key lengths,
 * causal / window limits, mask). `'hi'`: the fp32 logit `softcap(scale·q·k) + bias`, -Inf where
 * excluded. `'lo'` (only with a bias): the rounding error of that sum (TwoSum), 0 where excluded.
 * `'slope'` (only with a softcap): `dc/ds = 1 - tanh²(s/softcap)` of the capped logit c, for
 * sdpaBackward, 0 where excluded.
 */
export function attentionLogits(rt: Runtime, scope: Scope, c: AttnCore, q: Src, k: Src, part: 'hi' | 'lo' | 'slope'): GpuJsTexture {
  const { B, Hq, Hkv, L, S, D } = c;
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
  if (c.bias && part !== 'slope') {
    const m = operand4(rt, c.bias, [B, Hq, L, S], 'bs', false);
    params.push('bs');
    args.push(m.arg);
    biasExpr = m.expr;
  }
  if (c.keyLengths) {
    params.push('lens');
    args.push(lensArg(c.keyLengths));
  }
  // Causal / window limits: per-batch key bounds relative to the row (klo, khi), whatever the offsets.
  const lim = limitsArgs(c, B, L, S);
  if (lim.lo) {
    params.push('klo');
    args.push(lim.lo);
  }
  if (lim.hi) {
    params.push('khi');
    args.push(lim.hi);
  }
  const cap = c.softcap > 0;
  const heads = c.layout === 'heads';
  const qr = heads ? 'q[z][i][d]' : 'q[b][i][h * this.constants.D + d]';
  const kr = heads ? 'k[b * this.constants.HKV + hk][j][d]' : 'k[b][j][hk * this.constants.D + d]';
  let tail: string;
  if (part === 'slope') {
    // 1 - tanh²(u): from the polynomial's tanh where |u| < 0.55, else 4e/(1 + e)² with
    // e = exp(-2|u|) (no cancellation as tanh(u) nears ±1). NaN stays NaN.
    tail = `${tanhInline('s / this.constants.CAP', 'th')}
  if (th_a < 0.55) { return 1.0 - th * th; }
  let th_e = Math.exp(-2.0 * th_a);
  return 4.0 * th_e / ((1.0 + th_e) * (1.0 + th_e));`;
  } else {
    // softcap·tanh(s / softcap), before the bias (both parts compute the same fp32 value).
    const capped = cap ? `${tanhInline('s / this.constants.CAP', 'th')}
  s = this.constants.CAP * th;
` : '';
    tail = !biasExpr
      ? `${capped}  return s;`
      : part === 'hi'
        ? `${capped}  return s + ${biasExpr};`
        : // sp[2] = 1, unknown to the compiler: without it Mesa folds TwoSum's error term to 0.
          `${capped}  let one = sp[2];
  let bv = ${biasExpr};
  let t = (s + bv) * one;
  let bt = (t - s) * one;
  let u = (t - bt) * one;
  let e = (s - u) + (bv - bt);
  // reference's float64 logit keeps no bits below 2^-53 of its size (a 1e30 bias swamps the dot)
  if (Math.abs(e) * 9007199254740992.0 < Math.abs(t)) { return 0.0; }
  if (e != e) { return 0.0; }
  return e;`;
  }
  // part 'hi': the fp32 logit; part 'lo' (only with a bias): the rounding error of `dot*scale + bias`
  // (TwoSum), so a large bias (1e4) does not round away the differences between logits.
  const src = fn(
    params,
    `  let j = this.thread.x;
  let i = this.thread.y;
  let z = this.thread.z;
  let b = ${idiv('z', 'this.constants.HQ')};
  let h = z - b * this.constants.HQ;
  let hk = ${idiv('h', 'this.constants.G')};
${exclusionLines({ lens: !!c.keyLengths, lo: !!lim.lo, hi: !!lim.hi, mask: maskExpr }, part === 'hi' ? 'sp[0]' : '0.0')}
  let dot = 0.0;
  for (let d = 0; d < this.constants.D; d++) { dot += ${qr} * ${kr}; }
  let s = dot * this.constants.SCALE;
${tail}`,
  );
  const constants: Record<string, number> = { HQ: Hq, HKV: Hkv, G: Hq / Hkv, D, SCALE: c.scale };
  if (cap) constants.CAP = c.softcap;
  return rt.run(scope, { name: `attention.logits${part === 'hi' ? '' : `.${part}`}`, src, output: [S, L, B * Hq], constants }, args);
}

/** Scaled dot-product attention on the GPU: logits, statistics, probabilities, weighted values. */
export function attention(rt: Runtime, scope: Scope, c: AttnCore, q: Src, k: Src, v: Src): AttnTextures {
  const { B, Hq, Hkv, L, S, Dv } = c;
  const lg = attentionLogits(rt, scope, c, q, k, 'hi');
  const lo = c.bias ? attentionLogits(rt, scope, c, q, k, 'lo') : null;
  const heads = c.layout === 'heads';
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
  return { out, st, p, lg, lo };
}

/**
 * Read back what an attention op returns: the output, and the weights, lse and logits when asked
 * for. The logits are `hi + lo` rounded to float32 (hi alone without a bias); excluded keys are
 * -Infinity in hi and 0 in lo, so they stay -Infinity, and NaN stays NaN.
 */
export function attentionResult(rt: Runtime, scope: Scope, r: AttnTextures, outLen: number, rows: number, S: number, L: number, Z: number, weights: boolean, wantLse: boolean, wantLogits = false): AttentionResult {
  const res: { output: Float32Array; weights?: Float32Array; lse?: Float32Array; logits?: Float32Array } = { output: rt.read(r.out, outLen) };
  if (weights) res.weights = rt.read(r.p, rows * S, true);
  if (wantLse) res.lse = rt.read(lse(rt, scope, r.st, L, Z), rows);
  if (wantLogits) {
    const hi = rt.read(r.lg, rows * S);
    if (r.lo) {
      const lo = rt.read(r.lo, rows * S);
      for (let n = 0; n < hi.length; n++) hi[n] = hi[n] + lo[n]; // the Float32Array store rounds the sum to float32
    }
    res.logits = hi;
  }
  return res;
}
