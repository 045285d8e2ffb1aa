/**
 * The gpu backend's runtime: one lazily created GL host, a bounded LRU cache of compiled kernels
 * keyed by their source, output size and constants, uploads, per-op texture scopes and the single
 * readback at the end of an op. Browser-compatible (no Node APIs).
 *
 * gpu.js facts this file relies on (see the README, "GPU backend"): loop bounds come from
 * `constants` (argument-bounded loops are silently capped at 1000 iterations); `precision:
 * 'single'` with `tactic: 'precision'` gives fp32 textures and highp arithmetic; `pipeline` +
 * `immutable` kernels return a fresh texture per call, which the op deletes when done.
 *
 * @module
 */
import { AttnkitError } from '../../errors';
import { GpuHostUnavailable, getGpuHostFactory, type GpuHost, type GpuJsKernelRun, type GpuJsTexture } from './host';

/** Largest kernel output (values) verified to read back correctly on llvmpipe (see fitOutput). */
export const GPU_MAX_OUTPUT_VALUES = 2 ** 25;

/**
 * Longest row a kernel loops over (the constants `S` and `C`: keys, softmax / layerNorm columns),
 * and longest column (the constant `M`: the rows the backward ops sum dGamma, dBeta, dW, db over).
 * Measured on Mesa llvmpipe (2026-11-22): a softmax row of 32767 entries is within 1e-6 of
 * reference, one of 32768 is 6e-5 off and one of 40000 is 0.6 off, likewise sdpa over 40000 keys
 * and layerNorm over 40000 columns; the cause (somewhere in gpu.js's texture addressing) is not
 * known. Columns (2026-12-07): linearBackward's dW over 40000 rows was right, over 70000 rows 0.7
 * off relatively; held to the same limit. Longer rows and columns are refused rather than computed wrong.
 */
export const GPU_MAX_ROW_LENGTH = 32767;

/** Raised when a problem exceeds what the GL context can hold (names MAX_TEXTURE_SIZE). */
export class GpuLimitError extends AttnkitError {
  /** The limit that was exceeded, e.g. `'MAX_TEXTURE_SIZE'`. */
  readonly limit: string;
  constructor(limit: string, message: string) {
    super('ERR_ATTNKIT_GPU_LIMIT', message);
    this.limit = limit;
  }
}

/** Raised when gpu.js would run a kernel anywhere but on the GL context (its CPU / WebAssembly fallbacks). */
export class GpuFallbackError extends AttnkitError {
  constructor(message: string) {
    super('ERR_ATTNKIT_GPU_FALLBACK', message);
  }
}

/** Largest finite float32; `x < -FLT_MAX` is true only for -Infinity (NaN compares false). */
export const FLT = '3.4028234663852886e38';

/** A kernel's description: its source (a `function (...) {}` string), output `[x,y,z]`, constants. */
export interface KernelSpec {
  /** Short name, for errors and stats. */
  name: string;
  /** gpu.js kernel source. It must start with the guard `if (this.thread.z >= this.constants.ZN) { return 0.0; }` (see {@link fn}). */
  src: string;
  /** Output `[x, y, z]`. */
  output: [number, number, number];
  /** Compile-time constants (all loop bounds come from here). */
  constants: Record<string, number>;
}

/** Build kernel source: the z guard (for outputs padded to fit the texture limit), then the body. */
export function fn(params: string[], body: string): string {
  return `function (${params.join(', ')}) {\n  if (this.thread.z >= this.constants.ZN) { return 0.0; }\n${body}\n}`;
}

/** Whether gpu.js's square-ish layout of `m` texels (utils.closestSquareDimensions) fits in `max` x `max`. */
function fitsSquare(m: number, max: number): boolean {
  let high = Math.ceil(Math.sqrt(m));
  let low = Math.floor(Math.sqrt(m));
  while (high * low < m) {
    high--;
    low = Math.ceil(m / high);
  }
  return low <= max && Math.ceil(m / low) <= max;
}

/** Things an op has allocated: textures to delete when it is done. */
export class Scope {
  private readonly textures: GpuJsTexture[] = [];
  /** Cache keys of the kernels this op has run: never evicted while the op runs (destroying a kernel can delete its textures). */
  readonly kernels = new Set<string>();
  /** Remember a texture for deletion. */
  track(t: GpuJsTexture): GpuJsTexture {
    this.textures.push(t);
    return t;
  }
  /** Delete every texture of the op. */
  close(): void {
    for (const t of this.textures) {
      try {
        t.delete();
      } catch {
        /* already gone with its context */
      }
    }
    this.textures.length = 0;
  }
}

/** Counters for tests and `backends()` details. */
export interface RuntimeStats {
  kernelsCached: number;
  kernelsCompiled: number;
  kernelsEvicted: number;
  texturesLive: number;
  calls: number;
}

const DEFAULT_CACHE = 48;

/** A source of input for a kernel argument: an uploaded array viewed as `[x, y, z]`. */
export type Arg = unknown;

/** The runtime (one per process; recreated lazily after {@link Runtime.dispose}). */
export class Runtime {
  private host: GpuHost | null = null;
  private readonly cache = new Map<string, GpuJsKernelRun>();
  private liveTextures = 0;
  private stats = { kernelsCompiled: 0, kernelsEvicted: 0, calls: 0 };
  /** Maximum number of compiled kernels kept (each distinct shader holds about 1 MB of driver memory). */
  cacheLimit = DEFAULT_CACHE;

  /** The host, created on first use. Throws {@link GpuHostUnavailable}. */
  getHost(): GpuHost {
    if (!this.host) this.host = getGpuHostFactory()();
    return this.host;
  }

  /** True while a GL context exists. */
  get active(): boolean {
    return this.host !== null;
  }

  /** MAX_TEXTURE_SIZE of the context. */
  get maxTextureSize(): number {
    return this.getHost().maxTextureSize;
  }

  /** Counters. */
  getStats(): RuntimeStats {
    return { kernelsCached: this.cache.size, texturesLive: this.liveTextures, ...this.stats };
  }

  /** Upload a float array viewed as `[x, y, z]` (gpu.js `input`). */
  input(data: Float32Array, dims: [number, number, number] | [number, number] | [number]): Arg {
    const n = dims.reduce((a, b) => a * b, 1);
    if (n !== data.length) throw new Error(`internal: upload of ${data.length} values viewed as [${dims.join(',')}]`);
    // Single-precision uploads pack 4 floats per texel into a square-ish texture.
    const max = this.maxTextureSize;
    if (!fitsSquare(Math.ceil(n / 4), max)) {
      throw new GpuLimitError('MAX_TEXTURE_SIZE', `an input of ${n} floats needs more than ${max}x${max} RGBA texels (MAX_TEXTURE_SIZE = ${max}); split the problem or use another backend`);
    }
    return this.getHost().lib.input(data, dims.length === 1 ? [dims[0]] : dims);
  }

  /**
   * gpu.js lays a 3D output `[x,y,1]` with y > 1 as an x-by-y texture and anything else as a
   * square-ish one: make the output fit (padding z to 2 forces the square layout; the padding
   * slice is skipped by the kernel's guard), or refuse naming the limit.
   */
  private fitOutput(name: string, out: [number, number, number]): [number, number, number] {
    const max = this.maxTextureSize;
    const [x, y, z] = out;
    const n = x * y * z;
    // Measured on Mesa llvmpipe: outputs of 3.4e7 values read back right, 6.7e7 came back as zeros.
    // Refuse what was not shown to work rather than return wrong numbers.
    if (n > GPU_MAX_OUTPUT_VALUES) {
      throw new GpuLimitError('MAX_OUTPUT_VALUES', `gpu kernel '${name}' would write ${n} values, more than the ${GPU_MAX_OUTPUT_VALUES} (2^25) one kernel output is verified to read back correctly; split the problem or use another backend`);
    }
    if (z === 1 && y > 1 && (x > max || y > max)) {
      if (!fitsSquare(2 * n, max)) throw limit();
      return [x, y, 2];
    }
    if (z === 1 && y > 1) return out;
    if (!fitsSquare(n, max)) throw limit();
    return out;
    function limit(): GpuLimitError {
      return new GpuLimitError('MAX_TEXTURE_SIZE', `gpu kernel '${name}' would write ${n} values, more than one ${max}x${max} texture holds (MAX_TEXTURE_SIZE = ${max}); split the problem or use another backend`);
    }
  }

  /** Compile (or fetch from the cache) and run a kernel; returns its output texture, tracked by `scope`. */
  run(scope: Scope, spec: KernelSpec, args: Arg[]): GpuJsTexture {
    for (const key of ['S', 'C', 'M']) {
      const len = spec.constants[key];
      if (typeof len === 'number' && len > GPU_MAX_ROW_LENGTH) {
        const what = key === 'M' ? 'rows of a column' : 'entries of a row';
        throw new GpuLimitError('MAX_ROW_LENGTH', `gpu kernel '${spec.name}' would loop over ${len} ${what}, more than the ${GPU_MAX_ROW_LENGTH} it is verified to read correctly; use another backend`);
      }
    }
    const host = this.getHost();
    const output = this.fitOutput(spec.name, spec.output);
    const constants = { ...spec.constants, ZN: spec.output[2] };
    const key = `${spec.src}\u0000${output.join(',')}\u0000${JSON.stringify(constants)}`;
    scope.kernels.add(key);
    let k = this.cache.get(key);
    if (k) {
      this.cache.delete(key); // LRU: move to the back
      this.cache.set(key, k);
    } else {
      k = host.gpu.createKernel(spec.src, {
        output,
        constants,
        pipeline: true,
        immutable: true,
        precision: 'single',
        tactic: 'precision',
        // Never the CPU: gpu.js calls this instead of building its CPU fallback.
        onRequestFallback: () => {
          throw new GpuFallbackError(`gpu.js asked to fall back to CPU for kernel '${spec.name}'; the gpu backend never runs gpu.js's CPU path`);
        },
      });
      this.stats.kernelsCompiled++;
      this.cache.set(key, k);
      // Evict least recently used kernels, but none of the running op's (it may exceed the limit
      // for its duration; the next op trims the cache back).
      while (this.cache.size > this.cacheLimit) {
        let victim: [string, GpuJsKernelRun] | null = null;
        for (const e of this.cache) {
          if (!scope.kernels.has(e[0]) && e[0] !== key) {
            victim = e;
            break;
          }
        }
        if (!victim) break;
        const [oldKey, old] = victim;
        this.cache.delete(oldKey);
        this.stats.kernelsEvicted++;
        try {
          old.destroy();
        } catch {
          /* ignore */
        }
      }
    }
    let t: GpuJsTexture;
    try {
      t = k(...args) as GpuJsTexture;
    } catch (e) {
      if (e instanceof AttnkitError) throw e;
      // A kernel that fails to build must not stay cached half-built.
      this.cache.delete(key);
      try {
        k.destroy();
      } catch {
        /* ignore */
      }
      throw new GpuFallbackError(`gpu kernel '${spec.name}' failed on ${host.mode}: ${(e as Error)?.message ?? String(e)}`);
    }
    const cls = k.kernel?.constructor?.name;
    if (!host.allowedKernelClasses.includes(cls)) {
      this.cache.delete(key);
      throw new GpuFallbackError(`gpu kernel '${spec.name}' ran as ${cls}, not ${host.allowedKernelClasses.join('/')}: refusing a non-GL result`);
    }
    this.stats.calls++;
    this.liveTextures++;
    const del = t.delete.bind(t);
    let deleted = false;
    (t as { delete: () => void }).delete = () => {
      if (!deleted) {
        deleted = true;
        this.liveTextures--;
      }
      del();
    };
    return scope.track(t);
  }

  /** Read the first `n` values of a texture (row-major over its output), mapping values below `floor` to 0 when given. */
  read(t: GpuJsTexture, n: number, negativeToZero = false): Float32Array {
    const raw = t.renderValues();
    if (!raw) throw new Error('internal: reading a deleted texture');
    const out = new Float32Array(n);
    if (negativeToZero) {
      for (let i = 0; i < n; i++) {
        const v = raw[i * 4];
        out[i] = v < 0 ? 0 : v;
      }
    } else {
      for (let i = 0; i < n; i++) out[i] = raw[i * 4];
    }
    return out;
  }

  /** The class of a compiled kernel (for tests): every cached kernel's constructor name. */
  kernelClasses(): string[] {
    return [...this.cache.values()].map((k) => k.kernel?.constructor?.name);
  }

  /** Release every kernel, texture and the GL context. The next use creates a new context. */
  dispose(): void {
    for (const k of this.cache.values()) {
      try {
        k.destroy();
      } catch {
        /* ignore */
      }
    }
    this.cache.clear();
    const host = this.host;
    this.host = null;
    this.liveTextures = 0;
    if (host) host.destroy();
  }
}

export { GpuHostUnavailable };
