/**
 * Plumbing every gpu op pipeline shares: the texture scope an op runs in, the special-values
 * input, uploads (and copies to float textures for inputs read often), and broadcast operands
 * (masks, bias, key lengths) gathered into the compact uploads the kernels index.
 * Browser-compatible.
 *
 * @module
 */
import type { Strided } from '../../kernels';
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
 * Upload an array and copy it into a float texture: kernels that read every element many times
 * (q and k in attention, items in topK) read a plain float texture faster than gpu.js's packed
 * 4-floats-per-texel upload (measured: the 1024x1024x64 logits kernel about 30% faster).
 */
export function texture(rt: Runtime, scope: Scope, data: Float32Array, dims: [number, number, number]): GpuJsTexture {
  const src = fn(['a'], '  return a[this.thread.z][this.thread.y][this.thread.x];');
  return rt.run(scope, { name: 'upload', src, output: dims, constants: {} }, [rt.input(data, dims)]);
}
