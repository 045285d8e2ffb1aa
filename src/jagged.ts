/**
 * Jagged tensors: B sequences of different lengths stored back to back, without padding. The
 * convention is FBGEMM's and torchrec's: `values` holds every sequence's rows in batch order,
 * shape `[ΣL_b, ...inner]` (e.g. `[ΣL_b, H, D]`), and `offsets` (Int32Array of B+1) says where
 * each sequence starts: sequence b is rows `offsets[b] .. offsets[b+1]-1`, so `offsets[0] = 0`,
 * the offsets never decrease, and `offsets[B]` is the row count of `values`.
 *
 * The helpers here are exact data moves (no arithmetic): to and from a padded `[B, maxLen,
 * ...inner]` tensor plus lengths, lengths from offsets and back. They touch only the valid rows
 * (padding is written once, or not at all for a zero pad value) and need no memory beyond their
 * result. Values may be float32 or half precision (a {@link HalfTensor}: the data moves are the
 * same).
 *
 * B >= 1: a jagged batch has at least one sequence (each may be empty), as every op's batch has.
 *
 * @module
 */
import { liveTypedArray } from './buffers';
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from './errors';
import { float32ToBFloat16Bits, float32ToFloat16Bits } from './half';
import type { DType, FloatData } from './kernels';
import { optionsObject } from './options';
import { asFloatTensor, numericArrayLike, sizeOf, type FloatTensorLike, type HalfTensor, type Tensor } from './tensor';

/**
 * A jagged batch: `values` `[ΣL_b, ...inner]` (float32 or half) and `offsets` `[B+1]` (see the
 * module comment for the convention). Build one with {@link jagged} or {@link fromPadded}.
 */
export interface JaggedTensor {
  /** Every sequence's rows back to back, shape `[total, ...inner]` with `total = offsets[B]`. */
  readonly values: Tensor | HalfTensor;
  /** `[B+1]`: 0, then the end of each sequence (non-decreasing; the last is `total`). */
  readonly offsets: Int32Array;
}

/**
 * What attnkit accepts where a jagged tensor is expected: `offsets` an Int32Array, `values` any
 * float tensor attnkit accepts (ours, onnxruntime's, tfjs's, a {@link HalfTensor}). Not copied.
 */
export interface JaggedLike {
  /** `[total, ...inner]` values. */
  readonly values: FloatTensorLike;
  /** `[B+1]` offsets. */
  readonly offsets: Int32Array;
}

/** A checked jagged argument ({@link asJagged}): flat data, no copy. */
export interface CheckedJagged {
  /** The values' elements (float32, or the bit patterns of `dtype`). */
  readonly data: FloatData;
  /** The values' element type. */
  readonly dtype: DType;
  /** `[B+1]` offsets, checked. */
  readonly offsets: Int32Array;
  /** The values' shape `[total, ...inner]`. */
  readonly shape: number[];
  /** B, the number of sequences (>= 1). */
  readonly batch: number;
  /** Elements per row: the product of the inner dims. */
  readonly rowSize: number;
}

/** What {@link asJagged} should require beyond a valid jagged tensor. */
export interface JaggedExpectation {
  /** The number of sequences B (the offsets must have B+1 entries). */
  batch?: number;
  /** Inner dims that must have a given size; null (or a missing entry) for any size. */
  inner?: readonly (number | null)[];
}

/** Options of {@link toPadded}. */
export interface ToPaddedOptions {
  /**
   * Rows per sequence in the padded tensor (default: the longest sequence's length). A longer
   * sequence keeps its first `maxLength` rows (as FBGEMM's jagged_to_padded_dense does), and the
   * returned lengths say so. A non-negative integer.
   */
  maxLength?: number;
  /**
   * The value of the padding rows (default 0; any number, e.g. -Infinity or NaN). For half values
   * it is rounded to the values' format (nearest even).
   */
  padValue?: number;
}

/** The result of {@link toPadded}. */
export interface PaddedJagged {
  /** `[B, maxLength, ...inner]`, same element type as the values; rows past `lengths[b]` are the pad value. */
  padded: Tensor | HalfTensor;
  /** `[B]`: the rows of sequence b kept in `padded` (its length, or `maxLength` if that is shorter). */
  lengths: Int32Array;
}

const MAX_ELEMENTS = 0x7fffffff;

/** Read `obj[key]` (a throwing getter or Proxy trap is a DTypeError naming the field). */
function field(obj: object, key: string, argument: string): unknown {
  try {
    return (obj as Record<string, unknown>)[key];
  } catch (e) {
    throw new DTypeError(`${argument}.${key}`, 'a readable value', 'a getter or Proxy trap that throws', String((e as Error)?.message ?? e));
  }
}

/**
 * Check `offsets` against a values tensor of `rows` rows: B >= 1, `offsets[0] = 0`,
 * non-decreasing, `offsets[B] = rows`. Errors name `argument` (e.g. `'q.offsets'`) and give the
 * position of the first bad offset.
 */
function checkOffsets(offsets: Int32Array, rows: number, argument: string, valuesArgument: string, valuesShape: readonly number[]): void {
  const n = offsets.length;
  if (n < 2) throw new ShapeError(argument, '[B+1] with B >= 1 (0, then the end row of each sequence)', `[${n}]`, n === 1 ? 'B = 0: a jagged batch needs at least one sequence (each may be empty)' : undefined);
  if (offsets[0] !== 0) throw new ValueError(argument, `expected offsets[0] = 0 (sequence b is rows offsets[b]..offsets[b+1]-1 of the values), received offsets[0] = ${offsets[0]}`);
  for (let i = 1; i < n; i++) {
    if (offsets[i] < offsets[i - 1]) {
      throw new ValueError(argument, `expected non-decreasing offsets (a sequence's length is offsets[b+1] - offsets[b] >= 0), received offsets[${i}] = ${offsets[i]} < offsets[${i - 1}] = ${offsets[i - 1]}`);
    }
  }
  const B = n - 1;
  if (offsets[B] !== rows) {
    throw new ShapeError(argument, `offsets[B=${B}] = ${rows}, the row count of ${valuesArgument} ${formatShape(valuesShape)}`, `offsets[${B}] = ${offsets[B]}`);
  }
}

/** An Int32Array as is, or an array of int32 integers copied into one; else a typed error naming `argument`. */
function int32s(value: unknown, argument: string, what: string): Int32Array {
  if (value instanceof Int32Array) return liveTypedArray(value, argument, Int32Array, `an Int32Array of ${what}`);
  const arr = numericArrayLike<number>(value, argument, `an Int32Array or an array of integers (${what})`, 'an integer', (x) => typeof x === 'number');
  const out = new Int32Array(arr.length);
  for (let i = 0; i < arr.length; i++) {
    const x = arr[i];
    if (!Number.isInteger(x) || x < -0x80000000 || x > MAX_ELEMENTS) throw new ValueError(`${argument}[${i}]`, `expected an int32 integer, received ${x}`);
    out[i] = x;
  }
  return out;
}

/** The shape `[rows, ...inner]` as a tensor object of `data` (half: with its dtype). */
function wrap(data: FloatData, shape: number[], dtype: DType): Tensor | HalfTensor {
  const s = Object.freeze(shape);
  return dtype === 'float32' ? { data: data as Float32Array, shape: s } : { data: data as Uint16Array, shape: s, dtype };
}

/**
 * Build a {@link JaggedTensor} (no copy of the values; Int32Array offsets are not copied either).
 *
 * - `values`: a float tensor `[total, ...inner]` (float32, half, onnxruntime's, tfjs's), or a
 *   bare Float32Array holding `total · product(innerShape)` elements.
 * - `offsets`: `[B+1]`, an Int32Array or an array of integers: 0, then the end row of each
 *   sequence (FBGEMM / torchrec). {@link offsetsFromLengths} makes them from lengths.
 * - `innerShape`: the dims of one row, e.g. `[H, D]`; required shape of a bare Float32Array (default
 *   `[]`: one number per row); for a tensor, optional and checked against its `shape.slice(1)`.
 *
 * Throws ShapeError / ValueError naming `offsets` (B = 0, `offsets[0] != 0`, the first
 * decreasing offset, `offsets[B]` != the row count) or `values` (a size that is not whole rows,
 * an inner shape that differs), DTypeError for the wrong types.
 *
 * @example
 * // Two users: 3 and 1 events of 2 heads x 4 dims.
 * const j = jagged(new Float32Array(4 * 2 * 4), [0, 3, 4], [2, 4]);
 * j.values.shape; // [4, 2, 4]
 */
export function jagged(values: FloatTensorLike | Float32Array, offsets: Int32Array | ArrayLike<number>, innerShape?: readonly number[]): JaggedTensor {
  let inner: number[] | null = null;
  if (innerShape !== undefined && innerShape !== null) {
    inner = innerDims(innerShape, 'innerShape');
  }
  if (ArrayBuffer.isView(values)) {
    const data = liveTypedArray(values, 'values', Float32Array, 'a float tensor ({ data, shape }) or a Float32Array (with innerShape)');
    const rowShape = inner ?? [];
    const rowSize = sizeOf(rowShape);
    const offs = int32s(offsets, 'offsets', 'B+1 offsets');
    // Rows of zero elements (an inner dim of 0): the offsets say how many.
    const rows = rowSize === 0 ? (offs.length ? offs[offs.length - 1] : 0) : data.length / rowSize;
    if (rowSize === 0 ? data.length !== 0 : data.length % rowSize !== 0) {
      throw new ShapeError('values', `whole rows of innerShape ${formatShape(rowShape)} (a multiple of ${rowSize} elements)`, `Float32Array(${data.length})`);
    }
    const shape = [rows, ...rowShape];
    checkOffsets(offs, rows, 'offsets', 'values', shape);
    return { values: wrap(data, shape, 'float32'), offsets: offs };
  }
  const t = asFloatTensor(values, 'values');
  if (t.shape.length < 1) throw new ShapeError('values', '[total,...inner] (rank >= 1)', formatShape(t.shape));
  if (inner && (inner.length !== t.shape.length - 1 || inner.some((d, i) => d !== t.shape[i + 1]))) {
    throw new ShapeError('values', `[total,${inner.join(',')}] (innerShape)`, formatShape(t.shape));
  }
  const offs = int32s(offsets, 'offsets', 'B+1 offsets');
  checkOffsets(offs, t.shape[0], 'offsets', 'values', t.shape);
  return { values: wrap(t.data, t.shape.slice(), t.dtype), offsets: offs };
}

/** `innerShape` as a plain array of non-negative integer dims. */
function innerDims(value: unknown, argument: string): number[] {
  if (!Array.isArray(value) && !(ArrayBuffer.isView(value) && !(value instanceof DataView))) throw new DTypeError(argument, 'an array of dimensions', describeType(value));
  const arr = Array.from(value as ArrayLike<unknown>);
  arr.forEach((d, i) => {
    if (!(typeof d === 'number' && Number.isSafeInteger(d) && d >= 0)) throw new ShapeError(argument, 'non-negative integer dimensions', `[${arr.map(String).join(',')}]`, `dimension ${i} is ${String(d)}`);
  });
  return arr as number[];
}

/**
 * Check a jagged argument and return it flat (no copy): what an op calls on its jagged inputs.
 * `argument` names it in errors (`'q'` gives `'q.values'`, `'q.offsets'`); `pattern` names the
 * inner dims (e.g. `['H','D']`: the values must be `[total,H,D]`); `expect` pins the batch size and
 * inner dims that must match another argument. Both buffers must be live (not detached, not
 * resized since the tensor was built: a length that no longer matches is a ShapeError).
 *
 * Throws DTypeError (not an object, offsets not an Int32Array, a detached buffer), ShapeError
 * (rank, inner dims, B, `offsets[B]` != the row count) or ValueError (`offsets[0] != 0`, the first
 * decreasing offset), each naming the field.
 */
export function asJagged(value: unknown, argument: string, pattern?: readonly string[], expect: JaggedExpectation = {}): CheckedJagged {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || ArrayBuffer.isView(value)) {
    throw new DTypeError(argument, 'a jagged tensor ({ values: [total,...inner], offsets: Int32Array [B+1] })', describeType(value), 'build one with jagged(values, offsets, innerShape) or fromPadded(padded, lengths)');
  }
  const values = asFloatTensor(field(value, 'values', argument), `${argument}.values`);
  const offsets = liveTypedArray(field(value, 'offsets', argument), `${argument}.offsets`, Int32Array, 'an Int32Array of B+1 offsets');
  const shape = values.shape;
  const names = pattern ? ['total', ...pattern] : null;
  const describe = (): string => `[${(names ?? ['total', '...inner']).map((p, i) => (i > 0 && expect.inner?.[i - 1] != null ? `${p}=${expect.inner[i - 1]}` : p)).join(',')}]`;
  if (names ? shape.length !== names.length : shape.length < 1) {
    throw new ShapeError(`${argument}.values`, `${describe()} (rank ${names ? names.length : '>= 1'})`, formatShape(shape), `rank ${shape.length}`);
  }
  if (expect.inner) {
    expect.inner.forEach((want, i) => {
      if (want != null && shape[i + 1] !== want) throw new ShapeError(`${argument}.values`, describe(), formatShape(shape), `inner dim ${names ? names[i + 1] : i} is ${shape[i + 1]}, must be ${want}`);
    });
  }
  if (expect.batch !== undefined && offsets.length !== expect.batch + 1) {
    throw new ShapeError(`${argument}.offsets`, `[B+1=${expect.batch + 1}] (B=${expect.batch} sequences)`, `[${offsets.length}]`);
  }
  checkOffsets(offsets, shape[0], `${argument}.offsets`, `${argument}.values`, shape);
  return { data: values.data, dtype: values.dtype, offsets, shape, batch: offsets.length - 1, rowSize: sizeOf(shape.slice(1)) };
}

/** The length of each sequence, `offsets[b+1] - offsets[b]`: a new Int32Array `[B]`. Checks `j` as {@link asJagged} does (naming `'j'`). */
export function lengthsOf(j: JaggedLike): Int32Array {
  const { offsets, batch } = asJagged(j, 'j');
  const out = new Int32Array(batch);
  for (let b = 0; b < batch; b++) out[b] = offsets[b + 1] - offsets[b];
  return out;
}

/**
 * Offsets `[B+1]` from lengths `[B]` (an Int32Array or an array of integers): 0, then the running
 * sum. B >= 1; each length a non-negative integer (ValueError naming `lengths[b]`); the total must
 * stay within 2^31-1 rows (ValueError naming `lengths`).
 */
export function offsetsFromLengths(lengths: Int32Array | ArrayLike<number>): Int32Array {
  const ls = int32s(lengths, 'lengths', 'B sequence lengths');
  if (ls.length < 1) throw new ShapeError('lengths', '[B] with B >= 1', '[0]', 'a jagged batch needs at least one sequence (each may be empty)');
  const out = new Int32Array(ls.length + 1);
  let total = 0;
  for (let b = 0; b < ls.length; b++) {
    if (ls[b] < 0) throw new ValueError(`lengths[${b}]`, `expected a length >= 0, received ${ls[b]}`);
    total += ls[b];
    if (total > MAX_ELEMENTS) throw new ValueError('lengths', `the total length exceeds 2^31-1 rows at lengths[${b}] (running sum ${total})`);
    out[b + 1] = total;
  }
  return out;
}

/** The bit pattern (half) or value (float32) that fills padding, and whether a fresh array already holds it. */
function padElement(padValue: number, dtype: DType): { element: number; zero: boolean } {
  if (dtype === 'float32') return { element: padValue, zero: Object.is(padValue, 0) };
  const bits = dtype === 'float16' ? float32ToFloat16Bits(padValue) : float32ToBFloat16Bits(padValue);
  return { element: bits, zero: bits === 0 };
}

/**
 * A jagged tensor as a padded one: `[B, maxLength, ...inner]` plus the lengths kept. Sequence b's
 * rows go to `padded[b, 0..len)` unchanged (same element type, bit for bit); rows past its length
 * are `padValue` (default 0: nothing is written for them). `maxLength` defaults to the longest
 * sequence; a shorter one truncates (each sequence keeps its first rows). Exact and O(output):
 * one copy of the kept rows, one fill of the padding.
 *
 * Throws as {@link asJagged} does (naming `'j'`), ValueError naming `options.maxLength` (not a
 * non-negative integer, or a padded size past 2^31-1 elements) and DTypeError naming
 * `options.padValue` (not a number).
 */
export function toPadded(j: JaggedLike, options?: ToPaddedOptions | null): PaddedJagged {
  const o = optionsObject<ToPaddedOptions>(options, 'options', ['maxLength', 'padValue']);
  const maxLengthOpt = o.maxLength;
  const padValue = o.padValue ?? 0;
  const x = asJagged(j, 'j');
  if (typeof padValue !== 'number') throw new DTypeError('options.padValue', 'a number', describeType(padValue));
  const { offsets, batch: B, rowSize, dtype } = x;
  let maxLength = 0;
  if (maxLengthOpt === undefined) {
    for (let b = 0; b < B; b++) maxLength = Math.max(maxLength, offsets[b + 1] - offsets[b]);
  } else {
    if (typeof maxLengthOpt !== 'number' || !Number.isSafeInteger(maxLengthOpt) || maxLengthOpt < 0) {
      throw new ValueError('options.maxLength', `expected a non-negative integer, received ${typeof maxLengthOpt === 'number' ? maxLengthOpt : describeType(maxLengthOpt)}`);
    }
    maxLength = maxLengthOpt;
  }
  const shape = [B, maxLength, ...x.shape.slice(1)];
  const n = B * maxLength * rowSize;
  if (n > MAX_ELEMENTS) throw new ValueError(maxLengthOpt === undefined ? 'j' : 'options.maxLength', `the padded tensor ${formatShape(shape)} would have ${n} elements, over the 2^31-1 limit`);
  const out: FloatData = dtype === 'float32' ? new Float32Array(n) : new Uint16Array(n);
  const lengths = new Int32Array(B);
  const pad = padElement(padValue, dtype);
  const seq = maxLength * rowSize;
  for (let b = 0; b < B; b++) {
    const len = Math.min(offsets[b + 1] - offsets[b], maxLength);
    lengths[b] = len;
    const src = offsets[b] * rowSize;
    out.set(x.data.subarray(src, src + len * rowSize), b * seq);
    if (!pad.zero && len < maxLength) out.fill(pad.element, b * seq + len * rowSize, (b + 1) * seq);
  }
  return { padded: wrap(out, shape, dtype), lengths };
}

/**
 * A padded tensor `[B, maxLen, ...inner]` (float32 or half) and lengths `[B]` (an Int32Array or
 * an array of integers, each within 0..maxLen) as a new {@link JaggedTensor}: the first
 * `lengths[b]` rows of each sequence copied back to back (bit for bit), offsets from the lengths.
 * The padding is never read. B >= 1.
 *
 * Throws ShapeError naming `padded` (rank < 2, B = 0) or `lengths` (not B entries), ValueError
 * naming `lengths[b]` (outside 0..maxLen), DTypeError for the wrong types.
 */
export function fromPadded(padded: FloatTensorLike, lengths: Int32Array | ArrayLike<number>): JaggedTensor {
  const p = asFloatTensor(padded, 'padded');
  if (p.shape.length < 2) throw new ShapeError('padded', '[B,maxLen,...inner] (rank >= 2)', formatShape(p.shape), `rank ${p.shape.length}`);
  const [B, maxLen] = p.shape;
  if (B < 1) throw new ShapeError('padded', '[B,maxLen,...inner] with B >= 1', formatShape(p.shape), 'a jagged batch needs at least one sequence (each may be empty)');
  const ls = int32s(lengths, 'lengths', `B=${B} sequence lengths`);
  if (ls.length !== B) throw new ShapeError('lengths', `[B=${B}]`, `[${ls.length}]`);
  const offsets = new Int32Array(B + 1);
  for (let b = 0; b < B; b++) {
    if (!(ls[b] >= 0 && ls[b] <= maxLen)) throw new ValueError(`lengths[${b}]`, `expected a length within 0..maxLen=${maxLen}, received ${ls[b]}`);
    offsets[b + 1] = offsets[b] + ls[b];
  }
  const inner = p.shape.slice(2);
  const rowSize = sizeOf(inner);
  const total = offsets[B];
  const out: FloatData = p.dtype === 'float32' ? new Float32Array(total * rowSize) : new Uint16Array(total * rowSize);
  const seq = maxLen * rowSize;
  for (let b = 0; b < B; b++) out.set(p.data.subarray(b * seq, b * seq + ls[b] * rowSize), offsets[b] * rowSize);
  return { values: wrap(out, [total, ...inner], p.dtype), offsets };
}
