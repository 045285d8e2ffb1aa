/**
 * Incremental attention through a {@link KvCache} (internal): the `cache` paths of
 * multiHeadAttention and transformerEncoderLayer, composed from the public ops (linear, sdpa,
 * layerNorm, gelu) with the caller's dispatch options, so they run on every backend with no
 * kernel of their own. Head splits, merges, residual adds and relu are plain float32 data moves
 * and sums here, exact on every backend.
 *
 * A composite is written once, as a generator of public-op calls ({@link Step}); {@link drive}
 * runs it synchronously and {@link driveAsync} with the ops' async twins.
 *
 * @module
 */
import type { DispatchOptions } from '../dispatch';
import { ValueError } from '../errors';
import type { KvCache } from '../kvCache';
import type { FloatTensorLike, MaskLike, Tensor, TensorLike } from '../tensor';
import type { Strided, DType } from '../kernels';
import { gelu, geluAsync } from './gelu';
import { layerNorm, layerNormAsync } from './layerNorm';
import { linear, linearAsync } from './linear';
import { sdpa, sdpaAsync, type AttentionOutput, type SdpaOptions } from './sdpa';
import type { CausalOption, WindowOption } from './attentionLimits';
import { optionsFor, readOption, type OpDescriptor } from './descriptor';

/**
 * The start of an op call over a cache: the checked options `o`, the cache (null when there is
 * none: the op's usual path), `keyLengths` refused (the cache's lengths are the key lengths), and
 * `rest`: every option but `own` (which the cache path reads itself), for the op's usual checks
 * over the new tokens.
 */
export function cacheOptions<O extends object>(d: Pick<OpDescriptor, 'options'>, options: unknown, own: readonly string[]): { o: Record<string, unknown>; cache: KvCache<DType>; rest: O } | null {
  const o = optionsFor<Record<string, unknown>>(d, options) as Record<string, unknown>;
  const cache = readOption(d, o, 'cache') as KvCache<DType> | null;
  if (!cache) return null;
  if (o.keyLengths !== undefined && o.keyLengths !== null) throw new ValueError('options.keyLengths', "not with options.cache: the cache's lengths are the key lengths");
  const rest: Record<string, unknown> = {};
  for (const k of Object.keys(d.options)) if (!own.includes(k) && k !== 'cache' && k !== 'appendCounts' && o[k] !== undefined) rest[k] = o[k];
  return { o, cache, rest: rest as O };
}

/**
 * A window without causal is aligned bottom-right by sdpa (position `lengths - T + i`), which is
 * the cache's position of new token i only when every row appends all T tokens: refused otherwise.
 */
export function expectWindowAligned(window: unknown, causal: boolean, appendCounts: Int32Array | null, T: number): void {
  if (window && !causal && appendCounts && appendCounts.some((n) => n !== T)) {
    throw new ValueError('options.window', 'with options.cache and without causal, every batch row must append all T tokens (appendCounts[b] == T)');
  }
}

/** One public-op call of a composite, in its sync and async forms. */
export interface Step {
  /** Run it synchronously. */
  run(): unknown;
  /** Run it with the op's async twin. */
  runAsync(): Promise<unknown>;
}

/** A composite: yields public-op calls, receives their results, returns its own. */
export type Steps<R> = Generator<Step, R, unknown>;

/** Run a composite synchronously. */
export function drive<R>(g: Steps<R>): R {
  let r = g.next();
  while (!r.done) r = g.next(r.value.run());
  return r.value;
}

/** Run a composite with the async twins of its ops. */
export async function driveAsync<R>(g: Steps<R>): Promise<R> {
  let r = g.next();
  while (!r.done) r = g.next(await r.value.runAsync());
  return r.value;
}

const t = (data: Float32Array, shape: number[]): Tensor => ({ data, shape });
const vec = (data: Float32Array | null): Tensor | null => (data ? t(data, [data.length]) : null);

function linearStep(x: Tensor, w: Float32Array, inDim: number, outDim: number, b: Float32Array | null, d?: DispatchOptions): Step {
  const wt = t(w, [inDim, outDim]);
  return { run: () => linear(x, wt, vec(b), d), runAsync: () => linearAsync(x, wt, vec(b), d) };
}

function layerNormStep(x: Tensor, gamma: Float32Array | null, beta: Float32Array | null, eps: number, d?: DispatchOptions): Step {
  return { run: () => layerNorm(x, vec(gamma), vec(beta), { eps }, d), runAsync: () => layerNormAsync(x, vec(gamma), vec(beta), { eps }, d) };
}

function sdpaStep(q: Tensor, k: FloatTensorLike, v: FloatTensorLike, o: SdpaOptions, d?: DispatchOptions): Step {
  return { run: () => sdpa(q, k, v, o, d), runAsync: () => sdpaAsync(q, k, v, o, d) };
}

/** `[B,L,H*X]` token-major to `[B,H,L,X]` head-major. */
function toHeads(x: Float32Array, B: number, L: number, H: number, X: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let i = 0; i < L; i++)
      for (let h = 0; h < H; h++) out.set(x.subarray(((b * L + i) * H + h) * X, ((b * L + i) * H + h + 1) * X), ((b * H + h) * L + i) * X);
  return out;
}

/** `[B,H,L,X]` head-major to `[B,L,H*X]` token-major. */
function fromHeads(x: Float32Array, B: number, H: number, L: number, X: number): Float32Array {
  const out = new Float32Array(x.length);
  for (let b = 0; b < B; b++)
    for (let h = 0; h < H; h++)
      for (let i = 0; i < L; i++) out.set(x.subarray(((b * H + h) * L + i) * X, ((b * H + h) * L + i + 1) * X), ((b * L + i) * H + h) * X);
  return out;
}

/** x + y, elementwise in float32 (as the reference layers add their residuals). */
function add(x: Float32Array, y: Float32Array): Float32Array {
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) out[i] = x[i] + y[i];
  return out;
}

/** The checked inputs of one attention over a cache (projection weights x·W, `[in, out]`). */
export interface CachedAttentionArgs {
  /** `[B,L,E]` queries of the new tokens. */
  query: Float32Array;
  /** `[B,T,Ek]` new keys (before projection). */
  key: Float32Array;
  /** `[B,T,Ev]` new values (before projection). */
  value: Float32Array;
  B: number; L: number; T: number; E: number; Ek: number; Ev: number;
  Hq: number; Hkv: number; D: number; Dv: number; Eo: number;
  wq: Float32Array; bq: Float32Array | null; wk: Float32Array; bk: Float32Array | null;
  wv: Float32Array; bv: Float32Array | null; wo: Float32Array; bo: Float32Array | null;
  scale: number;
  /**
   * The caller's causal form: `true` = measured from the cache, query row i of batch b at position
   * `cache.causalOffsets()[b] + i`; `'bottom-right'`, `'top-left'` and `{ offset }` go to sdpa as given.
   */
  causal: CausalOption | undefined;
  /** The caller's sliding window (aligned as `causal` is; see {@link cachedAttention}). */
  window: WindowOption | null;
  /** Logit soft-cap (0 = none). */
  softcap: number;
  /** The caller's mask and bias as given (already checked against `[B,Hq,L,capacity]`), and the checked mask. */
  mask: unknown; maskChecked: Strided<Uint8Array> | null; bias: unknown;
  returnWeights: boolean; returnLse: boolean;
  /** `[B]` valid new tokens per batch row (null: all T). */
  appendCounts: Int32Array | null;
}

/**
 * Project the new keys and values, append them to the cache (token-major, no transpose), project
 * the queries, attend over every cached token (its lengths as keyLengths; causal measured from
 * `cache.causalOffsets()`), merge the heads and project out.
 */
export function* cachedAttention(a: CachedAttentionArgs, cache: KvCache<DType>, d?: DispatchOptions): Steps<Tensor | AttentionOutput> {
  const { B, L, T, Hq, Hkv, D, Dv, Eo } = a;
  const kp = (yield linearStep(t(a.key, [B, T, a.Ek]), a.wk, a.Ek, Hkv * D, a.bk, d)) as Tensor;
  const vp = (yield linearStep(t(a.value, [B, T, a.Ev]), a.wv, a.Ev, Hkv * Dv, a.bv, d)) as Tensor;
  cache.append(kp, vp, { layout: 'blhd', counts: a.appendCounts });
  const qp = (yield linearStep(t(a.query, [B, L, a.E]), a.wq, a.E, Hq * D, a.bq, d)) as Tensor;
  // causal: true is sdpa's { offset: cache.causalOffsets() } (the contract of sdpa over a cache).
  const causal: CausalOption | undefined = a.causal === true ? { offset: cache.causalOffsets() } : a.causal;
  const mask = a.mask as MaskLike | null;
  const o: SdpaOptions = {
    scale: a.scale,
    // A copy: an async kernel may read it after this call returns, and the cache's own array may change by then.
    keyLengths: Int32Array.from(cache.lengths),
    ...(causal !== undefined ? { causal } : {}),
    ...(a.window ? { window: a.window } : {}),
    ...(a.softcap > 0 ? { softcap: a.softcap } : {}),
    mask,
    bias: a.bias as TensorLike | null,
    returnWeights: a.returnWeights,
    returnLse: a.returnLse,
  };
  const res = (yield sdpaStep(t(toHeads(qp.data, B, L, Hq, D), [B, Hq, L, D]), cache.k, cache.v, o, d)) as Tensor | AttentionOutput;
  const extras = a.returnWeights || a.returnLse;
  const att = extras ? (res as AttentionOutput).output : (res as Tensor);
  const out = (yield linearStep(t(fromHeads(att.data, B, Hq, L, Dv), [B, L, Hq * Dv]), a.wo, Hq * Dv, Eo, a.bo, d)) as Tensor;
  if (!extras) return out;
  const r = res as AttentionOutput;
  return { output: out, ...(r.weights ? { weights: r.weights } : {}), ...(r.lse ? { lse: r.lse } : {}) };
}

/** The checked inputs of one encoder layer over a cache. */
export interface CachedEncoderArgs {
  /** `[B,T,E]` the new tokens. */
  x: Float32Array;
  B: number; T: number; E: number; H: number; F: number;
  wq: Float32Array; bq: Float32Array | null; wk: Float32Array; bk: Float32Array | null;
  wv: Float32Array; bv: Float32Array | null; wo: Float32Array; bo: Float32Array | null;
  gamma1: Float32Array | null; beta1: Float32Array | null;
  w1: Float32Array; b1: Float32Array | null; w2: Float32Array; b2: Float32Array | null;
  gamma2: Float32Array | null; beta2: Float32Array | null;
  norm: 'pre' | 'post';
  activation: 'relu' | 'gelu';
  /** Causal: new token i of batch b (position `cache.causalOffsets()[b] + i`) sees cached tokens `j <= ` its position. */
  causal: boolean;
  window: WindowOption | null;
  softcap: number;
  eps: number;
  appendCounts: Int32Array | null;
}

/**
 * transformerEncoderLayer over a cache, with the definition of the full layer
 * (src/backends/reference/transformerEncoderLayer.ts): post-norm `x1 = norm1(x + mha(x));
 * y = norm2(x1 + ffn(x1))`, pre-norm `x1 = x + mha(norm1(x)); y = x1 + ffn(norm2(x1))`, where mha's
 * keys and values are the rows it attends with (x, or norm1(x)) of the new tokens appended to the
 * cache. Every step is row-wise but attention, so the new rows' outputs are those of the full
 * layer over all the cached tokens.
 */
export function* cachedEncoder(a: CachedEncoderArgs, cache: KvCache<DType>, d?: DispatchOptions): Steps<Tensor> {
  const { B, T, E, H, F } = a;
  const D = E / H;
  const shape = [B, T, E];
  const mha = (x: Float32Array) =>
    cachedAttention(
      {
        query: x, key: x, value: x, B, L: T, T, E, Ek: E, Ev: E, Hq: H, Hkv: H, D, Dv: D, Eo: E,
        wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo,
        scale: 1 / Math.sqrt(D), causal: a.causal, window: a.window, softcap: a.softcap, mask: null, maskChecked: null, bias: null,
        returnWeights: false, returnLse: false, appendCounts: a.appendCounts,
      },
      cache,
      d,
    ) as Steps<Tensor>;
  function* ffn(x: Tensor): Steps<Float32Array> {
    const h = (yield linearStep(x, a.w1, E, F, a.b1, d)) as Tensor;
    let act: Float32Array;
    if (a.activation === 'gelu') act = ((yield { run: () => gelu(h, null, d), runAsync: () => geluAsync(h, null, d) }) as Tensor).data;
    else {
      act = new Float32Array(h.data.length);
      for (let i = 0; i < act.length; i++) {
        const u = h.data[i];
        act[i] = u > 0 ? u : u < 0 ? 0 : u; // keeps NaN, as the reference does
      }
    }
    return ((yield linearStep(t(act, [B, T, F]), a.w2, F, E, a.b2, d)) as Tensor).data;
  }
  const norm = (x: Float32Array, gamma: Float32Array | null, beta: Float32Array | null) => layerNormStep(t(x, shape), gamma, beta, a.eps, d);
  if (a.norm === 'post') {
    const att = yield* mha(a.x);
    const x1 = ((yield norm(add(a.x, att.data), a.gamma1, a.beta1)) as Tensor).data;
    const f = yield* ffn(t(x1, shape));
    return (yield norm(add(x1, f), a.gamma2, a.beta2)) as Tensor;
  }
  const n1 = ((yield norm(a.x, a.gamma1, a.beta1)) as Tensor).data;
  const att = yield* mha(n1);
  const x1 = add(a.x, att.data);
  const n2 = (yield norm(x1, a.gamma2, a.beta2)) as Tensor;
  return t(add(x1, yield* ffn(n2)), shape);
}
