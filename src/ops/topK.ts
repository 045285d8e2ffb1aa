/**
 * Top-K scoring of users against an item table.
 *
 * @module
 */
import type { ComparisonAcc, DispatchOptions, OutputLayout, Tolerance } from '../dispatch';
import { compareElement, newComparison } from '../dispatch';
import { DTypeError, ValueError, describeType } from '../errors';
import type { RowFilter, TopKArgs, TopKResult } from '../kernels';
import type { Tensor, TensorLike } from '../tensor';
import { expectDim, expectNonEmpty, optionsObject, tensorOfRank } from '../validate';
import { run, runAsync, type Prepared } from './common';

/** Options of {@link topK}. */
export interface TopKOptions {
  /** Per user (length B): item indices to skip (seen items), or null. Each index in 0..N-1. */
  exclude?: readonly (readonly number[] | Int8Array | Uint8Array | Uint8ClampedArray | Int16Array | Uint16Array | Int32Array | Uint32Array | Float32Array | Float64Array | null | undefined)[] | null;
}

/** The k best items per user. */
export interface TopKOutput {
  /** `[B,k]` item indices (Int32Array); -1 where fewer than k items remain. */
  indices: { data: Int32Array; shape: number[] };
  /** `[B,k]` scores; -Infinity where fewer than k items remain. */
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

function prepareTopK(users: TensorLike, items: TensorLike, k: number, options?: TopKOptions | null): Prepared<'topK', TopKOutput> {
  const UP = ['B', 'D'];
  const IP = ['N', 'D'];
  const ut = tensorOfRank(users, 'users', UP);
  const it = tensorOfRank(items, 'items', IP);
  expectNonEmpty('users', ut.shape, 0, UP);
  expectNonEmpty('items', it.shape, 0, IP);
  const [B, D] = ut.shape;
  const N = it.shape[0];
  expectDim('items', it.shape, 1, D, IP, 'dim must match users');
  if (typeof k !== 'number' || !Number.isInteger(k) || k < 1 || k > N) {
    throw new ValueError('k', `expected an integer within 1..N=${N}, received ${typeof k === 'number' ? k : describeType(k)}`);
  }
  const o = optionsObject<TopKOptions>(options, 'options', ['exclude']);
  const exclude = checkExclude(o.exclude, B, N);
  const args: TopKArgs = { users: ut.data, items: it.data, B, N, D, k, exclude };
  const layout = (): OutputLayout => ({
    rows: B,
    rowOf: (_name, flat) => Math.floor(flat / k),
    shapeOf: () => [B, k],
    compare: compareTopK(args),
  });
  const wrap = (r: TopKResult): TopKOutput => ({ indices: { data: r.indices, shape: [B, k] }, scores: { data: r.scores, shape: [B, k] } });
  return { op: 'topK', args, layout, wrap };
}

/**
 * Score every user against every item by dot product and keep the k best per user (ties: lower
 * index first; NaN scores rank above every number, as in PyTorch). `exclude[b]` lists items user b
 * has seen. If fewer than k items remain, the tail is index -1 with score -Infinity.
 *
 * @example
 * const { indices, scores } = topK(userVectors, itemTable, 10, { exclude: seen });
 */
export function topK(users: TensorLike, items: TensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): TopKOutput {
  return run(prepareTopK(users, items, k, options), dispatchOptions);
}

/** The async twin of {@link topK}. */
export function topKAsync(users: TensorLike, items: TensorLike, k: number, options?: TopKOptions | null, dispatchOptions?: DispatchOptions): Promise<TopKOutput> {
  return runAsync(() => prepareTopK(users, items, k, options), dispatchOptions);
}
