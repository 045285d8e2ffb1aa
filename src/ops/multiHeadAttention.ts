/**
 * Multi-head (and grouped-query) attention with input and output projections.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { MhaArgs } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optBool, optFinite, optionalBias, optionalLengths, optionalMask, optionsObject, positiveInt, tensorOfRank, vector, weightsFit } from '../validate';
import { run, runAsync, type Prepared } from './common';
import { SDPA_OPTION_KEYS, wrapAttention, type AttentionOutput, type SdpaOptions, type WithExtras } from './sdpa';

/** Projection weights of {@link multiHeadAttention} (x·W layout: `[in, out]`); biases optional. */
export interface MhaParams {
  /** `[E, Hq*D]`. */
  wq: TensorLike;
  /** `[Hq*D]`. */
  bq?: TensorLike | null;
  /** `[Ek, Hkv*D]`. */
  wk: TensorLike;
  /** `[Hkv*D]`. */
  bk?: TensorLike | null;
  /** `[Ev, Hkv*Dv]`. */
  wv: TensorLike;
  /** `[Hkv*Dv]`. */
  bv?: TensorLike | null;
  /** `[Hq*Dv, Eo]`. */
  wo: TensorLike;
  /** `[Eo]`. */
  bo?: TensorLike | null;
}

/** Options of {@link multiHeadAttention}: those of sdpa (but `out`) plus the head counts. */
export interface MhaOptions extends Omit<SdpaOptions, 'out'> {
  /** Query heads Hq (required). D = wq.shape[1] / Hq. */
  numHeads: number;
  /** Key/value heads Hkv (default numHeads); Hq % Hkv == 0. */
  numKvHeads?: number;
}

const QP = ['B', 'L', 'E'];
const KP = ['B', 'S', 'Ek'];
const VP = ['B', 'S', 'Ev'];

function prepareMha(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions): Prepared<'multiHeadAttention', Tensor | AttentionOutput> {
  const qt = tensorOfRank(query, 'query', QP);
  const kt = tensorOfRank(key, 'key', KP);
  const vt = tensorOfRank(value, 'value', VP);
  const [B, L, E] = qt.shape;
  const [, S, Ek] = kt.shape;
  const Ev = vt.shape[2];
  for (let a = 0; a < 3; a++) expectNonEmpty('query', qt.shape, a, QP);
  for (let a = 1; a < 3; a++) expectNonEmpty('key', kt.shape, a, KP);
  expectNonEmpty('value', vt.shape, 2, VP);
  expectDim('key', kt.shape, 0, B, KP, 'batch must match query');
  expectDim('value', vt.shape, 0, B, VP, 'batch must match query');
  expectDim('value', vt.shape, 1, S, VP, 'length must match key');
  const o = optionsObject<MhaOptions>(options, 'options', [...SDPA_OPTION_KEYS, 'numHeads', 'numKvHeads'] as (keyof MhaOptions & string)[]);
  if ((o as { out?: unknown }).out != null) throw new ValueError('options.out', 'multiHeadAttention always allocates its output (out is an sdpa option)');
  const p = optionsObject<MhaParams>(params, 'params', ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo']);
  const Hq = positiveInt(o.numHeads, 'options.numHeads');
  const Hkv = positiveInt(o.numKvHeads, 'options.numKvHeads', Hq);
  if (Hq % Hkv !== 0) throw new ValueError('options.numKvHeads', `expected a divisor of numHeads=${Hq}, received ${Hkv}`);
  const wq = matrix(p.wq, 'params.wq', E, -1, 'E', 'Hq*D');
  if (wq.shape[1] % Hq !== 0 || wq.shape[1] === 0) throw new ShapeError('params.wq', `[E=${E},Hq*D] with Hq=${Hq}`, formatShape(wq.shape), `${wq.shape[1]} is not a positive multiple of ${Hq}`);
  const D = wq.shape[1] / Hq;
  const wk = matrix(p.wk, 'params.wk', Ek, Hkv * D, 'Ek', 'Hkv*D');
  const wv = matrix(p.wv, 'params.wv', Ev, -1, 'Ev', 'Hkv*Dv');
  if (wv.shape[1] % Hkv !== 0 || wv.shape[1] === 0) throw new ShapeError('params.wv', `[Ev=${Ev},Hkv*Dv] with Hkv=${Hkv}`, formatShape(wv.shape), `${wv.shape[1]} is not a positive multiple of ${Hkv}`);
  const Dv = wv.shape[1] / Hkv;
  const wo = matrix(p.wo, 'params.wo', Hq * Dv, -1, 'Hq*Dv', 'Eo');
  const Eo = wo.shape[1];
  if (Eo < 1) throw new ShapeError('params.wo', `[Hq*Dv=${Hq * Dv},Eo] with Eo >= 1`, formatShape(wo.shape));
  const bq = vector(p.bq, 'params.bq', Hq * D, 'Hq*D', true);
  const bk = vector(p.bk, 'params.bk', Hkv * D, 'Hkv*D', true);
  const bv = vector(p.bv, 'params.bv', Hkv * Dv, 'Hkv*Dv', true);
  const bo = vector(p.bo, 'params.bo', Eo, 'Eo', true);
  const scale = optFinite(o.scale, 'options.scale', 1 / Math.sqrt(D));
  const causal = optBool(o.causal, 'options.causal', false);
  const target = [B, Hq, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,S]');
  const bias = optionalBias(o.bias, 'options.bias', target, '[B,Hq,L,S]');
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights = optBool(o.returnWeights, 'options.returnWeights', false);
  weightsFit(returnWeights, B * Hq * L * S, '[B,Hq,L,S]');
  const returnLse = optBool(o.returnLse, 'options.returnLse', false);
  const selfAttention = qt.data === kt.data && kt.data === vt.data;
  const args: MhaArgs = {
    query: qt.data, key: kt.data, value: vt.data, selfAttention,
    B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo,
    wq: wq.data, bq, wk: wk.data, bk, wv: wv.data, bv, wo: wo.data, bo,
    scale, causal, mask, bias, keyLengths, returnWeights, returnLse,
  };
  const layout = (): OutputLayout => ({
    rows: B * L,
    rowOf: (name, flat) => {
      if (name === 'output') return Math.floor(flat / Eo);
      const perRow = name === 'weights' ? S : 1;
      const bh = Math.floor(flat / (L * perRow));
      const i = Math.floor(flat / perRow) % L;
      return Math.floor(bh / Hq) * L + i;
    },
    shapeOf: (name) => (name === 'weights' ? target : name === 'lse' ? [B, Hq, L] : [B, L, Eo]),
  });
  return { op: 'multiHeadAttention', args, layout, wrap: (r) => wrapAttention(r, [B, L, Eo], target, [B, Hq, L], returnWeights || returnLse) };
}

/**
 * Multi-head attention: `Q = query·wq + bq`, `K = key·wk + bk`, `V = value·wv + bv`, split into
 * heads, sdpa per head (grouped-query when numKvHeads < numHeads), heads merged, `·wo + bo`.
 * query `[B,L,E]`, key `[B,S,Ek]`, value `[B,S,Ev]` → `[B,L,Eo]`. Self-attention: pass the same
 * tensor as query, key and value. Weights (when asked) are `[B,Hq,L,S]`.
 *
 * @example
 * const y = multiHeadAttention(x, x, x, params, { numHeads: 2, causal: true });
 */
export function multiHeadAttention(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions & WithExtras, dispatchOptions?: DispatchOptions): AttentionOutput;
export function multiHeadAttention(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions & { returnWeights?: false; returnLse?: false }, dispatchOptions?: DispatchOptions): Tensor;
export function multiHeadAttention(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput;
export function multiHeadAttention(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput {
  return run(prepareMha(query, key, value, params, options), dispatchOptions);
}

/** The async twin of {@link multiHeadAttention}. */
export function multiHeadAttentionAsync(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions & WithExtras, dispatchOptions?: DispatchOptions): Promise<AttentionOutput>;
export function multiHeadAttentionAsync(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions & { returnWeights?: false; returnLse?: false }, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function multiHeadAttentionAsync(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput>;
export function multiHeadAttentionAsync(query: TensorLike, key: TensorLike, value: TensorLike, params: MhaParams, options: MhaOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput> {
  return runAsync(() => prepareMha(query, key, value, params, options), dispatchOptions);
}
