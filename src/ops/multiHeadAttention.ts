/**
 * Multi-head (and grouped-query) attention with input and output projections.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { ShapeError, ValueError, formatShape } from '../errors';
import type { MultiHeadAttentionArgs, Widened, DType, HalfDType } from '../kernels';
import { widenArgs } from '../half';
import type { Tensor, FloatTensorLike } from '../tensor';
import { expectDim, expectNonEmpty, matrix, optionalBias, optionalLengths, optionalMask, optionsObject, vector, weightsFit, HalfFields, floatMatrix, floatVector, optionalFloatBias } from '../validate';
import { broadcastShape, encoderParams, optionsArg, randLengths, randMask, randT, rnd, shapeOf } from './cases';
import { run, runAsync, type Prepared, narrowOutput, type Narrowed } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';
import { ATTENTION_OPTIONS, visiblePairs, wrapAttention, type AttentionOutput, type SdpaOptions, type WithExtras } from './sdpa';
import { attentionLimits, type CausalOption, type WindowOption } from './attentionLimits';
import { expectCacheFits, expectRoom, type KvCache } from '../kvCache';
import { cachedAttention, cacheOptions, drive, driveAsync, expectWindowAligned, type Steps } from './cached';
import { attentionBlockForward, savedSdpaOptions } from './attentionBlock';
import { refuseWithSaved, tensorOf } from './trainingSteps';
import type { MultiHeadAttentionSaved } from './multiHeadAttentionBackward';

/** Projection weights of {@link multiHeadAttention} (x·W layout: `[in, out]`); biases optional. */
export interface MultiHeadAttentionParams {
  /** `[E, Hq*D]`. */
  wq: FloatTensorLike;
  /** `[Hq*D]`. */
  bq?: FloatTensorLike | null;
  /** `[Ek, Hkv*D]`. */
  wk: FloatTensorLike;
  /** `[Hkv*D]`. */
  bk?: FloatTensorLike | null;
  /** `[Ev, Hkv*Dv]`. */
  wv: FloatTensorLike;
  /** `[Hkv*Dv]`. */
  bv?: FloatTensorLike | null;
  /** `[Hq*Dv, Eo]`. */
  wo: FloatTensorLike;
  /** `[Eo]`. */
  bo?: FloatTensorLike | null;
}

/** Options of {@link multiHeadAttention}: those of sdpa (but `out`) plus the head counts. */
export interface MultiHeadAttentionOptions extends Omit<SdpaOptions, 'out' | 'returnLogits' | 'layout'> {
  /** Query heads Hq (required). D = wq.shape[1] / Hq. */
  numHeads: number;
  /** Key/value heads Hkv (default numHeads); Hq % Hkv == 0. */
  numKvHeads?: number;
  /**
   * Incremental attention through this {@link KvCache} (`batch` B, `kvHeads` Hkv, `headDim` D,
   * `valueDim` Dv): key and value are the NEW tokens `[B,T,Ek]` / `[B,T,Ev]`; their projections are
   * appended to the cache, and the queries attend over every cached token (the cache's lengths are
   * the key lengths, so `keyLengths` is refused; `mask` and `bias` broadcast to
   * `[B,Hq,L,capacity]`; weights are `[B,Hq,L,capacity]`). With `causal`, query row i of batch b is
   * the token at position `lengths[b] - appended[b] + i` (`cache.causalOffsets()`). Self- or
   * cross-attention: key and value need not be the query. Composed from the public ops with the
   * same dispatch options (each sub-op is verified and reported on its own).
   */
  cache?: KvCache<DType> | null;
  /** With `cache`: `[B]` how many of the T new key/value rows of each batch row to append (default T). */
  appendCounts?: Int32Array | null;
  /**
   * Training: return `{ output, saved }`, where `saved` is what {@link multiHeadAttentionBackward}
   * needs (the projections, sdpa's output and log-sum-exp). Computed by the public ops (linear,
   * sdpa) with the same dispatch options, in float32 (half inputs are widened, exactly); not with
   * `cache`, `returnWeights`, `returnLse` or a half `outputDtype`.
   */
  returnSaved?: boolean;
}

const QP = ['B', 'L', 'E'];
const KP = ['B', 'S', 'Ek'];
const VP = ['B', 'S', 'Ev'];

function prepareMha(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions): Prepared<'multiHeadAttention', Tensor | AttentionOutput> {
  const qt = tensorParam(multiHeadAttentionOp, 'query', query);
  const kt = tensorParam(multiHeadAttentionOp, 'key', key);
  const vt = tensorParam(multiHeadAttentionOp, 'value', value);
  const [B, L, E] = qt.shape;
  const [, S, Ek] = kt.shape;
  const Ev = vt.shape[2];
  for (let a = 0; a < 3; a++) expectNonEmpty('query', qt.shape, a, QP);
  for (let a = 1; a < 3; a++) expectNonEmpty('key', kt.shape, a, KP);
  expectNonEmpty('value', vt.shape, 2, VP);
  expectDim('key', kt.shape, 0, B, KP, 'batch must match query');
  expectDim('value', vt.shape, 0, B, VP, 'batch must match query');
  expectDim('value', vt.shape, 1, S, VP, 'length must match key');
  const d = multiHeadAttentionOp;
  const o = optionsFor<MultiHeadAttentionOptions>(d, options);
  readOption(d, o, 'out');
  if (o.appendCounts !== undefined && o.appendCounts !== null) throw new ValueError('options.appendCounts', 'only with options.cache (it counts the new tokens appended to the cache)');
  const p = optionsObject<MultiHeadAttentionParams>(params, 'params', ['wq', 'bq', 'wk', 'bk', 'wv', 'bv', 'wo', 'bo']);
  const Hq: number = readOption(d, o, 'numHeads');
  const Hkv: number = readOption(d, o, 'numKvHeads', Hq);
  if (Hq % Hkv !== 0) throw new ValueError('options.numKvHeads', `expected a divisor of numHeads=${Hq}, received ${Hkv}`);
  const half = new HalfFields();
  const wq = floatMatrix(p.wq, 'params.wq', E, -1, 'E', 'Hq*D');
  if (wq.shape[1] % Hq !== 0 || wq.shape[1] === 0) throw new ShapeError('params.wq', `[E=${E},Hq*D] with Hq=${Hq}`, formatShape(wq.shape), `${wq.shape[1]} is not a positive multiple of ${Hq}`);
  const D = wq.shape[1] / Hq;
  const wk = floatMatrix(p.wk, 'params.wk', Ek, Hkv * D, 'Ek', 'Hkv*D');
  const wv = floatMatrix(p.wv, 'params.wv', Ev, -1, 'Ev', 'Hkv*Dv');
  if (wv.shape[1] % Hkv !== 0 || wv.shape[1] === 0) throw new ShapeError('params.wv', `[Ev=${Ev},Hkv*Dv] with Hkv=${Hkv}`, formatShape(wv.shape), `${wv.shape[1]} is not a positive multiple of ${Hkv}`);
  const Dv = wv.shape[1] / Hkv;
  const wo = floatMatrix(p.wo, 'params.wo', Hq * Dv, -1, 'Hq*Dv', 'Eo');
  const Eo = wo.shape[1];
  if (Eo < 1) throw new ShapeError('params.wo', `[Hq*Dv=${Hq * Dv},Eo] with Eo >= 1`, formatShape(wo.shape));
  const bq = half.take('bq', floatVector(p.bq, 'params.bq', Hq * D, 'Hq*D', true));
  const bk = half.take('bk', floatVector(p.bk, 'params.bk', Hkv * D, 'Hkv*D', true));
  const bv = half.take('bv', floatVector(p.bv, 'params.bv', Hkv * Dv, 'Hkv*Dv', true));
  const bo = half.take('bo', floatVector(p.bo, 'params.bo', Eo, 'Eo', true));
  const scale: number = readOption(d, o, 'scale', 1 / Math.sqrt(D));
  const target = [B, Hq, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,S]');
  const bias = half.strided('bias', optionalFloatBias(o.bias, 'options.bias', target, '[B,Hq,L,S]'));
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const limits = attentionLimits(o, B, L, S, keyLengths, readOption(d, o, 'softcap', 0));
  const returnWeights: boolean = readOption(d, o, 'returnWeights');
  weightsFit(returnWeights, B * Hq * L * S, '[B,Hq,L,S]');
  const returnLse: boolean = readOption(d, o, 'returnLse');
  const selfAttention = qt.data === kt.data && kt.data === vt.data && qt.dtype === kt.dtype && kt.dtype === vt.dtype;
  const args: MultiHeadAttentionArgs = {
    query: half.take('query', qt), key: half.take('key', kt), value: half.take('value', vt), selfAttention,
    B, L, S, E, Ek, Ev, Hq, Hkv, D, Dv, Eo,
    wq: half.take('wq', wq), bq, wk: half.take('wk', wk), bk, wv: half.take('wv', wv), bv, wo: half.take('wo', wo), bo,
    scale, ...limits, mask, bias, keyLengths, returnWeights, returnLse, dtypes: half.dtypes,
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
  const outputDtype: DType = readOption(d, o, 'outputDtype');
  return { op: 'multiHeadAttention', args, layout, wrap: (r) => wrapAttention(r, [B, L, Eo], target, [B, Hq, L], returnWeights || returnLse), outputDtype };
}

/**
 * The cache path's checks, all before anything is appended: null without `options.cache`, else the
 * composite to run with the dispatch options.
 */
function prepareCachedMha(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions): ((d?: DispatchOptions) => Steps<Tensor | AttentionOutput>) | null {
  // mask and bias are over [B,Hq,L,capacity]: the cache path reads them itself.
  const c = cacheOptions<MultiHeadAttentionOptions>(multiHeadAttentionOp, options, ['mask', 'bias', 'keyLengths']);
  if (!c) return null;
  const { o, cache } = c;
  // Shapes, params, heads and the scalar options: prepareMha's checks, over the new tokens.
  // The cache path composes the public ops over float32 arrays: half operands are widened (exact).
  const a = widenArgs(prepareMha(query, key, value, params, c.rest).args) as Widened<MultiHeadAttentionArgs>;
  const { B, L, S: T, Hq, Hkv, D, Dv } = a;
  expectCacheFits(cache, 'options.cache', B, Hkv, D, Dv);
  const C = cache.capacity;
  const target = [B, Hq, L, C];
  const maskChecked = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,capacity]');
  optionalBias(o.bias, 'options.bias', target, '[B,Hq,L,capacity]');
  weightsFit(a.returnWeights, B * Hq * L * C, '[B,Hq,L,capacity]');
  const appendCounts = optionalLengths(o.appendCounts, 'options.appendCounts', B, T);
  expectRoom(cache, appendCounts, T, appendCounts ? 'options.appendCounts' : 'key');
  expectWindowAligned(o.window, o.causal !== undefined && o.causal !== false, appendCounts, T);
  const args = {
    query: a.query, key: a.key, value: a.value, B, L, T, E: a.E, Ek: a.Ek, Ev: a.Ev, Hq, Hkv, D, Dv, Eo: a.Eo,
    wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo,
    scale: a.scale, causal: o.causal as CausalOption | undefined, window: (o.window ?? null) as WindowOption | null, softcap: a.softcap,
    mask: o.mask ?? null, maskChecked, bias: o.bias ?? null,
    returnWeights: a.returnWeights, returnLse: a.returnLse, appendCounts,
  };
  return (dispatch) => cachedAttention(args, cache, dispatch);
}

/** The `returnSaved` path's checks: null without it, else the composite to run with the dispatch options. */
function prepareSavedMha(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions): ((d?: DispatchOptions) => Steps<{ output: Tensor; saved: MultiHeadAttentionSaved }>) | null {
  const o = optionsFor<MultiHeadAttentionOptions>(multiHeadAttentionOp, options);
  if (!readOption(multiHeadAttentionOp, o, 'returnSaved')) return null;
  refuseWithSaved(o, ['cache', 'appendCounts', 'returnWeights', 'returnLse', 'outputDtype']);
  const a = widenArgs(prepareMha(query, key, value, params, options).args) as Widened<MultiHeadAttentionArgs>;
  const inputs = {
    query: a.query, key: a.key, value: a.value, B: a.B, L: a.L, S: a.S, E: a.E, Ek: a.Ek, Ev: a.Ev, Hq: a.Hq, Hkv: a.Hkv, D: a.D, Dv: a.Dv, Eo: a.Eo,
    wq: a.wq, bq: a.bq, wk: a.wk, bk: a.bk, wv: a.wv, bv: a.bv, wo: a.wo, bo: a.bo,
    sdpaOptions: savedSdpaOptions(o, a.scale),
  };
  return function* (d) {
    const r = yield* attentionBlockForward(inputs, d);
    return { output: tensorOf(r.output, [a.B, a.L, a.Eo]), saved: { kind: 'multiHeadAttention' as const, ...r.saved } };
  };
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
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): { output: Tensor; saved: MultiHeadAttentionSaved };
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<Tensor | AttentionOutput>;
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & WithExtras, dispatchOptions?: DispatchOptions): AttentionOutput;
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { returnWeights?: false; returnLse?: false }, dispatchOptions?: DispatchOptions): Tensor;
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput;
export function multiHeadAttention(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput | Narrowed<Tensor | AttentionOutput> | { output: Tensor; saved: MultiHeadAttentionSaved } {
  const withSaved = prepareSavedMha(query, key, value, params, options);
  if (withSaved) return drive(withSaved(dispatchOptions));
  const cached = prepareCachedMha(query, key, value, params, options);
  if (cached) return narrowOutput(drive(cached(dispatchOptions)), options.outputDtype);
  return run(prepareMha(query, key, value, params, options), dispatchOptions);
}

/** The async twin of {@link multiHeadAttention}. */
export function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { returnSaved: true }, dispatchOptions?: DispatchOptions): Promise<{ output: Tensor; saved: MultiHeadAttentionSaved }>;
export function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<Tensor | AttentionOutput>>;
export function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & WithExtras, dispatchOptions?: DispatchOptions): Promise<AttentionOutput>;
export function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions & { returnWeights?: false; returnLse?: false }, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput>;
export async function multiHeadAttentionAsync(query: FloatTensorLike, key: FloatTensorLike, value: FloatTensorLike, params: MultiHeadAttentionParams, options: MultiHeadAttentionOptions, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput | Narrowed<Tensor | AttentionOutput> | { output: Tensor; saved: MultiHeadAttentionSaved }> {
  const withSaved = prepareSavedMha(query, key, value, params, options);
  if (withSaved) return driveAsync(withSaved(dispatchOptions));
  const cached = prepareCachedMha(query, key, value, params, options);
  if (cached) return narrowOutput(await driveAsync(cached(dispatchOptions)), options.outputDtype);
  return runAsync(() => prepareMha(query, key, value, params, options), dispatchOptions);
}

const mhaParams = (E: number, H: number, Hkv: number, seed: number) => ({ wq: rnd([E, E], seed, 0.3), wk: rnd([E, (E / H) * Hkv], seed + 1, 0.3), wv: rnd([E, (E / H) * Hkv], seed + 2, 0.3), wo: rnd([E, 17], seed + 3, 0.3), bq: rnd([E], seed + 4, 0.1) });

/** The multiHeadAttention descriptor. */
export const multiHeadAttentionOp: OpDescriptor<'multiHeadAttention'> = defineOp({
  name: 'multiHeadAttention',
  summary: 'multi-head / grouped-query attention with input and output projections (self or cross)',
  signature: 'multiHeadAttention(query, key, value, params, options, dispatch?)',
  params: [tensor('query', QP), tensor('key', KP), tensor('value', VP), 'params', 'options'],
  options: {
    ...ATTENTION_OPTIONS,
    numHeads: { kind: 'positiveInt', doc: 'query heads Hq (required)' },
    numKvHeads: { kind: 'positiveInt', doc: 'key/value heads Hkv (default numHeads)' },
    cache: { kind: 'cache', doc: 'a KvCache: key/value are the new tokens, appended to it; attention over every cached token' },
    appendCounts: { kind: 'lengths', doc: 'with cache: [B] valid new key/value rows per batch row (default T)' },
    returnSaved: { kind: 'boolean', default: false, doc: 'training: return { output, saved } for multiHeadAttentionBackward' },
    out: { kind: 'refused', why: 'multiHeadAttention always allocates its output (out is an sdpa option)', doc: 'not supported' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 5e-6, then 1.3e-6 of atol needed at 4x that rtol (max abs 3.1e-6).
    // max rel by input type: bfloat16 1.5e-6, float16 1.7e-6, float32 5e-6, mixed 1.8e-6.
    native: { rtol: 2.1e-5, atol: 5.3e-6 },
    // gpu on llvmpipe: max rel 5.1e-6, then 1.2e-6 of atol (max abs 3.3e-6).
    gpu: { rtol: 2.1e-5, atol: 4.7e-6 },
  },
  cost: (s) => {
    const { B, L, E, H } = s as Record<string, number>;
    const D = E / H;
    return { flops: 2 * B * L * E * E * 4 + 2 * B * H * 2 * D * visiblePairs(L, L, !!s.causal), bytes: 4 * (2 * B * L * E + 4 * E * E) };
  },
  fn: multiHeadAttention,
  fnAsync: multiHeadAttentionAsync,
  native: { isaKernel: false },
  half: true,
  cases: {
    knownAnswers() {
      // E = D = 1, identity projections, output bias 1: sdpa over keys [0, 1] and values [10, 20], plus 1.
      const one = { data: new Float32Array([1]), shape: [1, 1] };
      const p = { wq: one, wk: one, wv: one, wo: one, bo: { data: new Float32Array([1]), shape: [1] } };
      const e = Math.E;
      return [{
        label: 'identity projections reduce to sdpa (+ output bias)',
        args: [{ data: new Float32Array([1]), shape: [1, 1, 1] }, { data: new Float32Array([0, 1]), shape: [1, 2, 1] }, { data: new Float32Array([10, 20]), shape: [1, 2, 1] }, p, { numHeads: 1, scale: 1, returnWeights: true }],
        want: { output: [(10 + 20 * e) / (1 + e) + 1], weights: [1 / (1 + e), e / (1 + e)] },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [];
      for (const [B, L, S, E, H, Hkv] of quick ? [[2, 9, 13, 24, 4, 2]] : [[2, 9, 13, 24, 4, 2], [1, 65, 65, 64, 8, 8], [3, 1, 50, 16, 2, 1]]) {
        const q = rnd([B, L, E], 11), kv = rnd([B, S, E], 12);
        cases.push({ label: `B=${B} L=${L} S=${S} E=${E} H=${H}/${Hkv} cross`, args: [q, kv, kv, mhaParams(E, H, Hkv, 13), { numHeads: H, numKvHeads: Hkv, returnWeights: true }] });
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H}/${Hkv} self causal`, args: [q, q, q, mhaParams(E, H, Hkv, 14), { numHeads: H, numKvHeads: Hkv, causal: true }] });
        const lens = new Int32Array(B).map((_, b) => S - 2 * b);
        cases.push({ label: `B=${B} L=${L} S=${S} H=${H}/${Hkv} cross, bottom-right causal + keyLengths, window, softcap`, args: [q, kv, kv, mhaParams(E, H, Hkv, 15), { numHeads: H, numKvHeads: Hkv, causal: true, keyLengths: lens, window: { left: 4 }, softcap: 2, returnLse: true }] });
        cases.push({ label: `B=${B} L=${L} E=${E} H=${H}/${Hkv} self top-left, window { left: 1, right: 1 }`, args: [q, q, q, mhaParams(E, H, Hkv, 16), { numHeads: H, numKvHeads: Hkv, causal: 'top-left', window: { left: 1, right: 1 } }] });
      }
      return cases;
    },
    bench(quick) {
      // SASRec-sized: B=128, L=200, E=64, 2 heads, causal.
      const s = quick ? { B: 8, L: 50, E: 64, H: 2, causal: true } : { B: 128, L: 200, E: 64, H: 2, causal: true };
      return [{
        label: 'SASRec-sized self-attention',
        shape: s,
        make: () => {
          const x = rnd([s.B, s.L, s.E], 4);
          return { args: [x, x, x, encoderParams(s.E, s.E, 5).attention, { numHeads: s.H, causal: true }] };
        },
      }];
    },
    random(R, small) {
      const B = R.int(1, 2), Hkv = R.int(1, 2), Hq = Hkv * R.int(1, 2), D = R.int(1, small ? 3 : 4), Dv = R.int(1, small ? 3 : 4);
      const self = R.bool(0.3);
      const L = R.int(1, 4), S = self ? L : R.int(1, 4);
      const E = R.int(1, 6), Ek = self ? E : R.int(1, 6), Ev = self ? E : R.int(1, 6), Eo = R.int(1, 5);
      const query = randT(R, [B, L, E]);
      const key = self ? query : randT(R, [B, S, Ek]);
      const value = self ? query : randT(R, [B, S, Ev]);
      const p: Record<string, unknown> = { wq: randT(R, [E, Hq * D]), wk: randT(R, [Ek, Hkv * D]), wv: randT(R, [Ev, Hkv * Dv]), wo: randT(R, [Hq * Dv, Eo]) };
      if (R.bool()) p.bq = randT(R, [Hq * D]);
      if (R.bool()) p.bk = randT(R, [Hkv * D]);
      if (R.bool()) p.bv = randT(R, [Hkv * Dv]);
      if (R.bool()) p.bo = randT(R, [Eo]);
      const target = [B, Hq, L, S];
      const o: Record<string, unknown> = { numHeads: Hq };
      if (Hkv !== Hq || R.bool()) o.numKvHeads = Hkv;
      if (R.bool()) o.causal = R.bool();
      if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.bias = randT(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      if (R.bool(0.3)) o.returnWeights = true;
      if (R.bool(0.3)) o.returnLse = true;
      return [query, key, value, p, o];
    },
    small: () => {
      const x = rnd([1, 4, 8], 4);
      return [x, x, x, { wq: rnd([8, 8], 5), wk: rnd([8, 8], 6), wv: rnd([8, 8], 7), wo: rnd([8, 8], 8) }, { numHeads: 2 }];
    },
  },
  fuzz: {
    broadcastTarget: (a) => ({ shape: [shapeOf(a[0])[0], (a[4] as { numHeads: number }).numHeads, shapeOf(a[0])[1], shapeOf(a[1])[1]], bias: true }),
    lengthsTarget: (a) => ({ B: shapeOf(a[0])[0], S: shapeOf(a[1])[1] }),
    invalidate(R, a) {
      const o = optionsArg(a, 4);
      o.numHeads = R.pick([0, -1, 2 ** 31, 2 ** 53, 1e300]);
      return `options.numHeads := ${o.numHeads}`;
    },
  },
});
