/**
 * The native backend: the C++ Node-API addon (SIMD per ISA, chosen at load; a thread pool).
 * Probing is lazy: the addon is loaded on first use or on `backends()`, and a missing or broken
 * binary makes the backend unavailable with the exact reason and the fix, never an exception at
 * import time.
 *
 * Adding an op: one row in {@link kernelTable} below (the addon exports `<op>` and `<op>Async`;
 * its verify tolerance lives in the op's descriptor, src/ops/<op>.ts).
 *
 * @module
 */
import { availability, registerBackend, resetAvailability, type Availability, type BackendDefinition } from '../../dispatch';
import { BackendUnavailableError, ValueError, describeType } from '../../errors';
import { optionsObject } from '../../validate';
import type { AsyncKernel, Kernel, OpArgs, OpName, OpResults } from '../../kernels';
import { tolerancesOf } from '../../ops/registry';
import { widenArgs } from '../../half';
import { forgetFailedLoad, loadAddon, type NativeAddon, type NativeAddonInfo, type NativeAsyncStats, type NativeBandwidth, type NativePeak } from './loader';

export type { NativeAddonInfo, NativeAsyncStats, NativeBandwidth, NativePeak } from './loader';

function probe(): Availability {
  const r = loadAddon();
  if (!r.addon) return { available: false, reason: r.reason ?? 'the native addon did not load', fix: r.fix };
  let info: NativeAddonInfo;
  try {
    info = r.addon.info();
  } catch (e) {
    return { available: false, reason: `the native addon loaded from ${r.path} but info() failed: ${(e as Error)?.message ?? String(e)}`, fix: 'rebuild it: npm run build:native' };
  }
  if (info.isaError) {
    return {
      available: false,
      reason: info.isaError,
      fix: `unset ATTNKIT_ISA, or set it to ${info.detectedIsa} or lower (scalar${info.detectedIsa === 'avx512' ? ', avx2' : ''})`,
    };
  }
  return { available: true };
}

/** The loaded addon, or a BackendUnavailableError with the reason and the fix. */
function addon(): NativeAddon {
  const a = availability(definition);
  if (!a.available) throw new BackendUnavailableError('native', a.reason, a.fix);
  return loadAddon().addon!;
}

/** A native kernel: the addon's sync and async functions of one op. */
interface NativeKernel<O extends OpName> {
  sync: Kernel<O>;
  async: AsyncKernel<O>;
}

/** The addon's function `<name>` (sync) or `<name>Async`; a build without it is a stale addon. */
function addonFunction(name: string): (args: object) => unknown {
  const fn = addon()[name] as ((a: object) => unknown) | undefined;
  if (typeof fn !== 'function') throw new Error(`attnkit native: this addon build has no ${name}(); rebuild it (npm run build:native)`);
  return fn;
}

/** The ops whose C++ kernels read float16 / bfloat16 operands themselves (the binding's `dtypes`). */
const NATIVE_HALF: ReadonlySet<OpName> = new Set<OpName>(['sdpa', 'topK', 'linear', 'multiHeadAttention', 'transformerEncoderLayer', 'additiveAttention', 'targetAttention']);

/**
 * The kernel of op `name`: `addon.<name>(args)` / `addon.<name>Async(args)`. `emptyWhenNoElements`:
 * a row-wise op on an empty tensor (a 0 in the shape, which the op accepts) gives an empty result
 * without calling the addon (its bindings require rows, cols >= 1).
 */
function nativeKernel<O extends OpName>(name: O, emptyWhenNoElements = false): NativeKernel<O> {
  const empty = (args: OpArgs[O]): OpResults[O] | null => {
    const a = args as { rows?: number; cols?: number; returnStats?: boolean };
    if (!emptyWhenNoElements || a.rows! * a.cols! !== 0) return null;
    // layerNorm's statistics of rows with no columns: NaN (0/0), as reference gives.
    if (a.returnStats) return { output: new Float32Array(0), mean: new Float32Array(a.rows!).fill(NaN), invStd: new Float32Array(a.rows!).fill(NaN) } as OpResults[O];
    return new Float32Array(0) as OpResults[O];
  };
  // Until an op's C++ kernel reads half operands itself (NATIVE_HALF), its half operands are
  // widened here: exact, but a float32 copy of each.
  const prepare = NATIVE_HALF.has(name) ? (a: OpArgs[O]) => a : (a: OpArgs[O]) => widenArgs(a);
  return {
    sync: (args) => empty(args) ?? (addonFunction(name)(prepare(args)) as OpResults[O]),
    async: (args) => {
      const e = empty(args);
      if (e) return Promise.resolve(e);
      try {
        // The addon copies every input when the call is made (and writes a caller's `out` only when
        // the kernel is done), so nothing the caller does to its buffers meanwhile reaches the kernel.
        return addonFunction(`${name}Async`)(prepare(args) as object) as Promise<OpResults[O]>;
      } catch (err) {
        return Promise.reject(err);
      }
    },
  };
}

/** The native backend's kernels: one row per op, each the addon function of the same name. */
const kernelTable: { [O in OpName]?: NativeKernel<O> } = {
  sdpa: nativeKernel('sdpa'),
  sdpaBackward: nativeKernel('sdpaBackward'),
  multiHeadAttention: nativeKernel('multiHeadAttention'),
  additiveAttention: nativeKernel('additiveAttention'),
  targetAttention: nativeKernel('targetAttention'),
  transformerEncoderLayer: nativeKernel('transformerEncoderLayer'),
  softmax: nativeKernel('softmax', true),
  layerNorm: nativeKernel('layerNorm', true),
  linear: nativeKernel('linear'),
  gelu: nativeKernel('gelu', true),
  silu: nativeKernel('silu', true),
  topK: nativeKernel('topK'),
  softmaxBackward: nativeKernel('softmaxBackward', true),
  // rows or cols 0 are handled by the binding (dGamma / dBeta, db are zeros of their own length).
  layerNormBackward: nativeKernel('layerNormBackward'),
  linearBackward: nativeKernel('linearBackward'),
  geluBackward: nativeKernel('geluBackward', true),
  siluBackward: nativeKernel('siluBackward', true),
  additiveScoresBackward: nativeKernel('additiveScoresBackward'),
  embeddingBackward: nativeKernel('embeddingBackward'),
  adamStep: nativeKernel('adamStep'),
  hstuAttention: nativeKernel('hstuAttention'),
  hstuAttentionBackward: nativeKernel('hstuAttentionBackward'),
};

const kernels: { [O in OpName]?: Kernel<O> } = {};
const asyncKernels: { [O in OpName]?: AsyncKernel<O> } = {};
for (const [name, k] of Object.entries(kernelTable) as [OpName, NativeKernel<OpName>][]) {
  (kernels as Record<string, unknown>)[name] = k.sync;
  (asyncKernels as Record<string, unknown>)[name] = k.async;
}
// Measured per op (the op descriptors say how); `default` only serves an op without an entry.
const tolerances = tolerancesOf('native', { rtol: 1e-4, atol: 1e-5 });

// addon() and nativeInfo() read the dispatcher's cached probe of this definition (one probe result).
const definition: BackendDefinition = {
  name: 'native',
  probe,
  kernels,
  asyncKernels,
  tolerances,
  // Native is the fastest CPU path on every shape measured (bench/native-sdpa.mjs); auto prefers it.
  autoRank: () => 10,
  info: () => {
    const r = loadAddon();
    const i = r.addon!.info();
    return {
      isa: i.isa,
      threads: i.threads,
      details: {
        path: r.path,
        detectedIsa: i.detectedIsa,
        hardwareThreads: i.hardwareThreads,
        kernels: Object.fromEntries(Object.entries(i.kernels).map(([k, v]) => [k, v.selected])),
        cpu: i.cpu.brand,
        compiler: i.compiler,
      },
    };
  },
};
registerBackend(definition);

/**
 * Set the native thread pool's size (1..256); `0` restores the machine default. Results are
 * bit-identical for any thread count. Returns the new count.
 * @param threads - an integer in [0, 256].
 * @throws ValueError (argument `threads`) when it is not an integer in [0, 256].
 * @throws BackendUnavailableError when the native addon is not available.
 */
export function setThreads(threads: number): number {
  if (typeof threads !== 'number' || !Number.isInteger(threads) || threads < 0 || threads > 256) {
    throw new ValueError('threads', `expected an integer in [0, 256] (0 = machine default), received ${typeof threads === 'number' ? threads : describeType(threads)}`);
  }
  return addon().setThreads(threads);
}

/**
 * The native thread pool's size (threads that run a kernel, the caller included).
 * @throws BackendUnavailableError when the native addon is not available.
 */
export function getThreads(): number {
  return addon().getThreads();
}

/**
 * What the native addon reports: the ISA in use and detected, threads, the kernel variant per
 * family, CPU features, compiler, and where it was loaded from; or why it is unavailable.
 */
export function nativeInfo(): (NativeAddonInfo & { available: true; path: string }) | { available: false; reason: string; fix?: string } {
  const a = availability(definition);
  if (!a.available) return { available: false, reason: a.reason, fix: a.fix };
  const r = loadAddon();
  return { available: true, path: r.path!, ...r.addon!.info() };
}

/**
 * Measure the machine's fp32 FMA peak (independent FMA chains at the widest ISA in use) on
 * `threads` threads for about `ms` milliseconds. Used by the bench to report share of peak.
 * @param options - `threads`: an integer in [1, 256] (default: the pool's size); `ms`: a number
 *   in [1, 60000] (default 200).
 * @throws DTypeError when `options` is not an object; ValueError naming `options.threads`, `options.ms`
 *   (wrong type or out of range) or an unknown key.
 * @throws BackendUnavailableError when the native addon is not available.
 */
export function measurePeak(options: { threads?: number; ms?: number } | null = {}): NativePeak {
  const o = optionsObject<{ threads?: number; ms?: number }>(options, 'options', ['threads', 'ms']);
  const threads = o.threads, ms = o.ms;
  if (threads !== undefined && !(Number.isInteger(threads) && threads >= 1 && threads <= 256)) {
    throw new ValueError('options.threads', `expected an integer in [1, 256], received ${typeof threads === 'number' ? threads : describeType(threads)}`);
  }
  if (ms !== undefined && !(typeof ms === 'number' && ms >= 1 && ms <= 60000)) {
    throw new ValueError('options.ms', `expected a number in [1, 60000], received ${typeof ms === 'number' ? ms : describeType(ms)}`);
  }
  return addon().measurePeak({ threads, ms });
}

/** The options of {@link measureBandwidth}. */
export interface BandwidthOptions {
  /** Plain threads to stream on, an integer in [1, 256] (default: the pool's size). */
  threads?: number;
  /** Milliseconds per trial, in [1, 60000] (default 200). */
  ms?: number;
  /**
   * The working set of each thread in bytes (its three arrays together), an integer in
   * [768, 2^34] (default 256 MiB: beyond any last-level cache, so DRAM). 256 KiB per thread
   * measures a core's L2 on CPUs whose L2 is at least twice that.
   */
  bytes?: number;
  /** Trials, an integer in [1, 100] (default 1); the result is the best one. */
  trials?: number;
}

/**
 * Measure read + write memory bandwidth: each of `threads` plain threads (not the pool) streams
 * a triad a[i] = b[i] + s·c[i] over its own three arrays (`bytes` per thread together, first
 * touched by that thread, vectorised at the widest ISA in use) for `ms` per trial; a trial's
 * figure is every thread's bytes over the trial's wall time. Bytes are counted as STREAM does,
 * 12 per element (two reads, one write; not the write-allocate read of the destination), the
 * way the ops' cost models count theirs. The bench measures it at a DRAM-sized and an L2-sized
 * working set, at the start and end of the run, beside {@link measurePeak}.
 * @param options - see {@link BandwidthOptions}.
 * @throws DTypeError when `options` is not an object; ValueError naming `options.threads`,
 *   `options.ms`, `options.bytes`, `options.trials` (wrong type or out of range) or an unknown key.
 * @throws RangeError when the arrays cannot be allocated.
 * @throws BackendUnavailableError when the native addon is not available.
 */
export function measureBandwidth(options: BandwidthOptions | null = {}): NativeBandwidth {
  const o = optionsObject<BandwidthOptions>(options, 'options', ['threads', 'ms', 'bytes', 'trials']);
  const check = (name: keyof BandwidthOptions, lo: number, hi: number, integer: boolean): void => {
    const v = o[name];
    if (v === undefined) return;
    if (!(typeof v === 'number' && v >= lo && v <= hi && (!integer || Number.isInteger(v)))) {
      throw new ValueError(`options.${name}`, `expected ${integer ? 'an integer' : 'a number'} in [${lo}, ${hi}], received ${typeof v === 'number' ? v : describeType(v)}`);
    }
  };
  check('threads', 1, 256, true);
  check('ms', 1, 60000, false);
  check('bytes', 768, 2 ** 34, true);
  check('trials', 1, 100, true);
  return addon().measureBandwidth({ threads: o.threads, ms: o.ms, bytes: o.bytes, trials: o.trials });
}

/**
 * Async queue counters of the native backend in this thread: calls queued, running, the running
 * limit, completed, and parallel regions run by the pool.
 * @throws BackendUnavailableError when the native addon is not available.
 */
export function nativeAsyncStats(): NativeAsyncStats {
  return addon().asyncStats();
}

/** Forget the cached probe of the native backend (after building the addon in-process). */
export function resetNative(): void {
  forgetFailedLoad();
  resetAvailability('native');
}
