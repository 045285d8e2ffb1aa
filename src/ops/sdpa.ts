/**
 * Scaled dot-product attention.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import { asJagged, type JaggedLike, type JaggedTensor } from '../jagged';
import { liveTypedArray } from '../buffers';
import { toBFloat16, toFloat16 } from '../half';
import { KvCache } from '../kvCache';
import type { AttentionLimits, AttentionResult, SdpaArgs, DType, HalfDType, Strided } from '../kernels';
import type { MaskLike, Tensor, FloatTensorLike } from '../tensor';
import { HalfFields, expectDim, expectNonEmpty, optionalFloatBias, optionalLengths, optionalMask, optionalOut, weightsFit, type FloatChecked } from '../validate';
import { broadcastShape, maskOf, normalLogits, optionsArg, randLengths, randMask, randT, rnd, shapeOf, someLengths, tensorOf } from './cases';
import { intoOut, run, runAsync, type Prepared, OUTPUT_DTYPE_OPTION, type Narrowed } from './common';
import { attentionLimits, type CausalOption, type WindowOption } from './attentionLimits';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type BenchCase, type KnownAnswer, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link sdpa}. */
export interface SdpaOptions {
  /** Multiplier of the logits (default `1/sqrt(D)`); must be finite. */
  scale?: number;
  /**
   * Causal: query i of batch b sees key j iff `j <= p`, p its aligned position. `true` and
   * `'bottom-right'`: `p = i + len[b] - L` with `len[b]` = `keyLengths[b]` (S without it), the
   * KV-cache convention (FlashAttention, ONNX Attention with `nonpad_kv_seqlen`). `'top-left'`:
   * `p = i` (PyTorch `is_causal=True`). `{ offset }`: `p = i + offset[b]` (a number: every batch).
   */
  causal?: CausalOption;
  /** Sliding window: key j visible only if `p - left <= j <= p + right` (p as for `causal`; bottom-right when not causal). */
  window?: WindowOption | null;
  /**
   * Logit soft-cap `c` in [1e-10, 1e10]: `logit = c·tanh(scale·q·k / c)`, before the bias and mask
   * (Gemma 2, FlashAttention). The range keeps c, 1/c and the capped logits normal float32 numbers;
   * a cap of 1e10 already changes no logit below 4e6 in magnitude.
   */
  softcap?: number;
  /** Memory order of q, k, v and the output: `'bhld'` `[B,H,L,D]` (default) or `'blhd'` `[B,L,H,D]` (a packed `[B,L,H·D]` projection), read through strides. */
  layout?: 'bhld' | 'blhd';
  /** Bool mask broadcastable to `[B,Hq,L,S]`; 1 = may attend. */
  mask?: MaskLike | null;
  /** Float bias added to the scaled logits, broadcastable to `[B,Hq,L,S]`; -Infinity excludes a key. */
  bias?: FloatTensorLike | null;
  /** `[B]` valid key counts: keys `j >= keyLengths[b]` are padding. */
  keyLengths?: Int32Array | null;
  /** Also return the `[B,Hq,L,S]` probabilities. */
  returnWeights?: boolean;
  /** Also return the `[B,Hq,L]` log-sum-exp of the (scaled, biased) logits; -Infinity for empty rows. */
  returnLse?: boolean;
  /** Also return the `[B,Hq,L,S]` logits after scale, softcap, bias and exclusions (-Infinity), ONNX's `qk_matmul_output`. */
  returnLogits?: boolean;
  /**
   * Write the `[B,Hq,L,Dv]` output into this Float32Array (exactly `B·Hq·L·Dv` elements, sharing
   * no memory with q, k, v, mask or bias) and return it as the output tensor's data, instead of
   * allocating a new array. Reusing one buffer across calls saves the allocation and, for outputs
   * of a few hundred KiB and up, the page faults of fresh memory (measured in the README's
   * performance section). The native backend writes into it directly on sync calls; async calls
   * and the other backends copy their result in. If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
  /**
   * Element type of the returned output (default `'float32'`): `'float16'` / `'bfloat16'` round the
   * float32 result to nearest even at the end (the computation is float32 whatever the inputs).
   * Not with `out`.
   */
  outputDtype?: DType;
}

/** The attention options sdpa shares with multiHeadAttention (internal). */
export const ATTENTION_OPTIONS = {
  scale: { kind: 'finite', doc: 'multiplier of the logits (default 1/sqrt(D))' },
  causal: { kind: 'causal', doc: "true | 'bottom-right' (j <= i + len[b] - L) | 'top-left' (j <= i) | { offset } (j <= i + offset[b])" },
  window: { kind: 'window', doc: '{ left?, right? }: key j visible only if p - left <= j <= p + right' },
  softcap: { kind: 'finite', greaterThan: 0, doc: 'logit soft-cap c in [1e-10, 1e10]: c·tanh(scale·q·k / c), before bias and mask' },
  mask: { kind: 'mask', doc: 'bool mask broadcastable to [B,Hq,L,S]; 1 = may attend' },
  bias: { kind: 'bias', doc: 'float bias added to the scaled logits, broadcastable to [B,Hq,L,S]' },
  keyLengths: { kind: 'lengths', doc: '[B] valid key counts' },
  returnWeights: { kind: 'boolean', default: false, doc: 'also return the [B,Hq,L,S] probabilities' },
  returnLse: { kind: 'boolean', default: false, doc: 'also return the [B,Hq,L] log-sum-exp' },
  outputDtype: OUTPUT_DTYPE_OPTION,
} as const;

/** The result of an attention op asked for extras. */
export interface AttentionOutput {
  /** The attention output. */
  output: Tensor;
  /** The attention probabilities (when `returnWeights`). */
  weights?: Tensor;
  /** The log-sum-exp per query row (when `returnLse`). */
  lse?: Tensor;
  /** The logits after scale, softcap, bias and exclusions (when `returnLogits`). */
  logits?: Tensor;
}

/** Options that ask for extras, so the result is an {@link AttentionOutput}. */
export type WithExtras = { returnWeights: true } | { returnLse: true } | { returnLogits: true };

/** Wrap an attention kernel result as tensors. */
export function wrapAttention(res: AttentionResult, outShape: number[], wShape: number[], lseShape: number[], extras: boolean): Tensor | AttentionOutput {
  const output: Tensor = { data: res.output, shape: outShape };
  if (!extras) return output;
  const o: AttentionOutput = { output };
  if (res.weights) o.weights = { data: res.weights, shape: wShape };
  if (res.lse) o.lse = { data: res.lse, shape: lseShape };
  if (res.logits) o.logits = { data: res.logits, shape: wShape };
  return o;
}

/** The result with its output in `out` (copied there when the kernel returned another array). */
function intoOutAttention(res: AttentionResult, out: Float32Array | null): AttentionResult {
  const output = intoOut(res.output, out);
  return output === res.output ? res : { ...res, output };
}

const Q = ['B', 'Hq', 'L', 'D'];
const K = ['B', 'Hkv', 'S', 'D'];
const V = ['B', 'Hkv', 'S', 'Dv'];
// The same tensors in the 'blhd' layout.
const QL = ['B', 'L', 'Hq', 'D'];
const KL = ['B', 'S', 'Hkv', 'D'];
const VL = ['B', 'S', 'Hkv', 'Dv'];

/** q, k, v and the attention options of an sdpa call, checked: what sdpa and sdpaBackward share (internal). */
export interface SdpaCallChecked<Bias> {
  qt: FloatChecked;
  kt: FloatChecked;
  vt: FloatChecked;
  B: number;
  Hq: number;
  Hkv: number;
  L: number;
  S: number;
  D: number;
  Dv: number;
  layout: 'bhld' | 'blhd';
  /** The output's shape in `layout` (`[B,Hq,L,Dv]` or `[B,L,Hq,Dv]`). */
  outShape: number[];
  /** `[B,Hq,L,S]`, what mask and bias broadcast to. */
  target: number[];
  scale: number;
  mask: Strided<Uint8Array> | null;
  bias: Bias | null;
  keyLengths: Int32Array | null;
  limits: AttentionLimits;
  /** The checked options object (its keys those of `d`). */
  o: Partial<SdpaOptions>;
}

/**
 * Check q, k and v (their ranks through `d`'s params, then batch, heads, lengths and head dims in
 * `options.layout`) and read the attention options (scale, softcap, mask, bias, keyLengths, every
 * causal form, window), each failure a typed error naming the argument. `readBias` reads
 * `options.bias` against `[B,Hq,L,S]` (sdpa takes half biases, sdpaBackward float32 only).
 * Shared by sdpa and sdpaBackward (internal).
 */
export function checkSdpaCall<Bias>(
  d: Pick<OpDescriptor, 'params' | 'half' | 'options'>,
  q: unknown,
  k: unknown,
  v: unknown,
  options: unknown,
  readBias: (value: unknown, target: number[]) => Bias | null,
): SdpaCallChecked<Bias> {
  for (const [name, x] of [['k', k], ['v', v]] as const) {
    if (isJaggedArg(x)) throw new DTypeError(name, 'a dense float tensor like q (or q, k and v all jagged)', 'a jagged tensor', 'jagged attention takes q, k and v all jagged');
  }
  const qt = tensorParam(d, 'q', q);
  const kt = tensorParam(d, 'k', k);
  const vt = tensorParam(d, 'v', v);
  const o = optionsFor<SdpaOptions>(d, options);
  const layout: 'bhld' | 'blhd' = readOption(d, o, 'layout');
  const bl = layout === 'blhd';
  const [Qn, Kn, Vn] = bl ? [QL, KL, VL] : [Q, K, V];
  // dims in [B, H, L, D] order whatever the layout
  const dims = (sh: number[]): number[] => (bl ? [sh[0], sh[2], sh[1], sh[3]] : sh);
  const [B, Hq, L, D] = dims(qt.shape);
  const [, Hkv, S] = dims(kt.shape);
  const Dv = vt.shape[3];
  for (let a = 0; a < 4; a++) expectNonEmpty('q', qt.shape, a, Qn);
  for (let a = 0; a < 4; a++) expectNonEmpty('k', kt.shape, a, Kn);
  expectNonEmpty('v', vt.shape, 3, Vn);
  const [hAxis, lAxis] = bl ? [2, 1] : [1, 2];
  expectDim('k', kt.shape, 0, B, Kn, 'batch must match q');
  expectDim('k', kt.shape, 3, D, Kn, 'head dim must match q');
  if (Hq % Hkv !== 0) {
    throw new ShapeError('k', `[${Kn.join(',')}] with Hq % Hkv == 0 (Hq=${Hq})`, formatShape(kt.shape), `${Hq} query heads cannot be grouped over ${Hkv} kv heads`);
  }
  expectDim('v', vt.shape, 0, B, Vn, 'batch must match q');
  expectDim('v', vt.shape, hAxis, Hkv, Vn, 'kv heads must match k');
  expectDim('v', vt.shape, lAxis, S, Vn, 'key count must match k');
  const scale: number = readOption(d, o, 'scale', 1 / Math.sqrt(D));
  const softcap: number = readOption(d, o, 'softcap', 0);
  const target = [B, Hq, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,S]');
  const bias = readBias(o.bias, target);
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const limits = attentionLimits(o, B, L, S, keyLengths, softcap);
  const outShape = bl ? [B, L, Hq, Dv] : [B, Hq, L, Dv];
  return { qt, kt, vt, B, Hq, Hkv, L, S, D, Dv, layout, outShape, target, scale, mask, bias, keyLengths, limits, o };
}

/**
 * The head-major row `(b,h,i)` (row `(b·H + h)·L + i`) of flat element `flat` of a `[B,H,L,cols]`
 * tensor stored in `layout` order: verify's row of an sdpa output or input element (internal).
 */
export function headMajorRow(layout: 'bhld' | 'blhd', H: number, L: number, cols: number): (flat: number) => number {
  if (layout === 'bhld') return (flat) => Math.floor(flat / cols);
  return (flat) => {
    const r = Math.floor(flat / cols);
    const h = r % H, i = Math.floor(r / H) % L, b = Math.floor(r / (H * L));
    return (b * H + h) * L + i;
  };
}

/** Check sdpa's arguments and build its kernel call. */
export function prepareSdpa(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options?: SdpaOptions | null): Prepared<'sdpa', Tensor | AttentionOutput> {
  if (isJaggedArg(q)) return prepareJaggedSdpa(q, k, v, options) as unknown as Prepared<'sdpa', Tensor | AttentionOutput>;
  const half = new HalfFields();
  const c = checkSdpaCall(sdpaOp, q, k, v, options, (value, target) => half.strided('bias', optionalFloatBias(value, 'options.bias', target, '[B,Hq,L,S]')));
  const { qt, kt, vt, B, Hq, Hkv, L, S, D, Dv, layout, outShape, target, scale, mask, bias, keyLengths, limits, o } = c;
  const bl = layout === 'blhd';
  const returnWeights: boolean = readOption(sdpaOp, o, 'returnWeights');
  const returnLse: boolean = readOption(sdpaOp, o, 'returnLse');
  const returnLogits: boolean = readOption(sdpaOp, o, 'returnLogits');
  weightsFit(returnWeights, B * Hq * L * S, '[B,Hq,L,S]');
  weightsFit(returnLogits, B * Hq * L * S, '[B,Hq,L,S]', 'options.returnLogits', 'logits');
  const inputs = [['q', qt.data], ['k', kt.data], ['v', vt.data], ['options.mask', mask?.data], ['options.bias', bias?.data], ['options.keyLengths', keyLengths]] as const;
  const out = optionalOut(o.out, 'options.out', B * Hq * L * Dv, `[${bl ? 'B,L,Hq,Dv' : 'B,Hq,L,Dv'}]=${formatShape(outShape)}`, inputs);
  const outputDtype: DType = readOption(sdpaOp, o, 'outputDtype');
  if (out && outputDtype !== 'float32') throw new ValueError('options.outputDtype', `a ${outputDtype} output cannot be written into options.out (a Float32Array): leave one of them out`);
  const args: SdpaArgs = { q: half.take('q', qt), k: half.take('k', kt), v: half.take('v', vt), B, Hq, Hkv, L, S, D, Dv, scale, ...limits, mask, bias, keyLengths, returnWeights, returnLse, returnLogits, layout, out, dtypes: half.dtypes };
  const rows = B * Hq * L;
  const outRow = headMajorRow(layout, Hq, L, Dv);
  const layoutOf = (): OutputLayout => ({
    rows,
    rowOf: (name, flat) => (name === 'lse' ? flat : name === 'weights' || name === 'logits' ? Math.floor(flat / S) : outRow(flat)),
    shapeOf: (name) => (name === 'weights' || name === 'logits' ? target : name === 'lse' ? [B, Hq, L] : outShape),
  });
  const extras = returnWeights || returnLse || returnLogits;
  return { op: 'sdpa', args, layout: layoutOf, wrap: (r) => wrapAttention(intoOutAttention(r, out), outShape, target, [B, Hq, L], extras), outputDtype };
}

/**
 * A call over a {@link KvCache} (`sdpa(q, cache, options?, dispatch?)`) as the plain call: k and v
 * are the cache's, its lengths act as `keyLengths`, and `causal: true` places query row i of batch
 * b at position `lengths[b] - appended[b] + i` (the rows of the last append; bottom-right when
 * every batch appended L tokens). Other causal forms and windows go through as given.
 */
function isCache(k: unknown): k is KvCache<DType> {
  try {
    return k instanceof KvCache;
  } catch {
    return false; // a hostile Proxy: the tensor check names it
  }
}

function overCache(k: FloatTensorLike | KvCache<DType>, v: unknown, options: unknown, dispatch: unknown, q?: unknown): [FloatTensorLike, FloatTensorLike, SdpaOptions | null | undefined, DispatchOptions | undefined] {
  if (isCache(k) && isJaggedArg(q)) throw new DTypeError('k', 'a jagged tensor like q (a KvCache holds dense [B,Hkv,capacity,D] keys)', 'a KvCache', 'jagged queries attend over jagged keys and values');
  if (!isCache(k)) return [k, v as FloatTensorLike, options as SdpaOptions | null | undefined, dispatch as DispatchOptions | undefined];
  const o = optionsFor<SdpaOptions>(sdpaOp, v);
  if (o.keyLengths !== undefined && o.keyLengths !== null) throw new ValueError('options.keyLengths', "is the cache's lengths when sdpa runs over a KvCache: leave it out");
  if (o.layout !== undefined && o.layout !== 'bhld') throw new ValueError('options.layout', "over a KvCache, whose k and v are [B,Hkv,capacity,D], q must be 'bhld' [B,Hq,L,D]");
  const causal = o.causal === true ? { offset: k.causalOffsets() } : o.causal;
  return [k.k, k.v, { ...o, keyLengths: k.lengths, causal }, options as DispatchOptions | undefined];
}

/**
 * Scaled dot-product attention: `softmax(q·kᵀ·scale + bias, masked) · v` per batch and query head.
 *
 * q `[B,Hq,L,D]`, k `[B,Hkv,S,D]`, v `[B,Hkv,S,Dv]` with `Hq % Hkv == 0` (grouped-query: query
 * head h reads kv head `floor(h / (Hq/Hkv))`); with `layout: 'blhd'`, `[B,L,H,D]` each. Returns
 * the output (in the layout of q), or `{ output, weights?, lse?, logits? }` when extras are asked
 * for. A row with no key to attend to gives zeros. `sdpa(q, cache, options?, dispatch?)` attends
 * over a {@link KvCache}.
 *
 * Jagged batches (see {@link JaggedSdpaOptions}): q `{ values: [ΣLq,Hq,D], offsets: [B+1] }`,
 * k `[ΣS,Hkv,D]` and v `[ΣS,Hkv,Dv]` with their own (shared) offsets over the same B: sequence b's
 * queries attend to sequence b's keys only (self-attention when q shares k's offsets, cross
 * attention otherwise), no padding computed or stored. Returns a {@link JaggedTensor} output
 * `[ΣLq,Hq,Dv]` with q's offsets, or `{ output, lse }` (lse `[ΣLq,Hq]`) with `returnLse`.
 *
 * @example
 * const out = sdpa(q, k, v, { causal: true });
 * const { output, weights } = sdpa(q, k, v, { returnWeights: true }, { backend: 'native', verify: true });
 * const gemma = sdpa(q, k, v, { causal: true, window: { left: 4095 }, softcap: 50 });
 * cache.append(kNew, vNew);
 * const next = sdpa(qNew, cache, { causal: true });
 * // Jagged self-attention: two users of 3 and 1 events, 2 heads of 4 dims.
 * const x = jagged(new Float32Array(4 * 2 * 4), [0, 3, 4], [2, 4]);
 * const y = sdpa(x, x, x, { causal: true }); // y.values [4,2,4], y.offsets [0,3,4]
 */
export function sdpa(q: JaggedLike, k: JaggedLike, v: JaggedLike, options: JaggedSdpaOptions & { returnLse: true }, dispatchOptions?: DispatchOptions): JaggedAttentionOutput;
export function sdpa(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: (JaggedSdpaOptions & { returnLse?: false }) | null, dispatchOptions?: DispatchOptions): JaggedTensor;
export function sdpa(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: JaggedSdpaOptions | null, dispatchOptions?: DispatchOptions): JaggedTensor | JaggedAttentionOutput;
export function sdpa(q: FloatTensorLike, cache: KvCache<DType>, options: SdpaOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<Tensor | AttentionOutput>;
export function sdpa(q: FloatTensorLike, cache: KvCache<DType>, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): AttentionOutput;
export function sdpa(q: FloatTensorLike, cache: KvCache<DType>, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false; returnLogits?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function sdpa(q: FloatTensorLike, cache: KvCache<DType>, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput;
export function sdpa(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options: SdpaOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<Tensor | AttentionOutput>;
export function sdpa(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): AttentionOutput;
export function sdpa(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false; returnLogits?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function sdpa(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput;
export function sdpa(q: FloatTensorLike | JaggedLike, k: FloatTensorLike | JaggedLike | KvCache<DType>, v?: unknown, options?: unknown, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput | Narrowed<Tensor | AttentionOutput> | JaggedTensor | JaggedAttentionOutput {
  const [kk, vv, o, d] = overCache(k as FloatTensorLike | KvCache<DType>, v, options, dispatchOptions, q);
  return run(prepareSdpa(q as FloatTensorLike, kk, vv, o), d);
}

/** The async twin of {@link sdpa}: runs off the main thread where the backend can. */
export function sdpaAsync(q: JaggedLike, k: JaggedLike, v: JaggedLike, options: JaggedSdpaOptions & { returnLse: true }, dispatchOptions?: DispatchOptions): Promise<JaggedAttentionOutput>;
export function sdpaAsync(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: (JaggedSdpaOptions & { returnLse?: false }) | null, dispatchOptions?: DispatchOptions): Promise<JaggedTensor>;
export function sdpaAsync(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: JaggedSdpaOptions | null, dispatchOptions?: DispatchOptions): Promise<JaggedTensor | JaggedAttentionOutput>;
export function sdpaAsync(q: FloatTensorLike, cache: KvCache<DType>, options: SdpaOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<Tensor | AttentionOutput>>;
export function sdpaAsync(q: FloatTensorLike, cache: KvCache<DType>, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): Promise<AttentionOutput>;
export function sdpaAsync(q: FloatTensorLike, cache: KvCache<DType>, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false; returnLogits?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function sdpaAsync(q: FloatTensorLike, cache: KvCache<DType>, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput>;
export function sdpaAsync(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options: SdpaOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<Tensor | AttentionOutput>>;
export function sdpaAsync(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): Promise<AttentionOutput>;
export function sdpaAsync(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false; returnLogits?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function sdpaAsync(q: FloatTensorLike, k: FloatTensorLike, v: FloatTensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput>;
export function sdpaAsync(q: FloatTensorLike | JaggedLike, k: FloatTensorLike | JaggedLike | KvCache<DType>, v?: unknown, options?: unknown, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput | Narrowed<Tensor | AttentionOutput> | JaggedTensor | JaggedAttentionOutput> {
  return runAsync(() => {
    const [kk, vv, o] = overCache(k as FloatTensorLike | KvCache<DType>, v, options, dispatchOptions, q);
    return prepareSdpa(q as FloatTensorLike, kk, vv, o);
  }, (isCache(k) ? options : dispatchOptions) as DispatchOptions | undefined);
}

/**
 * Visible (query, key) pairs of one (b, h) slice, bottom-right aligned (query i at key position
 * i + S - L): L·S, or for causal Σ_i clamp(i + S - L + 1, 0, S), narrowed by a window.
 */
export function visiblePairs(L: number, S: number, causal: boolean, window: WindowOption | null = null): number {
  if (!causal && !window) return L * S;
  let n = 0;
  for (let i = 0; i < L; i++) {
    const pos = i + S - L;
    const lo = window?.left !== undefined ? Math.max(0, pos - window.left) : 0;
    let hi = S - 1;
    if (causal) hi = Math.min(hi, pos);
    if (window?.right !== undefined) hi = Math.min(hi, pos + window.right);
    n += Math.max(0, hi - lo + 1);
  }
  return n;
}

/** sdpa's default bench shapes: [label, B, H, L, S, D, causal]. */
const BENCH_SHAPES: readonly (readonly [string, number, number, number, number, number, boolean])[] = [
  ['small', 1, 8, 128, 128, 64, false],
  ['', 1, 8, 512, 512, 64, false],
  ['', 4, 8, 256, 256, 64, false],
  ['', 1, 12, 1024, 1024, 64, false],
  ['causal', 1, 8, 512, 512, 64, true],
  ['decode', 1, 32, 1, 4096, 128, false],
  ['DIN-sized', 256, 1, 1, 50, 32, false],
];
const QUICK_SHAPES: typeof BENCH_SHAPES = [BENCH_SHAPES[0], ['causal', 1, 8, 256, 256, 64, true], ['decode', 1, 8, 1, 1024, 64, false], BENCH_SHAPES[6]];

/** The sdpa descriptor. */
export const sdpaOp: OpDescriptor<'sdpa'> = defineOp({
  name: 'sdpa',
  summary: 'scaled dot-product attention: self, cross, multi-head, grouped-query, causal, masked, biased, key padding, jagged batches; weights and lse on request',
  signature: 'sdpa(q, k, v, options?, dispatch?)',
  params: [tensor('q', Q), tensor('k', K), tensor('v', V), 'options'],
  options: {
    ...ATTENTION_OPTIONS,
    returnLogits: { kind: 'boolean', default: false, doc: 'also return the [B,Hq,L,S] logits after scale, softcap, bias and exclusions' },
    layout: { kind: 'enum', values: ['bhld', 'blhd'], default: 'bhld', doc: "memory order of q, k, v and the output: 'bhld' [B,H,L,D] or 'blhd' [B,L,H,D]" },
    out: { kind: 'out', doc: 'write the output (its layout) into this Float32Array' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 7.8e-6, then 4.9e-7 of atol needed at 4x that rtol (max abs 1.9e-6).
    // max rel by input type: bfloat16 5e-6, float16 7.8e-6, float32 5.3e-6, mixed 5.7e-6.
    native: { rtol: 3.2e-5, atol: 2e-6 },
    // gpu on llvmpipe: max rel 6.2e-6, then 4.8e-7 of atol (max abs 3.8e-6).
    gpu: { rtol: 2.5e-5, atol: 2e-6 },
  },
  cost: (s) => {
    const { B, H, L, S, D } = s as Record<string, number>;
    const Hkv = (s.Hkv as number | undefined) ?? H;
    const window = (s.window as WindowOption | null | undefined) ?? null;
    return { flops: 2 * B * H * 2 * D * visiblePairs(L, S, !!s.causal, window), bytes: 4 * (2 * B * H * L * D + 2 * B * Hkv * S * D) };
  },
  fn: sdpa,
  fnAsync: sdpaAsync,
  native: { isaKernel: true },
  half: true,
  cases: {
    knownAnswers() {
      // One query, two keys, scale 1: weights softmax([0, 1]); a second batch with no key left.
      const e = Math.E;
      const q = { data: new Float32Array([1, 1]), shape: [2, 1, 1, 1] };
      const k = { data: new Float32Array([0, 1, 0, 1]), shape: [2, 1, 2, 1] };
      const v = { data: new Float32Array([10, 20, 10, 20]), shape: [2, 1, 2, 1] };
      const opts = { scale: 1, keyLengths: new Int32Array([2, 0]), returnWeights: true, returnLse: true };
      // A static KV cache of capacity 8 holding 6 valid tokens, two new queries (tokens 4 and 5):
      // q = 0 makes every visible key weigh the same, and v[j] = j, so each output is the mean
      // of the positions its row sees.
      const cq = { data: new Float32Array(2), shape: [1, 1, 2, 1] };
      const ck = { data: new Float32Array(8).fill(1), shape: [1, 1, 8, 1] };
      const cv = { data: Float32Array.from({ length: 8 }, (_, j) => j), shape: [1, 1, 8, 1] };
      const mean = (a: number, b: number) => (a + b) / 2; // of the positions a..b
      const cache = (causal: unknown, extra: object, want: [number, number, number, number], what: string) => ({
        label: `cache of 8 with 6 valid, queries 4 and 5, ${what}`,
        args: [cq, ck, cv, { causal, keyLengths: new Int32Array([6]), ...extra }],
        want: { output: [mean(want[0], want[1]), mean(want[2], want[3])] },
      });
      const t2 = 5 * Math.tanh(2);
      const answers: KnownAnswer[] = [
        {
          label: 'two keys, closed form; an empty row gives zeros and lse -Infinity',
          args: [q, k, v, opts],
          want: { output: [(10 + 20 * e) / (1 + e), 0], weights: [1 / (1 + e), e / (1 + e), 0, 0], lse: [Math.log(1 + e), -Infinity] },
        },
        cache(true, {}, [0, 4, 0, 5], 'causal: true sees keys 0..4 and 0..5 (bottom-right from the valid length)'),
        cache('bottom-right', { returnWeights: true }, [0, 4, 0, 5], "'bottom-right'"),
        cache('top-left', {}, [0, 0, 0, 1], "'top-left' sees key 0 and keys 0..1"),
        cache({ offset: 2 }, {}, [0, 2, 0, 3], '{ offset: 2 } sees keys 0..2 and 0..3'),
        cache({ offset: new Int32Array([-1]) }, { returnLse: true }, [0, 0, 0, 0], '{ offset: [-1] }: the first row sees nothing (zeros)'),
        cache(true, { window: { left: 1 } }, [3, 4, 4, 5], 'causal, window left 1 sees keys 3..4 and 4..5'),
        cache(false, { window: { left: 0, right: 1 } }, [4, 5, 5, 5], 'window { left: 0, right: 1 } without causal sees 4..5 and 5 (keys past 5 are padding)'),
        cache(false, { window: { left: 100, right: 100 } }, [0, 5, 0, 5], 'a window wider than S sees every valid key'),
        {
          label: 'softcap 5: logits 0 and 5·tanh(10/5); returnLogits gives them, -Infinity where excluded',
          args: [
            { data: new Float32Array([1]), shape: [1, 1, 1, 1] },
            { data: new Float32Array([0, 10, 3]), shape: [1, 1, 3, 1] },
            { data: new Float32Array([10, 20, 30]), shape: [1, 1, 3, 1] },
            { scale: 1, softcap: 5, keyLengths: new Int32Array([2]), returnLogits: true, returnWeights: true },
          ],
          want: { output: [(10 + 20 * Math.exp(t2)) / (1 + Math.exp(t2))], logits: [0, t2, -Infinity], weights: [1 / (1 + Math.exp(t2)), Math.exp(t2) / (1 + Math.exp(t2)), 0] },
        },
      ];
      return answers;
    },
    checks(quick) {
      const cases: OpCase[] = [];
      // The same tensor's elements in [B,L,H,D] order.
      const blhd = (t: Tensor): Tensor => {
        const [B, H, L, D] = t.shape;
        const data = new Float32Array(t.data.length);
        for (let b = 0; b < B; b++) for (let h = 0; h < H; h++) for (let i = 0; i < L; i++) for (let d = 0; d < D; d++) data[((b * L + i) * H + h) * D + d] = t.data[((b * H + h) * L + i) * D + d];
        return { data, shape: [B, L, H, D] };
      };
      const shapes = quick
        ? [[1, 2, 1, 7, 129, 17], [2, 4, 2, 33, 65, 64]]
        : [[1, 1, 1, 1, 1, 1], [1, 2, 1, 7, 129, 17], [2, 4, 2, 33, 65, 64], [1, 2, 2, 129, 7, 65], [1, 8, 1, 1, 1000, 128], [1, 1, 1, 200, 200, 3]];
      for (const [B, Hq, Hkv, L, S, D] of shapes) {
        const q = rnd([B, Hq, L, D], L + S), k = rnd([B, Hkv, S, D], L + S + 1), v = rnd([B, Hkv, S, D], L + S + 2);
        const sh = `B=${B} Hq=${Hq} Hkv=${Hkv} L=${L} S=${S} D=${D}`;
        const lens = new Int32Array(B).map((_, b) => (b ? 0 : S - 1));
        const nanQ = rnd([B, Hq, L, D], 5);
        nanQ.data[0] = NaN;
        cases.push({ label: `${sh} plain`, args: [q, k, v, {}] });
        cases.push({ label: `${sh} causal`, args: [q, k, v, { causal: true, returnWeights: true, returnLse: true }] });
        cases.push({ label: `${sh} mask + empty rows`, args: [q, k, v, { mask: maskOf([L, S], (i, j) => i % 3 !== 1 && (i + j) % 4 !== 0) }] });
        cases.push({ label: `${sh} bias ±1e4 + keyLengths`, args: [q, k, v, { bias: rnd([Hq, L, S], 7, 1e4), keyLengths: lens }], logitMagnitude: 1e4 });
        cases.push({ label: `${sh} -Inf bias rows`, args: [q, k, v, { bias: tensorOf([L, S], (i) => (i % 2 ? -Infinity : 0)) }] });
        cases.push({ label: `${sh} NaN in one query row`, args: [nanQ, k, v, {}] });
        // The causal forms, windows, softcap and the logits output (issue #14).
        const offs = new Int32Array(B).map((_, b) => (b ? S - L + 3 : -2));
        cases.push({ label: `${sh} causal top-left`, args: [q, k, v, { causal: 'top-left', returnWeights: true, returnLogits: true }] });
        cases.push({ label: `${sh} causal bottom-right + keyLengths`, args: [q, k, v, { causal: true, keyLengths: lens, returnLse: true }] });
        cases.push({ label: `${sh} causal { offset: [-2, S-L+3] }`, args: [q, k, v, { causal: { offset: offs }, returnLse: true }] });
        cases.push({ label: `${sh} causal, window left 5`, args: [q, k, v, { causal: true, window: { left: 5 } }] });
        cases.push({ label: `${sh} window { left: 0, right: 3 } + mask`, args: [q, k, v, { window: { left: 0, right: 3 }, mask: maskOf([L, S], (i, j) => (i + 2 * j) % 5 !== 0), returnLse: true }] });
        cases.push({ label: `${sh} top-left, window left 0 (only the diagonal)`, args: [q, k, v, { causal: 'top-left', window: { left: 0 } }] });
        cases.push({ label: `${sh} window wider than S`, args: [q, k, v, { causal: { offset: 1 }, window: { left: S + 9, right: S + 9 } }] });
        cases.push({ label: `${sh} softcap 3 + bias, logits`, args: [q, k, v, { softcap: 3, bias: rnd([Hq, L, S], 17), returnLogits: true }] });
        cases.push({ label: `${sh} softcap at the ends of its range (1e10: no effect; 1e-10: logits ±1e-10)`, args: [q, k, v, { softcap: L % 2 ? 1e10 : 1e-10, causal: true }] });
        cases.push({ label: `${sh} softcap 30 over ±1e4 logits`, args: [q, k, v, { softcap: 30, scale: 3000, causal: true }], logitMagnitude: 30 });
        // Key 0 holds NaN in k and +Inf in v: only the rows whose band reaches key 0 may see it.
        const badK = { data: k.data.slice(), shape: k.shape }, badV = { data: v.data.slice(), shape: v.shape };
        for (let b = 0; b < B; b++) for (let h = 0; h < Hkv; h++) { badK.data[(b * Hkv + h) * S * D] = NaN; badV.data[(b * Hkv + h) * S * D] = Infinity; }
        cases.push({ label: `${sh} NaN/Inf key 0 outside most rows' window`, args: [q, badK, badV, { causal: true, window: { left: 3 } }] });
        cases.push({ label: `${sh} NaN/Inf key 0, top-left causal`, args: [q, badK, badV, { causal: 'top-left', returnLse: true }] });
        cases.push({ label: `${sh} layout blhd, causal, window`, args: [blhd(q), blhd(k), blhd(v), { layout: 'blhd', causal: true, window: { left: 9 }, returnLse: true }] });
      }
      // Long rows of normal logits: many keys carry weight, so the sum's rounding shows above atol.
      const S = quick ? 4000 : 20000;
      cases.push({ label: `B=1 Hq=1 L=2 S=${S} D=1 normal logits (sd 3)`, args: [tensorOf([1, 1, 2, 1], () => 1), normalLogits([1, 1, S, 1], 9, 3), rnd([1, 1, S, 3], 10), { scale: 1 }] });
      cases.push({ label: 'B=3 Hq=2 L=5 S=9 D=4 keyLengths incl. 0, causal', args: [rnd([3, 2, 5, 4], 11), rnd([3, 2, 9, 4], 12), rnd([3, 2, 9, 4], 13), { causal: true, keyLengths: someLengths(3, 9), returnLse: true }] });
      return cases;
    },
    bench(quick) {
      return (quick ? QUICK_SHAPES : BENCH_SHAPES).map(([label, B, H, L, S, D, causal]): BenchCase => ({
        label,
        shape: { B, H, Hkv: H, L, S, D, causal },
        make() {
          const q = rnd([B, H, L, D], 1), k = rnd([B, H, S, D], 2), v = rnd([B, H, S, D], 3);
          // outArgs: the same call writing into one preallocated output (options.out), as a caller
          // that reuses its buffers would: no allocation, no page faults on fresh memory.
          return { args: [q, k, v, { causal }], outArgs: [q, k, v, { causal, out: new Float32Array(B * H * L * D) }] };
        },
      }));
    },
    random(R, small) {
      const B = R.int(1, 2), Hkv = R.int(1, 2), Hq = Hkv * R.int(1, 2);
      const L = R.int(1, small ? 3 : 5), S = R.int(1, small ? 4 : 6), D = R.int(1, small ? 4 : 8), Dv = R.int(1, small ? 4 : 6);
      const target = [B, Hq, L, S];
      const o: Record<string, unknown> = {};
      if (R.bool()) o.causal = R.pick([true, false, 'top-left', 'bottom-right', { offset: R.int(-3, 3) }, { offset: Int32Array.from({ length: B }, () => R.int(-3, 3)) }]);
      if (R.bool(0.25)) o.window = R.bool() ? { left: R.int(0, 3) } : { left: R.int(0, 3), right: R.int(0, 3) };
      if (R.bool(0.2)) o.softcap = 0.5 + R.f() * 5;
      if (R.bool(0.2)) o.scale = R.f() * 2 - 0.5;
      if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.bias = randT(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      if (R.bool(0.3)) o.returnWeights = true;
      if (R.bool(0.3)) o.returnLse = true;
      if (R.bool(0.15)) o.returnLogits = true;
      if (R.bool(0.2)) {
        // The same sizes in [B,L,H,D] order (fresh random data: only the shapes matter here).
        o.layout = 'blhd';
        return [randT(R, [B, L, Hq, D]), randT(R, [B, S, Hkv, D]), randT(R, [B, S, Hkv, Dv]), o];
      }
      return [randT(R, [B, Hq, L, D]), randT(R, [B, Hkv, S, D]), randT(R, [B, Hkv, S, Dv]), o];
    },
    small: () => [rnd([1, 2, 8, 16], 1), rnd([1, 2, 12, 16], 2), rnd([1, 2, 12, 8], 3), { returnWeights: true, returnLse: true }],
  },
  fuzz: {
    broadcastTarget: (a) => {
      const [q, k] = [shapeOf(a[0]), shapeOf(a[1])];
      const bl = (a[3] as SdpaOptions | undefined)?.layout === 'blhd';
      return { shape: bl ? [q[0], q[2], q[1], k[1]] : [q[0], q[1], q[2], k[2]], bias: true };
    },
    lengthsTarget: (a) => ({ B: shapeOf(a[0])[0], S: shapeOf(a[1])[(a[3] as SdpaOptions | undefined)?.layout === 'blhd' ? 1 : 2] }),
    invalidate(R, a) {
      const o = optionsArg(a, 3);
      o.scale = R.pick([NaN, Infinity]);
      return `options.scale := ${o.scale}`;
    },
  },
});

/**
 * The options of {@link sdpa} on jagged q, k, v: those of {@link SdpaOptions} applied per
 * sequence, with these differences. `causal: true` / `'bottom-right'` aligns each sequence's last
 * query with its own last key (query i of sequence b sits at key `i + S_b - Lq_b`); `'top-left'`
 * at key i; `{ offset }` at `i + offset[b]`; `window` around that position. `mask` and `bias`
 * are per sequence (see below). Refused with a ValueError naming the option: `keyLengths` (the
 * key offsets are the lengths), `returnWeights`, `returnLogits` (not supported on jagged inputs),
 * a `layout` other than 'blhd' (jagged rows are `[t, H, D]`).
 */
export interface JaggedSdpaOptions extends Pick<SdpaOptions, 'scale' | 'causal' | 'window' | 'softcap' | 'returnLse' | 'outputDtype'> {
  /**
   * A boolean mask per sequence, broadcast over the heads (1 = may attend): a Uint8Array of
   * exactly `Σ_b Lq_b·S_b` entries, sequence b's row-major `[Lq_b, S_b]` block after the blocks of
   * the sequences before it (the jagged counterpart of a `[B,1,L,S]` mask).
   */
  mask?: Uint8Array | null;
  /**
   * A float bias per sequence added to the scaled (and soft-capped) logits, broadcast over the
   * heads: a Float32Array laid out as `mask` (`Σ_b Lq_b·S_b` entries); -Infinity excludes a key.
   */
  bias?: Float32Array | null;
  /** Write the `[ΣLq,Hq,Dv]` output into this Float32Array (as {@link SdpaOptions.out}). */
  out?: Float32Array | null;
  /** Only 'blhd' (the jagged rows' own order `[t, H, D]`); any other value is a ValueError. */
  layout?: 'blhd';
}

/** The result of jagged {@link sdpa} with `returnLse`. */
export interface JaggedAttentionOutput {
  /** `[ΣLq,Hq,Dv]` with q's offsets. */
  output: JaggedTensor;
  /** `[ΣLq,Hq]` log-sum-exp per query row and head (-Infinity for a row with no key), q's offsets. */
  lse?: JaggedTensor;
}

/**
 * Whether `x` is passed as a jagged tensor (an object with an `offsets` field), without reading
 * anything a getter could throw from (internal).
 */
export function isJaggedArg(x: unknown): boolean {
  if (x === null || typeof x !== 'object' || Array.isArray(x) || ArrayBuffer.isView(x)) return false;
  try {
    return 'offsets' in x;
  } catch {
    return false; // a hostile Proxy: the checks that follow name it
  }
}

const MAX_INT32 = 0x7fffffff;

/** Check jagged sdpa's arguments (typed errors naming each one) and build its kernel call. */
function prepareJaggedSdpa(q: unknown, k: unknown, v: unknown, options: unknown): Prepared<'sdpa', JaggedTensor | JaggedAttentionOutput> {
  const qj = asJagged(q, 'q', ['Hq', 'D']);
  for (const [name, x, what] of [['k', k, '[ΣS,Hkv,D]'], ['v', v, '[ΣS,Hkv,Dv]']] as const) {
    if (!isJaggedArg(x)) throw new DTypeError(name, `a jagged tensor ({ values: ${what}, offsets: Int32Array [B+1] }) like q`, describeType(x), 'jagged queries attend over jagged keys and values');
  }
  const B = qj.batch;
  const [, Hq, D] = qj.shape;
  if (!(Hq >= 1 && D >= 1)) throw new ShapeError('q.values', '[ΣLq,Hq,D] with Hq >= 1 and D >= 1', formatShape(qj.shape));
  const kj = asJagged(k, 'k', ['Hkv', 'D'], { batch: B, inner: [null, D] });
  const Hkv = kj.shape[1];
  if (!(Hkv >= 1)) throw new ShapeError('k.values', '[ΣS,Hkv,D] with Hkv >= 1', formatShape(kj.shape));
  if (Hq % Hkv !== 0) throw new ShapeError('k.values', `[ΣS,Hkv,D=${D}] with Hq % Hkv == 0 (Hq=${Hq})`, formatShape(kj.shape), `${Hq} query heads cannot be grouped over ${Hkv} kv heads`);
  const vj = asJagged(v, 'v', ['Hkv', 'Dv'], { batch: B, inner: [Hkv, null] });
  const Dv = vj.shape[2];
  if (!(Dv >= 1)) throw new ShapeError('v.values', '[ΣS,Hkv,Dv] with Dv >= 1', formatShape(vj.shape));
  for (let b = 1; b <= B; b++) {
    if (vj.offsets[b] !== kj.offsets[b]) throw new ValueError('v.offsets', `expected k's offsets (each key has its value), received v.offsets[${b}] = ${vj.offsets[b]} != k.offsets[${b}] = ${kj.offsets[b]}`);
  }
  const o = optionsFor<SdpaOptions>(sdpaOp, options);
  if (o.keyLengths !== undefined && o.keyLengths !== null) throw new ValueError('options.keyLengths', "has no meaning with jagged keys (k.offsets are the key lengths): leave it out");
  if (o.returnWeights === true) throw new ValueError('options.returnWeights', 'is not supported with jagged q, k, v (the weights would be jagged in two dims): pad (toPadded) and pass keyLengths');
  if (o.returnLogits === true) throw new ValueError('options.returnLogits', 'is not supported with jagged q, k, v: pad (toPadded) and pass keyLengths');
  if (o.layout !== undefined && o.layout !== 'blhd') throw new ValueError('options.layout', `jagged rows are [t,H,D] ('blhd' per sequence): leave layout out, received '${String(o.layout)}'`);
  // A value of the wrong type is still a typed error (false is accepted).
  const returnWeights: boolean = readOption(sdpaOp, o, 'returnWeights');
  const returnLogits: boolean = readOption(sdpaOp, o, 'returnLogits');
  const returnLse: boolean = readOption(sdpaOp, o, 'returnLse');
  const scale: number = readOption(sdpaOp, o, 'scale', 1 / Math.sqrt(D));
  const softcap: number = readOption(sdpaOp, o, 'softcap', 0);
  // Private copies of the offsets: the kernels (and async calls) read them after this returns.
  const qOffsets = Int32Array.from(qj.offsets);
  const kvOffsets = Int32Array.from(kj.offsets);
  const qLens = new Int32Array(B);
  const sLens = new Int32Array(B);
  let maxL = 0, maxS = 0, maskSize = 0;
  for (let b = 0; b < B; b++) {
    qLens[b] = qOffsets[b + 1] - qOffsets[b];
    sLens[b] = kvOffsets[b + 1] - kvOffsets[b];
    maxL = Math.max(maxL, qLens[b]);
    maxS = Math.max(maxS, sLens[b]);
    maskSize += qLens[b] * sLens[b];
  }
  const L = Math.max(1, maxL), S = Math.max(1, maxS);
  const limits = attentionLimits(o, B, L, S, sLens, softcap, 'bottom-right', qLens);
  let jaggedMask: Uint8Array | null = null;
  if (o.mask !== undefined && o.mask !== null) {
    if (maskSize > MAX_INT32) throw new ValueError('options.mask', `a jagged mask of Σ Lq_b·S_b = ${maskSize} entries exceeds 2^31-1`);
    jaggedMask = liveTypedArray(o.mask, 'options.mask', Uint8Array, `a Uint8Array of Σ Lq_b·S_b = ${maskSize} entries (sequence b's [Lq_b,S_b] block after those before it; 1 = may attend)`);
    if (jaggedMask.length !== maskSize) throw new ShapeError('options.mask', `Uint8Array(Σ Lq_b·S_b = ${maskSize}) (one [Lq_b,S_b] block per sequence, broadcast over heads)`, `Uint8Array(${jaggedMask.length})`);
  }
  let jaggedBias: Float32Array | null = null;
  if (o.bias !== undefined && o.bias !== null) {
    if (maskSize > MAX_INT32) throw new ValueError('options.bias', `a jagged bias of Σ Lq_b·S_b = ${maskSize} entries exceeds 2^31-1`);
    jaggedBias = liveTypedArray(o.bias, 'options.bias', Float32Array, `a Float32Array of Σ Lq_b·S_b = ${maskSize} entries (sequence b's [Lq_b,S_b] block after those before it)`);
    if (jaggedBias.length !== maskSize) throw new ShapeError('options.bias', `Float32Array(Σ Lq_b·S_b = ${maskSize}) (one [Lq_b,S_b] block per sequence, broadcast over heads)`, `Float32Array(${jaggedBias.length})`);
  }
  const T = qOffsets[B];
  const outShape = [T, Hq, Dv];
  const inputs = [['q.values', qj.data], ['k.values', kj.data], ['v.values', vj.data], ['options.mask', jaggedMask], ['options.bias', jaggedBias]] as const;
  const out = optionalOut(o.out, 'options.out', T * Hq * Dv, `[ΣLq,Hq,Dv]=${formatShape(outShape)}`, inputs);
  const outputDtype: DType = readOption(sdpaOp, o, 'outputDtype');
  if (out && outputDtype !== 'float32') throw new ValueError('options.outputDtype', `a ${outputDtype} output cannot be written into options.out (a Float32Array): leave one of them out`);
  const half = new HalfFields();
  const checked = (j: typeof qj): FloatChecked => ({ data: j.data, shape: j.shape, dtype: j.dtype });
  const args: SdpaArgs = {
    q: half.take('q', checked(qj)),
    k: half.take('k', checked(kj)),
    v: half.take('v', checked(vj)),
    B, Hq, Hkv, L, S, D, Dv, scale, ...limits,
    mask: null, bias: null, keyLengths: null,
    returnWeights, returnLse, returnLogits,
    layout: 'blhd', out, dtypes: half.dtypes,
    qOffsets, kvOffsets, jaggedMask, jaggedBias,
  };
  const rows = T * Hq;
  const layoutOf = (): OutputLayout => ({
    rows,
    rowOf: (name, flat) => (name === 'lse' ? flat : Math.floor(flat / Dv)),
    shapeOf: (name) => (name === 'lse' ? [T, Hq] : outShape),
  });
  const wrap = (r: AttentionResult): JaggedTensor | JaggedAttentionOutput => {
    const res = intoOutAttention(r, out);
    const t: Tensor = { data: res.output, shape: outShape };
    const output: JaggedTensor = { values: outputDtype === 'float16' ? toFloat16(t) : outputDtype === 'bfloat16' ? toBFloat16(t) : t, offsets: qOffsets };
    if (!returnLse) return output;
    return { output, lse: { values: { data: res.lse as Float32Array, shape: [T, Hq] }, offsets: qOffsets } };
  };
  return { op: 'sdpa', args, layout: layoutOf, wrap };
}
