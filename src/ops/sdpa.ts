/**
 * Scaled dot-product attention.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { ShapeError, formatShape } from '../errors';
import type { AttentionResult, SdpaArgs } from '../kernels';
import type { MaskLike, Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, optBool, optFinite, optionalBias, optionalLengths, optionalMask, optionalOut, optionsObject, tensorOfRank, weightsFit } from '../validate';
import { intoOut, run, runAsync, type Prepared } from './common';

/** Options of {@link sdpa}. */
export interface SdpaOptions {
  /** Multiplier of the logits (default `1/sqrt(D)`); must be finite. */
  scale?: number;
  /** Causal, aligned bottom-right: query i sees key j iff `j <= i + S - L` (the KV-cache convention). */
  causal?: boolean;
  /** Bool mask broadcastable to `[B,Hq,L,S]`; 1 = may attend. */
  mask?: MaskLike | null;
  /** Float bias added to the scaled logits, broadcastable to `[B,Hq,L,S]`; -Infinity excludes a key. */
  bias?: TensorLike | null;
  /** `[B]` valid key counts: keys `j >= keyLengths[b]` are padding. */
  keyLengths?: Int32Array | null;
  /** Also return the `[B,Hq,L,S]` probabilities. */
  returnWeights?: boolean;
  /** Also return the `[B,Hq,L]` log-sum-exp of the (scaled, biased) logits; -Infinity for empty rows. */
  returnLse?: boolean;
  /**
   * Write the `[B,Hq,L,Dv]` output into this Float32Array (exactly `B·Hq·L·Dv` elements, sharing
   * no memory with q, k, v, mask or bias) and return it as the output tensor's data, instead of
   * allocating a new array. Reusing one buffer across calls saves the allocation and, for outputs
   * of a few hundred KiB and up, the page faults of fresh memory (measured in the README's
   * performance section). The native backend writes into it directly on sync calls; async calls
   * and the other backends copy their result in. If the call throws, its contents are unspecified.
   */
  out?: Float32Array | null;
}

/** The keys {@link SdpaOptions} accepts (an unknown one is a ValueError; internal). */
export const SDPA_OPTION_KEYS: readonly (keyof SdpaOptions & string)[] = ['scale', 'causal', 'mask', 'bias', 'keyLengths', 'returnWeights', 'returnLse', 'out'];

/** The result of an attention op asked for extras. */
export interface AttentionOutput {
  /** The attention output. */
  output: Tensor;
  /** The attention probabilities (when `returnWeights`). */
  weights?: Tensor;
  /** The log-sum-exp per query row (when `returnLse`). */
  lse?: Tensor;
}

/** Options that ask for extras, so the result is an {@link AttentionOutput}. */
export type WithExtras = { returnWeights: true } | { returnLse: true };

/** Wrap an attention kernel result as tensors. */
export function wrapAttention(res: AttentionResult, outShape: number[], wShape: number[], lseShape: number[], extras: boolean): Tensor | AttentionOutput {
  const output: Tensor = { data: res.output, shape: outShape };
  if (!extras) return output;
  const o: AttentionOutput = { output };
  if (res.weights) o.weights = { data: res.weights, shape: wShape };
  if (res.lse) o.lse = { data: res.lse, shape: lseShape };
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

/** Check sdpa's arguments and build its kernel call. */
export function prepareSdpa(q: TensorLike, k: TensorLike, v: TensorLike, options?: SdpaOptions | null): Prepared<'sdpa', Tensor | AttentionOutput> {
  const qt = tensorOfRank(q, 'q', Q);
  const kt = tensorOfRank(k, 'k', K);
  const vt = tensorOfRank(v, 'v', V);
  const [B, Hq, L, D] = qt.shape;
  const [, Hkv, S] = kt.shape;
  const Dv = vt.shape[3];
  for (let a = 0; a < 4; a++) expectNonEmpty('q', qt.shape, a, Q);
  for (let a = 0; a < 4; a++) expectNonEmpty('k', kt.shape, a, K);
  expectNonEmpty('v', vt.shape, 3, V);
  expectDim('k', kt.shape, 0, B, K, 'batch must match q');
  expectDim('k', kt.shape, 3, D, K, 'head dim must match q');
  if (Hq % Hkv !== 0) {
    throw new ShapeError('k', `[B,Hkv,S,D] with Hq % Hkv == 0 (Hq=${Hq})`, formatShape(kt.shape), `${Hq} query heads cannot be grouped over ${Hkv} kv heads`);
  }
  expectDim('v', vt.shape, 0, B, V, 'batch must match q');
  expectDim('v', vt.shape, 1, Hkv, V, 'kv heads must match k');
  expectDim('v', vt.shape, 2, S, V, 'key count must match k');
  const o = optionsObject<SdpaOptions>(options, 'options', SDPA_OPTION_KEYS);
  const scale = optFinite(o.scale, 'options.scale', 1 / Math.sqrt(D));
  const causal = optBool(o.causal, 'options.causal', false);
  const target = [B, Hq, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,S]');
  const bias = optionalBias(o.bias, 'options.bias', target, '[B,Hq,L,S]');
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights = optBool(o.returnWeights, 'options.returnWeights', false);
  const returnLse = optBool(o.returnLse, 'options.returnLse', false);
  weightsFit(returnWeights, B * Hq * L * S, '[B,Hq,L,S]');
  const inputs = [['q', qt.data], ['k', kt.data], ['v', vt.data], ['options.mask', mask?.data], ['options.bias', bias?.data], ['options.keyLengths', keyLengths]] as const;
  const out = optionalOut(o.out, 'options.out', B * Hq * L * Dv, `[B,Hq,L,Dv]=${formatShape([B, Hq, L, Dv])}`, inputs);
  const args: SdpaArgs = { q: qt.data, k: kt.data, v: vt.data, B, Hq, Hkv, L, S, D, Dv, scale, causal, mask, bias, keyLengths, returnWeights, returnLse, out };
  const rows = B * Hq * L;
  const layout = (): OutputLayout => ({
    rows,
    rowOf: (name, flat) => (name === 'lse' ? flat : Math.floor(flat / (name === 'weights' ? S : Dv))),
    shapeOf: (name) => (name === 'weights' ? target : name === 'lse' ? [B, Hq, L] : [B, Hq, L, Dv]),
  });
  const extras = returnWeights || returnLse;
  return { op: 'sdpa', args, layout, wrap: (r) => wrapAttention(intoOutAttention(r, out), [B, Hq, L, Dv], target, [B, Hq, L], extras) };
}

/**
 * Scaled dot-product attention: `softmax(q·kᵀ·scale + bias, masked) · v` per batch and query head.
 *
 * q `[B,Hq,L,D]`, k `[B,Hkv,S,D]`, v `[B,Hkv,S,Dv]` with `Hq % Hkv == 0` (grouped-query: query
 * head h reads kv head `floor(h / (Hq/Hkv))`). Returns the `[B,Hq,L,Dv]` output, or
 * `{ output, weights?, lse? }` when extras are asked for. A row with no key to attend to gives zeros.
 *
 * @example
 * const out = sdpa(q, k, v, { causal: true });
 * const { output, weights } = sdpa(q, k, v, { returnWeights: true }, { backend: 'native', verify: true });
 */
export function sdpa(q: TensorLike, k: TensorLike, v: TensorLike, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): AttentionOutput;
export function sdpa(q: TensorLike, k: TensorLike, v: TensorLike, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false }) | null, dispatchOptions?: DispatchOptions): Tensor;
export function sdpa(q: TensorLike, k: TensorLike, v: TensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput;
export function sdpa(q: TensorLike, k: TensorLike, v: TensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Tensor | AttentionOutput {
  return run(prepareSdpa(q, k, v, options), dispatchOptions);
}

/** The async twin of {@link sdpa}: runs off the main thread where the backend can. */
export function sdpaAsync(q: TensorLike, k: TensorLike, v: TensorLike, options: SdpaOptions & WithExtras, dispatchOptions?: DispatchOptions): Promise<AttentionOutput>;
export function sdpaAsync(q: TensorLike, k: TensorLike, v: TensorLike, options?: (SdpaOptions & { returnWeights?: false; returnLse?: false }) | null, dispatchOptions?: DispatchOptions): Promise<Tensor>;
export function sdpaAsync(q: TensorLike, k: TensorLike, v: TensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput>;
export function sdpaAsync(q: TensorLike, k: TensorLike, v: TensorLike, options?: SdpaOptions | null, dispatchOptions?: DispatchOptions): Promise<Tensor | AttentionOutput> {
  return runAsync(() => prepareSdpa(q, k, v, options), dispatchOptions);
}
