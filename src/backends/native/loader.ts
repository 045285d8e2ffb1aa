/**
 * Finds and loads the native addon (sharp-style): an explicit `ATTNKIT_NATIVE_PATH`, else
 * prebuilt binaries (`prebuilds/<platform>-<arch>/*.node`, the node-gyp-build / prebuildify
 * convention), else the local node-gyp build (`build/Release`), else the cmake-js build
 * (`build-cmake/Release`). When nothing loads, the result says what was tried, the underlying
 * error, and the command that fixes it.
 *
 * @module
 */

/** The native system functions (ops are further functions `<op>(args)` / `<op>Async(args)`). */
export interface NativeAddon {
  info(): NativeAddonInfo;
  setThreads(n: number): number;
  getThreads(): number;
  asyncStats(): NativeAsyncStats;
  setAsyncLimit(n: number): void;
  lastKernel(): string | null;
  measurePeak(options?: { threads?: number; ms?: number }): NativePeak;
  measureBandwidth(options?: { threads?: number; ms?: number; bytes?: number; trials?: number }): NativeBandwidth;
  /** float16 / bfloat16 bit patterns widened to float32 by the addon's convert kernels (exact). */
  halfToFloat(bits: Uint16Array, dtype: 'float16' | 'bfloat16'): Float32Array;
  [op: string]: unknown;
}

/** What the addon reports about itself. */
export interface NativeAddonInfo {
  /** The ISA level kernels run at (after `ATTNKIT_ISA`). */
  isa: string;
  /** The best ISA level this CPU and OS support. */
  detectedIsa: string;
  /** Set when `ATTNKIT_ISA` is invalid or above what the CPU supports. */
  isaError?: string;
  /** Pool threads (including the calling thread). */
  threads: number;
  /** Threads the machine offers this process. */
  hardwareThreads: number;
  /** Per kernel family: the variant in use and the variants compiled in. */
  kernels: Record<string, { selected: string | null; variants: string[] }>;
  /** CPU identification and feature flags. */
  cpu: Record<string, string | boolean>;
  /** Compiler that built the addon. */
  compiler?: string;
  /** Node-API version built against. */
  napiVersion: number;
  /**
   * Scratch blocks kept between calls for the op drivers' intermediate rows (over all threads):
   * `keptBytes` now, `boundBytes` the most ever kept (256 MiB unless `ATTNKIT_SCRATCH_MB` says).
   */
  scratch: { keptBytes: number; boundBytes: number };
}

/** Async queue counters: jobs waiting, running, the running limit, completed; pool regions. */
export interface NativeAsyncStats {
  queued: number;
  running: number;
  limit: number;
  completed: number;
  regions: number;
  inlineRegions: number;
}

/** Result of the FMA peak microbenchmark. */
export interface NativePeak {
  /** Measured GFLOP/s (2 flops per FMA lane). */
  gflops: number;
  threads: number;
  ms: number;
  isa: string;
}

/** Result of the memory bandwidth microbenchmark ({@link measureBandwidth}). */
export interface NativeBandwidth {
  /** The best trial's read + write bandwidth, GB/s (1e9 bytes per second; 12 bytes per triad element). */
  gbps: number;
  /** Every trial's GB/s, in order. */
  trials: number[];
  threads: number;
  /** The working set each thread streamed over (three arrays together), rounded down to whole 768-byte groups. */
  bytesPerThread: number;
  /** Wall time of all trials together. */
  ms: number;
  /** The ISA variant of the triad pass. */
  isa: string;
}

/** Outcome of loading. */
export interface LoadOutcome {
  addon: NativeAddon | null;
  /** The file that loaded. */
  path?: string;
  /** Every candidate tried, with why it did not load. */
  tried: string[];
  /** One-paragraph reason when nothing loaded. */
  reason?: string;
  /** The command that fixes it. */
  fix?: string;
}

// eslint-disable-next-line @typescript-eslint/no-require-imports
const nodeRequire: NodeRequire | null = typeof require === 'function' ? require : null;

let cached: LoadOutcome | null = null;

function packageRoot(): string | null {
  if (!nodeRequire || typeof __dirname !== 'string') return null;
  const fs = nodeRequire('fs') as typeof import('fs');
  const path = nodeRequire('path') as typeof import('path');
  let dir = __dirname;
  for (let i = 0; i < 8; i++) {
    const pj = path.join(dir, 'package.json');
    try {
      if (fs.existsSync(pj) && (JSON.parse(fs.readFileSync(pj, 'utf8')) as { name?: string }).name === 'attnkit') return dir;
    } catch {
      /* unreadable: keep climbing */
    }
    const up = path.dirname(dir);
    if (up === dir) break;
    dir = up;
  }
  return null;
}

function isMusl(): boolean {
  try {
    const report = (process as unknown as { report?: { getReport(): { header?: { glibcVersionRuntime?: string } } } }).report;
    return !!report && !report.getReport().header?.glibcVersionRuntime && process.platform === 'linux';
  } catch {
    return false;
  }
}

/** Prebuilt candidates for this platform, best first (napi builds, matching libc). */
function prebuildCandidates(root: string): string[] {
  const fs = nodeRequire!('fs') as typeof import('fs');
  const path = nodeRequire!('path') as typeof import('path');
  const dir = path.join(root, 'prebuilds', `${process.platform}-${process.arch}`);
  let names: string[];
  try {
    names = fs.readdirSync(dir).filter((n) => n.endsWith('.node'));
  } catch {
    return [];
  }
  const musl = isMusl();
  names = names.filter((n) => (n.includes('.musl') ? musl : n.includes('.glibc') ? !musl : true));
  names.sort((a, b) => Number(b.includes('napi')) - Number(a.includes('napi')) || a.localeCompare(b));
  return names.map((n) => path.join(dir, n));
}

/** Forget a failed load so the next {@link loadAddon} looks again (a loaded addon stays loaded). */
export function forgetFailedLoad(): void {
  if (cached && !cached.addon) cached = null;
}

/** Load the addon once; later calls return the same outcome. */
export function loadAddon(): LoadOutcome {
  if (cached) return cached;
  cached = tryLoad();
  return cached;
}

function tryLoad(): LoadOutcome {
  const tried: string[] = [];
  const fixBuild = 'npm run build:native (node-gyp; needs python3, make and a C++17 compiler) or npm run build:cmake (cmake-js)';
  if (!nodeRequire) {
    return { addon: null, tried, reason: 'no require() in this environment (the native backend runs in Node.js only)' };
  }
  const fs = nodeRequire('fs') as typeof import('fs');
  const path = nodeRequire('path') as typeof import('path');
  const candidates: string[] = [];
  const explicit = process.env.ATTNKIT_NATIVE_PATH;
  const root = packageRoot();
  if (explicit) {
    candidates.push(path.resolve(explicit));
  } else if (root) {
    candidates.push(...prebuildCandidates(root));
    candidates.push(path.join(root, 'build', 'Release', 'attnkit.node'));
    candidates.push(path.join(root, 'build-cmake', 'Release', 'attnkit.node'));
    candidates.push(path.join(root, 'build-cmake', 'attnkit.node'));
    candidates.push(path.join(root, 'build', 'Debug', 'attnkit.node'));
  }
  let firstError: string | undefined;
  for (const file of candidates) {
    if (!fs.existsSync(file)) {
      tried.push(`${file}: not found`);
      continue;
    }
    try {
      const addon = nodeRequire(file) as NativeAddon;
      if (!addon || typeof addon.info !== 'function') throw new Error('not an attnkit addon (no info())');
      tried.push(`${file}: loaded`);
      return { addon, path: file, tried };
    } catch (e) {
      const msg = (e as Error)?.message ?? String(e);
      tried.push(`${file}: ${msg}`);
      firstError ??= msg;
    }
  }
  const where = root ? ` in ${root}` : '';
  let reason: string;
  if (!candidates.length) reason = 'could not locate the attnkit package root to look for the native addon';
  else if (firstError) reason = `the native addon failed to load (${firstError}); tried ${tried.join('; ')}`;
  else reason = `no native addon binary found; tried ${tried.join('; ')}`;
  if (explicit) reason = `ATTNKIT_NATIVE_PATH=${explicit}: ${reason}`;
  return { addon: null, tried, reason, fix: explicit ? `point ATTNKIT_NATIVE_PATH at a built attnkit.node, or unset it` : `run ${fixBuild}${where}` };
}
