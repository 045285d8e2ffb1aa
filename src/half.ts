/**
 * Half precision: decoding float16 / bfloat16 bit patterns to float32, and widening a kernel's
 * half operands (the kernel contract's `dtypes`, src/kernels.ts) for backends that compute in
 * float32 or float64 from float32 arrays. Widening is exact: every float16 and every bfloat16
 * value is a float32 value.
 *
 * @module
 */
import type { DTypes, HalfDType, Widened } from './kernels';

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

/** The value of the float16 bit pattern `h` (0..65535). */
export function float16BitsToNumber(h: number): number {
  u32[0] = float16ToFloat32Bits(h & 0xffff);
  return f32[0];
}

/** The value of the bfloat16 bit pattern `h` (0..65535): the top half of a float32. */
export function bfloat16BitsToNumber(h: number): number {
  u32[0] = (h & 0xffff) << 16;
  return f32[0];
}

let f16Table: Uint32Array | null = null;
/** float32 bits of every float16 pattern (256 KiB, built on first use). */
function float16Table(): Uint32Array {
  if (!f16Table) {
    f16Table = new Uint32Array(65536);
    for (let h = 0; h < 65536; h++) f16Table[h] = float16ToFloat32Bits(h);
  }
  return f16Table;
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

function widenValue(value: unknown, dtype: HalfDType | undefined, field: string): unknown {
  if (!dtype || value === null || value === undefined) return value;
  if (value instanceof Uint16Array) return decodeHalf(value, dtype);
  const strided = value as { data?: unknown; strides?: unknown };
  if (typeof value === 'object' && strided.data instanceof Uint16Array) return { ...strided, data: decodeHalf(strided.data, dtype) };
  throw new TypeError(`attnkit: kernel argument '${field}' is declared ${dtype} but holds no Uint16Array`);
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
  for (const [field, v] of Object.entries(a)) {
    if (!Array.isArray(v) || !v.some((x) => x && typeof x === 'object' && (x as { dtypes?: unknown }).dtypes)) continue;
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
