/**
 * Kernel stages that several gpu ops chain inside their pipelines: linear (bias, fused activation
 * and residual), layerNorm (statistics, then apply), the softmax tail over logits (statistics,
 * then probabilities) and the log-sum-exp from those statistics. Browser-compatible.
 *
 * @module
 */
import type { GpuJsTexture } from './host';
import type { Runtime, Scope } from './runtime';
import { linearSrc, lnApplySrc, lnInvStdSrc, lnStatsSrc, lseSrc, probsSrc, statsSrc } from './sources';
import { SPECIAL, type Act, type Src } from './pipeline';

/** `x[rows, In] · w + b` with optional activation / residual, output `[Out, Y, Z]`. */
export function linear(rt: Runtime, scope: Scope, x: Src, Y: number, Z: number, inDim: number, outDim: number, w: Float32Array, b: Float32Array | null, act: Act = 'none', residual: Src | null = null, alpha: Float32Array | null = null): GpuJsTexture {
  const args: Src[] = [x, rt.input(w, [outDim, inDim])];
  if (b) args.push(b);
  if (act === 'prelu') args.push(alpha!);
  if (residual) args.push(residual);
  return rt.run(scope, { name: 'linear', src: linearSrc({ bias: !!b, act, residual: !!residual }), output: [outDim, Y, Z], constants: { IN: inDim } }, args);
}

/**
 * layerNorm of `x (+ r)` over C, rows `[Y, Z]`. `stats`, when given, receives the statistics
 * texture the output was normalised with (`[2, Y, Z]`: the mean, the biased variance).
 */
export function layerNorm(rt: Runtime, scope: Scope, x: Src, r: Src | null, C: number, Y: number, Z: number, gamma: Float32Array | null, beta: Float32Array | null, eps: number, stats?: (st: GpuJsTexture) => void): GpuJsTexture {
  const st = rt.run(scope, { name: 'layerNorm.stats', src: lnStatsSrc(!!r), output: [2, Y, Z], constants: { C } }, r ? [x, r] : [x]);
  stats?.(st);
  const args: Src[] = [x];
  if (r) args.push(r);
  args.push(st);
  if (gamma) args.push(gamma);
  if (beta) args.push(beta);
  return rt.run(scope, { name: 'layerNorm.apply', src: lnApplySrc(!!r, !!gamma, !!beta), output: [C, Y, Z], constants: { EPS: eps } }, args);
}

/** layerNorm's returned statistics `[2, Y, Z]` from its statistics texture: x=0 the mean, x=1 `1/sqrt(var + eps)`. */
export function layerNormStats(rt: Runtime, scope: Scope, st: GpuJsTexture, Y: number, Z: number, eps: number): GpuJsTexture {
  return rt.run(scope, { name: 'layerNorm.invStd', src: lnInvStdSrc(), output: [2, Y, Z], constants: { EPS: eps } }, [st]);
}

/** Softmax tail over logits `[S, Y, Z]` (-Inf = excluded): statistics and probabilities (-1 = excluded). */
export function softmaxTail(rt: Runtime, scope: Scope, lg: Src, S: number, Y: number, Z: number, lo: Src | null = null): { st: GpuJsTexture; p: GpuJsTexture } {
  const st = rt.run(scope, { name: 'softmax.stats', src: statsSrc(!!lo), output: [2, Y, Z], constants: { S } }, lo ? [lg, SPECIAL, lo] : [lg, SPECIAL]);
  const p = rt.run(scope, { name: 'softmax.probs', src: probsSrc(!!lo), output: [S, Y, Z], constants: {} }, lo ? [lg, st, lo] : [lg, st]);
  return { st, p };
}

/** log-sum-exp `[1, Y, Z]` of each row from its softmax statistics (-Inf for rows with nothing included). */
export function lse(rt: Runtime, scope: Scope, st: GpuJsTexture, Y: number, Z: number): GpuJsTexture {
  return rt.run(scope, { name: 'lse', src: lseSrc(), output: [1, Y, Z], constants: {} }, [st, SPECIAL]);
}

