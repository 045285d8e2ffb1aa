/**
 * Scaled dot-product attention.
 *
 * @module
 */
import type { DispatchOptions, OutputLayout } from '../dispatch';
import { ShapeError, formatShape } from '../errors';
import type { AttentionResult, SdpaArgs } from '../kernels';
import type { MaskLike, Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, optionalBias, optionalLengths, optionalMask, optionalOut, weightsFit } from '../validate';
import { broadcastShape, maskOf, normalLogits, optionsArg, randLengths, randMask, randT, rnd, shapeOf, someLengths, tensorOf } from './cases';
import { intoOut, run, runAsync, type Prepared } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type BenchCase, type OpCase, type OpDescriptor } from './descriptor';

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

/** The attention options sdpa shares with multiHeadAttention (internal). */
export const ATTENTION_OPTIONS = {
  scale: { kind: 'finite', doc: 'multiplier of the logits (default 1/sqrt(D))' },
  causal: { kind: 'boolean', default: false, doc: 'causal, aligned bottom-right: query i sees key j iff j <= i + S - L' },
  mask: { kind: 'mask', doc: 'bool mask broadcastable to [B,Hq,L,S]; 1 = may attend' },
  bias: { kind: 'bias', doc: 'float bias added to the scaled logits, broadcastable to [B,Hq,L,S]' },
  keyLengths: { kind: 'lengths', doc: '[B] valid key counts' },
  returnWeights: { kind: 'boolean', default: false, doc: 'also return the [B,Hq,L,S] probabilities' },
  returnLse: { kind: 'boolean', default: false, doc: 'also return the [B,Hq,L] log-sum-exp' },
} as const;

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
  const qt = tensorParam(sdpaOp, 'q', q);
  const kt = tensorParam(sdpaOp, 'k', k);
  const vt = tensorParam(sdpaOp, 'v', v);
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
  const o = optionsFor<SdpaOptions>(sdpaOp, options);
  const scale: number = readOption(sdpaOp, o, 'scale', 1 / Math.sqrt(D));
  const causal: boolean = readOption(sdpaOp, o, 'causal');
  const target = [B, Hq, L, S];
  const mask = optionalMask(o.mask, 'options.mask', target, '[B,Hq,L,S]');
  const bias = optionalBias(o.bias, 'options.bias', target, '[B,Hq,L,S]');
  const keyLengths = optionalLengths(o.keyLengths, 'options.keyLengths', B, S);
  const returnWeights: boolean = readOption(sdpaOp, o, 'returnWeights');
  const returnLse: boolean = readOption(sdpaOp, o, 'returnLse');
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

/** Visible (query, key) pairs of one (b, h) slice: L·S, or for causal (bottom-right) Σ_i clamp(i + S - L + 1, 0, S). */
export function visiblePairs(L: number, S: number, causal: boolean): number {
  if (!causal) return L * S;
  let n = 0;
  for (let i = 0; i < L; i++) n += Math.max(0, Math.min(S, i + S - L + 1));
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
  summary: 'scaled dot-product attention: self, cross, multi-head, grouped-query, causal, masked, biased, key padding; weights and lse on request',
  signature: 'sdpa(q, k, v, options?, dispatch?)',
  params: [tensor('q', Q), tensor('k', K), tensor('v', V), 'options'],
  options: { ...ATTENTION_OPTIONS, out: { kind: 'out', doc: 'write the [B,Hq,L,Dv] output into this Float32Array' } },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks, the quick bench cases and the large
    // GEMM-family cases. Native, worst ISA: max rel error 5.2e-6 (|want| within a decade of
    // its output's largest), then 5e-7 of atol needed at 4x that rtol (max abs 1.9e-6).
    native: { rtol: 2.1e-5, atol: 2.1e-6 },
    // gpu on llvmpipe: max rel 4.6e-6, then 4.9e-7 of atol (max abs 5.3e-7).
    gpu: { rtol: 1.9e-5, atol: 2e-6 },
  },
  cost: (s) => {
    const { B, H, L, S, D } = s as Record<string, number>;
    const Hkv = (s.Hkv as number | undefined) ?? H;
    return { flops: 2 * B * H * 2 * D * visiblePairs(L, S, !!s.causal), bytes: 4 * (2 * B * H * L * D + 2 * B * Hkv * S * D) };
  },
  fn: sdpa,
  fnAsync: sdpaAsync,
  native: { isaKernel: true },
  cases: {
    knownAnswers() {
      // One query, two keys, scale 1: weights softmax([0, 1]); a second batch with no key left.
      const e = Math.E;
      const q = { data: new Float32Array([1, 1]), shape: [2, 1, 1, 1] };
      const k = { data: new Float32Array([0, 1, 0, 1]), shape: [2, 1, 2, 1] };
      const v = { data: new Float32Array([10, 20, 10, 20]), shape: [2, 1, 2, 1] };
      const opts = { scale: 1, keyLengths: new Int32Array([2, 0]), returnWeights: true, returnLse: true };
      return [{
        label: 'two keys, closed form; an empty row gives zeros and lse -Infinity',
        args: [q, k, v, opts],
        want: { output: [(10 + 20 * e) / (1 + e), 0], weights: [1 / (1 + e), e / (1 + e), 0, 0], lse: [Math.log(1 + e), -Infinity] },
      }];
    },
    checks(quick) {
      const cases: OpCase[] = [];
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
      if (R.bool()) o.causal = R.bool();
      if (R.bool(0.2)) o.scale = R.f() * 2 - 0.5;
      if (R.bool(0.3)) o.mask = randMask(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.bias = randT(R, broadcastShape(R, target));
      if (R.bool(0.3)) o.keyLengths = randLengths(R, B, S);
      if (R.bool(0.3)) o.returnWeights = true;
      if (R.bool(0.3)) o.returnLse = true;
      return [randT(R, [B, Hq, L, D]), randT(R, [B, Hkv, S, D]), randT(R, [B, Hkv, S, Dv]), o];
    },
    small: () => [rnd([1, 2, 8, 16], 1), rnd([1, 2, 12, 16], 2), rnd([1, 2, 12, 8], 3), { returnWeights: true, returnLse: true }],
  },
  fuzz: {
    broadcastTarget: (a) => ({ shape: [shapeOf(a[0])[0], shapeOf(a[0])[1], shapeOf(a[0])[2], shapeOf(a[1])[2]], bias: true }),
    lengthsTarget: (a) => ({ B: shapeOf(a[0])[0], S: shapeOf(a[1])[2] }),
    invalidate(R, a) {
      const o = optionsArg(a, 3);
      o.scale = R.pick([NaN, Infinity]);
      return `options.scale := ${o.scale}`;
    },
  },
});
