/**
 * Tensors: row-major, contiguous `Float32Array` plus a shape; masks are `Uint8Array`-backed and
 * lengths `Int32Array`. Helpers build tensors from nested arrays, typed arrays, seeded random
 * numbers, and convert tfjs-like (`{data, shape}`) and onnxruntime-like (`{data, dims}`) objects
 * without copying.
 *
 * @module
 */
import { liveTypedArray } from './buffers';
import { optionsObject } from './options';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from './errors';
import type { DType, FloatData } from './kernels';

/** A dense float32 tensor: row-major, contiguous, `data.length === product(shape)`. */
export interface Tensor {
  /** The elements, row-major. */
  readonly data: Float32Array;
  /** The dimensions. */
  readonly shape: readonly number[];
  /** The element type; absent means float32. */
  readonly dtype?: 'float32';
}

/**
 * A dense half-precision tensor: the IEEE binary16 (`'float16'`) or bfloat16 (`'bfloat16'`) bit
 * patterns of its elements in a Uint16Array, row-major, contiguous. Build one with
 * `toFloat16` / `toBFloat16` (round to nearest even) or wrap existing bits with `halfTensor`.
 */
export interface HalfTensor {
  /** The elements' 16-bit patterns, row-major. */
  readonly data: Uint16Array;
  /** The dimensions. */
  readonly shape: readonly number[];
  /** Which 16-bit format `data` holds. */
  readonly dtype: 'float16' | 'bfloat16';
}

/** A boolean tensor: 1 (or any non-zero byte) = may attend, 0 = masked. */
export interface MaskTensor {
  /** The elements, row-major, one byte each. */
  readonly data: Uint8Array;
  /** The dimensions. */
  readonly shape: readonly number[];
}

/**
 * Anything attnkit accepts where a float tensor is expected: ours, onnxruntime's (`data` + `dims`),
 * or a tfjs float32 tensor (read with `dataSync()`). None is copied. The tfjs form is typed loosely
 * so that a `tf.Tensor` is assignable; at run time `dataSync()` must return a Float32Array (a
 * float32 tensor), anything else is a DTypeError.
 */
export type TensorLike =
  | Tensor
  | { readonly data: Float32Array; readonly dims: readonly number[] }
  | { readonly shape: readonly number[]; dataSync(): Float32Array | ArrayLike<number> };

/**
 * Anything attnkit accepts where a float tensor of any {@link DType} is expected (the ops that take
 * half-precision inputs): a {@link TensorLike}, a {@link HalfTensor}, or an onnxruntime float16
 * tensor (`type: 'float16'`, Uint16Array data). None is copied.
 */
export type FloatTensorLike =
  | TensorLike
  | HalfTensor
  | { readonly data: Uint16Array; readonly dims: readonly number[]; readonly type: 'float16' };

/** Anything attnkit accepts where a mask is expected. */
export type MaskLike =
  | MaskTensor
  | { readonly data: Uint8Array; readonly dims: readonly number[] };

/** Nested arrays of numbers, e.g. `[[1, 2], [3, 4]]`. */
export type NestedArray = number | readonly NestedArray[];

/** Product of the dimensions (1 for a scalar shape `[]`). */
export function sizeOf(shape: readonly number[]): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** True when `d` is a valid dimension: a non-negative safe integer. */
function isDim(d: unknown): d is number {
  return typeof d === 'number' && Number.isSafeInteger(d) && d >= 0;
}

/**
 * Check a shape and return a copy (plain array). Dimensions must be non-negative integers whose product
 * is a safe integer and no larger than 2^31 - 1 elements (the largest typed array we allow).
 */
export function checkShape(shape: unknown, argument: string): number[] {
  let arr: unknown[];
  try {
    if (!Array.isArray(shape) && !(ArrayBuffer.isView(shape) && !(shape instanceof DataView))) {
      throw new DTypeError(`${argument}.shape`, 'an array of dimensions', describeType(shape));
    }
    arr = Array.from(shape as ArrayLike<unknown>);
  } catch (e) {
    if (e instanceof DTypeError) throw e;
    throw new DTypeError(`${argument}.shape`, 'an array of dimensions', 'an unreadable value');
  }
  let n = 1;
  for (let i = 0; i < arr.length; i++) {
    const d = arr[i];
    if (!isDim(d)) {
      throw new ShapeError(
        argument,
        'non-negative integer dimensions',
        `[${arr.map((x) => String(x)).join(',')}]`,
        `dimension ${i} is ${String(d)}`,
      );
    }
    n *= d;
    if (n > 0x7fffffff) {
      throw new ShapeError(
        argument,
        'at most 2^31-1 elements',
        `[${arr.join(',')}]`,
        'the product of the dimensions is too large',
      );
    }
  }
  return arr as number[];
}

function readField(obj: object, key: string, argument: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch (e) {
    throw new DTypeError(argument, 'a tensor object with readable fields', `an object whose '${key}' throws`, String((e as Error)?.message ?? e));
  }
}

/**
 * Accept a tensor-like value of element type `ctor` and return `{ data, shape }` without copying.
 * Checks the element type, the shape, that `data.length` matches it and that the buffer is not detached.
 */
function toTyped<T extends ArrayBufferView & { length: number; BYTES_PER_ELEMENT: number }>(
  value: unknown,
  argument: string,
  ctor: { new (n: number): T; name: string },
): { data: T; shape: number[] } {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new DTypeError(argument, `a tensor ({ data: ${ctor.name}, shape })`, describeType(value), Array.isArray(value) || ArrayBuffer.isView(value) ? 'wrap it with tensor(data, shape)' : undefined);
  }
  let data = readField(value, 'data', argument);
  // A tfjs Tensor itself: `data` is an async method; dataSync() gives its values (no copy on tfjs's cpu backend).
  if (typeof data === 'function' && typeof readField(value, 'dataSync', argument) === 'function') {
    try {
      data = (value as { dataSync(): unknown }).dataSync();
    } catch (e) {
      throw new DTypeError(argument, 'a readable tfjs tensor', 'a tensor whose dataSync() throws', String((e as Error)?.message ?? e));
    }
  }
  let rawShape = readField(value, 'shape', argument);
  if (rawShape === undefined) rawShape = readField(value, 'dims', argument);
  const typed = liveTypedArray(data, `${argument}.data`, ctor, ctor.name);
  const shape = checkShape(rawShape, argument);
  const n = sizeOf(shape);
  if (typed.length !== n) {
    throw new ShapeError(
      argument,
      `data of ${n} elements for shape ${formatShape(shape)}`,
      `${typed.length} elements`,
      'data.length must equal the product of the shape',
    );
  }
  return { data: typed, shape };
}

const FLOAT_DTYPES: readonly DType[] = ['float32', 'float16', 'bfloat16'];

/**
 * The element type a tensor-like object declares: its `dtype` (ours, tfjs's) or else, beside
 * `dims`, its `type` (onnxruntime's), checked to be a float type; float32 when it declares none.
 */
function declaredDtype(value: unknown, argument: string): DType {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) return 'float32';
  let d = readField(value, 'dtype', argument);
  let field = 'dtype';
  if (d === undefined && readField(value, 'dims', argument) !== undefined) {
    // onnxruntime's tensors: `type` beside `dims`.
    const t = readField(value, 'type', argument);
    if (typeof t === 'string') {
      d = t;
      field = 'type';
    }
  }
  // Only a string is a dtype (a Proxy answering every field with a number is judged by its data).
  if (typeof d !== 'string') return 'float32';
  if (!FLOAT_DTYPES.includes(d as DType)) {
    throw new DTypeError(`${argument}.${field}`, "'float32', 'float16' or 'bfloat16'", typeof d === 'string' ? `'${d}'` : describeType(d));
  }
  return d as DType;
}

/** A Uint16Array given as float data without a half dtype: say what is missing. */
function undeclaredHalf(value: unknown, argument: string): void {
  if (value === null || typeof value !== 'object') return;
  let data: unknown;
  try {
    data = (value as { data?: unknown }).data;
  } catch {
    return; // toTyped reports the throwing getter
  }
  if (data instanceof Uint16Array) {
    throw new DTypeError(`${argument}.data`, 'a Float32Array (or a half tensor: a Uint16Array with dtype \'float16\' or \'bfloat16\')', 'a Uint16Array without a dtype', "16-bit data needs its format: { data, shape, dtype: 'float16' | 'bfloat16' } (toFloat16 / toBFloat16 make one)");
  }
}

/**
 * Validate and normalise a float32 tensor argument (no copy). Throws typed errors naming
 * `argument`; a half tensor is a DTypeError (the op takes float32 only).
 */
export function asTensor(value: unknown, argument: string): { data: Float32Array; shape: number[] } {
  const dtype = declaredDtype(value, argument);
  if (dtype !== 'float32') throw new DTypeError(argument, 'a float32 tensor', `a ${dtype} tensor`, 'this argument takes float32 only: widen it with toFloat32');
  undeclaredHalf(value, argument);
  return toTyped(value, argument, Float32Array);
}

/**
 * Validate and normalise a float tensor argument of any {@link DType} (no copy): a float32 tensor
 * (ours, onnxruntime's, tfjs's), a {@link HalfTensor}, or an onnxruntime `float16` tensor
 * (`type: 'float16'`, Uint16Array data). Returns its data, shape and dtype.
 */
export function asFloatTensor(value: unknown, argument: string): { data: FloatData; shape: number[]; dtype: DType } {
  // Object literals, not spreads of toTyped's result: with a spread here V8 kept every call's
  // result past the young generation (reference sdpa's RSS grew 10-16 MiB per 10,000 small
  // calls, test/memory.test.mjs; flat with literals).
  const dtype = declaredDtype(value, argument);
  if (dtype === 'float32') {
    undeclaredHalf(value, argument);
    const t = toTyped(value, argument, Float32Array);
    return { data: t.data, shape: t.shape, dtype };
  }
  const t = toTyped(value, argument, Uint16Array);
  return { data: t.data, shape: t.shape, dtype };
}

/** Validate and normalise a mask argument (no copy). */
export function asMask(value: unknown, argument: string): { data: Uint8Array; shape: number[] } {
  return toTyped(value, argument, Uint8Array);
}

/** Validate and normalise an Int32Array-backed tensor argument, e.g. topK's indices (no copy). */
export function asInt32Tensor(value: unknown, argument: string): { data: Int32Array; shape: number[] } {
  return toTyped(value, argument, Int32Array);
}

/**
 * A half tensor argument (no copy): Uint16Array data and a half dtype (ours, or onnxruntime's
 * `type`); other data is a DTypeError naming `argument.data`, a missing or other dtype one naming
 * `argument.dtype`.
 */
export function asHalfTensor(value: unknown, argument: string): { data: Uint16Array; shape: number[]; dtype: 'float16' | 'bfloat16' } {
  const t = toTyped(value, argument, Uint16Array);
  const dtype = declaredDtype(value, argument);
  if (dtype === 'float32') halfDTypeOf(readField(value as object, 'dtype', argument) ?? readField(value as object, 'type', argument), `${argument}.dtype`);
  return { data: t.data, shape: t.shape, dtype: dtype as 'float16' | 'bfloat16' };
}

/** `value` if it names a half format, else a DTypeError on `argument` (shared with src/half.ts). */
export function halfDTypeOf(value: unknown, argument: string): 'float16' | 'bfloat16' {
  if (value === 'float16' || value === 'bfloat16') return value;
  throw new DTypeError(argument, "'float16' or 'bfloat16'", typeof value === 'string' ? `'${value}'` : describeType(value), value === undefined ? 'a Uint16Array holds the bits of either format: name which' : undefined);
}

/**
 * `data` as an array-like of numbers: a numeric typed array as is (its elements are numbers by
 * construction: no per-element pass), an Array or other array-like whose every element passes
 * `ok`; otherwise a DTypeError naming `argument` (or the offending element).
 */
export function numericArrayLike<T>(data: unknown, argument: string, expected: string, element: string, ok: (x: unknown) => boolean): ArrayLike<T> {
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) throw new DTypeError(argument, expected, describeType(data));
    return data as unknown as ArrayLike<T>;
  }
  const len = data !== null && typeof data === 'object' ? (data as { length?: unknown }).length : undefined;
  if (!(typeof len === 'number' && Number.isInteger(len) && len >= 0)) throw new DTypeError(argument, expected, describeType(data));
  const arr = data as ArrayLike<unknown>;
  for (let i = 0; i < len; i++) if (!ok(arr[i])) throw new DTypeError(`${argument}[${i}]`, element, describeType(arr[i]));
  return arr as ArrayLike<T>;
}

/** Build a tensor from a typed array (float32, no copy) or a plain array (copied), and a shape. */
export function tensor(data: Float32Array | ArrayLike<number>, shape: readonly number[]): Tensor {
  const s = checkShape(shape, 'shape');
  const d = data instanceof Float32Array ? data : Float32Array.from(numericArrayLike<number>(data, 'data', 'a Float32Array or an array of numbers', 'a number', (x) => typeof x === 'number'));
  if (d.length !== sizeOf(s)) {
    throw new ShapeError('data', `${sizeOf(s)} elements for shape ${formatShape(s)}`, `${d.length} elements`);
  }
  return { data: d, shape: Object.freeze(s) };
}

/** Build a tensor from nested arrays; the shape is read from the nesting (must be rectangular). */
export function fromNested(nested: NestedArray): Tensor {
  const shape: number[] = [];
  let probe: NestedArray = nested;
  while (Array.isArray(probe)) {
    shape.push(probe.length);
    probe = (probe as readonly NestedArray[])[0] as NestedArray;
    if (probe === undefined) break;
  }
  const out = new Float32Array(sizeOf(shape));
  let pos = 0;
  const walk = (x: NestedArray, depth: number): void => {
    if (depth === shape.length) {
      if (typeof x !== 'number') throw new DTypeError('nested', 'numbers at the innermost level', describeType(x));
      out[pos++] = x;
      return;
    }
    if (!Array.isArray(x) || x.length !== shape[depth]) {
      throw new ShapeError('nested', `a rectangular array of shape ${formatShape(shape)}`, `a ragged array at depth ${depth}`);
    }
    for (const y of x as readonly NestedArray[]) walk(y, depth + 1);
  };
  walk(nested, 0);
  return { data: out, shape: Object.freeze(shape) };
}

/** Build a mask from a typed array or booleans/numbers, and a shape. */
export function mask(data: Uint8Array | ArrayLike<number | boolean>, shape: readonly number[]): MaskTensor {
  const s = checkShape(shape, 'shape');
  const d = data instanceof Uint8Array ? data : Uint8Array.from(numericArrayLike<number | boolean>(data, 'data', 'a Uint8Array or an array of numbers or booleans', 'a number or boolean', (x) => typeof x === 'number' || typeof x === 'boolean'), (x) => (x ? 1 : 0));
  if (d.length !== sizeOf(s)) {
    throw new ShapeError('data', `${sizeOf(s)} elements for shape ${formatShape(s)}`, `${d.length} elements`);
  }
  return { data: d, shape: Object.freeze(s) };
}

/** A tensor of zeros. */
export function zeros(shape: readonly number[]): Tensor {
  const s = checkShape(shape, 'shape');
  return { data: new Float32Array(sizeOf(s)), shape: Object.freeze(s) };
}

/**
 * A small, fast, seeded generator (mulberry32). Deterministic across platforms, so tests and
 * benchmarks can name their inputs by a seed.
 */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Options of {@link random}. */
export interface RandomOptions {
  /** Seed of the generator (default 1). */
  seed?: number;
  /** `'uniform'` in [low, high) or `'normal'` with mean 0 and std `std` (default `'uniform'`). */
  distribution?: 'uniform' | 'normal';
  /** Lower bound for uniform (default -1). */
  low?: number;
  /** Upper bound for uniform (default 1). */
  high?: number;
  /** Standard deviation for normal (default 1). */
  std?: number;
}

/** A tensor of seeded random numbers (uniform in [-1, 1) by default). */
export function random(shape: readonly number[], options: RandomOptions | null = {}): Tensor {
  const s = checkShape(shape, 'shape');
  // Each field read once, through the guard (a throwing getter or Proxy is a typed error).
  const g = optionsObject<RandomOptions>(options, 'options');
  const o: RandomOptions = { seed: g.seed, distribution: g.distribution, low: g.low, high: g.high, std: g.std };
  for (const k of ['seed', 'low', 'high', 'std'] as const) {
    const x = o[k];
    if (x !== undefined && !(typeof x === 'number' && Number.isFinite(x))) throw new DTypeError(`options.${k}`, 'a finite number', describeType(x));
  }
  if (o.distribution !== undefined && o.distribution !== 'uniform' && o.distribution !== 'normal') {
    throw new ValueError('options.distribution', `expected 'uniform' or 'normal', received ${describeType(o.distribution)}`);
  }
  options = o;
  const rnd = seededRandom(options.seed ?? 1);
  const out = new Float32Array(sizeOf(s));
  if ((options.distribution ?? 'uniform') === 'normal') {
    const std = options.std ?? 1;
    for (let i = 0; i < out.length; i++) {
      const u1 = Math.max(rnd(), 1e-12);
      const u2 = rnd();
      out[i] = std * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
    }
  } else {
    const lo = options.low ?? -1;
    const hi = options.high ?? 1;
    for (let i = 0; i < out.length; i++) out[i] = lo + (hi - lo) * rnd();
  }
  return { data: out, shape: Object.freeze(s) };
}

/** Key lengths (`[B]`) as an Int32Array, from any array of integers. */
export function lengths(values: Int32Array | ArrayLike<number>): Int32Array {
  if (values instanceof Int32Array) return values;
  const arr = numericArrayLike<number>(values, 'values', 'an Int32Array or an array of integers', 'an integer', (x) => typeof x === 'number');
  for (let i = 0; i < arr.length; i++) {
    if (!Number.isInteger(arr[i])) throw new ValueError(`values[${i}]`, `expected an integer, received ${arr[i]}`);
  }
  return Int32Array.from(arr);
}

/** Convert a tensor back to nested arrays (for printing and tests). */
export function toNested(t: { data: ArrayLike<number>; shape: readonly number[] }): NestedArray {
  const { data, shape } = t;
  if (shape.length === 0) return data[0];
  let pos = 0;
  const build = (depth: number): NestedArray => {
    const n = shape[depth];
    const out: NestedArray[] = [];
    for (let i = 0; i < n; i++) out.push(depth === shape.length - 1 ? data[pos++] : build(depth + 1));
    return out;
  };
  return build(0);
}
