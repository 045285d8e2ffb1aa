/**
 * Argument checks shared by the ops. Each throws a typed error that names the argument and the
 * expected and received shape or type.
 *
 * @module
 */
import { DTypeError, ShapeError, ValueError, describeType, formatShape } from './errors';
import type { DType, DTypes, FloatData, HalfDType, Strided } from './kernels';
import { liveTypedArray } from './buffers';
import { asFloatTensor, asMask, asTensor, sizeOf } from './tensor';

// Lives in ./options (it depends only on the errors) so that tensor.ts can use it without a cycle.
export { optionsObject } from './options';

/** A checked float tensor. */
export interface Checked {
  data: Float32Array;
  shape: number[];
}

/** A checked float tensor of any {@link DType}: float32 data, or the bit patterns of a half type. */
export interface FloatChecked {
  data: FloatData;
  shape: number[];
  dtype: DType;
}

function expectRank<T extends { shape: number[] }>(t: T, argument: string, pattern: readonly string[]): T {
  if (t.shape.length !== pattern.length) {
    throw new ShapeError(argument, `[${pattern.join(',')}] (rank ${pattern.length})`, formatShape(t.shape), `rank ${t.shape.length}`);
  }
  return t;
}

/** Check a float32 tensor of a given rank; `pattern` names the dims for messages, e.g. `['B','L','E']`. */
export function tensorOfRank(value: unknown, argument: string, pattern: readonly string[]): Checked {
  return expectRank(asTensor(value, argument), argument, pattern);
}

/** The same for an argument that may also be float16 or bfloat16. */
export function floatOfRank(value: unknown, argument: string, pattern: readonly string[]): FloatChecked {
  return expectRank(asFloatTensor(value, argument), argument, pattern);
}

/**
 * Collects the element types of a kernel call's half operands while its arguments are checked,
 * for the args' `dtypes` (src/kernels.ts DTypes): `take(field, checked)` records the field's
 * dtype and returns its data.
 */
export class HalfFields {
  private readonly seen: Record<string, HalfDType> = {};
  /** Record `field`'s dtype (nothing for float32) and return its data. */
  take(field: string, t: FloatChecked): FloatData;
  take(field: string, t: FloatChecked | null): FloatData | null;
  take(field: string, t: FloatChecked | null): FloatData | null {
    if (!t) return null;
    if (t.dtype !== 'float32') this.seen[field] = t.dtype;
    return t.data;
  }
  /** Record a strided operand's dtype (see {@link optionalFloatBias}) and return it without its dtype. */
  strided(field: string, t: (Strided<FloatData> & { dtype: DType }) | null): Strided<FloatData> | null {
    if (!t) return null;
    if (t.dtype !== 'float32') this.seen[field] = t.dtype;
    return { data: t.data, strides: t.strides };
  }
  /** The `dtypes` of the args (absent when every operand is float32). */
  get dtypes(): DTypes | undefined {
    return Object.keys(this.seen).length ? { ...this.seen } : undefined;
  }
}

/** Require `shape[axis] === want`, naming the dim. */
export function expectDim(argument: string, shape: readonly number[], axis: number, want: number, pattern: readonly string[], why: string): void {
  if (shape[axis] !== want) {
    const expected = `[${pattern.map((p, i) => (i === axis ? `${p}=${want}` : p)).join(',')}]`;
    throw new ShapeError(argument, expected, formatShape(shape), why);
  }
}

/** Require at least one element along an axis. */
export function expectNonEmpty(argument: string, shape: readonly number[], axis: number, pattern: readonly string[]): void {
  if (!(shape[axis] >= 1)) {
    throw new ShapeError(argument, `[${pattern.join(',')}] with ${pattern[axis]} >= 1`, formatShape(shape), `${pattern[axis]} must be at least 1`);
  }
}

/**
 * Strides for broadcasting an operand of shape `shape` to `target` (numpy rules: align on the
 * right, each dim equal or 1, rank at most the target's). 0 on broadcast axes.
 */
export function broadcastStrides(argument: string, shape: readonly number[], target: readonly number[], targetPattern: string): number[] {
  if (shape.length > target.length) {
    throw new ShapeError(argument, `a shape broadcastable to ${targetPattern}=${formatShape(target)}`, formatShape(shape), `rank ${shape.length} exceeds ${target.length}`);
  }
  const strides = new Array<number>(target.length).fill(0);
  let stride = 1;
  for (let i = shape.length - 1, t = target.length - 1; i >= 0; i--, t--) {
    const d = shape[i];
    if (d !== target[t] && d !== 1) {
      throw new ShapeError(argument, `a shape broadcastable to ${targetPattern}=${formatShape(target)}`, formatShape(shape), `dim ${i} is ${d}, must be ${target[t]} or 1`);
    }
    strides[t] = d === 1 ? 0 : stride;
    stride *= d;
  }
  return strides;
}

/** Check an optional bool mask broadcastable to `target`. */
export function optionalMask(value: unknown, argument: string, target: readonly number[], pattern: string): Strided<Uint8Array> | null {
  if (value === undefined || value === null) return null;
  const m = asMask(value, argument);
  return { data: m.data, strides: broadcastStrides(argument, m.shape, target, pattern) };
}

/** Check an optional float bias broadcastable to `target`. */
export function optionalBias(value: unknown, argument: string, target: readonly number[], pattern: string): Strided<Float32Array> | null {
  if (value === undefined || value === null) return null;
  const m = asTensor(value, argument);
  return { data: m.data, strides: broadcastStrides(argument, m.shape, target, pattern) };
}

/** Check an optional float bias (any {@link DType}) broadcastable to `target`. */
export function optionalFloatBias(value: unknown, argument: string, target: readonly number[], pattern: string): (Strided<FloatData> & { dtype: DType }) | null {
  if (value === undefined || value === null) return null;
  const m = asFloatTensor(value, argument);
  return { data: m.data, strides: broadcastStrides(argument, m.shape, target, pattern), dtype: m.dtype };
}

/** Check optional key lengths: an Int32Array of `[B]` with each value in 0..S. */
export function optionalLengths(value: unknown, argument: string, B: number, S: number): Int32Array | null {
  if (value === undefined || value === null) return null;
  const lengths = liveTypedArray(value, argument, Int32Array, `Int32Array of length B=${B}`);
  if (lengths.length !== B) throw new ShapeError(argument, `[B=${B}]`, `[${lengths.length}]`);
  for (let b = 0; b < B; b++) {
    const n = lengths[b];
    if (n < 0 || n > S) throw new ValueError(`${argument}[${b}]`, `expected a length within 0..${S}, received ${n}`);
  }
  return lengths;
}

/**
 * Check an optional caller-supplied output: a Float32Array of exactly `n` elements (the op's
 * output shape `pattern`, e.g. `[B,Hq,L,Dv]=[1,8,128,64]`) that shares no memory with any input
 * (the kernel would overwrite what it is still reading).
 */
export function optionalOut(value: unknown, argument: string, n: number, pattern: string, inputs: ReadonlyArray<readonly [string, ArrayBufferView | null | undefined]>): Float32Array | null {
  if (value === undefined || value === null) return null;
  const out = liveTypedArray(value, argument, Float32Array, `Float32Array of ${pattern} (${n} elements)`);
  if (out.length !== n) throw new ShapeError(argument, `${pattern} (${n} elements)`, `Float32Array(${out.length})`);
  const begin = out.byteOffset;
  const end = begin + out.byteLength;
  for (const [name, v] of inputs) {
    if (!v || v.buffer !== out.buffer || v.byteLength === 0) continue;
    if (begin < v.byteOffset + v.byteLength && v.byteOffset < end) {
      throw new ValueError(argument, `shares memory with ${name}: the output would overwrite an input the kernel is still reading`);
    }
  }
  return out;
}

/** Check a 1-D float vector of length n (optional when `optional`). */
export function vector(value: unknown, argument: string, n: number, name: string, optional: true): Float32Array | null;
export function vector(value: unknown, argument: string, n: number, name: string, optional?: false): Float32Array;
export function vector(value: unknown, argument: string, n: number, name: string, optional = false): Float32Array | null {
  if (optional && (value === undefined || value === null)) return null;
  return expectVector(asTensor(value, argument), argument, n, name).data;
}

/** Check a 1-D vector of length n of any {@link DType} (null when optional and absent). */
export function floatVector(value: unknown, argument: string, n: number, name: string, optional = false): FloatChecked | null {
  if (optional && (value === undefined || value === null)) return null;
  return expectVector(asFloatTensor(value, argument), argument, n, name);
}

/** Check a 2-D weight `[rows, cols]` of any {@link DType} (sizes as for {@link matrix}). */
export function floatMatrix(value: unknown, argument: string, rows: number, cols: number, rowName: string, colName: string): FloatChecked {
  return expectMatrix(asFloatTensor(value, argument), argument, rows, cols, rowName, colName);
}

/** `t` when it is `[name=n]`, else a ShapeError naming `argument`. */
function expectVector<T extends { shape: number[] }>(t: T, argument: string, n: number, name: string): T {
  if (t.shape.length !== 1 || t.shape[0] !== n) throw new ShapeError(argument, `[${name}=${n}]`, formatShape(t.shape));
  return t;
}

/** `t` when it is `[rows, cols]` (either -1 for "any"), else a ShapeError naming `argument`. */
function expectMatrix<T extends { shape: number[] }>(t: T, argument: string, rows: number, cols: number, rowName: string, colName: string): T {
  const exp = `[${rowName}${rows >= 0 ? `=${rows}` : ''},${colName}${cols >= 0 ? `=${cols}` : ''}]`;
  if (t.shape.length !== 2) throw new ShapeError(argument, exp, formatShape(t.shape), `rank ${t.shape.length}`);
  if ((rows >= 0 && t.shape[0] !== rows) || (cols >= 0 && t.shape[1] !== cols)) throw new ShapeError(argument, exp, formatShape(t.shape));
  return t;
}

/** Check a 2-D weight `[rows, cols]` with known sizes (either may be -1 for "any", then returned). */
export function matrix(value: unknown, argument: string, rows: number, cols: number, rowName: string, colName: string): Checked {
  return expectMatrix(asTensor(value, argument), argument, rows, cols, rowName, colName);
}

/** `returnWeights` asked for a weights tensor of `n` elements (`shape` names its layout): a ValueError past 2^31-1. */
export function weightsFit(returnWeights: boolean, n: number, shape: string, argument = 'options.returnWeights', what = 'weights'): void {
  if (returnWeights && n > 0x7fffffff) throw new ValueError(argument, `the ${shape} ${what} would have ${n} elements, over the 2^31-1 limit`);
}

/** Check an optional boolean option. */
export function optBool(value: unknown, argument: string, def: boolean): boolean {
  if (value === undefined) return def;
  if (typeof value !== 'boolean') throw new DTypeError(argument, 'boolean', describeType(value));
  return value;
}

/** Check an optional enumerated option. */
export function optEnum<T extends string>(value: unknown, argument: string, allowed: readonly T[], def: T): T {
  if (value === undefined) return def;
  if (typeof value !== 'string' || !allowed.includes(value as T)) {
    throw new ValueError(argument, `expected one of ${allowed.map((a) => `'${a}'`).join(', ')}, received ${typeof value === 'string' ? `'${value}'` : describeType(value)}`);
  }
  return value as T;
}

/** Check an optional finite number option (with an optional lower bound, exclusive). */
export function optFinite(value: unknown, argument: string, def: number, greaterThan?: number): number {
  if (value === undefined) return def;
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new ValueError(argument, `expected a finite number, received ${typeof value === 'number' ? value : describeType(value)}`);
  }
  if (greaterThan !== undefined && !(value > greaterThan)) throw new ValueError(argument, `expected a number > ${greaterThan}, received ${value}`);
  return value;
}

/** Check a positive integer option (required when `def` is undefined). */
export function positiveInt(value: unknown, argument: string, def?: number): number {
  if (value === undefined && def !== undefined) return def;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) {
    throw new ValueError(argument, `expected a positive integer, received ${typeof value === 'number' ? value : describeType(value)}`);
  }
  return value;
}

/** The row count (product of all but the last dim) and the last dim of a shape. */
export function rowsCols(shape: readonly number[]): { rows: number; cols: number } {
  const cols = shape.length ? shape[shape.length - 1] : 1;
  const rows = shape.length ? sizeOf(shape.slice(0, -1)) : 1;
  return { rows, cols };
}

/** Check a float tensor of rank >= 1 (ops over the last axis). */
export function nonScalar(value: unknown, argument: string): Checked {
  const t = asTensor(value, argument);
  if (t.shape.length < 1) throw new ShapeError(argument, '[...,N] (rank >= 1)', formatShape(t.shape));
  return t;
}

/**
 * Check a float32 tensor that must have exactly `shape` (the shape of another argument, named by
 * `pattern`, e.g. `y.shape`): a backward op's incoming gradient against the forward's tensor.
 */
export function shapedLike(value: unknown, argument: string, shape: readonly number[], pattern: string): Checked {
  return expectShape(asTensor(value, argument), argument, shape, pattern);
}

/** `t` (a checked tensor) when its shape is exactly `shape` (named by `pattern`), else a ShapeError naming `argument`. */
export function expectShape(t: Checked, argument: string, shape: readonly number[], pattern: string): Checked {
  if (t.shape.length !== shape.length || t.shape.some((d, i) => d !== shape[i])) {
    throw new ShapeError(argument, `${pattern}=${formatShape(shape)}`, formatShape(t.shape));
  }
  return t;
}
