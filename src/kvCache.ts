/**
 * The KV cache of incremental (autoregressive) attention: preallocated K and V tensors plus the
 * valid token count of each batch row, appended to in place.
 *
 * Design choices (README, "KV cache"):
 * - K is `[B, Hkv, capacity, D]` and V `[B, Hkv, capacity, Dv]`, each one `Float32Array` (or, for
 *   a half cache, one `Uint16Array` of float16 / bfloat16 patterns) allocated once by the
 *   constructor and never reallocated: {@link KvCache.k} and {@link KvCache.v} can be
 *   passed to {@link sdpa} as they are, with `keyLengths: cache.lengths`.
 * - Rows of a batch entry past its length are stale (whatever an earlier append or `reset()`
 *   left there, zeros at first); every op masks them through the lengths, so they are never read
 *   into a result.
 * - `append` checks everything (shapes, counts, capacity of every row) before it writes anything:
 *   a call that throws leaves the cache as it was.
 * - `lengths` and `appended` are the cache's state, readable and writable: writing a smaller
 *   length rewinds a row (e.g. to drop speculative tokens or to re-time a decoding step); every
 *   `append` and every op re-checks them (`0 <= appended[b] <= lengths[b] <= capacity`).
 * - Not thread-safe and not versioned: one call at a time per cache (an async op over a cache
 *   checks the capacity when called but appends after its key / value projections resolve).
 *
 * @module
 */
import { CapacityError, DTypeError, ShapeError, ValueError, describeType, formatShape } from './errors';
import { liveTypedArray } from './buffers';
import { optionsObject } from './options';
import { asFloatTensor, checkShape, type FloatTensorLike, type HalfTensor, type Tensor } from './tensor';
import { floatOfRank, optEnum, positiveInt, type FloatChecked } from './validate';
import { decodeHalf, toBFloat16, toFloat16 } from './half';
import type { DType, FloatData } from './kernels';

/** Sizes of a {@link KvCache}. */
export interface KvCacheOptions {
  /** Batch rows B (users, sequences). */
  batch: number;
  /** Key/value heads Hkv. */
  kvHeads: number;
  /** Tokens each batch row can hold. */
  capacity: number;
  /** Key head dim D (the query's head dim). */
  headDim: number;
  /** Value head dim Dv (default `headDim`). */
  valueDim?: number;
  /**
   * Element type of the stored keys and values (default `'float32'`). A half cache (`'float16'`,
   * `'bfloat16'`) holds half the bytes; `append` rounds new tokens to it (round to nearest even)
   * and attention reads it as it is (the native kernels widen as they stream it).
   */
  dtype?: DType;
}

/** The cache's K or V tensor for its dtype: a float32 {@link Tensor}, or a {@link HalfTensor}. */
export type CacheTensor<D extends DType> = D extends 'float32' ? Tensor : HalfTensor;

/** Options of {@link KvCache.append}. */
export interface KvAppendOptions {
  /**
   * `[B]` how many of the T new rows of each batch entry are valid (each in `0..T`; default T for
   * every row): rows `t >= counts[b]` are padding and are not appended. A different number of new
   * tokens per batch row is appended this way.
   */
  counts?: Int32Array | null;
  /**
   * Layout of k and v: `'bhld'` (default) is `[B,Hkv,T,D]`, sdpa's own; `'blhd'` is token-major,
   * `[B,T,Hkv,D]` or the `[B,T,Hkv*D]` a projection (`linear`) returns.
   */
  layout?: 'bhld' | 'blhd';
}

/** The 'blhd' patterns for messages. */
const BLHD = (dim: string) => [`[B,T,Hkv,${dim}]`, `[B,T,Hkv*${dim}]`];

/**
 * A preallocated key/value cache for incremental attention.
 *
 * Pass it to {@link multiHeadAttention} or {@link transformerEncoderLayer} as `options.cache` (one
 * cache per layer): the op projects the new tokens, appends them here, and attends over every
 * cached token. Or fill it yourself with {@link KvCache.append} and attend with
 * `sdpa(q, cache.k, cache.v, { keyLengths: cache.lengths })`.
 *
 * @example
 * const cache = new KvCache({ batch: 1, kvHeads: 2, capacity: 8, headDim: 4 });
 * cache.append(k6, v6);                     // [1,2,6,4] each: lengths = [6]
 * const out = sdpa(q2, cache.k, cache.v, { keyLengths: cache.lengths });
 */
export class KvCache<D extends DType = 'float32'> {
  /** Batch rows B. */
  readonly batch: number;
  /** Key/value heads Hkv. */
  readonly kvHeads: number;
  /** Tokens per batch row. */
  readonly capacity: number;
  /** Key head dim D. */
  readonly headDim: number;
  /** Value head dim Dv. */
  readonly valueDim: number;
  /** Element type of k and v. */
  readonly dtype: D;
  /** The keys, `[B, Hkv, capacity, D]`, allocated once (a Uint16Array of bit patterns for a half cache). */
  readonly k: CacheTensor<D>;
  /** The values, `[B, Hkv, capacity, Dv]`, allocated once. */
  readonly v: CacheTensor<D>;
  /** `[B]` valid tokens per batch row (the `keyLengths` of attention over the cache). */
  readonly lengths: Int32Array;
  /** `[B]` tokens the last append added to each batch row (0 after `reset`). */
  readonly appended: Int32Array;

  /** Allocate a cache of `batch · kvHeads · capacity · (headDim + valueDim)` elements of `dtype`, every row empty. */
  constructor(options: KvCacheOptions & { dtype?: D }) {
    if (options === undefined || options === null) throw new DTypeError('options', 'an options object { batch, kvHeads, capacity, headDim, valueDim?, dtype? }', describeType(options));
    const o = optionsObject<KvCacheOptions>(options, 'options', ['batch', 'kvHeads', 'capacity', 'headDim', 'valueDim', 'dtype']);
    this.batch = positiveInt(o.batch, 'options.batch');
    this.kvHeads = positiveInt(o.kvHeads, 'options.kvHeads');
    this.capacity = positiveInt(o.capacity, 'options.capacity');
    this.headDim = positiveInt(o.headDim, 'options.headDim');
    this.valueDim = positiveInt(o.valueDim, 'options.valueDim', this.headDim);
    const kShape = checkShape([this.batch, this.kvHeads, this.capacity, this.headDim], 'options (the cache\'s k [B,Hkv,capacity,D])');
    const vShape = checkShape([this.batch, this.kvHeads, this.capacity, this.valueDim], 'options (the cache\'s v [B,Hkv,capacity,Dv])');
    this.dtype = optEnum(o.dtype, 'options.dtype', ['float32', 'float16', 'bfloat16'] as const, 'float32') as D;
    const nk = this.batch * this.kvHeads * this.capacity * this.headDim;
    const nv = this.batch * this.kvHeads * this.capacity * this.valueDim;
    const dt = this.dtype as DType;
    const make = (n: number, shape: readonly number[]): Tensor | HalfTensor =>
      dt === 'float32' ? Object.freeze({ data: new Float32Array(n), shape: Object.freeze(shape) }) : Object.freeze({ data: new Uint16Array(n), shape: Object.freeze(shape), dtype: dt });
    this.k = make(nk, kShape) as CacheTensor<D>;
    this.v = make(nv, vShape) as CacheTensor<D>;
    this.lengths = new Int32Array(this.batch);
    this.appended = new Int32Array(this.batch);
  }

  /**
   * Append new tokens in place: for each batch row b, the first `counts[b]` (default T) of the T
   * rows of k and v go to positions `lengths[b] ..`; then `appended[b] = counts[b]` and
   * `lengths[b] += counts[b]`. k is `[B,Hkv,T,D]` (layout `'bhld'`) or `[B,T,Hkv,D]` /
   * `[B,T,Hkv*D]` (`'blhd'`), v the same with Dv. Everything is checked first: a
   * {@link CapacityError} when a row would pass the capacity, a ShapeError / DTypeError /
   * ValueError naming the argument otherwise; nothing is written then. k and v may be float32 or
   * half tensors of any dtype: a half cache stores them rounded to its dtype (to nearest even; a
   * half input of the cache's own dtype is copied as it is). Returns the cache.
   */
  append(k: FloatTensorLike, v: FloatTensorLike, options?: KvAppendOptions | null): this {
    const o = optionsObject<KvAppendOptions>(options, 'options', ['counts', 'layout']);
    const layout = optEnum(o.layout, 'options.layout', ['bhld', 'blhd'] as const, 'bhld');
    const kt = this.newTokens(k, 'k', this.headDim, 'D', layout);
    const vt = this.newTokens(v, 'v', this.valueDim, 'Dv', layout);
    if (vt.T !== kt.T) throw new ShapeError('v', layout === 'bhld' ? `[B,Hkv,T=${kt.T},Dv]` : `[B,T=${kt.T},...]`, formatShape(vt.shape), 'token count must match k');
    const T = kt.T;
    const counts = this.readCounts(o.counts, 'options.counts', T);
    this.checkState();
    for (const [name, t] of [['k', kt.data], ['v', vt.data]] as const) {
      if (t.buffer === this.k.data.buffer || t.buffer === this.v.data.buffer) throw new ValueError(name, 'shares memory with the cache itself; pass the new tokens in their own array');
    }
    this.checkFits(counts, o.counts != null ? 'options.counts' : 'k');
    this.write(this.inCacheType(kt), this.inCacheType(vt), T, counts, layout);
    return this;
  }

  /**
   * Empty every batch row (no argument) or row `batch`: its length and last-append count become
   * 0. The floats are not cleared (rows past a length are never read).
   */
  reset(batch?: number): this {
    if (batch === undefined) {
      this.lengths.fill(0);
      this.appended.fill(0);
      return this;
    }
    if (typeof batch !== 'number' || !Number.isInteger(batch) || batch < 0 || batch >= this.batch) {
      throw new ValueError('batch', `expected an integer within 0..${this.batch - 1}, received ${typeof batch === 'number' ? batch : describeType(batch)}`);
    }
    this.lengths[batch] = 0;
    this.appended[batch] = 0;
    return this;
  }

  /**
   * `[B]` the position of the first token of the last append in each batch row,
   * `lengths[b] - appended[b]`: with `causal`, query row i of batch b over this cache is the token
   * at position `offset[b] + i` and sees keys `j <= offset[b] + i` (and `j < lengths[b]`).
   */
  causalOffsets(): Int32Array {
    this.checkState();
    const off = new Int32Array(this.batch);
    for (let b = 0; b < this.batch; b++) off[b] = this.lengths[b] - this.appended[b];
    return off;
  }

  /** The state invariant `0 <= appended[b] <= lengths[b] <= capacity` (the arrays are writable): a ValueError naming the entry. */
  private checkState(): void {
    for (let b = 0; b < this.batch; b++) {
      const n = this.lengths[b];
      if (n < 0 || n > this.capacity) throw new ValueError(`cache.lengths[${b}]`, `expected a length within 0..${this.capacity} (the capacity), received ${n}`);
      const a = this.appended[b];
      if (a < 0 || a > n) throw new ValueError(`cache.appended[${b}]`, `expected a count within 0..lengths[${b}]=${n}, received ${a}`);
    }
  }

  /** Check `[B]` counts within 0..T (default T everywhere). */
  private readCounts(value: unknown, argument: string, T: number): Int32Array {
    if (value === undefined || value === null) return new Int32Array(this.batch).fill(T);
    const counts = liveTypedArray(value, argument, Int32Array, `Int32Array of length B=${this.batch}`);
    if (counts.length !== this.batch) throw new ShapeError(argument, `[B=${this.batch}]`, `[${counts.length}]`);
    for (let b = 0; b < this.batch; b++) {
      const n = counts[b];
      if (n < 0 || n > T) throw new ValueError(`${argument}[${b}]`, `expected a count within 0..${T} (the new tokens T), received ${n}`);
    }
    return counts;
  }

  /** Throw a CapacityError (naming `argument`) when some row's `lengths[b] + counts[b]` passes the capacity. */
  private checkFits(counts: Int32Array, argument: string): void {
    for (let b = 0; b < this.batch; b++) {
      if (this.lengths[b] + counts[b] > this.capacity) throw new CapacityError(argument, b, this.lengths[b], counts[b], this.capacity);
    }
  }

  /** New tokens' elements in the cache's element type (rounded to it, or as they are when they already have it). */
  private inCacheType(t: FloatChecked): FloatData {
    const dt = this.dtype as DType;
    if (t.dtype === dt) return t.data;
    const wide = t.dtype === 'float32' ? (t.data as Float32Array) : decodeHalf(t.data as Uint16Array, t.dtype);
    return dt === 'float32' ? wide : dt === 'float16' ? toFloat16(wide) : toBFloat16(wide);
  }

  /** Check new k or v tokens against the cache: `{ data, shape, dtype, T }`. */
  private newTokens(value: unknown, argument: string, dim: number, dimName: string, layout: 'bhld' | 'blhd'): FloatChecked & { T: number } {
    const B = this.batch, H = this.kvHeads;
    let t: FloatChecked;
    if (layout === 'bhld') {
      t = floatOfRank(value, argument, ['B', 'Hkv', 'T', dimName]);
      const want = `[B=${B},Hkv=${H},T,${dimName}=${dim}]`;
      if (t.shape[0] !== B || t.shape[1] !== H || t.shape[3] !== dim) throw new ShapeError(argument, want, formatShape(t.shape), mismatch(t.shape, [B, H, -1, dim], ['batch', 'kv heads', '', dimName === 'D' ? 'head dim' : 'value dim']));
      if (t.shape[2] < 1) throw new ShapeError(argument, `${want} with T >= 1`, formatShape(t.shape));
      return { data: t.data, shape: t.shape, dtype: t.dtype, T: t.shape[2] };
    }
    t = asFloatTensor(value, argument);
    const [p4, p3] = BLHD(dimName);
    const want4 = `[B=${B},T,Hkv=${H},${dimName}=${dim}]`, want3 = `[B=${B},T,Hkv*${dimName}=${H * dim}]`;
    if (t.shape.length === 4) {
      if (t.shape[0] !== B || t.shape[2] !== H || t.shape[3] !== dim) throw new ShapeError(argument, want4, formatShape(t.shape), mismatch(t.shape, [B, -1, H, dim], ['batch', '', 'kv heads', dimName === 'D' ? 'head dim' : 'value dim']));
    } else if (t.shape.length === 3) {
      if (t.shape[0] !== B || t.shape[2] !== H * dim) throw new ShapeError(argument, want3, formatShape(t.shape), mismatch(t.shape, [B, -1, H * dim], ['batch', '', `kv heads x ${dimName === 'D' ? 'head dim' : 'value dim'}`]));
    } else {
      throw new ShapeError(argument, `${p4} or ${p3} (layout 'blhd')`, formatShape(t.shape), `rank ${t.shape.length}`);
    }
    if (t.shape[1] < 1) throw new ShapeError(argument, `${t.shape.length === 4 ? want4 : want3} with T >= 1`, formatShape(t.shape));
    return { data: t.data, shape: t.shape, dtype: t.dtype, T: t.shape[1] };
  }

  /** Copy the counted rows in (everything was checked) and update the state. */
  private write(k: FloatData, v: FloatData, T: number, counts: Int32Array, layout: 'bhld' | 'blhd'): void {
    const kd = this.k.data as FloatData & { set(a: FloatData, at: number): void };
    const vd = this.v.data as FloatData & { set(a: FloatData, at: number): void };
    const { batch: B, kvHeads: H, capacity: C, headDim: D, valueDim: Dv } = this;
    for (let b = 0; b < B; b++) {
      const n = counts[b];
      const at = this.lengths[b];
      for (let h = 0; h < H; h++) {
        for (let t = 0; t < n; t++) {
          const src = layout === 'bhld' ? (b * H + h) * T + t : (b * T + t) * H + h;
          const dst = (b * H + h) * C + at + t;
          kd.set(k.subarray(src * D, src * D + D), dst * D);
          vd.set(v.subarray(src * Dv, src * Dv + Dv), dst * Dv);
        }
      }
      this.appended[b] = n;
      this.lengths[b] = at + n;
    }
  }
}

/** Which named dims differ, for messages. */
function mismatch(shape: readonly number[], want: readonly number[], names: readonly string[]): string {
  const bad: string[] = [];
  for (let i = 0; i < want.length; i++) if (want[i] >= 0 && shape[i] !== want[i]) bad.push(`${names[i]} ${shape[i]} != the cache's ${want[i]}`);
  return bad.join('; ');
}

/**
 * Read an optional `cache` option (internal): a {@link KvCache} or null; anything else is a
 * DTypeError naming the argument. Also checks the cache's state.
 */
export function optCache(value: unknown, argument: string): KvCache<DType> | null {
  if (value === undefined || value === null) return null;
  if (!(value instanceof KvCache)) throw new DTypeError(argument, 'a KvCache (new KvCache({ batch, kvHeads, capacity, headDim, valueDim? }))', describeType(value));
  value.causalOffsets(); // the state check
  return value;
}

/**
 * Check that `cache` fits an op's shapes (internal): batch B, Hkv kv heads, head dims D and Dv;
 * a ShapeError naming `argument` otherwise.
 */
export function expectCacheFits(cache: KvCache<DType>, argument: string, B: number, Hkv: number, D: number, Dv: number): void {
  const got = [cache.batch, cache.kvHeads, cache.headDim, cache.valueDim];
  const want = [B, Hkv, D, Dv];
  const names = ['batch', 'kvHeads', 'headDim', 'valueDim'];
  const bad = names.filter((_, i) => got[i] !== want[i]);
  if (bad.length) {
    throw new ShapeError(
      argument,
      `a KvCache with ${names.map((n, i) => `${n}=${want[i]}`).join(', ')}`,
      `a KvCache with ${names.map((n, i) => `${n}=${got[i]}`).join(', ')}`,
      `${bad.join(', ')} ${bad.length > 1 ? 'differ' : 'differs'} from the op's`,
    );
  }
}

/**
 * Check (internal) that `counts[b]` (default T) more tokens fit in every row of `cache`: a
 * CapacityError naming `argument` (the op's own argument: `key`, `x`, `options.appendCounts`)
 * otherwise. The ops call it before projecting anything; `append` checks again.
 */
export function expectRoom(cache: KvCache<DType>, counts: Int32Array | null, T: number, argument: string): void {
  cache.causalOffsets(); // the state check
  for (let b = 0; b < cache.batch; b++) {
    const n = counts ? counts[b] : T;
    if (cache.lengths[b] + n > cache.capacity) throw new CapacityError(argument, b, cache.lengths[b], n, cache.capacity);
  }
}
