/**
 * Top-K scoring of users against an item table.
 *
 * @module
 */
import type { ComparisonAcc, DispatchOptions, OutputLayout, Tolerance } from '../dispatch';
import { compareElement, newComparison } from '../dispatch';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from '../errors';
import type { RowFilter, TopKArgs, TopKResult, DType, HalfDType } from '../kernels';
import { asInt32Tensor, asTensor, type Tensor, type FloatTensorLike, type TensorLike } from '../tensor';
import { liveTypedArray } from '../buffers';
import { expectDim, expectNonEmpty, HalfFields, optBool, optEnum, optionsObject } from '../validate';
import { randT, rnd, shapeOf } from './cases';
import { narrowOutput, run, runAsync, type Prepared, OUTPUT_DTYPE_OPTION, type Narrowed } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';

/**
 * Exclusion lists as one jagged index list (#17; FBGEMM / torchrec convention): user b's excluded
 * items are `values[offsets[b] .. offsets[b+1]-1]`. Equal to the array-of-lists form with those
 * slices; an empty slice excludes nothing.
 */
export interface JaggedExclude {
  /** Every user's excluded item indices back to back (ΣE_b of them). */
  readonly values: Int32Array;
  /** `[B+1]`: 0, then the end of each user's slice (non-decreasing; the last is `values.length`). */
  readonly offsets: Int32Array;
}

/** Options of {@link topK}. */
export interface TopKOptions {
  /**
   * Per user (length B): item indices to skip (seen items), or null. Each index in 0..N-1. Or the
   * same as one jagged list ({@link JaggedExclude}: `{ values, offsets }`, Int32Arrays).
   */
  exclude?: readonly (readonly number[] | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | null | undefined)[] | JaggedExclude | null;
  /**
   * true (default): the k largest scores, largest first. false: the k smallest, smallest first
   * (torch.topk's `largest=False`, ONNX TopK's `largest=0`). Ties go to the lower index either
   * way; NaN counts as the greatest value either way (as in PyTorch): NaN scores come first with
   * `largest: true` and last (after +Infinity) with `largest: false`. Must be a boolean.
   */
  largest?: boolean;
  /**
   * Element type of the returned scores (default `'float32'`): `'float16'` / `'bfloat16'` round the
   * float32 result to nearest even at the end (the computation is float32 whatever the inputs).
   */
  outputDtype?: DType;
}

/** The k best items per user. */
export interface TopKOutput {
  /** `[B,k]` item indices (Int32Array); -1 where fewer than k items remain. */
  indices: { data: Int32Array; shape: number[] };
  /** `[B,k]` scores; -Infinity (`largest: false`: +Infinity) where fewer than k items remain. */
  scores: Tensor;
}

/** Whether an exclusion argument is given in the jagged form (an object with `offsets`, not an array). */
function isJaggedExclude(raw: unknown, argument: string): boolean {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || ArrayBuffer.isView(raw)) return false;
  try {
    return 'offsets' in raw;
  } catch (e) {
    throw new DTypeError(argument, 'an array of index lists or a jagged { values, offsets }', 'an object whose fields cannot be inspected', String((e as Error)?.message ?? e));
  }
}

/**
 * A jagged exclusion list checked and copied (the copy is what every backend reads: a later change
 * to the caller's arrays changes nothing), as per-user views of the copy. `limit`: indices must be
 * below it (topK: N), or null for any non-negative int32 (shardExclude). B: the users expected, or
 * null for any B >= 1. Errors name `${argument}.values[i]` / `${argument}.offsets`.
 */
function checkJaggedExclude(raw: object, argument: string, B: number | null, limit: number | null): { values: Int32Array; offsets: Int32Array; lists: Int32Array[] } {
  let rv: unknown, ro: unknown;
  try {
    rv = (raw as { values?: unknown }).values;
    ro = (raw as { offsets?: unknown }).offsets;
  } catch (e) {
    throw new DTypeError(argument, 'a jagged index list { values: Int32Array, offsets: Int32Array }', 'an unreadable value (a getter or Proxy that throws)', String((e as Error)?.message ?? e));
  }
  const values = liveTypedArray(rv, `${argument}.values`, Int32Array, 'an Int32Array of item indices (every user\'s, back to back)').slice();
  const offsets = liveTypedArray(ro, `${argument}.offsets`, Int32Array, `an Int32Array [B+1]${B === null ? '' : ` (B=${B})`}`).slice();
  if (B !== null ? offsets.length !== B + 1 : offsets.length < 2) {
    throw new ShapeError(`${argument}.offsets`, B !== null ? `[B+1=${B + 1}] (one slice per user)` : '[B+1] with B >= 1', `[${offsets.length}]`);
  }
  if (offsets[0] !== 0) throw new ValueError(`${argument}.offsets`, `expected offsets[0] = 0 (user b's items are values[offsets[b]..offsets[b+1]-1]), received offsets[0] = ${offsets[0]}`);
  for (let b = 1; b < offsets.length; b++) {
    if (offsets[b] < offsets[b - 1]) throw new ValueError(`${argument}.offsets`, `expected non-decreasing offsets, received offsets[${b}] = ${offsets[b]} < offsets[${b - 1}] = ${offsets[b - 1]}`);
  }
  const users = offsets.length - 1;
  if (offsets[users] !== values.length) throw new ShapeError(`${argument}.offsets`, `offsets[B=${users}] = ${values.length}, the length of ${argument}.values`, `offsets[${users}] = ${offsets[users]}`);
  for (let i = 0; i < values.length; i++) {
    const n = values[i];
    if (n < 0 || (limit !== null && n >= limit)) {
      throw new ValueError(`${argument}.values[${i}]`, `expected an item index within 0..${limit === null ? '2^31-1' : limit - 1}, received ${n}`);
    }
  }
  const lists = Array.from({ length: users }, (_, b) => values.subarray(offsets[b], offsets[b + 1]));
  return { values, offsets, lists };
}

function checkExclude(raw: unknown, B: number, N: number): (Int32Array | null)[] | null {
  if (raw === undefined || raw === null) return null;
  // The jagged form: the same lists as views of one checked copy.
  if (isJaggedExclude(raw, 'options.exclude')) return checkJaggedExclude(raw as object, 'options.exclude', B, N).lists;
  if (!Array.isArray(raw)) throw new DTypeError('options.exclude', `an array of B=${B} index lists`, describeType(raw));
  let lists: unknown[];
  try {
    // Snapshot the lists (a Proxy or getter that throws becomes a typed error; nothing changes later).
    lists = Array.from(raw as unknown[], (l) => (Array.isArray(l) ? Array.from(l as unknown[]) : l));
  } catch (e) {
    throw new DTypeError('options.exclude', `an array of B=${B} index lists`, 'an unreadable value (a getter or Proxy that throws)', String((e as Error)?.message ?? e));
  }
  if (lists.length !== B) throw new ValueError('options.exclude', `expected one entry per user (B=${B}), received ${lists.length}`);
  return lists.map((list: unknown, b: number) => {
    if (list === null || list === undefined) return null;
    if (!(Array.isArray(list) || (ArrayBuffer.isView(list) && !(list instanceof DataView) && !(list instanceof BigInt64Array) && !(list instanceof BigUint64Array)))) {
      throw new DTypeError(`options.exclude[${b}]`, 'an array or typed array of item indices', describeType(list));
    }
    const arr = list as ArrayLike<unknown>;
    const out = new Int32Array(arr.length);
    for (let i = 0; i < arr.length; i++) {
      const n = arr[i];
      if (typeof n !== 'number' || !Number.isInteger(n) || n < 0 || n >= N) {
        throw new ValueError(`options.exclude[${b}][${i}]`, `expected an item index within 0..${N - 1}, received ${typeof n === 'number' ? n : describeType(n)}`);
      }
      out[i] = n;
    }
    return out;
  });
}

/** Recompute one score in float64 (used by verify when two backends rank near-ties differently). */
function dot(args: TopKArgs, b: number, n: number): number {
  let s = 0;
  for (let d = 0; d < args.D; d++) s += args.users[b * args.D + d] * args.items[n * args.D + d];
  return s;
}

/**
 * Compare topK results: scores within tolerance; an index may differ from reference's only when
 * its own true score is within tolerance of reference's score at that rank (a near-tie), it is not
 * excluded, and it is not repeated.
 */
function compareTopK(args: TopKArgs) {
  return (got: Record<string, ArrayLike<number>>, want: Record<string, ArrayLike<number>>, filter: RowFilter, tol: Tolerance): ComparisonAcc => {
    const acc = newComparison();
    const { B, k } = args;
    for (let b = 0; b < B; b++) {
      if (filter && !filter[b]) continue;
      const seen = new Set<number>();
      const ex = args.exclude?.[b];
      for (let r = 0; r < k; r++) {
        const i = b * k + r;
        compareElement(acc, 'scores', i, got.scores[i], want.scores[i], tol);
        const gi = got.indices[i];
        const wi = want.indices[i];
        let ok = gi === wi;
        if (!ok && gi >= 0 && wi >= 0 && gi < args.N && !seen.has(gi) && !(ex && ex.includes(gi))) {
          const s = Math.fround(dot(args, b, gi));
          const w = want.scores[i];
          ok = Number.isFinite(s) && Number.isFinite(w) ? Math.abs(s - w) <= tol.atol + tol.rtol * Math.abs(w) : Object.is(s, w);
        }
        if (gi >= 0) seen.add(gi);
        acc.elements++;
        if (!ok) {
          acc.mismatches++;
          acc.worstExcess = Infinity;
          acc.worst = { output: 'indices', index: i, expected: wi, actual: gi };
        }
      }
    }
    return acc;
  };
}

const UP = ['B', 'D'];
const IP = ['N', 'D'];

function prepareTopK(users: FloatTensorLike, items: FloatTensorLike, k: number, options?: TopKOptions | null): Prepared<'topK', TopKOutput> {
  const ut = tensorParam(topKOp, 'users', users);
  const it = tensorParam(topKOp, 'items', items);
  expectNonEmpty('users', ut.shape, 0, UP);
  expectNonEmpty('items', it.shape, 0, IP);
  const [B, D] = ut.shape;
  const N = it.shape[0];
  expectDim('items', it.shape, 1, D, IP, 'dim must match users');
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > N) {
    throw new ValueError('k', `expected an integer within 1..N=${N}, received ${typeof k === 'number' ? k : describeType(k)}`);
  }
  const o = optionsFor<TopKOptions>(topKOp, options);
  const exclude = checkExclude(o.exclude, B, N);
  const largest: boolean = readOption(topKOp, o, 'largest');
  const half = new HalfFields();
  const args: TopKArgs = { users: half.take('users', ut), items: half.take('items', it), B, N, D, k, exclude, largest, dtypes: half.dtypes };
  const layout = (): OutputLayout => ({
    rows: B,
    rowOf: (_name, flat) => Math.floor(flat / k),
    shapeOf: () => [B, k],
    compare: compareTopK(args),
  });
  const wrap = (r: TopKResult): TopKOutput => ({ indices: { data: r.indices, shape: [B, k] }, scores: { data: r.scores, shape: [B, k] } });
  const outputDtype: DType = readOption(topKOp, o, 'outputDtype');
  return { op: 'topK', args, layout, wrap, outputDtype };
}

/**
 * Score every user against every item by dot product and keep the k best per user: the k largest
 * scores, largest first (ties: lower index first; NaN scores rank above every number, as in
 * PyTorch), or with `largest: false` the k smallest, smallest first (ties: lower index first; NaN
 * scores rank below every number, +Infinity included: NaN is the greatest value either way).
 * `exclude[b]` lists items user b has seen. If fewer than k items remain, the tail is index -1
 * with score -Infinity (`largest: false`: +Infinity).
 *
 * @example
 * const { indices, scores } = topK(userVectors, itemTable, 10, { exclude: seen });
 * const farthest = topK(userVectors, itemTable, 10, { largest: false });
 */
export function topK(users: FloatTensorLike, items: FloatTensorLike, k: number, options: TopKOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Narrowed<TopKOutput>;
export function topK(users: FloatTensorLike, items: FloatTensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): TopKOutput;
export function topK(users: FloatTensorLike, items: FloatTensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): TopKOutput | Narrowed<TopKOutput> {
  return run(prepareTopK(users, items, k, options), dispatchOptions);
}

/** The async twin of {@link topK}. */
export function topKAsync(users: FloatTensorLike, items: FloatTensorLike, k: number, options: TopKOptions & { outputDtype: HalfDType }, dispatchOptions?: DispatchOptions): Promise<Narrowed<TopKOutput>>;
export function topKAsync(users: FloatTensorLike, items: FloatTensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): Promise<TopKOutput>;
export function topKAsync(users: FloatTensorLike, items: FloatTensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): Promise<TopKOutput | Narrowed<TopKOutput>> {
  return runAsync(() => prepareTopK(users, items, k, options), dispatchOptions);
}

/** The topK descriptor. */
export const topKOp: OpDescriptor<'topK'> = defineOp({
  name: 'topK',
  summary: 'top-K scoring of users against an item table (dot product), with per-user exclusion lists',
  signature: 'topK(users, items, k, options?, dispatch?)',
  params: [tensor('users', UP), tensor('items', IP), { name: 'k', kind: 'int' }, 'options'],
  options: {
    outputDtype: OUTPUT_DTYPE_OPTION,
    exclude: { kind: 'exclude', doc: 'per user, item indices to leave out (already seen)' },
    largest: { kind: 'boolean', default: true, doc: 'the k largest scores (true) or the k smallest (false); NaN counts as the greatest value' },
  },
  tolerances: {
    // The rule (README, Tolerances): 4x what node bench/tolerances.mjs measures over every
    // comparison with reference in the tests, the checks (also with half inputs for the ops that
    // take them), the quick bench cases and the large GEMM-family cases. Native, worst ISA: max
    // rel error 9.6e-7, then 1.3e-6 of atol needed at 4x that rtol (max abs 7.6e-6).
    // max rel by input type: bfloat16 2.4e-7, float16 7.4e-7, float32 9.6e-7, mixed 6.4e-7.
    native: { rtol: 3.9e-6, atol: 5.3e-6 },
    // gpu on llvmpipe: max rel 9.6e-7, then 1.3e-6 of atol (max abs 6.7e-6).
    gpu: { rtol: 3.9e-6, atol: 5.3e-6 },
  },
  cost: (s) => {
    const { B, N, D, k } = s as Record<string, number>;
    return { flops: 2 * B * N * D, bytes: 4 * (B * D + N * D + 2 * B * k) };
  },
  fn: topK,
  fnAsync: topKAsync,
  native: { isaKernel: true },
  half: true,
  cases: {
    knownAnswers() {
      // Items on a line: scores are the user's value times the item's; item 3 is excluded, ties keep the lower index.
      const items = { data: new Float32Array([1, 3, 2, 5, 3]), shape: [5, 1] };
      const user = { data: new Float32Array([2]), shape: [1, 1] };
      const nanItems = { data: new Float32Array([1, NaN, -Infinity, 2, NaN, Infinity]), shape: [6, 1] };
      return [
        {
          label: 'ranking with a tie and an excluded item',
          args: [user, items, 3, { exclude: [[3]] }],
          want: { indices: [1, 4, 2], scores: [6, 6, 4] },
        },
        {
          label: 'largest: false, the k smallest with a tie (lower index first) and an excluded item',
          args: [user, items, 4, { exclude: [[0]], largest: false }],
          want: { indices: [2, 1, 4, 3], scores: [4, 6, 6, 10] },
        },
        {
          label: 'largest: false, NaN last (after +Infinity, lower index first), padding +Infinity',
          args: [{ data: new Float32Array([1]), shape: [1, 1] }, nanItems, 6, { exclude: [[3]], largest: false }],
          want: { indices: [2, 0, 5, 1, 4, -1], scores: [-Infinity, 1, Infinity, NaN, NaN, Infinity] },
        },
        {
          label: 'largest: true, NaN first (lower index first), padding -Infinity',
          args: [{ data: new Float32Array([1]), shape: [1, 1] }, nanItems, 6, { exclude: [[3]], largest: true }],
          want: { indices: [1, 4, 5, 0, 2, -1], scores: [NaN, NaN, Infinity, 1, -Infinity, -Infinity] },
        },
      ];
    },
    checks(quick) {
      // The last case ranks every item: its scores run through zero (cancelling dot products).
      const cases: OpCase[] = (quick ? [[5, 1000, 17, 10]] : [[5, 1000, 17, 10], [33, 20011, 64, 100], [1, 7, 3, 7], [3, 300, 64, 300]]).map(([B, N, D, k]) => {
        const exclude = Array.from({ length: B }, (_, b) => (b % 2 ? null : [b, (b * 7) % N, N - 1]));
        return { label: `B=${B} N=${N} D=${D} k=${k} exclude`, args: [rnd([B, D], 60), rnd([N, D], 61), k, { exclude }] };
      });
      // largest: false: the same shapes (k = N included, one user), ties, NaN scores.
      for (const [B, N, D, k] of quick ? [[5, 1000, 17, 10], [1, 7, 3, 7]] : [[5, 1000, 17, 10], [33, 20011, 64, 100], [1, 7, 3, 7], [3, 300, 64, 300]]) {
        const exclude = Array.from({ length: B }, (_, b) => (b % 2 ? null : [b, (b * 7) % N, N - 1]));
        cases.push({ label: `B=${B} N=${N} D=${D} k=${k} exclude, largest: false`, args: [rnd([B, D], 62), rnd([N, D], 63), k, { exclude, largest: false }] });
      }
      // Duplicated items (exact ties) and NaN / ±Infinity items, k = N: every rank of both orders.
      const N = 97, D = 5;
      const it = rnd([N, D], 64);
      for (let n = 1; n < N; n += 3) it.data.copyWithin(n * D, (n - 1) * D, n * D);
      for (const n of [4, 40, 41, 90]) it.data[n * D + 2] = NaN;
      it.data[10 * D] = Infinity;
      it.data[11 * D] = -Infinity;
      const users = rnd([3, D], 65);
      for (let d = 0; d < D; d++) users.data[2 * D + d] = Math.abs(users.data[2 * D + d]) + 0.1; // ±Infinity items stay ±Infinity for this user
      for (const largest of [true, false]) {
        cases.push({ label: `ties, NaN and ±Infinity items, k = N, largest: ${largest}`, args: [users, it, N, { exclude: [[0, 4], null, [96]], largest }] });
        cases.push({ label: `ties, NaN and ±Infinity items, k = 7, largest: ${largest}`, args: [users, it, 7, { largest }] });
      }
      return cases;
    },
    bench(quick) {
      const s = quick ? { B: 64, N: 10000, D: 64, k: 10 } : { B: 1024, N: 100000, D: 64, k: 10 };
      return [{ label: 'users x item table', shape: s, make: () => ({ args: [rnd([s.B, s.D], 17), rnd([s.N, s.D], 18), s.k, {}] }) }];
    },
    random(R) {
      const B = R.int(1, 3), N = R.int(1, 12), D = R.int(1, 6);
      const k = R.int(1, N);
      const o: Record<string, unknown> = {};
      if (R.bool(0.4)) o.exclude = Array.from({ length: B }, () => (R.bool(0.3) ? null : Array.from({ length: R.int(0, N) }, () => R.int(0, N - 1))));
      if (R.bool(0.3)) o.largest = R.bool();
      return [randT(R, [B, D]), randT(R, [N, D]), k, o];
    },
    small: () => [rnd([2, 8], 33), rnd([40, 8], 34), 5, { exclude: [[1, 2], null] }],
  },
  fuzz: {
    broadcastTarget: () => null,
    lengthsTarget: () => null,
    invalidate(R, a) {
      const N = shapeOf(a[1])[0], B = shapeOf(a[0])[0];
      if (R.bool()) {
        a[2] = R.pick([0, -1, N + 1, N + 1000, 1.5, NaN, Infinity, '2', null, undefined, 2 ** 32 + 1, 2 ** 53 + 2, 1n]);
        return `k := ${typeof a[2] === 'bigint' ? `${a[2]}n` : String(a[2])} (N=${N})`;
      }
      const ex: unknown[][] = Array.from({ length: B }, () => []);
      const how = R.int(0, 5);
      const bad = [N, -1, 1.5, NaN, '0', 2 ** 31][how];
      ex[R.int(0, B - 1)].push(0, bad);
      a[3] = { exclude: how === 5 && R.bool() ? ex.concat([[]]) : ex };
      if (R.bool(0.2)) a[3] = { exclude: ex.map((l) => BigInt64Array.from(l.filter((x): x is number => typeof x === 'number' && Number.isInteger(x)).map((x) => BigInt(x)))) };
      return `exclude with ${String(bad)} (N=${N})`;
    },
  },
});

// ---------------------------------------------------------------------------------------------
// Sharded retrieval: topK on slices of the item table, merged.
// ---------------------------------------------------------------------------------------------

/**
 * One shard's topK result for {@link mergeTopK}: what {@link topK} returned for the shard's items
 * (local indices 0..size-1), plus where the shard starts in the whole table.
 */
export interface TopKPartial {
  /** `[B,k_s]` local item indices (Int32Array), -1 where the shard had fewer than k_s items left. */
  readonly indices: { readonly data: Int32Array; readonly shape: readonly number[] };
  /** `[B,k_s]` float32 scores (compute shards with the default `outputDtype`). */
  readonly scores: TensorLike;
  /** The global index of the shard's item 0: its local index i is item `offset + i` of the whole table. */
  readonly offset: number;
  /**
   * The shard's item count (optional). When given, local indices are checked against it, the
   * shards' ranges `[offset, offset+size)` must not overlap, and a shard that kept fewer than
   * `min(k, size)` items per user is refused (the merge could miss items).
   */
  readonly size?: number;
}

/** Options of {@link mergeTopK}. */
export interface MergeTopKOptions {
  /** As {@link TopKOptions.largest}; must be what the shards were computed with (default true). */
  largest?: boolean;
  /** As {@link TopKOptions.outputDtype}: the merged float32 scores rounded to a half type at the end. */
  outputDtype?: DType;
}

/**
 * True when (sa, ia) ranks before (sb, ib) in topK's order: NaN is the greatest value (first when
 * `largest`, last otherwise), then the score, then the lower index.
 */
function ranksAhead(sa: number, ia: number, sb: number, ib: number, largest: boolean): boolean {
  const na = sa !== sa, nb = sb !== sb;
  if (na || nb) return na && nb ? ia < ib : largest ? na : nb;
  if (sa === sb) return ia < ib;
  return largest ? sa > sb : sa < sb;
}

/** A field of a partial, read once (a throwing getter is a DTypeError naming it). */
function partialField(p: object, key: string, argument: string): unknown {
  try {
    return (p as Record<string, unknown>)[key];
  } catch (e) {
    throw new DTypeError(`${argument}.${key}`, 'a readable value', 'a getter or Proxy trap that throws', String((e as Error)?.message ?? e));
  }
}

/** A non-negative integer that fits an item index (`limit` inclusive), else a ValueError naming `argument`. */
function itemCount(value: unknown, argument: string, limit: number, what: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0 || value > limit) {
    throw new ValueError(argument, `expected ${what}, an integer within 0..${limit}, received ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

interface Shard {
  B: number;
  indices: Int32Array;
  scores: Float32Array;
  k: number;
  offset: number;
  size: number | undefined;
}

function checkPartial(raw: unknown, s: number, largest: boolean): Shard {
  const arg = `partials[${s}]`;
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw) || ArrayBuffer.isView(raw)) {
    throw new DTypeError(arg, 'a shard result ({ indices, scores, offset, size? }: a topK output and the offset of its items)', describeType(raw));
  }
  const rawScores = partialField(raw, 'scores', arg);
  const declared = rawScores !== null && typeof rawScores === 'object' ? partialField(rawScores, 'dtype', `${arg}.scores`) : undefined;
  if (declared === 'float16' || declared === 'bfloat16') {
    throw new DTypeError(`${arg}.scores`, 'float32 scores', `${declared} scores`, 'rounded scores can tie where the float32 ones did not, and the merge would order them by index: compute the shards with the default outputDtype and pass outputDtype to mergeTopK');
  }
  const scores = asTensor(rawScores, `${arg}.scores`);
  const indices = asInt32Tensor(partialField(raw, 'indices', arg), `${arg}.indices`);
  if (scores.shape.length !== 2) throw new ShapeError(`${arg}.scores`, '[B,k] (rank 2)', formatShape(scores.shape), `rank ${scores.shape.length}`);
  if (indices.shape.length !== 2 || indices.shape[0] !== scores.shape[0] || indices.shape[1] !== scores.shape[1]) {
    throw new ShapeError(`${arg}.indices`, `[B=${scores.shape[0]},k=${scores.shape[1]}] (the shape of ${arg}.scores)`, formatShape(indices.shape));
  }
  const offset = itemCount(partialField(raw, 'offset', arg), `${arg}.offset`, 0x7fffffff, 'the global index of the shard\'s item 0');
  const rawSize = partialField(raw, 'size', arg);
  const size = rawSize === undefined ? undefined : itemCount(rawSize, `${arg}.size`, 0x7fffffff - offset, 'the shard\'s item count (offset + size within 2^31-1)');
  const [B, k] = scores.shape;
  // Each row: local indices in range, any -1 padding last, in topK's order for `largest`.
  for (let b = 0; b < B; b++) {
    let tail = false;
    for (let r = 0; r < k; r++) {
      const i = b * k + r;
      const idx = indices.data[i];
      if (idx === -1) {
        tail = true;
        continue;
      }
      if (tail) throw new ValueError(`${arg}.indices`, `row ${b}: index ${idx} at rank ${r} after a -1 (a topK result pads with -1 at the end only)`);
      if (idx < 0 || (size !== undefined && idx >= size)) {
        throw new ValueError(`${arg}.indices`, `row ${b}, rank ${r}: expected a local item index within 0..${size === undefined ? '' : size - 1} or -1 padding, received ${idx}`);
      }
      if (offset + idx > 0x7fffffff) throw new ValueError(`${arg}.offset`, `offset ${offset} + local index ${idx} (row ${b}) exceeds 2^31-1`);
      if (r > 0 && !ranksAhead(scores.data[i - 1], indices.data[i - 1], scores.data[i], idx, largest)) {
        throw new ValueError(
          `${arg}.scores`,
          `row ${b} is not in topK's ${largest ? 'largest' : 'smallest'}-first order at rank ${r} (score ${scores.data[i]}, index ${idx} after score ${scores.data[i - 1]}, index ${indices.data[i - 1]}): was the shard computed with largest: ${!largest}, or is an index repeated?`,
        );
      }
    }
  }
  return { B, indices: indices.data, scores: scores.data, k, offset, size };
}

/** Shards must cover disjoint item ranges: declared (`size`) or, without one, the span of the indices seen. */
function checkDisjoint(shards: readonly Shard[]): void {
  const spans: { s: number; lo: number; hi: number }[] = [];
  shards.forEach((sh, s) => {
    if (sh.size !== undefined) {
      if (sh.size > 0) spans.push({ s, lo: sh.offset, hi: sh.offset + sh.size - 1 });
      return;
    }
    let lo = Infinity, hi = -Infinity;
    for (const idx of sh.indices) {
      if (idx < 0) continue;
      lo = Math.min(lo, idx);
      hi = Math.max(hi, idx);
    }
    if (lo <= hi) spans.push({ s, lo: sh.offset + lo, hi: sh.offset + hi });
  });
  spans.sort((a, b) => a.lo - b.lo || a.s - b.s);
  for (let i = 1; i < spans.length; i++) {
    const a = spans[i - 1], b = spans[i];
    if (b.lo <= a.hi) {
      throw new ValueError(`partials[${b.s}].offset`, `its items (${b.lo}..${b.hi} of the whole table) overlap those of partials[${a.s}] (${a.lo}..${a.hi}): shards must hold disjoint item ranges, each local index i being item offset + i`);
    }
  }
}

/**
 * Merge top-K results computed on shards of an item table into the top-K over the whole table.
 * Split the items into contiguous slices, run {@link topK} on each (on any backend, worker thread
 * or machine) with `k_s = min(k, slice size)` and the same `largest`, and pass each result with its
 * slice's `offset` (and `size`): the merge returns exactly what `topK` over the whole table returns
 * (indices and scores, bit for bit): the k best per user in topK's order (largest or smallest
 * first, ties to the lower GLOBAL index, NaN the greatest value in both directions), tail index -1
 * with score -Infinity (`largest: false`: +Infinity) where fewer than k items remain. That holds
 * when each shard's scores are the whole-table call's (every backend computes a score from its
 * user and item alone). Exclusion lists go to each shard in local indices: {@link shardExclude}.
 *
 * A plain function, not a dispatched op: it moves O(B·shards·k) numbers and compares them, with
 * no arithmetic a native or gpu kernel could speed up, and its result is exact, so there is
 * nothing for `verify` to cross-check against reference.
 *
 * Throws DTypeError / ShapeError / ValueError naming the partial's field: not float32 scores,
 * shapes that differ (`[B,k_s]` with one B for all), an offset or size that is not an item count,
 * overlapping shards, a local index out of range, -1 padding before a real index, a row out of
 * topK's order for `largest` (a shard computed the other way), a shard that kept fewer than
 * `min(k, size)`; `k` outside 1..Σk_s.
 *
 * @example
 * const shards = [{ offset: 0, size: 600000 }, { offset: 600000, size: 400000 }];
 * const partials = shards.map(({ offset, size }) => ({
 *   ...topK(users, { data: items.data.subarray(offset * D, (offset + size) * D), shape: [size, D] }, Math.min(k, size),
 *           { exclude: shardExclude(seen, offset, size) }),
 *   offset, size,
 * }));
 * const { indices, scores } = mergeTopK(partials, k); // == topK(users, items, k, { exclude: seen })
 */
export function mergeTopK(partials: readonly TopKPartial[], k: number, options: MergeTopKOptions & { outputDtype: HalfDType }): Narrowed<TopKOutput>;
export function mergeTopK(partials: readonly TopKPartial[], k: number, options?: MergeTopKOptions | null): TopKOutput;
export function mergeTopK(partials: readonly TopKPartial[], k: number, options?: MergeTopKOptions | null): TopKOutput | Narrowed<TopKOutput> {
  const o = optionsObject<MergeTopKOptions>(options, 'options', ['largest', 'outputDtype']);
  const largest = optBool(o.largest, 'options.largest', true);
  const outputDtype = optEnum<DType>(o.outputDtype, 'options.outputDtype', ['float32', 'float16', 'bfloat16'], 'float32');
  if (!Array.isArray(partials)) throw new DTypeError('partials', 'an array of shard results ({ indices, scores, offset, size? })', describeType(partials));
  let list: unknown[];
  try {
    list = Array.from(partials as unknown[]);
  } catch (e) {
    throw new DTypeError('partials', 'an array of shard results', 'an unreadable value (a getter or Proxy that throws)', String((e as Error)?.message ?? e));
  }
  if (list.length < 1) throw new ValueError('partials', 'expected at least one shard result, received none');
  const shards = list.map((p, s) => checkPartial(p, s, largest));
  const B = shards[0].B;
  shards.forEach((sh, s) => {
    if (sh.B !== B) throw new ShapeError(`partials[${s}].scores`, `[B=${B},k_s] (B of partials[0])`, `[${sh.B},${sh.k}]`, 'every shard scores the same users');
  });
  let available = 0;
  for (const sh of shards) available += sh.k;
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > available) {
    throw new ValueError('k', `expected an integer within 1..${available} (the shards' k_s summed), received ${typeof k === 'number' ? k : describeType(k)}`);
  }
  shards.forEach((sh, s) => {
    if (sh.size !== undefined && sh.k < Math.min(k, sh.size)) {
      throw new ValueError(`partials[${s}]`, `keeps ${sh.k} items per user of a shard of ${sh.size}: merging the k=${k} best needs min(k, size) = ${Math.min(k, sh.size)} from every shard`);
    }
  });
  checkDisjoint(shards);

  const S = shards.length;
  const indices = new Int32Array(B * k).fill(-1);
  const scores = new Float32Array(B * k).fill(largest ? -Infinity : Infinity);
  const pos = new Int32Array(S);
  for (let b = 0; b < B; b++) {
    pos.fill(0);
    for (let r = 0; r < k; r++) {
      // The best head among the shards' sorted rows (a -1 ends a row).
      let best = -1, bestScore = 0, bestIndex = 0;
      for (let s = 0; s < S; s++) {
        const sh = shards[s];
        if (pos[s] >= sh.k) continue;
        const local = sh.indices[b * sh.k + pos[s]];
        if (local < 0) continue;
        const g = sh.offset + local, sc = sh.scores[b * sh.k + pos[s]];
        if (best < 0 || ranksAhead(sc, g, bestScore, bestIndex, largest)) {
          best = s;
          bestScore = sc;
          bestIndex = g;
        }
      }
      if (best < 0) break;
      pos[best]++;
      indices[b * k + r] = bestIndex;
      scores[b * k + r] = bestScore;
    }
  }
  const out: TopKOutput = { indices: { data: indices, shape: [B, k] }, scores: { data: scores, shape: [B, k] } };
  return narrowOutput(out, outputDtype);
}

/**
 * A global exclusion list (as {@link TopKOptions.exclude}: per user, item indices of the whole
 * table, or null) restricted to one shard's items `[offset, offset+size)` and shifted to its local
 * indices, for that shard's {@link topK} call. Indices outside the shard are dropped; a null
 * entry stays null; null or undefined gives null. Throws ValueError naming `offset`, `size` or
 * the entry `exclude[b][i]` that is not a non-negative integer, DTypeError for the wrong types.
 *
 * A jagged list ({@link JaggedExclude}) gives a jagged list (new arrays: the kept indices, local,
 * in their order, and new offsets), checked as topK checks it (errors name `exclude.values[i]`,
 * `exclude.offsets`; any non-negative index is allowed here).
 */
export function shardExclude(exclude: JaggedExclude, offset: number, size: number): JaggedExclude;
export function shardExclude(exclude: TopKOptions['exclude'], offset: number, size: number): (Int32Array | null)[] | JaggedExclude | null;
export function shardExclude(exclude: TopKOptions['exclude'], offset: number, size: number): (Int32Array | null)[] | JaggedExclude | null {
  const off = itemCount(offset, 'offset', 0x7fffffff, 'the shard\'s first item index');
  const n = itemCount(size, 'size', 0x7fffffff - off, 'the shard\'s item count');
  if (exclude === undefined || exclude === null) return null;
  if (isJaggedExclude(exclude, 'exclude')) {
    const j = checkJaggedExclude(exclude as object, 'exclude', null, null);
    const users = j.offsets.length - 1;
    const offsets = new Int32Array(users + 1);
    let count = 0;
    for (const x of j.values) if (x >= off && x < off + n) count++;
    const values = new Int32Array(count);
    for (let b = 0, w = 0; b < users; b++) {
      for (let i = j.offsets[b]; i < j.offsets[b + 1]; i++) {
        const x = j.values[i];
        if (x >= off && x < off + n) values[w++] = x - off;
      }
      offsets[b + 1] = w;
    }
    return { values, offsets };
  }
  if (!Array.isArray(exclude)) throw new DTypeError('exclude', 'an array of per-user index lists (or null)', describeType(exclude));
  return Array.from(exclude as unknown[], (list, b) => {
    if (list === null || list === undefined) return null;
    if (!(Array.isArray(list) || (ArrayBuffer.isView(list) && !(list instanceof DataView) && !(list instanceof BigInt64Array) && !(list instanceof BigUint64Array)))) {
      throw new DTypeError(`exclude[${b}]`, 'an array or typed array of item indices', describeType(list));
    }
    const arr = list as ArrayLike<unknown>;
    let count = 0;
    for (let i = 0; i < arr.length; i++) {
      const x = arr[i];
      if (typeof x !== 'number' || !Number.isInteger(x) || x < 0) throw new ValueError(`exclude[${b}][${i}]`, `expected an item index (a non-negative integer), received ${typeof x === 'number' ? x : describeType(x)}`);
      if (x >= off && x < off + n) count++;
    }
    const out = new Int32Array(count);
    for (let i = 0, j = 0; i < arr.length; i++) {
      const x = arr[i] as number;
      if (x >= off && x < off + n) out[j++] = x - off;
    }
    return out;
  });
}
