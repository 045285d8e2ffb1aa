/**
 * Half precision: the float16 (IEEE binary16) and bfloat16 conversions of the public API
 * (`toFloat16`, `toBFloat16`, `toFloat32`, `halfTensor`, the scalar encoders and decoders), and
 * widening a kernel's half operands (the kernel contract's `dtypes`, src/kernels.ts) for backends
 * that compute in float32 or float64 from float32 arrays. Widening is exact: every float16 and
 * every bfloat16 value is a float32 value.
 *
 * Encoding rounds to nearest, ties to even, from float32 values; `test/half.test.mjs` checks the
 * decoders on all 65,536 patterns of each format and the encoders at every midpoint, against
 * oracles written from the format definitions.
 *
 * @module
 */
import type { DTypes, HalfDType, Widened } from './kernels';
import { asHalfTensor, asTensor, checkShape, halfDTypeOf, numericArrayLike, sizeOf, type HalfTensor, type Tensor, type TensorLike } from './tensor';
import { liveTypedArray } from './buffers';
import { DTypeError, ShapeError, describeType, formatShape } from './errors';

// Scratch pair for one float32 <-> bits conversion: storing a number in a Float32Array rounds it
// to float32 (Math.fround), reading u32 gives its bits. No allocation per call.
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** The float32 bits of the float16 pattern `h` (exact: NaN stays NaN with its payload's top bits, subnormals become normal floats). */
function float16ToFloat32Bits(h: number): number {
  const sign = (h & 0x8000) << 16;
  const exp = (h >> 10) & 0x1f;
  const man = h & 0x3ff;
  if (exp === 0x1f) return (sign | 0x7f800000 | (man << 13)) >>> 0; // Inf, NaN
  if (exp !== 0) return (sign | ((exp + 112) << 23) | (man << 13)) >>> 0;
  if (man === 0) return sign >>> 0; // ±0
  // Subnormal: man·2^-24; normalise.
  let e = 113;
  let m = man;
  while ((m & 0x400) === 0) {
    m <<= 1;
    e--;
  }
  return (sign | (e << 23) | ((m & 0x3ff) << 13)) >>> 0;
}

/**
 * The float16 pattern nearest the float32 with bits `b`, ties to even. Bit arithmetic only (no
 * float operation can double-round). NaN: a quiet NaN with `b`'s sign and the top 9 payload bits
 * below float32's quiet bit (so never Inf).
 */
function float16FromFloat32Bits(b: number): number {
  const sign = (b >>> 16) & 0x8000;
  const a = b & 0x7fffffff;
  // |x| >= 65520 = 65504 + half an ulp: the tie goes to the even neighbour 2^16, i.e. Inf.
  if (a >= 0x477ff000) return a > 0x7f800000 ? sign | 0x7e00 | ((a >>> 13) & 0x1ff) : sign | 0x7c00;
  // Normal (|x| >= 2^-14): drop 13 mantissa bits with RNE (add half-ulp-minus-one plus the kept
  // lowest bit); a carry runs into the exponent, which is the right result. Rebias 127 -> 15.
  if (a >= 0x38800000) return sign | (((a + 0xfff + ((a >>> 13) & 1)) >>> 13) - 0x1c000);
  // |x| <= 2^-25, half the smallest subnormal: rounds to ±0 (2^-25 itself ties to the even 0).
  if (a <= 0x33000000) return sign;
  // Subnormal result: the value in units of 2^-24 is m·2^(e-126) with the implicit bit; shift
  // right by s = 126-e (14..24) with the same RNE trick. 1024 (a carry) is the smallest normal.
  const s = 126 - (a >>> 23);
  const m = (a & 0x7fffff) | 0x800000;
  return sign | ((m + ((1 << (s - 1)) - 1) + ((m >>> s) & 1)) >>> s);
}

/**
 * The bfloat16 pattern nearest the float32 with bits `b`, ties to even: the top 16 bits, rounded.
 * NaN: a quiet NaN with `b`'s sign and payload top bits (plain truncation would turn a NaN whose
 * payload lies in the low 16 bits into Inf).
 */
function bfloat16FromFloat32Bits(b: number): number {
  if ((b & 0x7fffffff) > 0x7f800000) return (b >>> 16) | 0x0040;
  // `b` is an unsigned 32-bit value held in a double: the sum cannot wrap before the shift.
  // A carry out of the mantissa bumps the exponent (float32 max rounds to Inf, as RNE says).
  return (b + 0x7fff + ((b >>> 16) & 1)) >>> 16;
}

/**
 * The float16 (IEEE binary16) bit pattern nearest `x`, ties to even. `x` is first taken as a
 * float32 (`Math.fround`), as tensors hold float32: the result is the correctly rounded float16
 * of that float32. For a float64 `x` that is not a float32 value this is two roundings and can
 * differ by one ulp from rounding `x` directly (only float32 inputs are free of double rounding).
 * |x| >= 65520 gives ±Inf (65504 is the largest finite float16); values below 2^-14 round to
 * subnormals (multiples of 2^-24), and |x| <= 2^-25 to ±0 (sign kept); ±0 and ±Inf are exact; NaN
 * gives a quiet NaN (0x7e00 | sign, plus payload bits of the float32 NaN the engine passes; a JS
 * number's NaN sign and payload are not reliable, the array forms of {@link toFloat16} read the bits).
 */
export function float32ToFloat16Bits(x: number): number {
  f32[0] = x;
  return float16FromFloat32Bits(u32[0]);
}

/**
 * The bfloat16 bit pattern nearest `x`, ties to even: the top 16 bits of the float32, rounded.
 * `x` is first taken as a float32 (`Math.fround`, see {@link float32ToFloat16Bits}: double rounding
 * is avoided for float32 inputs only). Finite values round to ±Inf from 0x7f7f8000 (the float32
 * halfway between bfloat16's largest finite value, ≈3.39e38, and 2^128) upwards; subnormals round
 * like normals (same exponent range as float32); ±0, ±Inf exact; NaN stays a quiet NaN (never Inf).
 */
export function float32ToBFloat16Bits(x: number): number {
  f32[0] = x;
  return bfloat16FromFloat32Bits(u32[0]);
}

/** The value of the float16 bit pattern `h` (0..65535). Exact. */
export function float16BitsToNumber(h: number): number {
  return float16Values()[h & 0xffff];
}

/** The value of the bfloat16 bit pattern `h` (0..65535): the top half of a float32. Exact. */
export function bfloat16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

let f16Table: Uint32Array | null = null;
let f16Values: Float32Array | null = null;
/** float32 bits of every float16 pattern (256 KiB, built on first use). */
function float16Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = float16ToFloat32Bits(h);
  }
  return f16Table;
}
/** The same table read as values. */
function float16Values(): Float32Array {
  return (f16Values ??= new Float32Array(float16Table().buffer));
}

/** Decode the bit patterns `bits` of type `dtype` into a new Float32Array (exact). */
export function decodeHalf(bits: Uint16Array, dtype: HalfDType): Float32Array {
  const out = new Float32Array(bits.length);
  const o = new Uint32Array(out.buffer);
  if (dtype === 'bfloat16') {
    for (let i = 0; i < bits.length; i++) o[i] = bits[i] << 16;
  } else {
    const t = float16Table();
    for (let i = 0; i < bits.length; i++) o[i] = t[bits[i]];
  }
  return out;
}

/** What {@link toFloat16} and {@link toBFloat16} take as their array form, in the words of their errors. */
const ARRAY_OR_TENSOR = 'a Float32Array, an array of numbers or a float32 tensor ({ data: Float32Array, shape })';

/** True when `x` goes the array way (a typed array, an Array, or an array-like that is no tensor). */
function isArrayInput(x: unknown): boolean {
  if (ArrayBuffer.isView(x) || Array.isArray(x)) return true;
  if (x === null || typeof x !== 'object') return false;
  try {
    const o = x as Record<string, unknown>;
    return typeof o.length === 'number' && o.data === undefined && o.dataSync === undefined;
  } catch {
    return false; // a throwing getter: the tensor path names it as a typed error
  }
}

/** Encode every element of `data`; a Float32Array is read as bits (one pass, no allocation per element). */
function encodeData(data: ArrayLike<number>, bf: boolean): Uint16Array {
  const n = data.length;
  const out = new Uint16Array(n);
  if (data instanceof Float32Array) {
    const src = new Uint32Array(data.buffer, data.byteOffset, n);
    // Two loops, not one with a branch inside: each stays monomorphic and inlines its encoder.
    if (bf) for (let i = 0; i < n; i++) out[i] = bfloat16FromFloat32Bits(src[i]);
    else for (let i = 0; i < n; i++) out[i] = float16FromFloat32Bits(src[i]);
  } else if (bf) {
    for (let i = 0; i < n; i++) out[i] = float32ToBFloat16Bits(data[i]);
  } else {
    for (let i = 0; i < n; i++) out[i] = float32ToFloat16Bits(data[i]);
  }
  return out;
}

function encode(x: unknown, dtype: HalfDType): Uint16Array | HalfTensor {
  const bf = dtype === 'bfloat16';
  if (isArrayInput(x)) {
    const data = x instanceof Float32Array ? liveTypedArray(x, 'x', Float32Array, ARRAY_OR_TENSOR) : numericArrayLike<number>(x, 'x', ARRAY_OR_TENSOR, 'a number', (v) => typeof v === 'number');
    return encodeData(data, bf);
  }
  if (x === null || typeof x !== 'object') throw new DTypeError('x', ARRAY_OR_TENSOR, describeType(x));
  const t = asTensor(x, 'x');
  return { data: encodeData(t.data, bf), shape: Object.freeze(t.shape), dtype };
}

/**
 * float16 (IEEE binary16) from float32, round to nearest, ties to even (see
 * {@link float32ToFloat16Bits} for overflow, subnormals, ±0, Inf and NaN). An array (a
 * Float32Array, any numeric typed array or an array of numbers, each element taken as a float32
 * first) gives a new Uint16Array of bit patterns; a float32 tensor (ours, onnxruntime's
 * `{ data, dims }`, tfjs's) gives a new {@link HalfTensor} of the same shape with dtype
 * `'float16'`. A Float32Array is read as bits, so a NaN keeps its sign and payload's top bits.
 * Throws DTypeError / ShapeError naming `x` (or `x.data`, `x[i]`, ...).
 */
export function toFloat16(x: Float32Array | ArrayLike<number>): Uint16Array;
export function toFloat16(x: TensorLike): HalfTensor;
export function toFloat16(x: Float32Array | ArrayLike<number> | TensorLike): Uint16Array | HalfTensor {
  return encode(x, 'float16');
}

/**
 * bfloat16 from float32: the top 16 bits, rounded to nearest, ties to even (see
 * {@link float32ToBFloat16Bits}); NaN stays NaN. Same forms and errors as {@link toFloat16}: an
 * array gives a Uint16Array, a float32 tensor a {@link HalfTensor} with dtype `'bfloat16'`.
 */
export function toBFloat16(x: Float32Array | ArrayLike<number>): Uint16Array;
export function toBFloat16(x: TensorLike): HalfTensor;
export function toBFloat16(x: Float32Array | ArrayLike<number> | TensorLike): Uint16Array | HalfTensor {
  return encode(x, 'bfloat16');
}

/**
 * float32 from half precision, exact (every float16 and bfloat16 value is a float32; NaN keeps
 * its sign and payload). A half tensor (a {@link HalfTensor}, or onnxruntime's float16 tensor:
 * `{ data: Uint16Array, dims, type: 'float16' }`) gives a new float32 {@link Tensor} of the same
 * shape; bit patterns and their format give a new Float32Array. Throws DTypeError naming `t`,
 * `bits` or `dtype` (a Uint16Array without a dtype: the bits alone do not say which format).
 */
export function toFloat32(t: HalfTensor | { readonly data: Uint16Array; readonly dims: readonly number[]; readonly type: HalfDType }): Tensor;
export function toFloat32(bits: Uint16Array, dtype: HalfDType): Float32Array;
export function toFloat32(x: HalfTensor | { readonly data: Uint16Array; readonly dims: readonly number[]; readonly type: HalfDType } | Uint16Array, dtype?: HalfDType): Tensor | Float32Array {
  if (dtype !== undefined || ArrayBuffer.isView(x) || Array.isArray(x)) {
    const bits = liveTypedArray(x, 'bits', Uint16Array, 'a Uint16Array of bit patterns');
    return decodeHalf(bits, halfDTypeOf(dtype, 'dtype'));
  }
  if (x === null || typeof x !== 'object') throw new DTypeError('t', 'a half tensor ({ data: Uint16Array, shape, dtype }), or a Uint16Array and a dtype', describeType(x));
  const h = asHalfTensor(x, 't');
  return { data: decodeHalf(h.data, h.dtype), shape: Object.freeze(h.shape) };
}

/**
 * Wrap existing bit patterns as a {@link HalfTensor} (no copy): `bits` a Uint16Array of
 * `product(shape)` float16 or bfloat16 patterns, row-major. Checks as `tensor()` does
 * (ShapeError on `shape` or on `bits`' length, DTypeError on `bits` or `dtype`).
 */
export function halfTensor(bits: Uint16Array, shape: readonly number[], dtype: HalfDType): HalfTensor {
  const s = checkShape(shape, 'shape');
  const d = liveTypedArray(bits, 'bits', Uint16Array, 'a Uint16Array of bit patterns');
  const dt = halfDTypeOf(dtype, 'dtype');
  if (d.length !== sizeOf(s)) throw new ShapeError('bits', `${sizeOf(s)} elements for shape ${formatShape(s)}`, `${d.length} elements`);
  return { data: d, shape: Object.freeze(s), dtype: dt };
}

function widenValue(value: unknown, dtype: HalfDType | undefined, field: string): unknown {
  if (!dtype || value === null || value === undefined) return value;
  if (value instanceof Uint16Array) return decodeHalf(value, dtype);
  const strided = value as { data?: unknown; strides?: unknown };
  if (typeof value === 'object' && strided.data instanceof Uint16Array) return { ...strided, data: decodeHalf(strided.data, dtype) };
  throw new TypeError(`attnkit: kernel argument '${field}' is declared ${dtype} but holds no Uint16Array`);
}

/** Whether any element of a list of parameter objects (dense layers) has half operands. */
function hasHalfLayer(v: readonly unknown[]): boolean {
  for (let i = 0; i < v.length; i++) {
    const x = v[i];
    if (x && typeof x === 'object' && (x as { dtypes?: unknown }).dtypes) return true;
  }
  return false;
}

/**
 * An args object with every half operand its `dtypes` names decoded to a new Float32Array (a
 * strided operand: its `data`), nested parameter objects in arrays (dense layers) likewise, and
 * `dtypes` dropped. Returns `args` itself when nothing is half. Exact (see the module comment).
 */
export function widenArgs<T extends object>(args: T): T {
  const a = args as Record<string, unknown> & { dtypes?: DTypes };
  let out: Record<string, unknown> | null = null;
  const dtypes = a.dtypes;
  if (dtypes) {
    out = { ...a };
    delete out.dtypes;
    for (const [field, dt] of Object.entries(dtypes)) out[field] = widenValue(a[field], dt, field);
  }
  // Nested layers with dtypes of their own. (for...in and plain loops: every float32 call of the
  // reference and gpu backends passes through here, and should leave no garbage behind.)
  for (const field in a) {
    const v = a[field];
    if (!Array.isArray(v) || !hasHalfLayer(v)) continue;
    out ??= { ...a };
    out[field] = v.map((x) => (x && typeof x === 'object' ? widenArgs(x as object) : x));
  }
  return (out ?? args) as T;
}

/**
 * A kernel over widened args (a backend that computes from float32 arrays) as a kernel over the
 * contract's args: its half operands are widened first (see {@link widenArgs}).
 */
export function widening<A extends object, Rest extends unknown[], R>(kernel: (args: Widened<A>, ...rest: Rest) => R): (args: A, ...rest: Rest) => R {
  return (args: A, ...rest: Rest) => kernel(widenArgs(args) as unknown as Widened<A>, ...rest);
}
