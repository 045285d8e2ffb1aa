/**
 * HSTU pointwise attention (Zhai et al., "Actions Speak Louder than Words", 2024) over jagged
 * sequences: `A = SiLU(α·Q·Kᵀ + rab) / N ⊙ M`, `Y = A·V`, per head (issue #17; the contract is
 * `HstuAttentionArgs` in src/kernels.ts, the math is in the README's "HSTU attention").
 *
 * @module
 */
import { liveTypedArray } from '../buffers';
import type { DispatchOptions } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import { asJagged, type CheckedJagged, type JaggedLike, type JaggedTensor } from '../jagged';
import type { HstuAttentionArgs, HstuAttentionBackwardArgs } from '../kernels';
import { asTensor, random, type Tensor, type TensorLike } from '../tensor';
import { expectNonEmpty, optionalOut } from '../validate';
import type { CaseRandom } from './descriptor';
import { optionsArg, randT, rnd } from './cases';
import { intoOut, rowMajorLayout, run, runAsync, type Prepared } from './common';
import { defineOp, optionsFor, readOption, type BenchCase, type KnownAnswer, type OpCase, type OpDescriptor, type OptionSpec, type ParamSpec } from './descriptor';

/** Event times an HSTU call accepts: `[T]`, any unit; widened to float64 by the op. */
export type HstuTimestamps = Float64Array | Int32Array | Float32Array;

/**
 * Options of {@link hstuAttention} (and, minus `out`, of {@link hstuAttentionBackward}). Every
 * option applies per sequence of the jagged batch.
 */
export interface HstuAttentionOptions {
  /** Logit scale α (default `1/sqrt(D)`); a finite number. */
  alpha?: number;
  /**
   * N: the position-bias table spans relative positions `-(N-1)..N-1` (2N-1 entries) and, with
   * `normalization: 'maxLength'`, SiLU(z) is divided by N. Default: the longest sequence (at
   * least 1); a positive integer >= the longest sequence (a ValueError otherwise).
   */
  maxLength?: number;
  /**
   * The divisor of SiLU(z): `'maxLength'` (default: N, as generative-recommenders) or `'length'`
   * (the sequence's own length n_b).
   */
  normalization?: 'maxLength' | 'length';
  /** Causal (default true): position i sees j <= i (in the mask's ids); false: |id_i - id_j| counts. */
  causal?: boolean;
  /**
   * `[B]` Int32Array: the last `numTargets[b]` events of sequence b are targets (0..n_b): they see
   * the history and themselves, not each other. Default none.
   */
  numTargets?: Int32Array | null;
  /** Pairs further apart than this (in mask ids) are invisible; 0 (default) = unlimited. A non-negative integer. */
  maxAttnLen?: number;
  /** c: the first c positions of every sequence form a contextual prefix every position sees (default 0). */
  contextualLength?: number;
  /** Learned relative-position bias: `[2N-1]` shared by the heads or `[H,2N-1]` per head; entry N-1+(j-i). */
  positionBias?: TensorLike | null;
  /**
   * `[T]` per-event timestamps (Float64Array, Int32Array or Float32Array, any unit), jagged like
   * q; finite (a ValueError names the first that is not). They may repeat or go backwards: the
   * bucket is taken of |Δt|, as the reference implementation does. Needs `timeBias`.
   */
  timestamps?: HstuTimestamps | null;
  /**
   * Bucketed time-delta bias: `[numBuckets+1]` shared or `[H,numBuckets+1]` per head (numBuckets is
   * read from its length). Bucket of Δ = `clamp(floor(ln(max(|Δ|,1)) / 0.301), 0, numBuckets)`.
   * Needs `timestamps`.
   */
  timeBias?: TensorLike | null;
  /**
   * Write the `[T,H,Dv]` output into this Float32Array (exactly T·H·Dv elements, sharing no memory
   * with any input) and return it as the result's values, instead of allocating (see sdpa's `out`).
   */
  out?: Float32Array | null;
}

/** The options every HSTU call shares (the forward adds `out`). Internal. */
export const HSTU_OPTIONS: Readonly<Record<string, OptionSpec>> = {
  alpha: { kind: 'finite', doc: 'logit scale α (default 1/sqrt(D))' },
  maxLength: { kind: 'positiveInt', doc: 'N: the position table spans 2N-1 offsets and the default divisor (default: the longest sequence)' },
  normalization: { kind: 'enum', values: ['maxLength', 'length'], default: 'maxLength', doc: "divisor of SiLU(z): 'maxLength' (N) or 'length' (n_b)" },
  causal: { kind: 'boolean', default: true, doc: 'causal mask (default true)' },
  numTargets: { kind: 'lengths', doc: '[B] Int32Array: targets at the end of each sequence (see the history, not each other)' },
  maxAttnLen: { kind: 'finite', doc: 'pairs further apart than this are invisible; 0 = unlimited (a non-negative integer)' },
  contextualLength: { kind: 'finite', doc: 'c leading positions every position sees (a non-negative integer; default 0)' },
  positionBias: { kind: 'bias', doc: '[2N-1] or [H,2N-1] relative-position bias' },
  timestamps: { kind: 'timestamps', doc: '[T] event times (Float64Array, Int32Array or Float32Array); needs timeBias' },
  timeBias: { kind: 'bias', doc: '[numBuckets+1] or [H,numBuckets+1] bucketed time-delta bias; needs timestamps' },
};

const MAX_INT32 = 0x7fffffff;
/** Growth of the time buckets: bucket u starts at exp(0.301·u) (generative-recommenders' log base). */
const TIME_BUCKET_LOG_STEP = 0.301;

/** Jagged parameter specs of q, k, v (and dOut). */
export const jaggedParam = (name: string, dims: readonly string[]): ParamSpec => ({ name, kind: 'jagged', dims });

/** A checked HSTU call: the kernel args (without `out`) and the shapes the result is wrapped in. */
export interface CheckedHstuCall {
  args: Omit<HstuAttentionArgs, 'out'>;
  q: CheckedJagged;
  k: CheckedJagged;
  v: CheckedJagged;
  T: number;
  /** The shapes of positionBias and timeBias as given (empty when absent). */
  positionBiasShape: number[];
  timeBiasShape: number[];
  o: Record<string, unknown>;
}

/** `key in obj`, where a Proxy trap that throws is a DTypeError naming the argument. */
function hasKey(obj: object, key: string, argument: string): boolean {
  try {
    return key in obj;
  } catch (e) {
    throw new DTypeError(argument, 'a jagged tensor ({ values, offsets })', 'an object whose property check throws', String((e as Error)?.message ?? e));
  }
}

/** A float32 jagged argument `[total, ...pattern]` (a half one is a DTypeError: HSTU takes float32 only). Internal. */
export function float32Jagged(value: unknown, argument: string, pattern: readonly string[], expect?: Parameters<typeof asJagged>[3]): CheckedJagged {
  // A plain (padded or flat) tensor where a jagged one belongs: say how to make one.
  if (value !== null && typeof value === 'object' && !hasKey(value, 'values', argument) && (hasKey(value, 'data', argument) || hasKey(value, 'dims', argument))) {
    throw new DTypeError(argument, `a jagged float32 tensor ({ values: [T,${pattern.join(',')}], offsets: Int32Array [B+1] })`, 'a plain tensor', 'wrap it with jagged(values, offsets), or fromPadded(padded, lengths)');
  }
  const j = asJagged(value, argument, pattern, expect);
  if (j.dtype !== 'float32') throw new DTypeError(`${argument}.values`, 'a float32 tensor', `a ${j.dtype} tensor`, 'HSTU attention takes float32 only: widen it with toFloat32');
  return j;
}

/** Require `other.offsets` to hold the same offsets as `q.offsets` (self-attention within each sequence). */
export function sameOffsets(q: CheckedJagged, other: CheckedJagged, argument: string): void {
  if (other.offsets === q.offsets) return;
  for (let b = 0; b <= q.batch; b++) {
    if (other.offsets[b] !== q.offsets[b]) {
      throw new ValueError(`${argument}.offsets`, `expected the same offsets as q.offsets (attention within each sequence), received ${argument}.offsets[${b}] = ${other.offsets[b]} where q.offsets[${b}] = ${q.offsets[b]}`);
    }
  }
}

/** A non-negative int32 option (default 0), read through the descriptor's spec first. */
function count(d: Pick<OpDescriptor, 'options'>, o: Record<string, unknown>, key: string): number {
  const x: number = readOption(d, o, key, 0);
  if (!Number.isInteger(x) || x < 0 || x > MAX_INT32) throw new ValueError(`options.${key}`, `expected an integer within 0..2^31-1, received ${x}`);
  return x;
}

/** `options.timestamps` checked and widened to a fresh Float64Array `[T]` of finite values. */
function checkTimestamps(value: unknown, T: number): Float64Array {
  const argument = 'options.timestamps';
  const expected = `a Float64Array, Int32Array or Float32Array of [T=${T}] event times`;
  let t: HstuTimestamps;
  if (value instanceof Float64Array) t = liveTypedArray(value, argument, Float64Array, expected);
  else if (value instanceof Int32Array) t = liveTypedArray(value, argument, Int32Array, expected);
  else if (value instanceof Float32Array) t = liveTypedArray(value, argument, Float32Array, expected);
  else throw new DTypeError(argument, expected, describeType(value));
  if (t.length !== T) throw new ShapeError(argument, `[T=${T}] (one time per row of q)`, `[${t.length}]`);
  const out = new Float64Array(T);
  for (let i = 0; i < T; i++) {
    const x = t[i];
    if (!Number.isFinite(x)) throw new ValueError(`${argument}[${i}]`, `expected a finite time, received ${x}`);
    out[i] = x;
  }
  return out;
}

/** A bias table `[n]` (shared) or `[H,n]` (per head) with n = `width` (or any n >= 1 when width is null). */
function biasTable(value: unknown, argument: string, H: number, width: number | null, widthName: string, hint: string): { data: Float32Array; shape: number[]; perHead: boolean; width: number } {
  const t = asTensor(value, argument);
  const s = t.shape;
  const w = width === null ? `${widthName} >= 1` : `${widthName}=${width}`;
  const ok = (n: number) => (width === null ? n >= 1 : n === width);
  if (s.length === 1 && ok(s[0])) return { data: t.data, shape: s, perHead: false, width: s[0] };
  if (s.length === 2 && s[0] === H && ok(s[1])) return { data: t.data, shape: s, perHead: true, width: s[1] };
  throw new ShapeError(argument, `[${w}] (shared by the heads) or [H=${H},${w}] (per head)`, formatShape(s), hint);
}

/**
 * Check an HSTU call's q, k, v and shared options (`d` names the op whose option specs apply) and
 * build its kernel args, without `out`. Every bad argument is a typed error naming it.
 */
export function checkHstuCall(d: Pick<OpDescriptor, 'options'>, q: unknown, k: unknown, v: unknown, options: unknown): CheckedHstuCall {
  const o = optionsFor<Record<string, unknown>>(d, options) as Record<string, unknown>;
  const qj = float32Jagged(q, 'q', ['H', 'D']);
  const [T, H, D] = qj.shape;
  const B = qj.batch;
  expectNonEmpty('q.values', qj.shape, 1, ['total', 'H', 'D']);
  expectNonEmpty('q.values', qj.shape, 2, ['total', 'H', 'D']);
  const kj = float32Jagged(k, 'k', ['H', 'D'], { batch: B, inner: [H, D] });
  sameOffsets(qj, kj, 'k');
  const vj = float32Jagged(v, 'v', ['H', 'Dv'], { batch: B, inner: [H, null] });
  sameOffsets(qj, vj, 'v');
  const Dv = vj.shape[2];
  expectNonEmpty('v.values', vj.shape, 2, ['total', 'H', 'Dv']);
  let longest = 0;
  let longestAt = 0;
  for (let b = 0; b < B; b++) {
    const n = qj.offsets[b + 1] - qj.offsets[b];
    if (n > longest) {
      longest = n;
      longestAt = b;
    }
  }
  const alpha: number = readOption(d, o, 'alpha', 1 / Math.sqrt(D));
  const maxLength: number = readOption(d, o, 'maxLength', Math.max(1, longest));
  if (maxLength < longest) throw new ValueError('options.maxLength', `expected N >= the longest sequence (sequence ${longestAt} has ${longest} events), received ${maxLength}`);
  if (2 * maxLength - 1 > MAX_INT32) throw new ValueError('options.maxLength', `expected N <= 2^30 (the position table has 2N-1 entries), received ${maxLength}`);
  const normalization: 'maxLength' | 'length' = readOption(d, o, 'normalization');
  const causal: boolean = readOption(d, o, 'causal');
  const maxAttnLen = count(d, o, 'maxAttnLen');
  const contextualLength = count(d, o, 'contextualLength');
  let numTargets: Int32Array | null = null;
  if (o.numTargets !== undefined && o.numTargets !== null) {
    numTargets = liveTypedArray(o.numTargets, 'options.numTargets', Int32Array, `an Int32Array of [B=${B}] target counts`);
    if (numTargets.length !== B) throw new ShapeError('options.numTargets', `[B=${B}] (one count per sequence)`, `[${numTargets.length}]`);
    for (let b = 0; b < B; b++) {
      const n = qj.offsets[b + 1] - qj.offsets[b];
      if (!(numTargets[b] >= 0 && numTargets[b] <= n)) throw new ValueError(`options.numTargets[${b}]`, `expected a count within 0..${n} (sequence ${b} has ${n} events), received ${numTargets[b]}`);
    }
    numTargets = numTargets.slice();
  }
  let positionBias: Float32Array | null = null;
  let positionBiasPerHead = false;
  let positionBiasShape: number[] = [];
  if (o.positionBias !== undefined && o.positionBias !== null) {
    const hint = o.maxLength === undefined ? `N = the longest sequence (${maxLength}) since options.maxLength is not given: pass the N the table was made for` : `N = options.maxLength = ${maxLength}`;
    const t = biasTable(o.positionBias, 'options.positionBias', H, 2 * maxLength - 1, '2N-1', hint);
    positionBias = t.data;
    positionBiasPerHead = t.perHead;
    positionBiasShape = t.shape;
  }
  const hasTimes = o.timestamps !== undefined && o.timestamps !== null;
  const hasTimeBias = o.timeBias !== undefined && o.timeBias !== null;
  if (hasTimes !== hasTimeBias) {
    throw new ValueError(hasTimes ? 'options.timeBias' : 'options.timestamps', hasTimes ? 'is missing: options.timestamps needs a time-bias table ([numBuckets+1] or [H,numBuckets+1]), or leave both out' : 'is missing: options.timeBias needs the [T] event times, or leave both out');
  }
  let timestamps: Float64Array | null = null;
  let timeBias: Float32Array | null = null;
  let timeBiasPerHead = false;
  let numBuckets = 0;
  let timeBucketThresholds: Float64Array | null = null;
  let timeBiasShape: number[] = [];
  if (hasTimes) {
    timestamps = checkTimestamps(o.timestamps, T);
    const t = biasTable(o.timeBias, 'options.timeBias', H, null, 'numBuckets+1', 'one entry per time bucket 0..numBuckets');
    timeBias = t.data;
    timeBiasPerHead = t.perHead;
    timeBiasShape = t.shape;
    numBuckets = t.width - 1;
    timeBucketThresholds = new Float64Array(numBuckets);
    for (let u = 1; u <= numBuckets; u++) timeBucketThresholds[u - 1] = Math.exp(TIME_BUCKET_LOG_STEP * u);
  }
  const args: Omit<HstuAttentionArgs, 'out'> = {
    q: qj.data as Float32Array, k: kj.data as Float32Array, v: vj.data as Float32Array, offsets: qj.offsets, B, H, D, Dv,
    maxLength, alpha, normalization, causal, numTargets, maxAttnLen, contextualLength,
    positionBias, positionBiasPerHead, timestamps, timeBias, timeBiasPerHead, numBuckets, timeBucketThresholds,
  };
  return { args, q: qj, k: kj, v: vj, T, positionBiasShape, timeBiasShape, o };
}

/**
 * The kernel args of a checked call plus `out` (forward) or `dOut` (backward), as one object
 * literal: a spread of the checked args (`{ ...c.args, out }`) made V8 grow its young generation
 * to 32 MiB over a few thousand small reference calls (test/memory.test.mjs measured 15.6 MiB of
 * RSS growth); a literal of the same fields did not. Internal.
 */
export function hstuKernelArgs(a: Omit<HstuAttentionArgs, 'out'>, out: Float32Array | null): HstuAttentionArgs;
export function hstuKernelArgs(a: Omit<HstuAttentionArgs, 'out'>, out: null, dOut: Float32Array): HstuAttentionBackwardArgs;
export function hstuKernelArgs(a: Omit<HstuAttentionArgs, 'out'>, out: Float32Array | null, dOut?: Float32Array): HstuAttentionArgs | HstuAttentionBackwardArgs {
  if (dOut) {
    return {
      q: a.q, k: a.k, v: a.v, offsets: a.offsets, B: a.B, H: a.H, D: a.D, Dv: a.Dv, maxLength: a.maxLength, alpha: a.alpha, normalization: a.normalization, causal: a.causal,
      numTargets: a.numTargets, maxAttnLen: a.maxAttnLen, contextualLength: a.contextualLength, positionBias: a.positionBias, positionBiasPerHead: a.positionBiasPerHead,
      timestamps: a.timestamps, timeBias: a.timeBias, timeBiasPerHead: a.timeBiasPerHead, numBuckets: a.numBuckets, timeBucketThresholds: a.timeBucketThresholds, dOut,
    };
  }
  return {
    q: a.q, k: a.k, v: a.v, offsets: a.offsets, B: a.B, H: a.H, D: a.D, Dv: a.Dv, maxLength: a.maxLength, alpha: a.alpha, normalization: a.normalization, causal: a.causal,
    numTargets: a.numTargets, maxAttnLen: a.maxAttnLen, contextualLength: a.contextualLength, positionBias: a.positionBias, positionBiasPerHead: a.positionBiasPerHead,
    timestamps: a.timestamps, timeBias: a.timeBias, timeBiasPerHead: a.timeBiasPerHead, numBuckets: a.numBuckets, timeBucketThresholds: a.timeBucketThresholds, out,
  };
}

function prepareHstuAttention(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: HstuAttentionOptions | null): Prepared<'hstuAttention', JaggedTensor> {
  const c = checkHstuCall(hstuAttentionOp, q, k, v, options);
  const { T } = c;
  const { H, Dv } = c.args;
  const shape = [T, H, Dv];
  const out = optionalOut(c.o.out, 'options.out', T * H * Dv, `[T,H,Dv]=${formatShape(shape)}`, [
    ['q.values', c.args.q], ['k.values', c.args.k], ['v.values', c.args.v], ['options.positionBias', c.args.positionBias], ['options.timeBias', c.args.timeBias],
  ]);
  const args = hstuKernelArgs(c.args, out);
  return {
    op: 'hstuAttention',
    args,
    layout: () => rowMajorLayout(T * H, { output: shape }),
    wrap: (r) => ({ values: { data: intoOut(r, out), shape }, offsets: c.q.offsets }),
  };
}

/**
 * HSTU attention over jagged sequences (Zhai et al. 2024; generative-recommenders'
 * `pytorch_hstu_mha`). q, k `[T,H,D]` and v `[T,H,Dv]` are jagged tensors with the same offsets
 * (`[B+1]`, sequence b = rows `offsets[b]..offsets[b+1]-1`, length n_b); self-attention within
 * each sequence, per head, no softmax:
 *
 *   z_ij = α·q_i·k_j + posBias(j - i) + timeBias(bucket(|t_{min(i+1,n-1)} - t_j|))
 *   y_i  = Σ_j SiLU(z_ij) / norm · M(i, j) · v_j
 *
 * with `norm` = N (`options.maxLength`, default the longest sequence) or n_b, and M the causal,
 * target-aware, maxAttnLen-limited, contextual mask of generative-recommenders (README, "HSTU
 * attention", has the rules and an example). Returns the jagged `[T,H,Dv]` output, offsets
 * `q.offsets` (the same Int32Array). Float32 only.
 *
 * Throws ShapeError / DTypeError / ValueError naming the argument before any backend runs: q, k,
 * v not jagged or of mismatched heads or widths, offsets that differ from q's, maxLength below the
 * longest sequence, numTargets outside 0..n_b, a bias table of the wrong length, timestamps
 * without timeBias (or the reverse), a non-finite timestamp.
 *
 * @example
 * const offsets = offsetsFromLengths([3, 1]);
 * const q = jagged(random([4, 2, 8], { seed: 1 }), offsets);
 * const { values } = hstuAttention(q, q, q, { numTargets: new Int32Array([1, 0]) });
 */
export function hstuAttention(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: HstuAttentionOptions | null, dispatchOptions?: DispatchOptions): JaggedTensor {
  return run(prepareHstuAttention(q, k, v, options), dispatchOptions);
}

/** The async twin of {@link hstuAttention}: runs off the main thread where the backend can. */
export function hstuAttentionAsync(q: JaggedLike, k: JaggedLike, v: JaggedLike, options?: HstuAttentionOptions | null, dispatchOptions?: DispatchOptions): Promise<JaggedTensor> {
  return runAsync(() => prepareHstuAttention(q, k, v, options), dispatchOptions);
}

// ---------------------------------------------------------------------------------------------
// Case builders (shared with hstuAttentionBackward's descriptor).

/** A jagged `[T, H, X]` of seeded uniform [-scale, scale) values over `offsets`. */
export function jaggedRnd(offsets: Int32Array, H: number, X: number, seed: number, scale = 1): JaggedTensor {
  const T = offsets[offsets.length - 1];
  const t = random([T, H, X], { seed });
  if (scale !== 1) for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
  return { values: t, offsets };
}

/** Offsets `[B+1]` of the given lengths. */
export function offsetsOf(lengths: readonly number[]): Int32Array {
  const o = new Int32Array(lengths.length + 1);
  lengths.forEach((n, b) => (o[b + 1] = o[b] + n));
  return o;
}

/** `[T]` timestamps: sequence-local event times from `timeOf(b, i)`. */
export function timesOf(offsets: Int32Array, timeOf: (b: number, i: number) => number): Float64Array {
  const t = new Float64Array(offsets[offsets.length - 1]);
  for (let b = 0; b + 1 < offsets.length; b++) for (let i = 0; i < offsets[b + 1] - offsets[b]; i++) t[offsets[b] + i] = timeOf(b, i);
  return t;
}

/** One HSTU check: q, k, v over `lengths` and the options built from them. */
export interface HstuCheck {
  label: string;
  q: JaggedTensor;
  k: JaggedTensor;
  v: JaggedTensor;
  options: HstuAttentionOptions;
  logitMagnitude?: number;
}

/**
 * The random and adversarial HSTU calls both HSTU descriptors check (the backward adds dOut):
 * lengths 0 and 1, one long sequence among short ones, D != Dv, H = 1 and 3, targets (0 and
 * n_b), contextual prefixes, maxAttnLen, non-causal, both normalizations, shared and per-head
 * position and time biases, timestamps that repeat and go backwards (Float64Array, Int32Array,
 * Float32Array), logits of size ~80 (SiLU saturates) and NaN / Inf in positions the mask hides.
 */
export function hstuChecks(quick: boolean): HstuCheck[] {
  const out: HstuCheck[] = [];
  let seed = 1701;
  const add = (label: string, lengths: number[], H: number, D: number, Dv: number, options: (offsets: Int32Array) => HstuAttentionOptions, scale = 1) => {
    const offsets = offsetsOf(lengths);
    seed += 3;
    out.push({ label: `lengths [${lengths}] H=${H} D=${D} Dv=${Dv}: ${label}`, q: jaggedRnd(offsets, H, D, seed, scale), k: jaggedRnd(offsets, H, D, seed + 1, scale), v: jaggedRnd(offsets, H, Dv, seed + 2), options: options(offsets) });
    return out[out.length - 1];
  };
  const bias = (shape: number[], s: number, scale = 0.5): Tensor => {
    const t = random(shape, { seed: s });
    for (let i = 0; i < t.data.length; i++) t.data[i] *= scale;
    return t;
  };
  const long = quick ? 60 : 300;
  add('defaults (causal, maxLength normalization)', [3, 0, 1, 5], 2, 4, 4, () => ({}));
  add('sequences of length 0 and 1, D != Dv', [0, 1, 0, 2], 1, 3, 5, () => ({}));
  add(`one long sequence (${long}) among short ones`, [2, long, 1, 7], 1, 8, 4, () => ({}));
  add('numTargets 0, n_b and between', [4, 3, 6], 3, 5, 2, () => ({ numTargets: new Int32Array([0, 3, 2]) }));
  add('contextualLength 2 with targets', [5, 2, 7, 1], 2, 4, 3, () => ({ contextualLength: 2, numTargets: new Int32Array([1, 0, 2, 0]) }));
  add('maxAttnLen 2', [6, 9, 1], 2, 4, 4, () => ({ maxAttnLen: 2 }));
  add('not causal', [5, 3, 0], 2, 3, 4, () => ({ causal: false }));
  add('not causal, maxAttnLen 1, contextualLength 1, targets', [6, 4], 1, 4, 2, () => ({ causal: false, maxAttnLen: 1, contextualLength: 1, numTargets: new Int32Array([2, 1]) }));
  add("normalization 'length', alpha 0.7", [4, 1, 6], 2, 4, 4, () => ({ normalization: 'length', alpha: 0.7 }));
  add('shared position bias, maxLength 9 > longest', [4, 7, 0], 2, 4, 3, () => ({ maxLength: 9, positionBias: bias([17], 11) }));
  add('per-head position bias', [5, 3], 3, 2, 2, () => ({ positionBias: bias([3, 9], 12) }));
  add('increasing timestamps, shared time bias (12 buckets)', [5, 4, 1], 2, 4, 4, (o) => ({ timestamps: timesOf(o, (b, i) => 1000 * b + i * i * 37), timeBias: bias([13], 13) }));
  add('timestamps repeating and going backwards (Int32Array), per-head time bias', [6, 5], 3, 3, 2, (o) => ({
    timestamps: Int32Array.from(timesOf(o, (b, i) => [50, 50, 10, 4000, 4000, 3, 2e6][i] + b)), timeBias: bias([3, 21], 14),
  }));
  add('Float32Array timestamps, per-head position and time bias, targets, contextual, maxAttnLen, length normalization', [7, 3, 0, 5], 2, 4, 3, (o) => ({
    timestamps: Float32Array.from(timesOf(o, (b, i) => 100 * (i % 3) - 7 * i + b)), timeBias: bias([2, 9], 15), positionBias: bias([2, 13], 16), numTargets: new Int32Array([2, 1, 0, 5]),
    contextualLength: 1, maxAttnLen: 3, normalization: 'length',
  }));
  // Logits of size ~80: SiLU(z) ~ z on the positive side and ~ z·e^z (tiny) on the negative side.
  const big = add('large logits (|α·q·k| up to ~80)', [6, 4], 2, 4, 3, () => ({ alpha: 6 }), 2.7);
  big.logitMagnitude = largestLogit(big);
  // NaN / Inf in positions the mask hides from every other row: a target (seen only by itself)
  // in sequence 0, the last event (causal: seen only by itself) of sequence 1.
  {
    const lengths = [5, 4];
    const offsets = offsetsOf(lengths);
    const H = 2;
    const D = 3;
    const Dv = 2;
    const q = jaggedRnd(offsets, H, D, 91);
    const k = jaggedRnd(offsets, H, D, 92);
    const v = jaggedRnd(offsets, H, Dv, 93);
    const poison = (t: JaggedTensor, row: number, X: number, value: number) => {
      for (let h = 0; h < H; h++) (t.values.data as Float32Array)[(row * H + h) * X] = value;
    };
    poison(q, 3, D, NaN);
    poison(k, 3, D, Infinity);
    poison(v, 3, Dv, NaN);
    poison(k, 8, D, NaN);
    poison(v, 8, Dv, Infinity);
    out.push({ label: 'lengths [5,4] H=2 D=3 Dv=2: NaN/Inf in a target and in a last event (hidden from every other row): no leak', q, k, v, options: { numTargets: new Int32Array([2, 0]), positionBias: bias([9], 17) } });
  }
  return quick ? out.filter((_, i) => i % 2 === 0 || i === out.length - 1) : out;
}

/** The largest |α·q_i·k_j| over the pairs of each sequence of a check (its logit size, OpCase.logitMagnitude). */
function largestLogit(c: HstuCheck): number {
  const q = c.q.values as Tensor, k = c.k.values as Tensor;
  const [, H, D] = q.shape;
  const alpha = c.options.alpha ?? 1 / Math.sqrt(D);
  const off = c.q.offsets;
  let m = 0;
  for (let b = 0; b + 1 < off.length; b++)
    for (let i = off[b]; i < off[b + 1]; i++)
      for (let j = off[b]; j < off[b + 1]; j++)
        for (let h = 0; h < H; h++) {
          let dot = 0;
          for (let d = 0; d < D; d++) dot += q.data[(i * H + h) * D + d] * k.data[(j * H + h) * D + d];
          m = Math.max(m, Math.abs(alpha * dot));
        }
  return m;
}

/** The longest sequence of a jagged tensor's offsets. */
function longestOf(offsets: Int32Array): number {
  let m = 0;
  for (let b = 0; b + 1 < offsets.length; b++) m = Math.max(m, offsets[b + 1] - offsets[b]);
  return m;
}

/** A random valid HSTU call (q, k, v, options) for the fuzzer. */
export function randomHstuCall(R: CaseRandom, small: boolean): [JaggedTensor, JaggedTensor, JaggedTensor, HstuAttentionOptions] {
  const B = R.int(1, 3);
  const lengths = Array.from({ length: B }, () => R.int(0, small ? 4 : 7));
  const offsets = offsetsOf(lengths);
  const T = offsets[B];
  const H = R.int(1, 2);
  const D = R.int(1, small ? 4 : 6);
  const Dv = R.int(1, small ? 4 : 6);
  const j = (X: number): JaggedTensor => ({ values: randT(R, [T, H, X]), offsets });
  const o: HstuAttentionOptions = {};
  const longest = longestOf(offsets);
  if (R.bool(0.3)) o.maxLength = Math.max(1, longest) + R.int(0, 2);
  const N = o.maxLength ?? Math.max(1, longest);
  if (R.bool(0.3)) o.causal = R.bool();
  if (R.bool(0.3)) o.normalization = R.pick(['maxLength', 'length'] as const);
  if (R.bool(0.2)) o.alpha = R.f() * 2 - 0.5;
  if (R.bool(0.3)) o.numTargets = Int32Array.from(lengths, (n) => R.int(0, n));
  if (R.bool(0.3)) o.maxAttnLen = R.int(0, 3);
  if (R.bool(0.3)) o.contextualLength = R.int(0, 3);
  if (R.bool(0.4)) o.positionBias = randT(R, R.bool() ? [2 * N - 1] : [H, 2 * N - 1]);
  if (R.bool(0.4)) {
    const nb = R.int(0, 12);
    o.timeBias = randT(R, R.bool() ? [nb + 1] : [H, nb + 1]);
    const t = Float64Array.from({ length: T }, () => Math.floor(R.f() * 5000));
    o.timestamps = R.pick([() => t, () => Int32Array.from(t), () => Float32Array.from(t)])();
  }
  return [j(D), j(D), j(Dv), o];
}

/** The op's own invalid argument, for the fuzzer (options at `optionsAt`); returns what it did. */
export function invalidateHstu(R: CaseRandom, a: unknown[], optionsAt: number, qAt: number): string {
  const o = optionsArg(a, optionsAt);
  const q = a[qAt] as JaggedTensor;
  const offsets = q.offsets;
  const B = offsets.length - 1;
  const longest = longestOf(offsets);
  const how = R.int(0, 3);
  if (how === 0 && longest >= 2) {
    o.maxLength = longest - 1;
    return `options.maxLength := ${longest - 1} (below the longest sequence)`;
  }
  if (how === 1) {
    const b = R.int(0, B - 1);
    const t = new Int32Array(B);
    t[b] = offsets[b + 1] - offsets[b] + 1;
    o.numTargets = t;
    return `options.numTargets[${b}] := n_b + 1`;
  }
  if (how === 2) {
    o.timestamps = new Float64Array(offsets[B]);
    o.timeBias = null;
    return 'options.timestamps without options.timeBias';
  }
  o.normalization = 'sum';
  return "options.normalization := 'sum'";
}

/** Visible (i, j) pairs of a causal sequence of length n with no other limit. */
const causalPairs = (n: number): number => (n * (n + 1)) / 2;

/** Bench lengths: B sequences, long-tailed (a seeded lognormal around `mean`, capped at `max`). */
export function benchLengths(B: number, mean: number, max: number, seed: number): number[] {
  const u = random([2 * B], { seed }).data;
  const sigma = 1;
  const mu = Math.log(mean) - (sigma * sigma) / 2;
  return Array.from({ length: B }, (_, b) => {
    const r = Math.sqrt(-2 * Math.log((u[2 * b] + 1.000001) / 2.000002)) * Math.cos(Math.PI * u[2 * b + 1]);
    return Math.max(1, Math.min(max, Math.round(Math.exp(mu + sigma * r))));
  });
}

/** Bench shapes of both HSTU ops: a long-tailed batch of histories. */
export function hstuBenchShape(quick: boolean): { B: number; H: number; D: number; lengths: number[]; T: number; pairs: number } {
  const B = quick ? 16 : 256;
  const lengths = benchLengths(B, 60, quick ? 256 : 1024, 5);
  return { B, H: 2, D: 32, lengths, T: lengths.reduce((s, n) => s + n, 0), pairs: lengths.reduce((s, n) => s + causalPairs(n), 0) };
}

const f32 = (a: readonly number[]): Float32Array => Float32Array.from(a);
const silu = (z: number): number => z / (1 + Math.exp(-z));
const jt = (data: readonly number[], offsets: readonly number[], H: number, X: number): JaggedTensor => ({ values: { data: f32(data), shape: [data.length / (H * X), H, X] }, offsets: Int32Array.from(offsets) });

/** The hstuAttention descriptor. */
export const hstuAttentionOp: OpDescriptor<'hstuAttention'> = defineOp({
  name: 'hstuAttention',
  summary: 'HSTU pointwise attention over jagged sequences: SiLU(α·q·k + position/time bias) / N under the causal/target/contextual mask, times v',
  signature: 'hstuAttention(q, k, v, options?, dispatch?)',
  params: [jaggedParam('q', ['T', 'H', 'D']), jaggedParam('k', ['T', 'H', 'D']), jaggedParam('v', ['T', 'H', 'Dv']), 'options'],
  options: {
    ...HSTU_OPTIONS,
    out: { kind: 'out', doc: 'write the [T,H,Dv] output into this Float32Array' },
  },
  tolerances: {
    // NOT MEASURED YET: the native kernel lands on branch hstu-native, whose helper measures it
    // with node bench/tolerances.mjs --op hstuAttention and replaces this entry (4x rule). Until
    // then native has no hstuAttention kernel (an UnsupportedOpError), so this value is never used.
    native: { rtol: 1e-4, atol: 1e-5 },
    // gpu on llvmpipe: max rel 2.4e-6, then 3.3e-9 of atol (max abs 3.9e-3, on outputs of ~1e3 from the
    // edge cases' 1e4 logits; 42 outputs: the descriptor checks, test/gpu.test.mjs's shared specs,
    // test/gpu-hstu.test.mjs, test/edge.test.mjs).
    gpu: { rtol: 9.8e-6, atol: 1.3e-8 },
  },
  // Per visible pair: the logit (2·D), SiLU (nominal 4), the weighted value sum (2·Dv). Causal, no other limit.
  cost: (s) => {
    const { H, D, T, pairs } = s as Record<string, number>;
    const Dv = (s.Dv as number | undefined) ?? D;
    return { flops: H * pairs * (2 * D + 4 + 2 * Dv), bytes: 4 * T * H * (2 * D + 2 * Dv) };
  },
  fn: hstuAttention,
  fnAsync: hstuAttentionAsync,
  native: { isaKernel: true },
  half: false,
  cases: {
    knownAnswers() {
      const answers: KnownAnswer[] = [];
      // H = D = Dv = 1, α = 1, an empty sequence then one of 2: N = 2, causal. Row 0 sees itself
      // (z = 1·1), row 1 sees key 0 (z = 2·1) and itself (z = 2·0 = 0, SiLU(0) = 0).
      answers.push({
        label: 'two events, α = 1: y = SiLU(q·k)/N · v over the causal pairs',
        args: [jt([1, 2], [0, 0, 2], 1, 1), jt([1, 0], [0, 0, 2], 1, 1), jt([3, 5], [0, 0, 2], 1, 1), { alpha: 1 }],
        want: { values: [(silu(1) / 2) * 3, (silu(2) / 2) * 3] },
      });
      // q = 0, position bias 1 everywhere: every visible pair has A = SiLU(1)/N, so y_i = SiLU(1)/4 ·
      // Σ over i's visible j of v_j. n = 4 with 2 targets: ids [0,1,2,2], so row 2 sees 0,1,2 and row
      // 3 sees 0,1,3 (targets see the history and themselves, not each other).
      {
        const s = silu(1) / 4;
        answers.push({
          label: 'targets: q = 0, position bias 1, numTargets 2 of 4 (the targets do not see each other)',
          args: [jt([0, 0, 0, 0], [0, 4], 1, 1), jt([0, 0, 0, 0], [0, 4], 1, 1), jt([1, 10, 100, 1000], [0, 4], 1, 1), { numTargets: new Int32Array([2]), positionBias: { data: new Float32Array(7).fill(1), shape: [7] } }],
          want: { values: [s * 1, s * 11, s * 111, s * 1011] },
        });
      }
      // Contextual prefix c = 2, n = 4, not causal... kept causal: ids [0,0,1,2] (p - c + 1 clamped),
      // maxId = 3; row 0 and row 1 have id 0 and see every j with id < 3: all four; row 2 (id 1)
      // sees ids 0 (rows 0, 1) and itself; row 3 (id 2) sees rows 0, 1, 2 and itself. q = 0, no
      // bias: z = 0 and SiLU(0) = 0 everywhere, so use the 'length' normalization with a time bias
      // instead (timestamps all equal: |Δ| = 0, bucket 0): z = timeBias[0] = 2.
      {
        const s = silu(2) / 4;
        answers.push({
          label: 'contextual prefix of 2: rows 0, 1 see every event; time bias bucket 0 (equal timestamps)',
          args: [jt([0, 0, 0, 0], [0, 4], 1, 1), jt([0, 0, 0, 0], [0, 4], 1, 1), jt([1, 10, 100, 1000], [0, 4], 1, 1), { contextualLength: 2, normalization: 'length', timestamps: new Float64Array(4).fill(7), timeBias: { data: f32([2, -5, -5]), shape: [3] } }],
          want: { values: [s * 1111, s * 1111, s * 111, s * 1111] },
        });
      }
      // Time buckets from timestamps [0, 10, 100]: the query time of row i is t[min(i+1, 2)] =
      // [10, 100, 100], so |Δ| = 10 (row 0, key 0), 100 and 90 (row 1), 100, 90, 0 (row 2); the buckets
      // floor(ln|Δ| / 0.301) are 7, 15, 14, 15, 14, 0. q = 0 and timeBias[u] = u/10: z = bucket/10.
      {
        const tb = Array.from({ length: 21 }, (_, u) => u / 10);
        const z = (u: number) => silu(Math.fround(u / 10)) / 3;
        answers.push({
          label: 'time buckets 7, 15, 14, 0 from timestamps [0, 10, 100] (the next event is the query time)',
          args: [jt([0, 0, 0], [0, 3], 1, 1), jt([0, 0, 0], [0, 3], 1, 1), jt([1, 10, 100], [0, 3], 1, 1), { timestamps: new Float64Array([0, 10, 100]), timeBias: { data: f32(tb), shape: [21] } }],
          want: { values: [z(7) * 1, z(15) * 1 + z(14) * 10, z(15) * 1 + z(14) * 10 + z(0) * 100] },
        });
      }
      return answers;
    },
    checks(quick) {
      return hstuChecks(quick).map((c): OpCase => ({ label: c.label, args: [c.q, c.k, c.v, c.options], ...(c.logitMagnitude ? { logitMagnitude: c.logitMagnitude } : {}) }));
    },
    bench(quick) {
      const s = hstuBenchShape(quick);
      const offsets = offsetsOf(s.lengths);
      return [{
        label: `long-tailed batch (lognormal, mean 60, max ${quick ? 256 : 1024})`,
        shape: { B: s.B, H: s.H, D: s.D, Dv: s.D, T: s.T, pairs: s.pairs },
        make: () => {
          const q = jaggedRnd(offsets, s.H, s.D, 1), k = jaggedRnd(offsets, s.H, s.D, 2), v = jaggedRnd(offsets, s.H, s.D, 3);
          return { args: [q, k, v, {}], outArgs: [q, k, v, { out: new Float32Array(s.T * s.H * s.D) }] };
        },
      } satisfies BenchCase];
    },
    random: (R, small) => randomHstuCall(R, small),
    small: () => {
      const offsets = offsetsOf([5, 0, 9, 2]);
      // N = 9 (the longest sequence): a [H=2, 17] position table.
      return [jaggedRnd(offsets, 2, 8, 1), jaggedRnd(offsets, 2, 8, 2), jaggedRnd(offsets, 2, 4, 3), { numTargets: new Int32Array([1, 0, 2, 0]), positionBias: rnd([2, 17], 4, 0.5), timestamps: timesOf(offsets, (_b, i) => 60 * i), timeBias: rnd([11], 5, 0.5) }];
    },
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate: (R, a) => invalidateHstu(R, a, 3, 0),
  },
});
