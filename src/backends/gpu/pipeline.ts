/**
 * Plumbing every gpu op pipeline shares: the texture scope an op runs in, the special-values
 * input, uploads (and copies to float textures for inputs read often), and broadcast operands
 * (masks, bias, key lengths) gathered into the compact uploads the kernels index.
 * Browser-compatible.
 *
 * @module
 */
import type { AttentionLimits, Strided } from '../../kernels';
import type { GpuJsTexture } from './host';
import { Scope, fn, type Arg, type Runtime } from './runtime';

/** A kernel input: an upload (array or gpu.js input) or the texture another kernel of the op wrote. */
export type Src = Arg | GpuJsTexture;
/** The activations a linear stage can fuse (see `activation` in sources.ts). */
export type Act = 'none' | 'relu' | 'sigmoid' | 'prelu' | 'gelu' | 'gelu_tanh';

/** Reads per element above which an input is first copied to a float texture (see {@link texture}). */
export const REUSE = 16;
/** [-Infinity, NaN, 1]: values GLSL ES 1.00 cannot write as literals, and a 1 the compiler cannot fold. */
export const SPECIAL = new Float32Array([-Infinity, NaN, 1]);

/** Run `body` with a texture scope that is always closed. */
export function scoped<T>(body: (scope: Scope) => T): T {
  const scope = new Scope();
  try {
    return body(scope);
  } finally {
    scope.close();
  }
}

/** A strided view (strides over extents `n`) gathered into a dense row-major array of extents `n`. */
export function gather(st: Strided<ArrayLike<number>>, n: readonly number[]): Float32Array {
  const total = n.reduce((a, b) => a * b, 1);
  const out = new Float32Array(total);
  const idx = new Array<number>(n.length).fill(0);
  for (let f = 0; f < total; f++) {
    let off = 0;
    for (let k = 0; k < n.length; k++) off += idx[k] * st.strides[k];
    out[f] = st.data[off];
    for (let k = n.length - 1; k >= 0; k--) {
      if (++idx[k] < n[k]) break;
      idx[k] = 0;
    }
  }
  return out;
}

/**
 * A broadcast operand (strides over a canonical shape) gathered into its compact form: axes with
 * stride 0 keep extent 1. Returns the data and the kept extents.
 */
function compact(st: Strided<ArrayLike<number>>, dims: readonly number[]): { data: Float32Array; n: number[] } {
  const n = dims.map((d, k) => (st.strides[k] === 0 ? 1 : d));
  return { data: gather(st, n), n };
}

/** A mask's values as 0/1 floats, in place (nonzero = 1). */
export function maskToFloat(d: Float32Array): Float32Array {
  for (let i = 0; i < d.length; i++) d[i] = d[i] !== 0 ? 1 : 0;
  return d;
}

/** A compact `[B,H,L,S]` operand as an upload viewed `[nS, nL, nB*nH]` and the read expression. */
export function operand4(rt: Runtime, st: Strided<ArrayLike<number>>, dims: [number, number, number, number], name: string, isMask: boolean): { arg: Arg; expr: string } {
  const c = compact(st, dims);
  const [nB, nH, nL, nS] = c.n;
  const data = isMask ? maskToFloat(c.data) : c.data;
  // A literal-only sum such as `0 + 0` makes gpu.js emit a float index GLSL cannot take: keep only real terms.
  const terms = [nB > 1 ? (nH > 1 ? `b * ${nH}.0` : 'b') : '', nH > 1 ? 'h' : ''].filter(Boolean);
  const z = terms.length ? terms.join(' + ') : '0';
  return { arg: rt.input(data, [nS, nL, nB * nH]), expr: `${name}[${z}][${nL > 1 ? 'i' : '0'}][${nS > 1 ? 'j' : '0'}]` };
}

/** A compact `[B,L,S]` operand as an upload viewed `[nS, nL, nB]`. */
export function operand3(rt: Runtime, st: Strided<ArrayLike<number>>, dims: [number, number, number], name: string): { arg: Arg; expr: string } {
  const c = compact(st, dims);
  const [nB, nL, nS] = c.n;
  return { arg: rt.input(maskToFloat(c.data), [nS, nL, nB]), expr: `${name}[${nB > 1 ? 'b' : '0'}][${nL > 1 ? 'i' : '0'}][${nS > 1 ? 'j' : '0'}]` };
}

/** Key lengths as the float upload the exclusion tests read (`lens[b]`). */
export function lensArg(l: Int32Array): Float32Array {
  return Float32Array.from(l);
}

/**
 * The causal / window limits as per-batch key bounds relative to the query row, the uploads the
 * exclusion tests read: key j of row i in batch b is visible iff `i + klo[b] <= j <= i + khi[b]`,
 * with p = i + off (off = `offsets[b]`, or S - L), `klo = off - windowLeft` and `khi = min(off
 * (causal), off + windowRight)`. Computed in float64 and clamped to [-L, S], which changes no
 * test for any row 0 <= i < L and key 0 <= j < S (a bound past S or before -L keeps every key
 * on its side), so the floats the kernels compare are small exact integers whatever the offsets
 * and window sizes (up to 2^31 - 1). `lo` / `hi` are null when that side is unlimited.
 */
export function limitsArgs(lim: AttentionLimits, B: number, L: number, S: number): { lo: Float32Array | null; hi: Float32Array | null } {
  const hasHi = lim.causal || lim.windowRight >= 0;
  const hasLo = lim.windowLeft >= 0;
  const lo = hasLo ? new Float32Array(B) : null;
  const hi = hasHi ? new Float32Array(B) : null;
  const clamp = (x: number): number => Math.min(S, Math.max(-L, x));
  for (let b = 0; b < B; b++) {
    const off = lim.offsets ? lim.offsets[b] : S - L;
    if (lo) lo[b] = clamp(off - lim.windowLeft);
    if (hi) {
      let h = Infinity;
      if (lim.causal) h = off;
      if (lim.windowRight >= 0) h = Math.min(h, off + lim.windowRight);
      hi[b] = clamp(h);
    }
  }
  return { lo, hi };
}

/**
 * Upload an array and copy it into a float texture: kernels that read every element many times
 * (q and k in attention, items in topK) read a plain float texture faster than gpu.js's packed
 * 4-floats-per-texel upload (measured: the 1024x1024x64 logits kernel about 30% faster).
 */
export function texture(rt: Runtime, scope: Scope, data: Float32Array, dims: [number, number, number]): GpuJsTexture {
  const src = fn(['a'], '  return a[this.thread.z][this.thread.y][this.thread.x];');
  return rt.run(scope, { name: 'upload', src, output: dims, constants: {} }, [rt.input(data, dims)]);
}
