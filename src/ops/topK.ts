/**
 * Top-K scoring of users against an item table.
 *
 * @module
 */
import type { ComparisonAcc, DispatchOptions, OutputLayout, Tolerance } from '../dispatch';
import { compareElement, newComparison } from '../dispatch';
import { DTypeError, ValueError, describeType } from '../errors';
import type { RowFilter, TopKArgs, TopKResult, DType, HalfDType } from '../kernels';
import type { Tensor, FloatTensorLike } from '../tensor';
import { expectDim, expectNonEmpty, HalfFields } from '../validate';
import { randT, rnd, shapeOf } from './cases';
import { run, runAsync, type Prepared, OUTPUT_DTYPE_OPTION, type Narrowed } from './common';
import { defineOp, tensor, optionsFor, readOption, tensorParam, type OpCase, type OpDescriptor } from './descriptor';

/** Options of {@link topK}. */
export interface TopKOptions {
  /** Per user (length B): item indices to skip (seen items), or null. Each index in 0..N-1. */
  exclude?: readonly (readonly number[] | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | null | undefined)[] | null;
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

function checkExclude(raw: unknown, B: number, N: number): (Int32Array | null)[] | null {
  if (raw === undefined || raw === null) return null;
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
