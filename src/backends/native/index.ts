/**
 * The native backend: the C++ Node-API addon (SIMD per ISA, chosen at load; a thread pool).
 * Probing is lazy: the addon is loaded on first use or on `backends()`, and a missing or broken
 * binary makes the backend unavailable with the exact reason and the fix, never an exception at
 * import time.
 *
 * Adding an op: write `ops/<op>.ts` (a {@link NativeOp} passed to `registerNativeOp`) and add
 * one `import './ops/<op>';` line below.
 *
 * @module
 */
import { availability, registerBackend, resetAvailability, type Availability, type BackendDefinition, type Tolerance } from '../../dispatch';
import { BackendUnavailableError, ValueError, describeType } from '../../errors';
import { optionsObject } from '../../validate';
import type { AsyncKernel, Kernel, OpName } from '../../kernels';
import { forgetFailedLoad, loadAddon, type NativeAddon, type NativeAddonInfo, type NativeAsyncStats, type NativePeak } from './loader';
import { nativeOps } from './ops/types';
// One line per op adapter (each registers itself):
import './ops/sdpa';
import './ops/softmax';
import './ops/layerNorm';
import './ops/gelu';
import './ops/linear';
import './ops/topK';
import './ops/additiveAttention';
import './ops/targetAttention';
import './ops/multiHeadAttention';
import './ops/transformerEncoderLayer';

export type { NativeAddonInfo, NativeAsyncStats, NativePeak } from './loader';

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

/**
 * Async calls read their inputs on another thread after the call returns. Node-API cannot pin an
 * ArrayBuffer's memory: a caller that transfers (structuredClone / postMessage) or shrinks
 * (resizable ArrayBuffer) an input while the call is in flight would leave the kernel reading freed
 * memory (a segfault, test/concurrency.test.mjs). So async calls run on private copies of every
 * typed array in the args (O(inputs), small next to the kernels' work); sync calls need none.
 */
function privateCopy(v: unknown): unknown {
  if (ArrayBuffer.isView(v)) return (v as unknown as Float32Array).slice();
  if (Array.isArray(v)) return v.map(privateCopy);
  if (v && typeof v === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = privateCopy(x);
    return out;
  }
  return v;
}

const kernels: { [O in OpName]?: Kernel<O> } = {};
const asyncKernels: { [O in OpName]?: AsyncKernel<O> } = {};
const tolerances: { [O in OpName]?: Tolerance } & { default: Tolerance } = {
  // Only used for ops without a measured entry (every op has one; see native/README.md).
  default: { rtol: 1e-4, atol: 1e-5 },
};
/** Row-wise ops on an empty tensor (a 0 in the shape, which the ops accept): an empty result without the addon (its bindings require rows, cols >= 1). */
function emptyRowwise(name: OpName, args: { rows?: number; cols?: number }): Float32Array | null {
  return (name === 'softmax' || name === 'gelu' || name === 'layerNorm') && args.rows! * args.cols! === 0 ? new Float32Array(0) : null;
}
for (const name of Object.keys(nativeOps) as OpName[]) {
  const op = nativeOps[name]!;
  (kernels as Record<string, unknown>)[name] = (args: never) => emptyRowwise(name, args) ?? (op.sync as (a: NativeAddon, x: never) => unknown)(addon(), args);
  (asyncKernels as Record<string, unknown>)[name] = (args: never) => {
    const empty = emptyRowwise(name, args);
    return empty ? Promise.resolve(empty) : (op.async as (a: NativeAddon, x: never) => Promise<unknown>)(addon(), privateCopy(args) as never);
  };
  (tolerances as Record<string, Tolerance>)[name] = op.tolerance;
}

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
